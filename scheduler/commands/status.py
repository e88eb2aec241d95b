"""`lichnhac status [--year Y] [--event ID] [--unit ID] [--format table|json|csv]`: the
follow-up register (DESIGN.md "status --format json"), from the ledger's confirmations."""

from __future__ import annotations

import argparse
import json
import sys

from scheduler.commands import clock_for, load
from scheduler.config import Config
from scheduler.errors import UsageError
from scheduler.followup.register import (
    build_register,
    register_csv,
    register_json,
    status_table,
    year_bounds,
)
from scheduler.i18n import _
from scheduler.store import open_store


def check_ids(config: Config, unit: str | None, event: str | None) -> None:
    """A usage error naming the unknown id and a few known ones."""
    if unit is not None and config.unit(unit) is None:
        known = ", ".join(u.id for u in config.units[:8]) or _("none configured")
        raise UsageError(_('--unit "{id}" is not a unit id (known: {known})')
                         .format(id=unit, known=known))
    if event is not None and event not in {e.id for e in config.events}:
        known = ", ".join(e.id for e in config.events[:8]) or _("none")
        raise UsageError(_('event "{id}" is not an event id (known: {known})')
                         .format(id=event, known=known))


def main(args: argparse.Namespace) -> int:
    config = load(args)
    check_ids(config, args.unit, args.event)
    today = clock_for(config).now().date()
    year = args.year or today.year
    start, end = year_bounds(year)
    with open_store(config) as ledger:
        confirmations = ledger.confirmations(start, end)
    rows = build_register(config, year, confirmations, today, event=args.event, unit=args.unit)
    if args.format == "json":
        json.dump(register_json(rows), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif args.format == "csv":
        sys.stdout.flush()
        sys.stdout.buffer.write(register_csv(rows, config))
    else:
        print(status_table(rows))
    return 0
