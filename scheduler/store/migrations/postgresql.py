"""PostgreSQL schema steps. The PostgreSQL store starts at version 2 (it never had the
version-1, lease-less claims). Text that is sorted or range-searched is `COLLATE "C"`, so
orders match SQLite's byte order and key prefixes use the primary key's index; times are
UTC epoch seconds (`double precision`), as in SQLite, so they round-trip to the same
floats and `db copy` moves them unchanged."""

from __future__ import annotations

from scheduler.store.migrations import SUMMARIES, Step

STEPS: tuple[Step, ...] = (
    Step(2, SUMMARIES[2], (
        """CREATE TABLE reminder (
            key        text COLLATE "C" PRIMARY KEY,   -- <unit>/<occurrence key>/<lead>
            digest_key text COLLATE "C" NOT NULL,      -- <send day>/<unit>
            unit       text COLLATE "C" NOT NULL,
            send_day   date NOT NULL,
            send_ts    double precision NOT NULL,
            event_end  date NOT NULL,
            state      text NOT NULL DEFAULT 'planned'
                       CHECK (state IN ('planned', 'sending', 'sent', 'failed', 'missed')),
            attempts   integer NOT NULL DEFAULT 0,
            next_ts    double precision NOT NULL,      -- earliest next attempt
            token      text COLLATE "C",               -- Message-ID core, fixed at claim
            error      text,
            done_ts    double precision,
            owner      text,                           -- node id of the claim
            lease_ts   double precision                -- claim held until
        )""",
        "CREATE INDEX reminder_due ON reminder (state, next_ts, digest_key, token)",
        "CREATE INDEX reminder_lease ON reminder (state, lease_ts)",
        "CREATE INDEX reminder_digest ON reminder (digest_key)",
        "CREATE TABLE meta (name text PRIMARY KEY, value text NOT NULL)",
        """CREATE TABLE confirmation (
            unit       text COLLATE "C" NOT NULL,
            event      text COLLATE "C" NOT NULL,
            due        date NOT NULL,
            at_ts      double precision NOT NULL,
            at_offset  integer NOT NULL,               -- seconds east of UTC
            by         text NOT NULL CHECK (by IN ('unit', 'coordinator', 'operator')),
            ref        text,
            PRIMARY KEY (due, unit, event)
        )""",
        """CREATE TABLE confirmation_log (               -- every confirm and undo
            id bigserial PRIMARY KEY, at_ts double precision NOT NULL, action text NOT NULL,
            unit text NOT NULL, event text NOT NULL, due date NOT NULL, by text NOT NULL,
            ref text
        )""",
        # Bumped in every confirm/undo transaction (a row lock: commits are ordered, so
        # a reader never misses a change the way MAX(id) of concurrent inserts could).
        "CREATE TABLE counter (name text PRIMARY KEY, value bigint NOT NULL)",
        "INSERT INTO counter VALUES ('confirmations', 0)",
        "CREATE TABLE document (name text PRIMARY KEY, body bytea NOT NULL)",
    )),
)
