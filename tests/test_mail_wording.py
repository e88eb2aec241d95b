"""What a reminder email says (issue 11, item 4): the coordinator is not told to send a
report to itself, a span gives each end its weekday, an item is labelled by what it is,
the attachment carries the data's revision as DTSTAMP, and the email subscribes."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

from scheduler.config import Config, load_config
from scheduler.feeds import build_feedset, uid_for
from scheduler.feeds.revisions import EVENTS_DOCUMENT
from scheduler.links import Subscription
from scheduler.mail.render import MessageRenderer
from scheduler.reminders import Digest, plan_reminders
from scheduler.store import message_token
from scheduler.store.documents import documents
from tests.smtp_helpers import write_deployment

EVENTS = '''
[[event]]
id = "bao-cao-nam"
title = "Hạn gửi báo cáo năm về công tác bình đẳng giới"
kind = "deadline"
date = "2026-12-10"
units = ["offices"]
lead_days = [1]
report_to = "phong-van-hoa-xa-hoi"

[[event]]
id = "dang-tin"
title = "Đăng tối thiểu 02 tin, bài về bình đẳng giới trong quý"
kind = "deadline"
date = "2026-12-10"
units = ["offices"]
lead_days = [1]
report_to = "phong-van-hoa-xa-hoi"

[[event]]
id = "thang-hanh-dong"
title = "Tháng hành động vì bình đẳng giới"
kind = "campaign"
start = "2026-11-15"
end = "2026-12-15"
units = ["offices"]
lead_days = [3]
'''


def _config(tmp_path: Path) -> Config:
    return load_config(write_deployment(tmp_path, EVENTS))


def _digest(config: Config, day: date, unit: str) -> Digest:
    return next(d for d in plan_reminders(config, day, day) if d.unit == unit)


def _render(config: Config, digest: Digest) -> EmailMessage:
    token = message_token(digest.key, [i.key for i in digest.items])
    return MessageRenderer(config).render(digest, token, digest.send_at)


def _text(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def _attachment(message: EmailMessage) -> str:
    (part,) = [p for p in message.iter_attachments()]
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data.decode()


def test_the_coordinators_own_email_does_not_tell_it_to_send_the_report_to_itself(
        tmp_path: Path) -> None:
    config = _config(tmp_path)
    own = _text(_render(config, _digest(config, date(2026, 12, 9), "phong-van-hoa-xa-hoi")))
    assert "Gửi báo cáo về" not in own and "Báo kết quả về" not in own
    assert "Phòng Văn hóa – Xã hội" not in own.split("\n", 1)[1]  # only in "Kính gửi"
    assert "Tổng hợp: đơn vị anh/chị tiếp nhận và tổng hợp báo cáo của các đơn vị" in own
    other = _text(_render(config, _digest(config, date(2026, 12, 9), "tram-y-te")))
    assert "Gửi báo cáo về: Phòng Văn hóa – Xã hội" in other


def test_a_deadline_that_is_not_a_report_is_not_labelled_a_report_deadline(
        tmp_path: Path) -> None:
    config = _config(tmp_path)
    text = _text(_render(config, _digest(config, date(2026, 12, 9), "tram-y-te")))
    report, news = text.split("2. ", 1) if text.index("Hạn gửi báo cáo") < text.index(
        "Đăng tối thiểu") else reversed(text.split("2. ", 1))
    assert "Loại: Hạn báo cáo" in report and "Gửi báo cáo về" in report
    assert "Loại: Thời hạn thực hiện" in news and "Hạn báo cáo" not in news
    assert "Báo kết quả về: Phòng Văn hóa – Xã hội" in news


def test_a_spans_email_gives_each_end_its_own_weekday(tmp_path: Path) -> None:
    config = _config(tmp_path)
    message = _render(config, _digest(config, date(2026, 11, 12), "tram-y-te"))
    for body in (_text(message), _text(message, "html")):
        # 15/11/2026 is a Sunday, 15/12/2026 a Tuesday.
        assert "Chủ nhật, 15/11/2026 – Thứ Ba, 15/12/2026" in body
        assert "15/12/2026 (Chủ nhật)" not in body


def test_the_attachments_dtstamp_is_the_datas_revision_as_in_the_feeds(tmp_path: Path) -> None:
    config = _config(tmp_path)
    digest = _digest(config, date(2026, 12, 9), "tram-y-te")
    build_feedset(config, date(2026, 12, 1), config.state_dir,
                  now=datetime(2026, 11, 20, 3, 4, 5, tzinfo=UTC))
    stored = documents(config).read_document(EVENTS_DOCUMENT)
    assert stored is not None
    revisions = json.loads(stored)
    attachment = _attachment(_render(config, digest))
    stamps = dict(re.findall(r"UID:(\S+)\r\nDTSTAMP:(\S+)\r\n", attachment))
    assert len(stamps) == len(digest.items) == 2
    for item in digest.items:
        uid = uid_for(item.occurrence)
        recorded = datetime.fromtimestamp(revisions["events"][uid][3], UTC)
        assert stamps[uid] == recorded.strftime("%Y%m%dT%H%M%SZ") == "20261120T030405Z"
    assert "20000101" not in attachment


def test_an_attachment_sent_before_any_feed_build_is_stamped_with_its_sending_not_2000(
        tmp_path: Path) -> None:
    config = _config(tmp_path)
    digest = _digest(config, date(2026, 12, 9), "tram-y-te")
    attachment = _attachment(_render(config, digest))
    sent = digest.send_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert re.findall(r"DTSTAMP:(\S+)", attachment) == [sent, sent]
    assert "20000101" not in attachment


def test_the_email_subscribes_with_the_links_the_index_page_gives(tmp_path: Path) -> None:
    config = _config(tmp_path)
    message = _render(config, _digest(config, date(2026, 12, 9), "tram-y-te"))
    feed = "http://127.0.0.1:8080/feeds/units/tram-y-te.ics"
    sub = Subscription("Trạm Y tế xã", feed)
    html, text = _text(message, "html"), _text(message)
    for link in (sub.webcal, sub.outlook_live, "http://127.0.0.1:8080/subscribe/units/tram-y-te"):
        assert link in text
        assert f'href="{link.replace("&", "&amp;")}"' in html
    assert f'href="{feed}"' not in html  # a bare .ics link imports a one-off copy
