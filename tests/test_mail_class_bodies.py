"""Reminders rendered once per class of digest and filled per unit must be byte for byte
the emails rendering each digest whole gives: salutations, feed, subscribe and confirm
links, escaped HTML, folded To headers, the .ics attachment, late reminders, moved
deadlines, the coordinator's own wording, escalations and weekly summaries."""

from __future__ import annotations

import email
import email.message
import email.policy
import unicodedata
from datetime import date, timedelta
from email.utils import formataddr
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.config import Config, load_config
from scheduler.feeds.ics import EMAIL_PATTERN, EMAIL_REPLACEMENT, clean_text
from scheduler.followup.escalation import escalation_digests
from scheduler.followup.mail import EscalationRenderer, SummaryRenderer
from scheduler.followup.summary import summary_digests
from scheduler.mail import mime, render
from scheduler.mail.mime import UTF8, fold_header, mailbox_list
from scheduler.mail.render import MessageRenderer, one_line
from scheduler.reminders import Digest, plan_reminders
from scheduler.store import message_token

NAMES = [
    "Phòng Văn hóa – Xã hội",
    "Trường Trung học cơ sở Nguyễn Thị Minh Khai phường Bến Thành thành phố Hồ Chí Minh",
    "Hội <b>Phụ nữ</b> & \"Thanh niên\" xã Hòa An",
    "Plain ASCII Unit, with a comma",
    "Trạm Y tế",
    "Ủy ban Mặt trận Tổ quốc Việt Nam xã Đông Hưng tỉnh Thái Bình (ban công tác mặt trận)",
    "Công an xã\u00a0An   Phú",
    "Tổ dân phố số 7",
]


