"""SMTP mail transactions on a connection aiosmtplib has opened: pipelined (RFC 2920)
when the server offers PIPELINING, one command at a time when it does not.

    client = aiosmtplib.SMTP(...); await client.connect(); await client.login(...)
    session = Session.take_over(client, server="host:25", timeout=30)
    await session.send(sender, recipients, data)    # raises DeliveryError
    await session.quit()

aiosmtplib does what is hard to get right and happens once per connection: the greeting,
EHLO, STARTTLS and AUTH. Its transaction (`sendmail`) waits for every reply before the
next command (MAIL, each RCPT, DATA and the content: four round trips per message), parses
and re-quotes every address and runs two regular expressions over the whole message; at
a national burst that was most of the client's time. Here a transaction is two writes:
MAIL, RCPT… and DATA in one, then the content; the replies are read in order.

The connection is never reused after a failure (the caller closes it), so no RSET is
needed. Replies are bounded (line length, lines per reply, buffered bytes): a hostile or
broken server gets a DeliveryError, not our memory (an unfinished line is dropped once
it passes MAX_REPLY_LINE).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque
from dataclasses import dataclass

import aiosmtplib

from scheduler.errors import DeliveryError, DeliveryTimeout

MAX_REPLY_LINE = 2048          # RFC 5321 4.5.3.1.5: 512; servers add long texts
MAX_REPLY_LINES = 100
_LEADING_DOT = re.compile(rb"(?m)^\.")
_BARE_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
# What may not appear in an address we put on a command line (injection, or nonsense).
_UNSAFE_ADDRESS = re.compile(r"[\s<>]")


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class ConnectionLost(DeliveryError):
    """The connection closed mid-transaction; `unsent`: before the message content was
    written (so it cannot have been delivered, and may be sent again at once)."""

    def __init__(self, message: str, unsent: bool) -> None:
        super().__init__(message)
        self.unsent = unsent


class _Replies(asyncio.Protocol):
    """Collects the server's replies, parsed, in order; flow control for our writes."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._buffer = bytearray()
        self._lines: list[tuple[int, str]] = []
        self.replies: deque[Reply] = deque()
        self.error: str | None = None           # why no more replies will come
        self.lost = loop.create_future()        # set when the connection is gone
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.error is not None:
            return
        self._buffer += data
        while (end := self._buffer.find(b"\n")) >= 0:
            line = bytes(self._buffer[:end + 1])
            del self._buffer[:end + 1]
            self._line(line)
            if self.error is not None:
                return
        if len(self._buffer) > MAX_REPLY_LINE:
            self._fail("reply line too long")
        self._wake()

    def _line(self, line: bytes) -> None:
        if len(line) > MAX_REPLY_LINE:
            self._fail("reply line too long")
            return
        if not line[:3].isdigit():
            self._fail(f"malformed reply: {line[:80]!r}")
            return
        self._lines.append((int(line[:3]), line[4:].strip(b" \t\r\n").decode("utf-8",
                                                                               "replace")))
        if len(self._lines) > MAX_REPLY_LINES:
            self._fail("reply too long")
            return
        if line[3:4] != b"-":
            code = self._lines[-1][0]
            self.replies.append(Reply(code, "\n".join(text for _, text in self._lines)))
            self._lines = []
            if len(self.replies) > MAX_REPLY_LINES:   # far more than were asked for
                self._fail("unsolicited replies")

    def eof_received(self) -> bool:
        self._fail("connection closed by the server")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost: {exc}" if exc else "connection closed")
        if not self.lost.done():
            self.lost.set_result(None)
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    # -- for Session ---------------------------------------------------------------------

    def _fail(self, why: str) -> None:
        if self.error is None:
            self.error = why
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def drained(self) -> None:
        if self._writable is not None and not self._writable.done():
            await self._writable

    async def read(self, count: int) -> list[Reply] | None:
        """The next `count` replies, or None once no more will come (see `error`)."""
        while len(self.replies) < count:
            if self.error is not None:
                return None
            self._waiter = self._loop.create_future()
            await self._waiter
        return [self.replies.popleft() for _ in range(count)]


