"""The `lichnhac` command line: argument parsing and dispatch to `scheduler.commands`.

Exit status: 0 ok, 1 invalid input (with messages), 2 usage error. No traceback reaches
a user for bad input; an internal bug prints one line (set LICHNHAC_DEBUG=1 for details).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from scheduler import __version__
from scheduler.errors import ConfigError, LichnhacError, UsageError
from scheduler.i18n import _, install_argparse, ngettext

# Command name → module in scheduler.commands (`import` is a Python keyword).
COMMAND_MODULES = {
    "check": "check", "agenda": "agenda", "plan": "plan", "export": "export", "run": "run",
    "simulate": "simulate", "import": "import_plans", "status": "status", "confirm": "confirm",
    "db": "db",
}


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text} is not a date: expected YYYY-MM-DD").format(text=repr(text))) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lichnhac",
        description=_("Calendar feeds and email reminders for gender-equality work plans."),
    )
    parser.add_argument("--version", action="version", version=f"lichnhac {__version__}")
    parser.add_argument("--config", metavar="PATH",
                        help=_("config file (default: $LICHNHAC_CONFIG, then ./config.toml)"))
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                        help=_("override [log] level"))
    # `lichnhac check --config x` works too: every command also takes the global options
    # (SUPPRESS: given before the command, they are not reset by the command's defaults).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)
    common.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    original_add_parser = sub.add_parser

    def add_parser(name: str, **options: Any) -> argparse.ArgumentParser:
        return original_add_parser(name, parents=[common], **options)

    sub.add_parser = add_parser  # type: ignore[method-assign]

    check = sub.add_parser("check", help=_("validate config and calendars, report every problem"))
    check.add_argument("--accept-removals", action="store_true",
                       help=_("allow the next reload to apply this config even if it removes "
                              "most of the running units"))

    agenda = sub.add_parser("agenda", help=_("list the occurrences in a window"))
    _window(agenda)
    agenda.add_argument("--unit", metavar="ID", help=_("only events concerning this unit"))
    agenda.add_argument("--calendar", metavar="FILE", action="append",
                        help=_("use this calendar file instead of the configured ones "
                               "(repeatable; 'national' is the shipped calendar)"))
    _format(agenda)

    plan = sub.add_parser("plan", help=_("list the reminder emails that would be sent"))
    _window(plan)
    plan.add_argument("--unit", metavar="ID", help=_("only this unit's reminders"))
    _format(plan)

    export = sub.add_parser("export", help=_("write every feed and the index page to a directory"))
    export.add_argument("--out", metavar="DIR", required=True)

    sub.add_parser("run", help=_("run the daemon: feeds, web server, reminders"))

    simulate = sub.add_parser(
        "simulate", help=_("deliver a window's reminders on a virtual clock"),
        description=_("Deliver the reminders of [--from, --to] on a virtual clock. Safe by "
                      "default: a separate ledger and outbox Maildir under <state "
                      "dir>/simulation/ (or --into DIR); the deployment's ledger and mail "
                      "server are not touched."))
    simulate.add_argument("--from", dest="start", type=iso_date, required=True, metavar="D")
    simulate.add_argument("--to", dest="end", type=iso_date, required=True, metavar="D")
    simulate.add_argument("--confirmations", metavar="FILE.csv",
                          help=_("replay these confirmations (unit,event,due,at,ref) on the way"))

    status = sub.add_parser("status", help=_("the follow-up register: who confirmed what"))
    status.add_argument("--year", type=int, metavar="Y", help=_("default: this year"))
    status.add_argument("--event", metavar="ID", help=_("only this event"))
    status.add_argument("--unit", metavar="ID", help=_("only this unit"))
    status.add_argument("--format", choices=("table", "json", "csv"), default="table")

    confirm = sub.add_parser("confirm", help=_("record that a unit sent a report (operator)"))
    confirm.add_argument("unit", metavar="UNIT")
    confirm.add_argument("event", metavar="EVENT")
    confirm.add_argument("date", type=iso_date, metavar="DATE", help=_("the due day, YYYY-MM-DD"))
    confirm.add_argument("--ref", metavar="TEXT", help=_("the report's number and date"))
    confirm.add_argument("--undo", action="store_true", help=_("withdraw the confirmation"))
    simulate.add_argument("--into", type=Path, metavar="DIR",
                          help=_("keep the simulation's ledger and outbox here "
                                 "(default: <state dir>/simulation)"))
    simulate.add_argument("--live", action="store_true",
                          help=_("use the deployment's own ledger and [mail] transport instead: "
                                 "reminders are marked sent (the daemon will not send them) "
                                 "and with smtp real mail goes out with back-dated headers"))

    db = sub.add_parser("db", help=_("the store's schema; move a SQLite ledger to PostgreSQL"))
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("upgrade", help=_("apply the pending schema steps to the store"))
    db_copy = db_sub.add_parser("copy", help=_("copy the SQLite ledger's whole history into "
                                               "an empty PostgreSQL database"))
    target = db_copy.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="URL", help=_("postgresql://user@host:port/database"))
    target.add_argument("--to-file", type=Path, metavar="PATH",
                        help=_("a file (mode 0600) holding the URL, password included"))
    db_copy.add_argument("--force", action="store_true",
                         help=_("replace what the target database already holds"))

    importer = sub.add_parser("import", help=_("draft a calendar from plan documents"))
    importer.add_argument("files", nargs="+", metavar="FILE")
    importer.add_argument("--out", metavar="FILE.toml",
                          help=_("write the draft here (default: stdout)"))
    importer.add_argument("--format", choices=("toml", "json"), default="toml")
    return parser


def _window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=iso_date, metavar="D",
                        help=_("first day (default: today)"))
    parser.add_argument("--to", dest="end", type=iso_date, metavar="D",
                        help=_("last day (default: one year after --from)"))


def _format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table")


def main(argv: Sequence[str] | None = None) -> int:
    install_argparse()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        module = importlib.import_module(f"scheduler.commands.{COMMAND_MODULES[args.command]}")
        status: int = module.main(args)
        return status
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        errors = sum(1 for p in exc.problems if p.severity == "error")
        print(ngettext("{count} error found", "{count} errors found", errors).format(count=errors),
              file=sys.stderr)
        return 1
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(_("lichnhac: error: {message}").format(message=exc), file=sys.stderr)
        return 2
    except LichnhacError as exc:
        print(f"lichnhac: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `lichnhac agenda | head`: the reader left; that is not an error.
        sys.stderr.close()
        return 0
    except Exception as exc:
        if os.environ.get("LICHNHAC_DEBUG"):
            raise
        print(_("lichnhac: internal error: {kind}: {message} (set LICHNHAC_DEBUG=1 for a "
                "traceback and please report it)").format(kind=type(exc).__name__, message=exc),
              file=sys.stderr)
        return 70