def _config(tmp_path: Path, units: int = 48) -> Config:
    blocks = []
    for index in range(units):
        name = f"{NAMES[index % len(NAMES)]} {index}"
        emails = [f"u{index}@hoaan.example.gov.vn"]
        if index % 5 == 0:
            emails.append(f"van.thu-{index}@mail.hoaan.example.gov.vn")
        group = ("communes", "schools", "offices")[index % 3]
        blocks.append(f'[[unit]]\nid = "u{index}"\nname = {_toml(name)}\n'
                      f'email = {_toml_list(emails)}\ngroups = ["{group}"]\n')
    (tmp_path / "calendar.toml").write_text(CALENDAR, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(CONFIG + "\n".join(blocks), encoding="utf-8")
    return load_config(config)


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(_toml(i) for i in items) + "]"


CONFIG = """\
timezone = "Asia/Ho_Chi_Minh"
calendars = ["calendar.toml"]
coordinator = "u1"

[state]
dir = "state"

[web]
base_url = "https://lich.hoaan.example.gov.vn"

[mail]
from = "Lịch nhắc <nhaclich@hoaan.example.gov.vn>"
transport = "outbox"

[followup]
enabled = true
overdue_days = [1, 3]
escalate = true
weekly_summary = "monday"

"""

# 20/6/2026 is a Saturday: that deadline moves to Friday 19/6 (a moved-deadline note).
CALENDAR = """\
[[event]]
id = "bao-cao-6-thang"
title = "Hạn gửi báo cáo 6 tháng về công tác bình đẳng giới"
kind = "deadline"
date = "2026-06-20"
units = ["all"]
lead_days = [7, 1]
basis = "Kế hoạch số 12/KH-UBND ngày 05/01/2026"

[[event]]
id = "truyen-thong"
title = "Truyền thông về bình đẳng giới trong trường học"
kind = "activity"
date = "2026-06-19"
units = ["schools"]
lead_days = [7]
description = "Mỗi trường tổ chức ít nhất 01 buổi; gửi ảnh <và> danh sách & biên bản."

[[event]]
id = "ngay-gia-dinh"
title = "Ngày Gia đình Việt Nam"
kind = "observance"
date = "06-28"
units = ["communes", "u1"]
lead_days = [1]

[[event]]
id = "bao-cao-xa"
title = "Hạn báo cáo kết quả của xã"
kind = "deadline"
date = "2026-06-26"
units = ["communes"]
report_to = "u4"
lead_days = [3]
"""


def _reference_mailbox_list(name: str, display: str, addresses: tuple[str, ...]) -> str:
    """Today's To header before the short cut: formataddr each, fold_header refolds."""
    return ",\n ".join(formataddr((display, a), UTF8) for a in addresses)


class _WholeRenderer(MessageRenderer):
    """Every digest rendered whole: no body cache, no item cache."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self._bodies = None

    def _item(self, item, today, unit_id):  # type: ignore[no-untyped-def]
        return self._item_values(item, today, unit_id)


def _digests(config: Config) -> list[Digest]:
    return plan_reminders(config, date(2026, 6, 1), date(2026, 6, 30))


def test_class_bodies_give_the_bytes_of_rendering_each_digest_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    digests = _digests(config)
    assert len({d.unit for d in digests}) == 48
    fast = MessageRenderer(config)
    assert fast._bodies is not None
    cases = []
    for digest in digests:
        token = message_token(digest.key, [i.key for i in digest.items])
        cases.append((digest, token, digest.send_at, False))
        # The same digest sent late, two days after its day (its subject and note change).
        cases.append((digest, token, digest.send_at + timedelta(days=2), True))
    ours = [fast.outgoing(d, t, s, late).data for d, t, s, late in cases]
    monkeypatch.setattr(render, "mailbox_list", _reference_mailbox_list)
    whole = _WholeRenderer(config)
    theirs = [whole.outgoing(d, t, s, late).data for d, t, s, late in cases]
    assert len(ours) == len(theirs) > 100
    for mine, reference, case in zip(ours, theirs, cases, strict=True):
        assert mine == reference, case[0].key
    text = b"".join(ours)
    # The cases reach what the issue lists: confirm links, moved deadlines, late notes,
    # the coordinator's own wording, escaped names, folded To headers, attachments.
    assert b"xac-nhan" in text and b"text/calendar" in text
    assert b"&lt;b&gt;" in text
    plain = [_plain(data) for data in ours]
    assert any("Thư nhắc muộn" in body for body in plain)  # late reminders
    assert any("Lưu ý:" in body for body in plain)  # the moved deadline's note
    assert any("Tổng hợp:" in body for body in plain)  # the coordinator's own wording
    assert b"To: =?utf-8?b?" in text and b",\n =?utf-8?b?" in text


def _plain(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_escalations_and_summaries_keep_their_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path, units=16)
    escalations = escalation_digests(config, date(2026, 6, 20), date(2026, 6, 30))
    summaries = summary_digests(config, date(2026, 6, 1), date(2026, 6, 30))
    assert escalations and summaries

    def rendered() -> list[bytes]:
        out = [EscalationRenderer(config).outgoing(d, "e" * 32, d.send_at).data
               for d in escalations]
        return out + [SummaryRenderer(config).outgoing(d, "s" * 32, d.send_at).data
                      for d in summaries]

    ours = rendered()
    monkeypatch.setattr(render, "mailbox_list", _reference_mailbox_list)
    assert ours == rendered()


def test_a_deployments_own_templates_are_rendered_whole(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "reminder.txt.j2").write_text(
        "{{ unit_name|upper }} {{ feed_url|length }}\n", encoding="utf-8")
    _config(tmp_path, units=6)
    text = (tmp_path / "config.toml").read_text(encoding="utf-8").replace(
        'transport = "outbox"', 'transport = "outbox"\ntemplates = "templates"')
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "config.toml")
    renderer = MessageRenderer(config)
    assert renderer._bodies is None
    digest = _digests(config)[0]
    message = renderer.render(digest, "t" * 32, digest.send_at)
    body = message.get_body(("plain",))
    assert body is not None
    assert one_line(digest.unit_name).upper() in str(body.get_content())


def _one_line_reference(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text
                   if unicodedata.category(c) not in ("Cf", "Cs", "Co") or c == "\u200d")
    return " ".join(kept.split())


def _clean_text_reference(text: str) -> str:
    from scheduler.feeds import ics

    text = unicodedata.normalize("NFC", text)
    text = EMAIL_PATTERN.sub(EMAIL_REPLACEMENT, text)
    text = ics._CONTROL.sub("", ics._LINE_BREAKS.sub(" ", text))
    return " ".join(text.split())


ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60) | st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợ"
             "ùủũúụừửữứựỳỷỹýỵ ĐÂ@.-<>&\"',()\t\n\u00a0\u200b\u200d\u2028\ufffd\ue000",
    max_size=120)


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_one_line_and_clean_text_short_cuts_give_what_the_full_passes_give(text: str) -> None:
    assert one_line(text) == _one_line_reference(text)
    assert clean_text(text) == _clean_text_reference(text)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, st.lists(st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,30}@[a-z0-9-]{1,20}"
                                        r"(\.[a-z]{2,10}){1,3}", fullmatch=True),
                          min_size=1, max_size=3))
def test_the_to_header_short_cut_folds_like_fold_header(name: str, addresses: list[str]) -> None:
    display = one_line(name)
    assert mailbox_list("To", display, addresses) == fold_header(
        "To", _reference_mailbox_list("To", display, tuple(addresses)))


def test_the_subject_cache_gives_the_encoded_words_of_the_uncached_encoder() -> None:
    subject = "Nhắc việc: Hạn gửi báo cáo 6 tháng về công tác bình đẳng giới (còn 7 ngày)"
    first = mime.encoded_header("Subject", subject)
    assert mime.encoded_header.__wrapped__("Subject", subject) == first
    assert mime.encoded_header("Subject", subject) is first