class Session:
    """One SMTP connection after its handshake; see the module docstring."""

    def __init__(self, transport: asyncio.Transport, extensions: dict[str, str],
                 server: str, timeout: float) -> None:
        self.transport = transport
        self.server = server
        self.timeout = timeout
        self.pipelining = "pipelining" in extensions
        self.smtputf8 = "smtputf8" in extensions
        self._replies = _Replies(asyncio.get_running_loop())
        transport.set_protocol(self._replies)

    @classmethod
    def take_over(cls, client: aiosmtplib.SMTP, server: str, timeout: float) -> Session:
        """The connection of `client` (connected, greeted, EHLO done, TLS and AUTH as
        configured), now ours: `client` must not be used again."""
        transport = client.transport
        if not isinstance(transport, asyncio.Transport) or transport.is_closing():
            raise ConnectionLost(f"{server}: connection lost", unsent=True)
        return cls(transport, dict(client.esmtp_extensions), server, timeout)

    @property
    def open(self) -> bool:
        """Usable for a transaction: connected, and the server has said nothing since the
        last one (an unsolicited reply is a 421 before closing)."""
        return (self._replies.error is None and not self._replies.replies
                and not self.transport.is_closing())

    async def send(self, sender: str, recipients: tuple[str, ...], data: bytes) -> list[str]:
        """Deliver `data` (LF or CRLF line endings) to `recipients`. Returns the refusals
        of recipients refused while others took it ("<address>: 550 …"); raises
        `DeliveryError` (`ConnectionLost`, `DeliveryTimeout`) when nobody took it."""
        if not self.open:
            raise ConnectionLost(f"{self.server}: connection closed while idle", unsent=True)
        utf8 = not (sender.isascii() and all(r.isascii() for r in recipients))
        if utf8 and not self.smtputf8:
            raise DeliveryError(f"{self.server}: the server does not take non-ASCII "
                                f"addresses (no SMTPUTF8)", permanent=True)
        for address in (sender, *recipients):
            if not address or _UNSAFE_ADDRESS.search(address):
                raise DeliveryError(f"{self.server}: not an address: {address!r}",
                                    permanent=True)
        try:
            return await asyncio.wait_for(self._transaction(sender, recipients, data, utf8),
                                          self.timeout)
        except TimeoutError:
            raise DeliveryTimeout(f"{self.server}: no answer in time") from None

    async def _transaction(self, sender: str, recipients: tuple[str, ...], data: bytes,
                           utf8: bool) -> list[str]:
        envelope = [f"MAIL FROM:<{sender}>{' SMTPUTF8' if utf8 else ''}\r\n".encode(),
                    *(f"RCPT TO:<{r}>\r\n".encode() for r in recipients)]
        if self.pipelining:
            self.transport.write(b"".join(envelope) + b"DATA\r\n")
            replies = await self._read(len(envelope) + 1)
            mail, rcpts = replies[0], replies[1:-1]
            start: Reply | None = replies[-1]
        else:
            (mail,) = await self._command(envelope[0])
            if mail.code != 250:
                raise self._refused(mail)
            rcpts = [(await self._command(command))[0] for command in envelope[1:]]
            accepted = any(r.code in (250, 251) for r in rcpts)
            start = (await self._command(b"DATA\r\n"))[0] if accepted else None
        if mail.code != 250:
            raise self._refused(mail)
        refused = [f"{r}: {reply}" for r, reply in zip(recipients, rcpts, strict=True)
                   if reply.code not in (250, 251)]
        if len(refused) == len(recipients):
            if start is not None and start.code == 354:
                # RFC 2920 3.1: DATA accepted although no recipient was: end it, empty.
                self.transport.write(b".\r\n")
                await self._read(1)
            raise DeliveryError(f"{self.server}: recipients refused: {'; '.join(refused)}",
                                permanent=all(r.code >= 500 for r in rcpts))
        assert start is not None
        if start.code != 354:
            raise self._refused(start)
        self.transport.write(_wire(data))
        await self._replies.drained()
        (final,) = await self._read(1, unsent=False)
        if final.code != 250:
            raise self._refused(final)
        return refused

    async def _command(self, command: bytes) -> list[Reply]:
        self.transport.write(command)
        return await self._read(1)

    async def _read(self, count: int, unsent: bool = True) -> list[Reply]:
        replies = await self._replies.read(count)
        if replies is None:
            raise ConnectionLost(f"{self.server}: {self._replies.error or 'connection lost'}",
                                 unsent=unsent)
        return replies

    def _refused(self, reply: Reply) -> DeliveryError:
        return DeliveryError(f"{self.server}: {reply}", permanent=reply.code >= 500)

    async def quit(self) -> None:
        """QUIT, then close; waits (bounded) for the connection to end."""
        if self.open:
            self.transport.write(b"QUIT\r\n")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._replies.read(1), min(5.0, self.timeout))
        await self.close()

    async def close(self) -> None:
        """Close and let the loop finish the close (TLS sends close_notify)."""
        self.close_now()
        try:
            await asyncio.wait_for(asyncio.shield(self._replies.lost), 1.0)
        except TimeoutError:
            self.transport.abort()

    def close_now(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


def _wire(data: bytes) -> bytes:
    """`data` as it goes after DATA: CRLF line endings, leading dots doubled, the final
    dot line."""
    data = (_BARE_LINE_ENDS.sub(b"\r\n", data) if b"\r" in data
            else data.replace(b"\n", b"\r\n"))
    if data.startswith(b".") or b"\n." in data:
        data = _LEADING_DOT.sub(b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"
