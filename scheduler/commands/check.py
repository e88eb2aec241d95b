"""`lichnhac check`: load config and every calendar, report all problems or a summary."""

from __future__ import annotations

import argparse
import sys

from scheduler.commands import load
from scheduler.followup.policy import coordinator_warnings
from scheduler.i18n import _
from scheduler.model import KINDS
from scheduler.removals import accept


def main(args: argparse.Namespace) -> int:
    config = load(args)
    for warning in (*config.warnings, *coordinator_warnings(config)):
        print(warning, file=sys.stderr)
    counts = {kind: sum(1 for e in config.events if e.kind == kind) for kind in KINDS}
    with_email = sum(1 for u in config.units if u.emails)
    kinds = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    print(_("ok: {files} files, {units} units ({with_email} with email), {events} events "
            "({kinds})").format(files=len(config.files), units=len(config.units),
                                with_email=with_email, events=len(config.events), kinds=kinds))
    if getattr(args, "accept_removals", False):
        path = accept(config.state_dir, [u.id for u in config.units])
        print(_("accepted: the next reload may apply these {units} units even if it removes "
                "most of the running ones ({path})").format(units=len(config.units), path=path))
    return 0
