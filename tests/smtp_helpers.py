"""A real SMTP server (aiosmtpd) on 127.0.0.1, port 0, in its own thread — with faults.

    with SmtpServer(script=["421", "drop"]) as server:   # first two DATA fail, then 250
        ... server.port ...; server.received  # accepted messages, in order

Faults, consumed one per DATA command in order (`script`), then every message is taken:
"421"/"451" (temporary replies), "550" (permanent), "drop" (close the connection without
a reply), "stall" (answer nothing for `stall_seconds`, longer than the client's timeout).
`refuse` is a set of recipient addresses answered "550" at RCPT, on every attempt.
The server offers PIPELINING (RFC 2920) as Postfix and Exchange do, unless
`pipelining=False`: the client then sends one command at a time.
Every DATA command is also logged in `attempts` (Message-ID, action), accepted or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
import ssl
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message()["Message-ID"])


class FaultyHandler:
    """aiosmtpd handler that accepts, or fails on purpose as scripted."""

    def __init__(self, script: Iterable[str] = (), refuse: Iterable[str] = (),
                 stall_seconds: float = 3.0, pipelining: bool = True) -> None:
        self.script = list(script)
        self.pipelining = pipelining
        self.refuse = set(refuse)
        self.stall_seconds = stall_seconds
        self.received: list[Received] = []
        self.attempts: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.stop: asyncio.Event | None = None

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        if self.pipelining:   # aiosmtpd reads command by command: pipelining just works
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or envelope.content)
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        with self.lock:
            action = self.script.pop(0) if self.script else "ok"
            self.attempts.append((str(parsed["Message-ID"]), action))
        if action == "ok":
            with self.lock:
                self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos),
                                              data))
            return "250 2.0.0 OK queued"
        if action == "drop":
            server.transport.abort()
            return "421 4.4.2 connection dropped"
        if action == "stall":
            assert self.stop is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.stall_seconds)
            return "451 4.4.2 too late"
        texts = {"421": "421 4.3.2 service not available, closing",
                 "451": "451 4.3.0 local error, try again later",
                 "550": "550 5.7.1 message rejected"}
        return texts[action]


class SmtpServer:
    """Runs `FaultyHandler` behind aiosmtpd on loopback in a background thread."""

    def __init__(self, script: Iterable[str] = (), refuse: Iterable[str] = (),
                 stall_seconds: float = 3.0, implicit_tls: ssl.SSLContext | None = None,
                 pipelining: bool = True, **smtp_options: Any) -> None:
        """`smtp_options` go to aiosmtpd's SMTP (tls_context, authenticator, ...);
        `implicit_tls` wraps the listening socket (SMTPS)."""
        self.handler = FaultyHandler(script, refuse, stall_seconds, pipelining)
        self.implicit_tls = implicit_tls
        self.smtp_options = smtp_options
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._protocols: list[SMTP] = []

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def attempts(self) -> list[tuple[str, str]]:
        with self.handler.lock:
            return list(self.handler.attempts)

    def count(self) -> int:
        with self.handler.lock:
            return len(self.handler.received)

    async def _start(self) -> None:
        self.handler.stop = asyncio.Event()
        self._server = await self._loop.create_server(
            self._protocol, "127.0.0.1", 0, ssl=self.implicit_tls)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def _protocol(self) -> SMTP:
        protocol = SMTP(self.handler, hostname="sink.test", data_size_limit=10_000_000,
                        **self.smtp_options)
        self._protocols.append(protocol)
        return protocol

    async def _stop(self) -> None:
        assert self.handler.stop is not None and self._server is not None
        self.handler.stop.set()
        self._server.close()
        # Server.close() leaves accepted connections open (before 3.13): close them all,
        # the plain transport under a STARTTLS one included.
        for protocol in self._protocols:
            for transport in (protocol.transport, protocol._original_transport):
                if transport is not None:
                    transport.close()
        await asyncio.sleep(0.05)
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> SmtpServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def shipped_config_copy(directory: Path, *, transport: str = "outbox", port: int = 25,
                        timeout: float = 5.0) -> Path:
    """The shipped config.toml, copied with its state dir in `directory` and (optionally)
    SMTP to 127.0.0.1:`port`; its units, calendars and policy unchanged."""
    root = Path(__file__).resolve().parent.parent
    text = (root / "config.toml").read_text(encoding="utf-8")
    text = text.replace('"calendars/', f'"{root}/calendars/')
    text = re.sub(r'(?m)^dir = "var"', f'dir = "{directory / "var"}"', text)
    text = re.sub(r'(?m)^transport = "outbox"', f'transport = "{transport}"', text)
    text = re.sub(r'(?m)^host = "localhost"', 'host = "127.0.0.1"', text)
    text = re.sub(r"(?m)^port = 25", f"port = {port}", text)
    text = re.sub(r"(?m)^timeout_seconds = 30", f"timeout_seconds = {timeout}", text)
    text = re.sub(r"(?m)^max_per_second = 20", "max_per_second = 1000", text)
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


UNITS_TOML = '''
[[unit]]
id = "phong-van-hoa-xa-hoi"
name = "Phòng Văn hóa – Xã hội"
email = ["vanhoaxahoi@example.gov.vn"]
groups = ["offices"]

[[unit]]
id = "tram-y-te"
name = "Trạm Y tế xã"
email = ["tramyte@example.gov.vn", "yte2@example.gov.vn"]
groups = ["offices"]

[[unit]]
id = "khong-email"
name = "Đơn vị chưa có email"
groups = ["offices"]
'''


def write_deployment(directory: Path, events: str, *, units: str = UNITS_TOML,
                     transport: str = "outbox", port: int = 25, timeout: float = 5.0,
                     extra: str = "", reminders: str = "") -> Path:
    """A small deployment in `directory`: config.toml (units, mail) + cal.toml (`events`)."""
    (directory / "cal.toml").write_text('name = "Lịch thử"\n' + events, encoding="utf-8")
    config = f'''
timezone = "Asia/Ho_Chi_Minh"
calendars = ["cal.toml"]
coordinator = "phong-van-hoa-xa-hoi"
{extra}
[state]
dir = "var"

[mail]
from = "Lịch nhắc <nhaclich@example.gov.vn>"
transport = "{transport}"

[mail.smtp]
host = "127.0.0.1"
port = {port}
timeout_seconds = {timeout}
max_connections = 4
max_per_second = 1000

[reminders]
grace_days = 3
{reminders}
{units}
'''
    path = directory / "config.toml"
    path.write_text(config, encoding="utf-8")
    return path


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (openssl CLI): (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
