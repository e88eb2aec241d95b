"""The SMTP transport's transactions on real loopback sockets, against scripted peers: what
goes on the wire when the server offers PIPELINING (RFC 2920), replies that arrive
together or split anywhere, a connection the server closed while idle, and servers that
misbehave (bounded: an error, fast, not a hang or a growing buffer).

aiosmtpd (tests/smtp_helpers.py) covers the faults end to end; these peers are scripted so
that each test can see the bytes and the order in which they arrive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from scheduler.config import SmtpConfig
from scheduler.errors import DeliveryError
from scheduler.mail import Outgoing
from scheduler.mail.smtp import SmtpTransport

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
EHLO_PIPELINING = b"250-peer.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"

# A body with what dot-stuffing is for: a line that is a lone dot, one that starts with one.
BODY = b"Subject: t\nMessage-ID: <m@test>\n\nfirst\n.\n..two dots\n.one dot\nlast\n"


def message(recipients: tuple[str, ...] = ("a@example.gov.vn",)) -> Outgoing:
    return Outgoing(message_id="<m@test>", sender="nhaclich@example.gov.vn",
                    recipients=recipients, data=BODY, date=datetime(2026, 6, 10, tzinfo=UTC),
                    digest_key="2026-06-10/a")


async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                ehlo: bytes = EHLO_PIPELINING) -> None:
    writer.write(b"220 peer.test ESMTP\r\n")
    line = await reader.readline()
    assert line.startswith(b"EHLO "), line
    writer.write(ehlo)


async def read_until(reader: asyncio.StreamReader, end: bytes) -> bytes:
    return await asyncio.wait_for(reader.readuntil(end), 5)


class Peer:
    """A TCP server on 127.0.0.1 running `script` for each connection it accepts."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts)
        self.connections = 0
        self.errors: list[BaseException] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        script = self.scripts[min(self.connections, len(self.scripts) - 1)]
        self.connections += 1
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except BaseException as exc:   # an assertion in a script fails the test
            self.errors.append(exc)
        finally:
            writer.close()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        if self.errors:
            raise self.errors[0]


def transport(port: int, timeout: float = 2.0) -> SmtpTransport:
    return SmtpTransport(SmtpConfig(host="127.0.0.1", port=port, timeout_seconds=timeout,
                                    max_connections=1, max_per_second=1000.0))


def test_with_pipelining_the_envelope_goes_in_one_write_and_replies_may_come_together(
) -> None:
    seen: dict[str, bytes] = {}

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await greet(reader, writer)
        # Nothing is answered until DATA has arrived: a client that waited for the reply
        # to MAIL would time out here.
        seen["envelope"] = await read_until(reader, b"DATA\r\n")
        writer.write(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go on\r\n")
        seen["content"] = await read_until(reader, b"\r\n.\r\n")
        writer.write(b"250 2.0.0 queued\r\n")
        assert await reader.readline() == b"QUIT\r\n"
        writer.write(b"221 bye\r\n")

    async def run() -> None:
        async with Peer(script) as port:
            smtp = transport(port)
            await smtp.send(message(("a@example.gov.vn", "b@example.gov.vn")))
            await smtp.aclose()

    asyncio.run(run())
    assert seen["envelope"] == (b"MAIL FROM:<nhaclich@example.gov.vn>\r\n"
                                b"RCPT TO:<a@example.gov.vn>\r\nRCPT TO:<b@example.gov.vn>\r\n"
                                b"DATA\r\n")
    # CRLF line ends, every line starting with a dot doubled, the final dot line.
    assert seen["content"] == (b"Subject: t\r\nMessage-ID: <m@test>\r\n\r\nfirst\r\n..\r\n"
                               b"...two dots\r\n..one dot\r\nlast\r\n.\r\n")


def test_without_pipelining_one_command_at_a_time_and_split_replies_are_joined() -> None:
    order: list[bytes] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await greet(reader, writer, ehlo=b"250-peer.test\r\n250 8BITMIME\r\n")
        for reply in (b"250 ok\r\n", b"250-first line\r\n250 second line\r\n", b"354 go\r\n"):
            order.append(await reader.readline())
            for piece in (reply[:2], reply[2:9], reply[9:]):   # split anywhere
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.01)
        await read_until(reader, b"\r\n.\r\n")
        writer.write(b"250 queued\r\n")
        await reader.readline()

    async def run() -> None:
        async with Peer(script) as port:
            smtp = transport(port)
            await smtp.send(message())
            await smtp.aclose()

    asyncio.run(run())
    assert order == [b"MAIL FROM:<nhaclich@example.gov.vn>\r\n",
                     b"RCPT TO:<a@example.gov.vn>\r\n", b"DATA\r\n"]


