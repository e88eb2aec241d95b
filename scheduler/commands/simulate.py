"""`lichnhac simulate --from D --to D [--into DIR | --live]`: the real delivery pipeline
on a virtual clock.

**Safe by default.** A simulation must not hurt a live deployment: by default it keeps
its own ledger and writes every message to its own outbox Maildir, both under
`<state dir>/simulation/` (or `--into DIR`), whatever `[mail] transport` says. The
deployment's ledger is never opened, so reminders the daemon has yet to send stay
planned, and no real mail leaves with back-dated headers. Only `--live` uses the
deployment's own ledger and configured transport (what `make run` does for the example's
first run, over past days). Everything else — config, calendars, feed tokens and
revisions (read only) — is the deployment's, so the messages are exactly what it sends.

Only the clock is virtual.
The window's digests (exactly those `plan` lists) are put in the ledger, then the clock
steps from one send time (or retry time) to the next and `Delivery.deliver_due` runs at
each, so every message carries its virtual send time in `Date`. Retries left at the end
of the window are followed for up to `grace_days` more. Prints
`{"planned", "sent", "already_sent", "failed", "missed"}` (emails); a second run over the
same window sends nothing (`already_sent` = planned).

`--confirmations FILE.csv` replays units' confirmations (`scheduler.followup.replay`):
each is recorded when the virtual clock reaches its time, before that step's delivery,
so the preview shows reminders stopping and escalations listing the others.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, time, timedelta
from pathlib import Path

from scheduler.clock import FixedClock
from scheduler.commands import load
from scheduler.config import Config
from scheduler.delivery import Delivery, DeliveryReport
from scheduler.errors import UsageError
from scheduler.followup.replay import read_confirmations
from scheduler.i18n import _
from scheduler.mail import Transport, open_transport
from scheduler.store import Confirmation, Store, open_store

SIMULATION_DIR = "simulation"


def simulation_dir(config: Config, into: Path | None = None) -> Path:
    """Where a default (not `--live`) simulation keeps its ledger and outbox."""
    return into if into is not None else config.state_dir / SIMULATION_DIR


def _ledger_and_transport(config: Config, into: Path | None,
                          live: bool) -> tuple[AbstractContextManager[Store], Transport]:
    if live:
        return open_store(config), open_transport(config)
    from scheduler.mail.outbox import OutboxTransport
    from scheduler.store.sqlite import SqliteStore

    folder = simulation_dir(config, into)
    return SqliteStore(folder / "ledger.sqlite3"), OutboxTransport(folder / "outbox")


def _replay(ledger: Store, pending: list[Confirmation], until: datetime) -> None:
    while pending and pending[0].at <= until:
        ledger.confirm(pending.pop(0))


async def simulate(config: Config, start: date, end: date,
                   confirmations: Sequence[Confirmation] = (), *, into: Path | None = None,
                   live: bool = False) -> DeliveryReport:
    """Deliver [start, end] on a virtual clock; the report counts emails.

    Into the simulation's own ledger and outbox (`simulation_dir`) unless `live`."""
    tz = config.timezone
    clock = FixedClock(datetime.combine(start, time.min, tzinfo=tz))
    opened_ledger, opened_transport = _ledger_and_transport(config, into, live)
    with opened_ledger as ledger:
        ledger.recover_interrupted()   # what a killed `simulate --live` left sending
        async with opened_transport as transport:
            delivery = Delivery(config, ledger, transport, clock)
            pending = list(confirmations)
            _replay(ledger, pending, clock.now())
            digests = delivery.plan_window(start, end)
            before = ledger.states(item.key for d in digests for item in d.items)
            total = DeliveryReport(planned=len(digests), already_sent=sum(
                all(before.get(item.key) == "sent" for item in d.items) for d in digests))
            window_end = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
            retry_end = window_end + timedelta(days=config.reminders.grace_days)
            now = clock.now() - timedelta(microseconds=1)
            retrying = False
            while True:
                moment = delivery.next_send_time(now)
                if moment is None or moment >= retry_end or (moment >= window_end
                                                              and not retrying):
                    break
                clock.set(moment)
                _replay(ledger, pending, moment)
                step = await delivery.deliver_due(moment, plan=False)
                total.add(step)
                retrying = step.retrying > 0 or (retrying and step.sent + step.failed
                                                 + step.missed == 0)
                now = moment
            total.planned = len(digests)
            _replay(ledger, pending, window_end)
    return total


def main(args: argparse.Namespace) -> int:
    config = load(args)
    if args.end < args.start:
        raise UsageError(_("--to {end} is before --from {start}")
                         .format(end=args.end.isoformat(), start=args.start.isoformat()))
    if args.live and args.into is not None:
        raise UsageError(_("--into and --live exclude each other: --live uses the "
                           "deployment's own ledger and transport"))
    replayed = (read_confirmations(config, Path(args.confirmations))
                if getattr(args, "confirmations", None) else [])
    report = asyncio.run(simulate(config, args.start, args.end, replayed, into=args.into,
                                  live=args.live))
    json.dump(report.as_json(), sys.stdout)
    sys.stdout.write("\n")
    if not args.live:
        outbox = simulation_dir(config, args.into) / "outbox" / "new"
        print(_("simulated mail (not sent, the real reminder ledger unchanged): {path}")
              .format(path=outbox), file=sys.stderr)
    for line in report.failures:
        print(_("failed: {line}").format(line=line), file=sys.stderr)
    for key in report.missed_keys:
        print(_("missed: {key}").format(key=key), file=sys.stderr)
    return 0
