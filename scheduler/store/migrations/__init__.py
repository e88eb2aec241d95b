"""Schema versions: numbered steps per back-end, applied in order, recorded in a
`schema_version` table (one row per applied step).

`SCHEMA_VERSION` is the version this program reads and writes; both back-ends reach it
through their own steps (`sqlite.STEPS`, `postgresql.STEPS`), and a version number means
the same tables on both. A store opened on an older schema is upgraded in place when it is
SQLite (embedded, one node: the operator expects it to just work, and it is logged), and
refused when it is PostgreSQL (shared by nodes: only `lichnhac db upgrade` changes it, once,
while an operator watches). A schema newer than the program is always refused: an older
program must not write rows it does not understand.

A SQLite ledger made before versions existed has the version-1 tables and no
`schema_version` table: it counts as version 0, and step 1 (`CREATE TABLE IF NOT EXISTS`,
the exact old schema) adopts its tables as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.i18n import N_, _
from scheduler.store import SchemaMismatch

SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Step:
    """One schema change: the statements that take version - 1 to `version`."""

    version: int
    summary: str                   # English msgid, shown translated by `db upgrade`
    statements: tuple[str, ...]


def pending(current: int, steps: tuple[Step, ...]) -> list[Step]:
    """The steps after `current`, in order (refuses a schema newer than the program)."""
    refuse_newer(current)
    return [step for step in steps if step.version > current]


def refuse_newer(current: int) -> None:
    """Raise `SchemaMismatch` when the database was written by a newer program."""
    if current > SCHEMA_VERSION:
        raise SchemaMismatch(_(
            "the store's schema is version {found}, newer than this program's {known}: "
            "run the newer lichnhac (a downgrade would lose data)").format(
                found=current, known=SCHEMA_VERSION))


def refuse_older(current: int, where: str) -> None:
    """Raise `SchemaMismatch` when a shared database needs `lichnhac db upgrade` first."""
    refuse_newer(current)
    if current < SCHEMA_VERSION:
        raise SchemaMismatch(_(
            "the store {where} has schema version {found}, older than this program's "
            "{known}: run `lichnhac db upgrade`").format(
                where=where, found=current, known=SCHEMA_VERSION))


SUMMARIES = {   # every step's summary, so the catalogs carry them
    1: N_("reminders, confirmations, marks and named documents"),
    2: N_("claims become leases (owner node, lease expiry)"),
}
