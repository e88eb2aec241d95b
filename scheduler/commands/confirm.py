"""`lichnhac confirm UNIT EVENT DATE [--ref TEXT] [--undo]`: the operator records (or
withdraws) a unit's "report sent" for the occurrence of EVENT due on DATE."""

from __future__ import annotations

import argparse

from scheduler.commands import clock_for, load
from scheduler.commands.status import check_ids
from scheduler.errors import UsageError
from scheduler.followup.policy import followed_occurrences, responsible_units
from scheduler.ledger import Confirmation, open_ledger


def main(args: argparse.Namespace) -> int:
    config = load(args)
    check_ids(config, args.unit, args.event)
    occurrence = next((o for o in followed_occurrences(config, args.date, args.date,
                                                       event=args.event)
                       if o.end == args.date), None)
    if occurrence is None:
        raise UsageError(f'event "{args.event}" has no occurrence due on '
                         f"{args.date.isoformat()} that needs a confirmation "
                         "(see `lichnhac status --event " + args.event + "`)")
    if args.unit not in responsible_units(config, occurrence):
        raise UsageError(f'unit "{args.unit}" is not responsible for "{args.event}" due on '
                         f"{args.date.isoformat()}")
    now = clock_for(config).now()
    with open_ledger(config) as ledger:
        if args.undo:
            if ledger.unconfirm(args.unit, args.event, args.date, now, "operator"):
                print(f"Đã hủy xác nhận: {args.unit}, {args.event}, hạn "
                      f"{args.date.isoformat()}.")
            else:
                print(f"Không có xác nhận nào để hủy: {args.unit}, {args.event}, hạn "
                      f"{args.date.isoformat()}.")
            return 0
        ref = " ".join((args.ref or "").split())[:200] or None
        new = ledger.confirm(Confirmation(args.unit, args.event, args.date, now, "operator",
                                          ref, occurrence.key))
    print(f"{'Đã xác nhận' if new else 'Đã xác nhận từ trước'}: {args.unit} đã gửi báo cáo "
          f"{args.event}, hạn {args.date.isoformat()}.")
    return 0
