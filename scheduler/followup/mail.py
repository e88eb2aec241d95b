"""The coordinator's escalation email: per overdue deadline, the units that have not
confirmed, and a link to the register; and the weekly summary (`SummaryRenderer`).
Rendering only (pure over the digest handed in);
the same MIME writer, headers and injection rules as reminders (`scheduler.mail.render`).
Templates `escalation.txt.j2` and `escalation.html.j2`, overridable like the reminder
templates with `[mail] templates`; `summary.txt.j2` and `summary.html.j2` for the summary.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from scheduler import vi
from scheduler.config import Config
from scheduler.followup.escalation import ConfirmedKey
from scheduler.followup.links import register_url
from scheduler.followup.policy import due_day
from scheduler.links import unit_feed_url
from scheduler.mail import Outgoing
from scheduler.mail.mime import assemble
from scheduler.mail.render import (
    ATTACHMENT_NAME,
    load_templates,
    message_headers,
    one_line,
    reply_to_header,
    sender_header,
)
from scheduler.model import Occurrence
from scheduler.reminders import Digest, target_day

# An overdue item lists at most this many units by name; the rest are counted (a national
# deadline has 33,550 units: the register, not an email, is the place for all of them).
UNIT_LIST_LIMIT = 100


def unit_names(config: Config, ids: Sequence[str]) -> dict[str, Any]:
    """Template variables for the units of one item: `units` (names, at most
    `UNIT_LIST_LIMIT`), `unit_count` (all of them) and `more` (those not named)."""
    shown = ids[:UNIT_LIST_LIMIT]
    names = []
    for uid in shown:
        unit = config.unit(uid)
        names.append(one_line(unit.name if unit else uid))
    return {"units": names, "unit_count": len(ids), "more": len(ids) - len(shown)}


def item_kind(config: Config, occurrence: Occurrence) -> dict[str, str]:
    """`kind` ("Hạn báo cáo" or "Thời hạn thực hiện") and `moved_note` (a deadline on a
    day off) of one item, worded as in the reminders."""
    event = occurrence.event
    workdays = config.workdays()
    target, moved_from = target_day(occurrence, workdays)
    note = ""
    if moved_from is not None:
        reason = workdays.day_off_reason(moved_from) or "ngày nghỉ"
        note = vi.moved_deadline_note(moved_from, reason, target)
    return {"kind": vi.event_label(event.kind, event.title), "moved_note": note}


class EscalationRenderer:
    """Renders escalation digests (`Digest.kind == "escalation"`) for one config."""

    TEMPLATES = ("escalation.txt.j2", "escalation.html.j2")

    def __init__(self, config: Config) -> None:
        self.config = config
        self.text_template, self.html_template = load_templates(config, self.TEMPLATES)
        self.sender, self.sender_address = sender_header(config)
        self.reply_to = reply_to_header(config)
        self.domain = self.sender_address.rpartition("@")[2] or "lichnhac.invalid"

    def context(self, digest: Digest,
                confirmed: Collection[ConfirmedKey] = ()) -> dict[str, Any]:
        """The templates' variables."""
        items = []
        for item in digest.items:
            occ = item.occurrence
            items.append({
                "title": one_line(occ.event.title),
                "due": vi.dated_with_weekday(due_day(occ)),
                "overdue": f"Quá hạn {item.overdue_days} ngày",
                **item_kind(self.config, occ),
                **unit_names(self.config, occ.units),
            })
        return {"subject": one_line(digest.subject), "unit_name": one_line(digest.unit_name),
                "items": items, "register_url": register_url(self.config, digest.unit),
                "feed_url": unit_feed_url(self.config, digest.unit)}

    def outgoing(self, digest: Digest, token: str, sent_at: datetime,
                 late: bool = False, confirmed: Collection[ConfirmedKey] = ()) -> Outgoing:
        """The email for `digest`, sent at `sent_at` (`confirmed`: the confirmations then)."""
        context = self.context(digest, confirmed)
        identifier = f"<{token}@{self.domain}>"
        headers = message_headers(digest, digest.subject, identifier, sent_at, self.sender,
                                  self.reply_to, self.config.timezone)
        from scheduler.feeds import calendar_bytes

        calendar = calendar_bytes(self.config, [i.occurrence for i in digest.items],
                                  "Theo dõi báo cáo")
        data = assemble(headers, self.text_template.render(context),
                        self.html_template.render(context), calendar, ATTACHMENT_NAME,
                        boundary=f"=_lichnhac_{token[:20]}")
        return Outgoing(message_id=identifier, sender=self.sender_address,
                        recipients=digest.to, data=data, date=sent_at, digest_key=digest.key)


class SummaryRenderer(EscalationRenderer):
    """Renders the weekly summaries (`Digest.kind == "summary"`): the overdue occurrences
    with their unconfirmed units, the coming ones with how many units confirmed."""

    TEMPLATES = ("summary.txt.j2", "summary.html.j2")

    def context(self, digest: Digest,
                confirmed: Collection[ConfirmedKey] = ()) -> dict[str, Any]:
        """The templates' variables; `confirmed` counts the coming deadlines' units."""
        day = digest.send_at.date()
        workdays = self.config.workdays()
        overdue, upcoming = [], []
        for item in digest.items:
            occ = item.occurrence
            due = due_day(occ)
            entry: dict[str, Any] = {"title": one_line(occ.event.title),
                                     "due": vi.dated_with_weekday(due),
                                     **item_kind(self.config, occ)}
            target = target_day(occ, workdays)[0]
            done = sum((u, occ.event.id, due) in confirmed for u in occ.units)
            entry.update(total=len(occ.units), confirmed=done)
            if item.overdue_days:
                pending = [u for u in occ.units if (u, occ.event.id, due) not in confirmed]
                entry.update(overdue=f"Quá hạn {item.overdue_days} ngày",
                             **unit_names(self.config, pending))
                overdue.append(entry)
            else:
                left = (target - day).days   # a moved deadline counts to its working day
                entry["countdown"] = "hôm nay" if left == 0 else f"còn {left} ngày"
                upcoming.append(entry)
        return {"subject": one_line(digest.subject), "unit_name": one_line(digest.unit_name),
                "today": vi.dated_with_weekday(day), "overdue": overdue, "upcoming": upcoming,
                "register_url": register_url(self.config, digest.unit),
                "feed_url": unit_feed_url(self.config, digest.unit)}
