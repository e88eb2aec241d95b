"""Mail transports behind one small interface; `open_transport(config)` picks one by name.

    transport = open_transport(config)          # [mail] transport = "smtp" | "outbox"
    async with transport:                       # or: ...; await transport.aclose()
        await transport.send(outgoing)          # raises DeliveryError on failure

`send` hands over one rendered message (`Outgoing`: envelope + bytes) and returns when the
receiving side has accepted it. It raises `DeliveryError(permanent=True)` for a refusal
that will not change on retry (SMTP 5xx) and `DeliveryError(permanent=False)` or
`DeliveryTimeout` for one that may (4xx, timeouts, dropped connections). `concurrency` is
how many sends the caller may usefully run at once (SMTP: `[mail.smtp] max_connections`).

Back-ends: `smtp.py` (aiosmtplib) and `outbox.py` (a Maildir under the state dir, the
embedded default: a fresh install needs no mail server). Rendering is `render.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol

from scheduler.config import Config


@dataclass(frozen=True)
class Outgoing:
    """One rendered email and its envelope."""

    message_id: str              # with angle brackets, as in the header
    sender: str                  # envelope sender address
    recipients: tuple[str, ...]
    data: bytes                  # the whole message, RFC 5322, LF line endings
    date: datetime               # the Date header's moment
    digest_key: str


class Transport(Protocol):
    """Delivers rendered messages."""

    name: str
    concurrency: int

    async def send(self, message: Outgoing) -> None:
        """Deliver or raise `DeliveryError` (with `permanent`) / `DeliveryTimeout`."""
        ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Transport: ...

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None,
                        traceback: TracebackType | None) -> None: ...


def open_transport(config: Config) -> Transport:
    """The transport `[mail] transport` names, not yet connected (SMTP connects lazily)."""
    if config.mail.transport == "smtp":
        from scheduler.mail.smtp import SmtpTransport

        return SmtpTransport(config.mail.smtp)
    from scheduler.mail.outbox import OutboxTransport

    return OutboxTransport(config.state_dir / "outbox")
