"""Email rendering (headers, Vietnamese, injection, templates, the .ics) and the
transports: the outbox Maildir and SMTP with auth, STARTTLS and implicit TLS."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import AuthResult
from icalendar import Calendar

from scheduler.config import Config, load_config
from scheduler.errors import DeliveryError
from scheduler.mail import Outgoing, open_transport
from scheduler.mail.outbox import OutboxTransport
from scheduler.mail.render import MessageRenderer
from scheduler.reminders import Digest, plan_reminders
from scheduler.store import message_token
from tests.smtp_helpers import (
    SmtpServer,
    self_signed_certificate,
    server_tls_context,
    write_deployment,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
EVENTS = '''
[[event]]
id = "bao-cao-6-thang"
title = "Hạn gửi báo cáo 6 tháng"
kind = "deadline"
date = "06-10"
units = ["tram-y-te"]
lead_days = [7, 0]
basis = "Kế hoạch số 45/KH-UBND ngày 22/4/2024"
description = "Gửi bản giấy và bản điện tử."
'''


def _config(tmp_path: Path, **options: object) -> Config:
    return load_config(write_deployment(tmp_path, EVENTS, **options))  # type: ignore[arg-type]


def _digest(config: Config, day: date) -> Digest:
    (digest,) = plan_reminders(config, day, day)
    return digest


def _render(config: Config, digest: Digest, late: bool = False) -> EmailMessage:
    token = message_token(digest.key, [i.key for i in digest.items])
    return MessageRenderer(config).render(digest, token, digest.send_at, late)


def test_headers_are_vietnamese_encoded_words_and_deterministic(tmp_path: Path) -> None:
    config = _config(tmp_path)
    digest = _digest(config, date(2028, 6, 9))  # 10/6/2028 is a Saturday: lead 0 on Friday
    renderer = MessageRenderer(config)
    token = message_token(digest.key, [i.key for i in digest.items])
    first = renderer.outgoing(digest, token, digest.send_at)
    assert first.data == MessageRenderer(config).outgoing(digest, token, digest.send_at).data
    assert first.data.isascii()
    message = renderer.render(digest, token, digest.send_at)
    assert str(message["Subject"]) == "[Nhắc việc] Hôm nay: Hạn gửi báo cáo 6 tháng"
    assert b"Subject: =?utf-8?" in first.data
    assert str(message["From"]) == "Lịch nhắc <nhaclich@example.gov.vn>"
    assert [str(a) for a in message["To"].addresses] == [
        "Trạm Y tế xã <tramyte@example.gov.vn>", "Trạm Y tế xã <yte2@example.gov.vn>"]
    assert message["Date"].datetime == datetime(2028, 6, 9, 8, 0, tzinfo=HCM)
    assert str(message["Message-ID"]) == f"<{token}@example.gov.vn>"
    assert str(message["Auto-Submitted"]) == "auto-generated"
    assert first.sender == "nhaclich@example.gov.vn"
    text = message.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert body.startswith("Kính gửi: Trạm Y tế xã\n")
    assert "Thời gian: Thứ Bảy, 10/06/2028" in body
    assert "Lưu ý: hạn 10/06/2028 rơi vào Thứ Bảy" in body
    assert "Thứ Sáu, 09/06/2028" in body
    assert "Căn cứ: Kế hoạch số 45/KH-UBND ngày 22/4/2024" in body
    assert "Gửi báo cáo về: Phòng Văn hóa – Xã hội" in body
    assert "http://127.0.0.1:8080/feeds/units/tram-y-te.ics" in body
    html = message.get_body(("html",))
    assert html is not None and "Kính gửi: Trạm Y tế xã" in html.get_content()


def test_countdown_subjects(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert _digest(config, date(2026, 6, 3)).subject == \
        "[Nhắc việc] Còn 7 ngày: Hạn gửi báo cáo 6 tháng"
    late = _render(config, _digest(config, date(2026, 6, 3)), late=True)
    assert str(late["Subject"]).startswith("[Nhắc việc] Nhắc muộn: ")


def test_the_ics_attachment_holds_the_items(tmp_path: Path) -> None:
    config = _config(tmp_path)
    message = _render(config, _digest(config, date(2026, 6, 10)))
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "nhac-viec.ics"
    calendar = Calendar.from_ical(attachment.get_payload(decode=True))
    events = [c for c in calendar.walk("VEVENT")]
    assert [str(e["SUMMARY"]) for e in events] == ["Hạn gửi báo cáo 6 tháng"]
    assert events[0].decoded("DTSTART") == date(2026, 6, 10)


def test_nothing_from_config_injects_a_header_or_html(tmp_path: Path) -> None:
    config = _config(tmp_path)
    evil_unit = dataclasses.replace(config.units[1], name="Trạm\r\nBcc: evil@attacker.test")
    evil_event = dataclasses.replace(
        config.events[0], title="<script>alert(1)</script>\nX-Evil: 1",
        basis='<a href="http://attacker.test">Kế hoạch</a>')
    config = dataclasses.replace(config, units=(config.units[0], evil_unit, config.units[2]),
                                 events=(evil_event,))
    digest = _digest(config, date(2026, 6, 10))
    token = message_token(digest.key, [i.key for i in digest.items])
    data = MessageRenderer(config).outgoing(digest, token, digest.send_at).data
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert "Bcc" not in message and "X-Evil" not in message
    assert b"\nBcc:" not in data and b"\nX-Evil:" not in data
    assert str(message["Subject"]) == "[Nhắc việc] Hôm nay: <script>alert(1)</script> X-Evil: 1"
    assert [a.addr_spec for a in message["To"].addresses] == [
        "tramyte@example.gov.vn", "yte2@example.gov.vn"]
    html_part = message.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="http://attacker.test"' not in html


def test_a_deployment_template_overrides_the_shipped_one(tmp_path: Path) -> None:
    folder = tmp_path / "mau-thu"
    folder.mkdir()
    (folder / "reminder.txt.j2").write_text(
        "Kính gửi: {{ unit_name }}\nMẫu riêng của tỉnh: {{ items|length }} việc.\n",
        encoding="utf-8")
    path = write_deployment(tmp_path, EVENTS)
    path.write_text(path.read_text(encoding="utf-8").replace(
        'transport = "outbox"', 'transport = "outbox"\ntemplates = "mau-thu"'), encoding="utf-8")
    config = load_config(path)
    assert config.mail.templates == tmp_path / "mau-thu"
    message = _render(config, _digest(config, date(2026, 6, 10)))
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content() == "Kính gửi: Trạm Y tế xã\nMẫu riêng của tỉnh: 1 việc.\n"
    assert "Kính gửi: Trạm Y tế xã" in html.get_content()  # the shipped HTML still


def test_a_missing_template_folder_is_a_config_error(tmp_path: Path) -> None:
    """(In the default language of the suite, Vietnamese.)"""
    path = write_deployment(tmp_path, EVENTS)
    path.write_text(path.read_text(encoding="utf-8").replace(
        'transport = "outbox"', 'transport = "outbox"\ntemplates = "khong-co"'),
        encoding="utf-8")
    from scheduler.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert '[mail]: templates "khong-co" không phải thư mục' in str(caught.value)


def _outgoing(config: Config) -> Outgoing:
    digest = _digest(config, date(2026, 6, 10))
    token = message_token(digest.key, [i.key for i in digest.items])
    return MessageRenderer(config).outgoing(digest, token, digest.send_at)


def test_outbox_writes_one_file_per_message_id(tmp_path: Path) -> None:
    config = _config(tmp_path)
    message = _outgoing(config)
    outbox = open_transport(config)
    assert isinstance(outbox, OutboxTransport)
    asyncio.run(outbox.send(message))
    asyncio.run(outbox.send(message))  # a resend after a crash replaces its own copy
    files = list((tmp_path / "var" / "outbox" / "new").iterdir())
    assert len(files) == 1 and files[0].suffix == ".eml"
    assert files[0].read_bytes() == message.data
    assert list((tmp_path / "var" / "outbox" / "tmp").iterdir()) == []


def _smtp_config(tmp_path: Path, port: int, security: str = "none",
                 auth: bool = False) -> Config:
    path = write_deployment(tmp_path, EVENTS, transport="smtp", port=port)
    text = path.read_text(encoding="utf-8").replace(
        'host = "127.0.0.1"', f'host = "127.0.0.1"\nsecurity = "{security}"')
    if auth:
        (tmp_path / "smtp-password").write_text("mật-khẩu\n", encoding="utf-8")
        text = text.replace('host = "127.0.0.1"', 'host = "127.0.0.1"\nusername = "nhaclich"'
                            '\npassword_file = "smtp-password"')
    path.write_text(text, encoding="utf-8")
    return load_config(path)


async def _send(config: Config, *messages: Outgoing) -> None:
    async with open_transport(config) as transport:
        for message in messages:
            await transport.send(message)


def test_smtp_auth_reads_the_password_file(tmp_path: Path) -> None:
    seen: list[tuple[bytes, bytes]] = []

    def authenticator(server: object, session: object, envelope: object, mechanism: str,
                      data: object) -> AuthResult:
        login, password = data.login, data.password  # type: ignore[attr-defined]
        seen.append((login, password))
        ok = password == "mật-khẩu".encode()
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    with SmtpServer(authenticator=authenticator, auth_required=False,
                    auth_require_tls=False, auth_exclude_mechanism=["LOGIN"]) as server:
        config = _smtp_config(tmp_path, server.port, auth=True)
        asyncio.run(_send(config, _outgoing(config)))
        assert len(server.received) == 1
        (tmp_path / "smtp-password").write_text("sai\n", encoding="utf-8")
        with pytest.raises(DeliveryError) as caught:
            asyncio.run(_send(config, _outgoing(config)))
        assert caught.value.permanent  # 535: a wrong password does not fix itself
    assert seen[0] == (b"nhaclich", "mật-khẩu".encode())


def test_smtp_starttls(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the throwaway certificate
    context = server_tls_context(cert, key)
    with SmtpServer(tls_context=context, require_starttls=True) as server:
        config = _smtp_config(tmp_path, server.port, security="starttls")
        asyncio.run(_send(config, _outgoing(config)))
        assert len(server.received) == 1
        plain = _smtp_config(tmp_path, server.port, security="none")
        with pytest.raises(DeliveryError) as caught:
            asyncio.run(_send(plain, _outgoing(plain)))
        assert caught.value.permanent  # 530: must issue STARTTLS first


def test_smtp_implicit_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with SmtpServer(implicit_tls=server_tls_context(cert, key)) as server:
        config = _smtp_config(tmp_path, server.port, security="tls")
        asyncio.run(_send(config, _outgoing(config)))
        assert len(server.received) == 1


def test_smtp_reuses_connections_and_respects_the_connection_bound(tmp_path: Path) -> None:
    connections: list[object] = []

    with SmtpServer() as server:
        config = _smtp_config(tmp_path, server.port)
        message = _outgoing(config)

        async def burst() -> None:
            async with open_transport(config) as transport:
                await asyncio.gather(*(transport.send(message) for _ in range(40)))

        original = server.handler.handle_DATA

        async def counting(srv: object, session: object, envelope: object) -> str:
            connections.append(session)
            return await original(srv, session, envelope)

        server.handler.handle_DATA = counting  # type: ignore[method-assign]
        asyncio.run(burst())
        assert len(server.received) == 40
    sessions = {id(s) for s in connections}
    assert 1 <= len(sessions) <= config.mail.smtp.max_connections


def test_a_broken_override_template_is_named_with_its_line(tmp_path: Path) -> None:
    from scheduler.errors import ConfigError

    folder = tmp_path / "mau-thu"
    folder.mkdir()
    (folder / "reminder.html.j2").write_text("<p>\n{% if %}\n", encoding="utf-8")
    path = write_deployment(tmp_path, EVENTS)
    path.write_text(path.read_text(encoding="utf-8").replace(
        'transport = "outbox"', 'transport = "outbox"\ntemplates = "mau-thu"'), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        MessageRenderer(load_config(path))
    (problem,) = caught.value.problems
    assert problem.file.endswith("mau-thu/reminder.html.j2") and problem.line == 2


@pytest.mark.parametrize("title, name", [
    ("Báo cáo " * 40 + "=?utf-8?q?gi=E1?=", 'Office, "Ops" <x>'),
    ("Plain ASCII title", "Phòng \"Văn hóa\", Xã hội"),
])
def test_long_or_tricky_values_round_trip_exactly(tmp_path: Path, title: str,
                                                  name: str) -> None:
    config = _config(tmp_path)
    unit = dataclasses.replace(config.units[1], name=name)
    event = dataclasses.replace(config.events[0], title=title)
    config = dataclasses.replace(config, units=(config.units[0], unit, config.units[2]),
                                 events=(event,))
    digest = _digest(config, date(2026, 6, 10))
    data = MessageRenderer(config).outgoing(digest, "t" * 32, digest.send_at).data
    assert data.isascii() and max(len(line) for line in data.splitlines()) < 998
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert str(message["Subject"]) == f"[Nhắc việc] Hôm nay: {' '.join(title.split())}"
    assert [a.display_name for a in message["To"].addresses] == [name, name]
    assert [a.addr_spec for a in message["To"].addresses] == [
        "tramyte@example.gov.vn", "yte2@example.gov.vn"]
    text = message.get_body(("plain",))
    assert text is not None and f"Kính gửi: {name}" in text.get_content()
