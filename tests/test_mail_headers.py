"""Headers that strict servers refuse (issue 14, item 7): a unit, sender or reply-to name
of hundreds of characters made a header line over 998 octets, and a server enforcing
RFC 5321's limit (aiosmtpd does) answered 500. Every header is folded now."""

from __future__ import annotations

import asyncio
from datetime import date
from email.header import decode_header, make_header
from email.utils import getaddresses
from pathlib import Path

import aiosmtplib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.config import load_config
from scheduler.mail import open_transport
from scheduler.mail.mime import encoded_words, fold_header
from scheduler.mail.render import MessageRenderer
from scheduler.reminders import plan_reminders
from scheduler.store import message_token
from tests.smtp_helpers import SmtpServer, write_deployment

LONG_VI = ("Ban Chỉ đạo công tác bình đẳng giới và vì sự tiến bộ của phụ nữ xã Hòa An, "
           "huyện Trùng Khánh, tỉnh Cao Bằng ") * 6
LONG_ASCII = "Ban chi dao binh dang gioi " * 24
# No comma: `from` is parsed as one mailbox (a comma would need quotes in config.toml).
LONG_SENDER = "Văn phòng Ủy ban nhân dân xã Hòa An huyện Trùng Khánh tỉnh Cao Bằng " * 8
EVENT = '''
[[event]]
id = "bao-cao"
title = "Hạn gửi báo cáo quý"
kind = "deadline"
date = "2026-06-17"
units = ["ban-chi-dao", "to-cong-tac"]
lead_days = [7]
'''


def _units() -> str:
    return f'''
[[unit]]
id = "phong-van-hoa-xa-hoi"
name = "Phòng Văn hóa – Xã hội"

[[unit]]
id = "ban-chi-dao"
name = "{LONG_VI.strip()}"
email = ["bcd@example.gov.vn", "bcd2@example.gov.vn"]

[[unit]]
id = "to-cong-tac"
name = "{LONG_ASCII.strip()}"
email = ["tct@example.gov.vn"]
'''


def _decoded_names(raw: str) -> list[tuple[str, str]]:
    """Display names as an RFC 2047 reader sees them (whitespace between words dropped)."""
    unfolded = " ".join(part.strip() for part in raw.splitlines())
    return [(str(make_header(decode_header(name))), address)
            for name, address in getaddresses([unfolded])]


def test_long_names_in_to_from_and_reply_to_are_folded_and_a_strict_server_accepts_them(
        tmp_path: Path) -> None:
    with SmtpServer() as server:
        path = write_deployment(tmp_path, EVENT, units=_units(), transport="smtp",
                                port=server.port)
        text = path.read_text(encoding="utf-8").replace(
            'from = "Lịch nhắc <nhaclich@example.gov.vn>"',
            f'from = "{LONG_SENDER.strip()} <nhaclich@example.gov.vn>"\n'
            f'reply_to = "{LONG_ASCII.strip()} <hoi-dap@example.gov.vn>"')
        path.write_text(text, encoding="utf-8")
        config = load_config(path)
        digests = plan_reminders(config, date(2026, 6, 10), date(2026, 6, 10))
        assert len(digests) == 2
        renderer = MessageRenderer(config)

        async def send_all() -> None:
            async with open_transport(config) as transport:
                for digest in digests:
                    token = message_token(digest.key, [i.key for i in digest.items])
                    await transport.send(renderer.outgoing(digest, token, digest.send_at))

        asyncio.run(send_all())  # before the fix: DeliveryError "500 Line too long"
        received = server.received
    assert len(received) == 2
    for item in received:
        head = item.data.split(b"\r\n\r\n", 1)[0].decode("ascii")
        assert max(len(line) for line in head.split("\r\n")) <= 78
    raw = {item.message()["X-Lichnhac-Digest"]: item.data.split(b"\r\n\r\n", 1)[0]
           .decode("ascii") for item in received}
    headers = {key: _headers(value) for key, value in raw.items()}
    first, second = (headers[f"2026-06-10/{unit}"] for unit in ("ban-chi-dao", "to-cong-tac"))
    assert _decoded_names(first["To"]) == [(LONG_VI.strip(), "bcd@example.gov.vn"),
                                           (LONG_VI.strip(), "bcd2@example.gov.vn")]
    assert _decoded_names(second["To"]) == [(LONG_ASCII.strip(), "tct@example.gov.vn")]
    assert _decoded_names(first["From"]) == [(LONG_SENDER.strip(), "nhaclich@example.gov.vn")]
    assert _decoded_names(first["Reply-To"]) == [(LONG_ASCII.strip(),
                                                  "hoi-dap@example.gov.vn")]


