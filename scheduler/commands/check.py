"""`lichnhac check`: load config and every calendar, report all problems or a summary."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scheduler.commands import load
from scheduler.config import Config
from scheduler.errors import ConfigError, Problem
from scheduler.followup.mail import EscalationRenderer, SummaryRenderer
from scheduler.followup.policy import coordinator_warnings
from scheduler.i18n import _
from scheduler.mail.render import MessageRenderer
from scheduler.model import KINDS
from scheduler.removals import accept


def _template_problems(renderer: Any, config: Config) -> list[Problem]:
    """What is wrong with the email templates one renderer uses (the deployment's
    `[mail] templates` override them): caught here, not at the daemon's start."""
    try:
        renderer(config)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def main(args: argparse.Namespace) -> int:
    config = load(args)
    templates = [problem for renderer in (MessageRenderer, EscalationRenderer, SummaryRenderer)
                 for problem in _template_problems(renderer, config)]
    if templates:
        raise ConfigError(sorted(set(templates), key=lambda p: (p.file, p.line)))
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
