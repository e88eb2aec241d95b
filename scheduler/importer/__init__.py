"""The plan importer: plan documents (.txt, .md, .docx, .pdf) in, a calendar draft out.

`read` turns a file into lines (or a clear `DocumentError`), `text` cleans and joins them
into paragraphs, `identity` finds the plan's number, date and year, `sections` and `units`
the units it names, `dates` the date expressions, `extract` decides which are plan items,
`observances` recognises the national calendar's names, and `draft` writes TOML or JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from scheduler.importer.draft import Draft, merge, to_json, to_toml
from scheduler.importer.extract import PlanDraft, extract_plan
from scheduler.importer.observances import KnownEvents
from scheduler.importer.read import Document, read_document
from scheduler.importer.units import UnitBook
from scheduler.model import Event, Unit

__all__ = ["Document", "Draft", "draft_files", "draft_plans", "read_document", "to_json",
           "to_toml"]


def draft_plans(documents: Sequence[Document], known_events: Sequence[Event],
                configured_units: Sequence[Unit] = (),
                progress: Callable[[Document, int], None] | None = None) -> Draft:
    """One draft calendar from already-read plan documents."""
    known = KnownEvents(known_events)
    book = UnitBook(configured_units)
    taken: set[str] = {e.id for e in known_events}
    plans: list[PlanDraft] = []
    for document in documents:
        def step(index: int, document: Document = document) -> None:
            if progress:
                progress(document, index)
        plans.append(extract_plan(document, known, book, taken, step if progress else None))
    return merge(plans, book.units)


def draft_files(paths: Sequence[Path], known_events: Sequence[Event],
                configured_units: Sequence[Unit] = ()) -> Draft:
    """Read and draft plan files in one go (for tests and scripts)."""
    return draft_plans([read_document(p) for p in paths], known_events, configured_units)