def _headers(head: str) -> dict[str, str]:
    """Raw (still folded and encoded) header values by name."""
    found: dict[str, str] = {}
    name = ""
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t"):
            found[name] += "\n" + line
        else:
            name, _, value = line.partition(": ")
            found[name] = value
    return found


def test_the_strict_server_refuses_an_unfolded_long_line() -> None:
    """The test server does enforce the limit: what made the reminders fail."""
    with SmtpServer() as server:
        long_line = "To: " + "x" * 1200 + " <a@example.gov.vn>"
        data = f"{long_line}\r\nSubject: t\r\n\r\nbody\r\n".encode()

        async def send() -> None:
            await aiosmtplib.send(data, sender="a@example.gov.vn",
                                  recipients=["b@example.gov.vn"], hostname="127.0.0.1",
                                  port=server.port, timeout=5)

        with pytest.raises(aiosmtplib.SMTPDataError, match="Line too long"):
            asyncio.run(send())


@pytest.mark.parametrize("name", ["Subject", "X-Lichnhac-Digest", "To", "From", "Reply-To"])
def test_fold_header_keeps_every_line_within_78_characters(name: str) -> None:
    value = fold_header(name, "=?utf-8?b?" + "QUJD" * 300 + "?= <a@example.gov.vn>")
    assert all(len(line) <= 78 for line in f"{name}: {value}".split("\n"))


def test_a_short_header_is_left_as_it_is() -> None:
    assert fold_header("To", "=?utf-8?b?UGjDsm5nIEE=?= <a@example.gov.vn>") == \
        "=?utf-8?b?UGjDsm5nIEE=?= <a@example.gov.vn>"


def test_a_comma_in_an_unquoted_from_name_stays_in_the_name(tmp_path: Path) -> None:
    # `check` accepted `from = "Lịch nhắc, UBND xã Hòa An <a@b>"`, but the email's From was
    # parsed as two addresses and came out as `Lịch` with no address at all.
    path = write_deployment(tmp_path, EVENT, units=_units())
    text = path.read_text(encoding="utf-8").replace(
        'from = "Lịch nhắc <nhaclich@example.gov.vn>"',
        'from = "Lịch nhắc, UBND xã Hòa An <nhaclich@example.gov.vn>"\n'
        "reply_to = '\"Tổ công tác, Phòng VHXH\" <hoi-dap@example.gov.vn>'")
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    (digest, _other) = plan_reminders(config, date(2026, 6, 10), date(2026, 6, 10))
    token = message_token(digest.key, [i.key for i in digest.items])
    message = MessageRenderer(config).outgoing(digest, token, digest.send_at)
    raw = message.data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("ascii")
    head = _headers(raw.replace("\n", "\r\n"))
    assert _decoded_names(head["From"]) == [("Lịch nhắc, UBND xã Hòa An",
                                             "nhaclich@example.gov.vn")]
    assert _decoded_names(head["Reply-To"]) == [("Tổ công tác, Phòng VHXH",
                                                 "hoi-dap@example.gov.vn")]
    assert message.sender == "nhaclich@example.gov.vn"


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                    max_size=400),
       column=st.integers(min_value=1, max_value=40))
def test_encoded_words_decode_to_the_name_and_fit_their_lines(text: str, column: int) -> None:
    """Unit names (Vietnamese, emoji, anything) as RFC 2047 words: every word within 75
    characters, the first within the room left on its line, the later lines within 76,
    and a reader gets the name back exactly."""
    words = encoded_words(text, 76 - column)
    lines = words.split("\n")
    assert column + len(lines[0]) <= 76
    assert all(len(line) <= 76 and line.startswith(" =?utf-8?b?") for line in lines[1:])
    assert all(len(word) <= 75 for word in words.split())
    assert str(make_header(decode_header(" ".join(line.strip() for line in lines)))) == text
