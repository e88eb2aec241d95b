"""`lichnhac confirm UNIT EVENT DATE [--ref TEXT] [--undo]`: the operator records (or
withdraws) a unit's "report sent" for the occurrence of EVENT due on DATE."""

from __future__ import annotations

import argparse

from scheduler.commands import clock_for, load
from scheduler.commands.status import check_ids
from scheduler.errors import UsageError
from scheduler.followup.policy import followed_occurrences, responsible_units
from scheduler.i18n import _
from scheduler.store import Confirmation, open_store


def main(args: argparse.Namespace) -> int:
    config = load(args)
    check_ids(config, args.unit, args.event)
    occurrence = next((o for o in followed_occurrences(config, args.date, args.date,
                                                       event=args.event)
                       if o.end == args.date), None)
    if occurrence is None:
        raise UsageError(_('event "{event}" has no occurrence due on {day} that needs a '
                           "confirmation (see `lichnhac status --event {event}`)")
                         .format(event=args.event, day=args.date.isoformat()))
    if args.unit not in responsible_units(config, occurrence):
        raise UsageError(_('unit "{unit}" is not responsible for "{event}" due on {day}')
                         .format(unit=args.unit, event=args.event, day=args.date.isoformat()))
    now = clock_for(config).now()
    with open_store(config) as ledger:
        if args.undo:
            if ledger.unconfirm(args.unit, args.event, args.date, now, "operator"):
                print(_("Confirmation withdrawn: {unit}, {event}, due {day}.")
                      .format(unit=args.unit, event=args.event, day=args.date.isoformat()))
            else:
                print(_("No confirmation to withdraw: {unit}, {event}, due {day}.")
                      .format(unit=args.unit, event=args.event, day=args.date.isoformat()))
            return 0
        ref = " ".join((args.ref or "").split())[:200] or None
        new = ledger.confirm(Confirmation(args.unit, args.event, args.date, now, "operator",
                                          ref, occurrence.key))
    done = (_("Confirmed: {unit} sent the report {event}, due {day}.") if new else
            _("Already confirmed: {unit} sent the report {event}, due {day}."))
    print(done.format(unit=args.unit, event=args.event, day=args.date.isoformat()))
    return 0
