"""Rendering a digest into an email: Jinja2 templates → message bytes (`outgoing`), or
the same bytes parsed as an `email.message.EmailMessage` (`render`).

Pure: the same digest, token and moment give the same bytes (MIME written by `mime.py`;
token = `scheduler.store.message_token`). The message has a plain-text
body and an autoescaped HTML alternative (templates `reminder.txt.j2`, `reminder.html.j2`),
the items as an `.ics` attachment (`scheduler.feeds.calendar_bytes`), and the headers
From, To, Date (the moment of sending — virtual under `simulate`), Message-ID
(`<token>@<sender domain>`: the same reminders give the same id on every
retry), Auto-Submitted: auto-generated, and Reply-To when configured. The body subscribes
the unit to its feed with the links the index page and the unit's subscribe page give
(`scheduler.links.Subscription`): a bare `.ics` link would only import a one-off copy.
Non-ASCII names and subjects become RFC 2047 encoded words; bodies are quoted-printable,
so the message is 7-bit clean for strict servers.

**Overriding templates.** `[mail] templates = "DIR"` (relative to config.toml) names a
folder searched before the shipped templates: a `reminder.txt.j2` or `reminder.html.j2`
there replaces the shipped one. The variables are those `_context` builds.

**Injection.** Every value from config or calendars is reduced to one line without control
characters before it reaches a header, and the HTML template is autoescaped, so no
calendar title or unit name can add a header or markup.
"""

from __future__ import annotations

import email.policy
import unicodedata
from datetime import date, datetime, tzinfo
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from scheduler import vi
from scheduler.config import Config
from scheduler.converters import split_mailbox
from scheduler.errors import ConfigError, Problem
from scheduler.i18n import _
from scheduler.links import Subscription, unit_feed_url, unit_subscribe_url
from scheduler.mail import Outgoing
from scheduler.mail.bodies import BodyCache
from scheduler.mail.mime import UTF8, assemble, encoded_header, mailbox_list
from scheduler.reminders import Digest, ReminderItem, countdown, digest_subject

TEXT_TEMPLATE = "reminder.txt.j2"
HTML_TEMPLATE = "reminder.html.j2"
ATTACHMENT_NAME = "nhac-viec.ics"


def one_line(text: str) -> str:
    """`text` as a single header-safe line: no CR, LF or other control characters."""
    text = unicodedata.normalize("NFC", text)
    if text.isprintable():
        # Printable text has no character of Cc, Zl, Zp, Cf, Cs, Co (nor Cn, which the
        # general case keeps): only its whitespace needs collapsing.
        return " ".join(text.split())
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text
                   if unicodedata.category(c) not in ("Cf", "Cs", "Co") or c == "\u200d")
    return " ".join(kept.split())


