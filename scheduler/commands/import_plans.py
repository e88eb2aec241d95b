"""`lichnhac import`: draft a calendar from plan documents (.txt, .md, .docx, .doc, .html, .pdf).

Without a config the draft brings its own units; with `--config` (or $LICHNHAC_CONFIG)
plan names are matched to the configured units and their aliases, and the config's
calendars join the national one as known observances. A progress bar shows on stderr for
long documents, and for every scanned PDF being recognised (OCR), when stderr is a
terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from scheduler.calendar import read_calendar
from scheduler.config import load_config, national_calendar_path
from scheduler.errors import ConfigError, DocumentError
from scheduler.i18n import _
from scheduler.importer import Document, draft_plans, read_document, to_json, to_toml
from scheduler.importer.text import paragraphs
from scheduler.model import Event, Unit
from scheduler.reader import Reader
from scheduler.tomlfile import TomlProblem, load_toml

# Documents with more paragraphs than this get a progress bar (on a terminal).
PROGRESS_PARAGRAPHS = 400


def _national_events() -> list[Event]:
    path = national_calendar_path()
    try:
        doc = load_toml(path, "national.toml")
    except TomlProblem as exc:
        raise ConfigError([exc.problem]) from None
    return list(read_calendar(Reader(doc, [])).events)


def _config_parts(args: argparse.Namespace) -> tuple[list[Event], list[Unit]]:
    named = args.config or os.environ.get("LICHNHAC_CONFIG")
    if not named:
        return [], []
    config = load_config(Path(named))
    return list(config.events), list(config.units)


@contextmanager
def _progress(documents: Sequence[Document]) -> Iterator[Callable[[Document, int], None] | None]:
    sizes = ({d.name: len(paragraphs(d.lines, d.separate_lines, d.numbers)) for d in documents}
             if sys.stderr.isatty() else {})
    if not any(n > PROGRESS_PARAGRAPHS for n in sizes.values()):
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        tasks = {name: bar.add_task(_("Reading {name}").format(name=name), total=n)
                 for name, n in sizes.items()}

        def step(document: Document, index: int) -> None:
            if index % 50 == 0 or index == sizes[document.name] - 1:
                bar.update(tasks[document.name], completed=index + 1)

        yield step


@contextmanager
def _ocr_progress(name: str) -> Iterator[Callable[[int, int], None] | None]:
    """A bar over the pages of a scanned PDF, shown once recognition starts (terminal only)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    bar: Progress | None = None
    task = None

    def step(done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:
            bar = Progress(console=Console(stderr=True), transient=True)
            bar.start()
            task = bar.add_task(_("Recognising text (OCR) {name}").format(name=name),
                                total=total)
        assert task is not None
        bar.update(task, completed=done)

    try:
        yield step
    finally:
        if bar is not None:
            bar.stop()


def _read(name: str) -> Document:
    with _ocr_progress(name) as step:
        return read_document(Path(name), step)


def main(args: argparse.Namespace) -> int:
    """Read every file, draft one calendar, write it to --out or stdout."""
    documents = [_read(name) for name in args.files]
    extra_events, units = _config_parts(args)
    with _progress(documents) as step:
        draft = draft_plans(documents, [*_national_events(), *extra_events], units, step)
    text = to_json(draft) if args.format == "json" else to_toml(draft)
    for plan in draft.plans:
        if plan.document.ocr:
            print(_("lichnhac: note: {name}: the text was recognised from a scanned image "
                    "(OCR), review the draft more carefully").format(name=plan.document.name),
                  file=sys.stderr)
        if not plan.events:
            print(_("lichnhac: warning: {name}: no date of the plan found (the dates of "
                    "documents it cites do not count)").format(name=plan.document.name),
                  file=sys.stderr)
    if args.out:
        out = Path(args.out)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise DocumentError(_("{path}: cannot write the draft ({reason})")
                                .format(path=args.out, reason=exc.strerror)) from None
        print(_("Drafted {events} events, {units} units from {files} files into {path}: "
                "review it before use.").format(events=len(draft.events),
                                                units=len(draft.units),
                                                files=len(documents), path=args.out),
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
