"""The outbox transport: each message a readable `.eml` file in a Maildir (`<state>/outbox`).

The embedded default: a fresh install works with no mail server, and a person opens the
messages in any mail client (point it at the Maildir) or a text editor. Delivery follows
the Maildir rule — write in `tmp/`, fsync, rename into `new/` — so a reader never sees a
half-written file. The file name comes from the Message-ID, so a message resent after a
crash replaces its own earlier copy instead of appearing twice.
"""

from __future__ import annotations

import asyncio
import os
import re
from hashlib import sha256
from pathlib import Path
from types import TracebackType

from scheduler.errors import DeliveryError
from scheduler.mail import Outgoing, Transport

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


class OutboxTransport:
    """`Transport` writing into a Maildir."""

    name = "outbox"
    concurrency = 1

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._ready = False

    def _prepare(self) -> None:
        for sub in ("tmp", "new", "cur"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        self._ready = True

    def file_name(self, message: Outgoing) -> str:
        """`<unix time>.<digest key>.<id hash>.eml`: sortable by date, one per Message-ID."""
        digest = sha256(message.message_id.encode()).hexdigest()[:16]
        readable = _UNSAFE.sub("_", message.digest_key)
        return f"{int(message.date.timestamp())}.{readable}.{digest}.eml"

    async def send(self, message: Outgoing) -> None:
        try:
            if not self._ready:
                self._prepare()
            name = self.file_name(message)
            temporary = self.directory / "tmp" / name
            with open(temporary, "wb") as handle:
                handle.write(message.data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.directory / "new" / name)
        except OSError as exc:
            # A full disk or a permissions slip may be fixed by an operator: retry later.
            raise DeliveryError(f"outbox {self.directory}: {exc.strerror or exc}") from None
        await asyncio.sleep(0)

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.aclose()