@lru_cache(maxsize=8)
def template_environment(override: Path | None) -> jinja2.Environment:
    """The deployment's template folder first (if any), then the shipped templates."""
    loaders: list[jinja2.BaseLoader] = []
    if override is not None:
        loaders.append(jinja2.FileSystemLoader(str(override)))
    loaders.append(jinja2.PackageLoader("scheduler", "templates"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=lambda name: name is not None and name.endswith(".html.j2"),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True)


def sender_header(config: Config) -> tuple[str, str]:
    """The From header (encoded words for a Vietnamese name) and the bare address."""
    name, address = split_mailbox(config.mail.sender)
    return formataddr((one_line(name), address), UTF8), address


def reply_to_header(config: Config) -> str | None:
    """The Reply-To header, if `[mail] reply_to` is set."""
    reply_to = config.mail.reply_to
    return formataddr(split_mailbox(one_line(reply_to)), UTF8) if reply_to else None


def message_headers(digest: Digest, subject: str, identifier: str, sent_at: datetime,
                    sender: str, reply_to: str | None, tz: tzinfo) -> list[tuple[str, str]]:
    """The headers of every email lichnhac sends for a digest (reminder, escalation,
    summary); `mime.assemble` folds them."""
    return [
        ("Subject", encoded_header("Subject", one_line(subject))),
        ("From", sender),
        ("To", mailbox_list("To", one_line(digest.unit_name), digest.to)),
        *([("Reply-To", reply_to)] if reply_to else []),
        ("Date", format_datetime(sent_at.astimezone(tz))),
        ("Message-ID", identifier),
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-Lichnhac-Digest", digest.key),
    ]


def load_templates(config: Config, names: tuple[str, ...]) -> list[jinja2.Template]:
    """The compiled templates `names` (the deployment's override first); every one that
    cannot be read, is not UTF-8 or does not compile is a `ConfigError` naming its file
    and line, all at once (`check` reports them; a reload keeps the old config)."""
    env = template_environment(config.mail.templates)
    found, problems = [], []
    for name in names:
        shown = str(config.mail.templates / name) if config.mail.templates else name
        try:
            found.append(env.get_template(name))
        except jinja2.TemplateSyntaxError as exc:
            problems.append(Problem(shown, exc.lineno or 0, _("template: {problem}").format(
                problem=exc.message)))
        except UnicodeDecodeError as exc:
            problems.append(Problem(shown, 0, _("template: not UTF-8 (byte {offset}); save "
                                                "it as UTF-8").format(offset=exc.start)))
        except OSError as exc:
            problems.append(Problem(shown, 0, _("template: cannot read it: {problem}")
                                    .format(problem=exc.strerror or exc)))
    if problems:
        raise ConfigError(problems)
    return found


class MessageRenderer:
    """Renders digests for one config; caches templates and attachments between messages."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.text_template, self.html_template = load_templates(
            config, (TEXT_TEMPLATE, HTML_TEMPLATE))
        self.sender, self.sender_address = sender_header(config)
        self.domain = self.sender_address.rpartition("@")[2] or "lichnhac.invalid"
        self.reply_to = reply_to_header(config)
        self._calendars: dict[tuple[str, ...], bytes] = {}
        self._items: dict[tuple[object, ...], dict[str, str]] = {}
        # Bodies rendered once per class of digest (shipped templates only: see bodies.py).
        self._bodies = (BodyCache(self.text_template.render, self.html_template.render)
                        if config.mail.templates is None else None)

    def render(self, digest: Digest, token: str, sent_at: datetime,
               late: bool = False) -> EmailMessage:
        """The email for `digest`, sent at `sent_at`, parsed back from the exact bytes."""
        data = self.outgoing(digest, token, sent_at, late).data
        parsed = message_from_bytes(data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def outgoing(self, digest: Digest, token: str, sent_at: datetime,
                 late: bool = False) -> Outgoing:
        """The email for `digest` (late: sent after its planned day) with its envelope."""
        today = sent_at.astimezone(self.config.timezone).date()
        subject = digest_subject(digest.items, today, late) if late else digest.subject
        context = self._context(digest, subject, today, late)
        # Short enough never to be folded: the digest key travels in X-Lichnhac-Digest.
        identifier = f"<{token}@{self.domain}>"
        headers = message_headers(digest, subject, identifier, sent_at, self.sender,
                                  self.reply_to, self.config.timezone)
        # The boundary comes from the token, so the same message gives the same bytes.
        if self._bodies is not None:
            text, html = self._bodies.bodies(context)
        else:
            text, html = self.text_template.render(context), self.html_template.render(context)
        data = assemble(headers, text, html, self._calendar(digest, sent_at),
                        ATTACHMENT_NAME, boundary=f"=_lichnhac_{token[:20]}")
        return Outgoing(message_id=identifier, sender=self.sender_address,
                        recipients=digest.to, data=data, date=sent_at, digest_key=digest.key)

    def _calendar(self, digest: Digest, sent_at: datetime) -> bytes:
        """The attachment: stamped like the feeds (the data's revision); an occurrence no
        feed build has recorded yet is stamped with the moment of sending, never a
        made-up date."""
        from scheduler.feeds import calendar_bytes

        key = (*(item.occurrence.key for item in digest.items), sent_at.isoformat())
        data = self._calendars.get(key)
        if data is None:
            if len(self._calendars) >= 1024:
                self._calendars.clear()
            data = calendar_bytes(self.config, [item.occurrence for item in digest.items],
                                  "Nhắc việc", first_seen=sent_at)
            self._calendars[key] = data
        return data

    def _context(self, digest: Digest, subject: str, today: date, late: bool) -> dict[str, Any]:
        feed = unit_feed_url(self.config, digest.unit)
        subscription = Subscription(one_line(digest.unit_name), feed)
        return {
            "subject": one_line(subject),
            "unit_name": one_line(digest.unit_name),
            "late": late,
            "planned_day": vi.dated_with_weekday(digest.send_at.date()),
            "items": _with_followup(self.config, digest,
                                    [self._item(item, today, digest.unit)
                                     for item in digest.items]),
            "feed_url": feed,
            # The same one-click links as the index page and the unit's subscribe page.
            "webcal_url": subscription.webcal,
            "outlook_url": subscription.outlook_live,
            "outlook_365_url": subscription.outlook_365,
            "subscribe_url": unit_subscribe_url(self.config, digest.unit),
            "attachment_name": ATTACHMENT_NAME,
        }

    def _item(self, item: ReminderItem, today: date, unit_id: str) -> dict[str, str]:
        """An item's template values (a copy: `_with_followup` adds to it). The same
        occurrence on the same day reads the same for every unit but its coordinator, so
        it is worked out once per send day, not once per unit."""
        occ = item.occurrence
        coordinator_id = occ.event.report_to or self.config.coordinator
        key = (occ.key, occ.start, occ.end, item.target, item.moved_from, today,
               coordinator_id == unit_id)
        cached = self._items.get(key)
        if cached is None:
            if len(self._items) >= 4096:
                self._items.clear()
            cached = self._items[key] = self._item_values(item, today, unit_id)
        return dict(cached)

    def _item_values(self, item: ReminderItem, today: date, unit_id: str) -> dict[str, str]:
        occ, event = item.occurrence, item.occurrence.event
        left = item.days_left(today)
        moved_note = ""
        if item.moved_from is not None:
            reason = self.config.workdays().day_off_reason(item.moved_from) or "ngày nghỉ"
            moved_note = vi.moved_deadline_note(item.moved_from, reason, item.target)
        if left > 0:
            count = f"Còn {left} ngày (đến {vi.short_date(item.target)})"
        elif left == 0:
            count = countdown(0)
        else:
            count = f"Đã qua {-left} ngày"
        coordinator_id = event.report_to or self.config.coordinator
        coordinator = self.config.unit(coordinator_id) if coordinator_id else None
        label = vi.event_label(event.kind, event.title)
        report_label, report_to = _report_line(event.kind, label, coordinator_id == unit_id)
        return {
            "title": one_line(event.title),
            "kind": label,
            "when": vi.date_range(occ.start, occ.end),
            "weekday": vi.weekday(occ.start),
            "when_weekdays": vi.date_range_with_weekdays(occ.start, occ.end),
            "countdown": count,
            "moved_note": moved_note,
            "basis": one_line(event.basis),
            "report_to": (report_to or one_line(coordinator.name)) if coordinator else "",
            "report_label": report_label,
            "description": one_line(event.description),
        }


def _with_followup(config: Config, digest: Digest,
                   items: list[dict[str, str]]) -> list[dict[str, str]]:
    """Follow-up additions to each item: `confirm_url` (empty when the occurrence needs no
    confirmation) and "Quá hạn N ngày" as the countdown of an overdue item."""
    from scheduler.followup.links import confirm_url
    from scheduler.followup.policy import needs_confirmation, responsible_units

    for item, entry in zip(digest.items, items, strict=True):
        occ = item.occurrence
        entry["confirm_url"] = (confirm_url(config, digest.unit, occ)
                                if needs_confirmation(config, occ.event)
                                and digest.unit in responsible_units(config, occ) else "")
        if item.overdue_days:
            entry["countdown"] = f"Quá hạn {item.overdue_days} ngày"
    return items


def _report_line(kind: str, label: str, own: bool) -> tuple[str, str]:
    """The label of the "report to" line, and its text when the email goes to that very
    unit (the coordinator is not told to send a report to itself: it compiles them)."""
    if kind != "deadline":
        return "Đầu mối theo dõi", "đơn vị anh/chị" if own else ""
    if label == "Hạn báo cáo":
        if own:
            return "Tổng hợp", "đơn vị anh/chị tiếp nhận và tổng hợp báo cáo của các đơn vị"
        return "Gửi báo cáo về", ""
    if own:
        return "Tổng hợp", "đơn vị anh/chị theo dõi và tổng hợp kết quả của các đơn vị"
    return "Báo kết quả về", ""
