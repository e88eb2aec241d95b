"""The SMTP transport: security modes, auth, timeouts, a connection pool,
bounded concurrency and a rate limit.

- `security`: "none" (plain), "starttls" (upgrade required), "tls" (implicit TLS, 465).
- `username` + `password_file`: AUTH after connecting; the file is read at each connect,
  so a rotated password needs no restart.
- At most `max_connections` connections; idle ones are reused for the next message.
  A reused connection the server has silently closed is replaced once, at once.
- At most `max_per_second` messages start per second (provincial servers throttle bursts).
- Classification: 5xx replies are permanent (`DeliveryError(permanent=True)`); 4xx
  replies, timeouts, refused or dropped connections are temporary. After any failure the
  connection is closed, never reused mid-transaction.
- Connections are opened by aiosmtplib (greeting, EHLO, STARTTLS, AUTH); the mail
  transactions run in `smtp_session.Session`, pipelined (RFC 2920) when the server
  offers PIPELINING: two writes and two waits per message instead of four.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

import aiosmtplib

from scheduler.config import SmtpConfig
from scheduler.errors import DeliveryError, DeliveryTimeout
from scheduler.mail import Outgoing, Transport
from scheduler.mail.smtp_session import ConnectionLost, Session

log = logging.getLogger(__name__)


class RateLimiter:
    """Spaces starts at least 1/rate seconds apart (loop time, not the wall clock)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            now = loop.time()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


def classify(exc: BaseException, server: str) -> DeliveryError:
    """The `DeliveryError` an aiosmtplib (or socket) exception while opening a connection
    means for us (the transactions raise their own, in `smtp_session`)."""
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | asyncio.TimeoutError | TimeoutError):
        return DeliveryTimeout(f"{server}: no answer in time")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return DeliveryError(f"{server}: {exc.code} {exc.message}", permanent=exc.code >= 500)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError):
        return DeliveryError(f"{server}: connection lost: {exc}")
    if isinstance(exc, OSError):
        return DeliveryError(f"{server}: {exc.strerror or exc}")
    return DeliveryError(f"{server}: {type(exc).__name__}: {exc}")


class SmtpTransport:
    """`Transport` over a small pool of connections: aiosmtplib opens each (greeting,
    EHLO, STARTTLS, AUTH), `Session` runs the transactions on it (pipelined)."""

    name = "smtp"

    def __init__(self, settings: SmtpConfig) -> None:
        self.settings = settings
        self.concurrency = settings.max_connections
        self.server = f"{settings.host}:{settings.port}"
        self._slots = asyncio.Semaphore(settings.max_connections)
        self._idle: list[Session] = []
        self._limit = RateLimiter(settings.max_per_second)

    def _password(self) -> str | None:
        if self.settings.password_file is None:
            return None
        try:
            return self.settings.password_file.read_text(encoding="utf-8").strip("\r\n")
        except OSError as exc:
            raise DeliveryError(f"cannot read password_file {self.settings.password_file}: "
                                f"{exc.strerror or exc}") from None

    async def _connect(self) -> Session:
        s = self.settings
        client = aiosmtplib.SMTP(hostname=s.host, port=s.port, timeout=s.timeout_seconds,
                                 use_tls=s.security == "tls",
                                 start_tls=s.security == "starttls")
        try:
            await client.connect()
            if client.is_ehlo_or_helo_needed:      # (no TLS upgrade asked for it yet)
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
            if s.username:
                await client.login(s.username, self._password() or "")
            return Session.take_over(client, self.server, s.timeout_seconds)
        except DeliveryError:
            await _drop(client)
            raise
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await _drop(client)
            raise classify(exc, self.server) from None
        except BaseException:
            client.close()
            raise

    async def send(self, message: Outgoing) -> None:
        async with self._slots:
            await self._limit.wait()
            session = self._idle.pop() if self._idle else None
            reused = session is not None
            try:
                if session is None:
                    session = await self._connect()
                try:
                    refused = await session.send(message.sender, message.recipients,
                                                 message.data)
                except ConnectionLost as exc:
                    if not (reused and exc.unsent):
                        raise
                    # An idle connection the server closed: one fresh attempt, right away.
                    await session.close()
                    session = await self._connect()
                    refused = await session.send(message.sender, message.recipients,
                                                 message.data)
            except DeliveryError:
                if session is not None:
                    await session.close()
                raise
            except BaseException:
                if session is not None:
                    session.close_now()
                raise
            self._idle.append(session)
        if refused:
            # Some recipients took it: resending would duplicate for them. Say so once.
            log.warning("message %s: some recipients refused: %s", message.digest_key,
                        "; ".join(refused))

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(session.quit() for session in idle))

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.aclose()


async def _drop(client: aiosmtplib.SMTP) -> None:
    """Close a connection and let the loop run the socket's close callback."""
    client.close()
    await asyncio.sleep(0)