async def _accept_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      received: list[bytes]) -> None:
    await read_until(reader, b"DATA\r\n")
    writer.write(b"250 ok\r\n250 ok\r\n354 go\r\n")
    received.append(await read_until(reader, b"\r\n.\r\n"))
    writer.write(b"250 queued\r\n")


def test_a_connection_closed_while_idle_is_replaced_once_and_nothing_is_sent_twice() -> None:
    received: list[bytes] = []

    async def closes_after_one(reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
        await greet(reader, writer)
        await _accept_one(reader, writer, received)
        await writer.drain()
        writer.write(b"421 4.4.2 idle too long, closing\r\n")   # then the close

    async def keeps_open(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await greet(reader, writer)
        await _accept_one(reader, writer, received)
        await reader.readline()

    async def run() -> None:
        async with Peer(closes_after_one, keeps_open) as port:
            smtp = transport(port)
            await smtp.send(message())
            await asyncio.sleep(0.1)          # the 421 and the close arrive while idle
            await smtp.send(message())
            await smtp.aclose()

    asyncio.run(run())
    assert len(received) == 2


def test_a_connection_lost_after_the_content_is_not_retried_at_once() -> None:
    """The message may have been taken: sending it again at once could duplicate it; the
    delivery's backoff decides (same Message-ID)."""
    content: list[bytes] = []

    async def vanishes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await greet(reader, writer)
        await read_until(reader, b"DATA\r\n")
        writer.write(b"250 ok\r\n250 ok\r\n354 go\r\n")
        content.append(await read_until(reader, b"\r\n.\r\n"))
        writer.transport.abort()

    async def run() -> tuple[DeliveryError, int]:
        async with Peer(vanishes) as port:
            smtp = transport(port)
            with pytest.raises(DeliveryError) as raised:
                await smtp.send(message())
            await smtp.aclose()
            await asyncio.sleep(0.05)
            return raised.value, port

    error, port = asyncio.run(run())
    assert not error.permanent and "connection" in str(error)
    assert str(error).startswith(f"127.0.0.1:{port}: ")
    assert len(content) == 1


HOSTILE = {
    "endless line": b"250 " + b"x" * 1_000_000,
    "endless reply": b"250-more\r\n" * 10_000,
    "not a reply": b"hello there\r\n",
}


@pytest.mark.parametrize("reply", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_misbehaving_server_is_a_temporary_error_fast_and_bounded(reply: bytes) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await greet(reader, writer)
        await read_until(reader, b"DATA\r\n")
        writer.write(reply)
        await writer.drain()
        await asyncio.sleep(3)

    async def run() -> DeliveryError:
        async with Peer(script) as port:
            smtp = transport(port, timeout=30)
            with pytest.raises(DeliveryError) as raised:
                await smtp.send(message())
            await smtp.aclose()
            return raised.value

    started = time.monotonic()
    error = asyncio.run(run())
    assert time.monotonic() - started < 10    # well before the 30 s timeout
    assert not error.permanent
    assert any(why in str(error) for why in ("too long", "malformed reply"))


def test_an_address_that_could_inject_a_command_is_refused_before_sending() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await greet(reader, writer)
        line = await reader.readline()           # the close (or a QUIT): no envelope
        assert line in (b"", b"QUIT\r\n"), line

    async def run() -> DeliveryError:
        async with Peer(script) as port:
            smtp = transport(port)
            with pytest.raises(DeliveryError) as raised:
                await smtp.send(message(("a@example.gov.vn>\r\nRCPT TO:<b@example.gov.vn",)))
            await smtp.aclose()
            return raised.value

    error = asyncio.run(run())
    assert error.permanent and "not an address" in str(error)
