"""The confirm page a unit reaches from its reminder: what is due, whether it is already
confirmed, a form to confirm (with an optional report reference) or withdraw; and the
page a refused link gets. Pure: config and inputs in, HTML bytes out."""

from __future__ import annotations

from typing import Any

from scheduler import vi
from scheduler.config import Config
from scheduler.followup.register import BY_LABELS
from scheduler.mail.render import template_environment
from scheduler.model import Occurrence
from scheduler.store import Confirmation

REFUSALS = {
    "malformed": (403, "Liên kết xác nhận không hợp lệ",
                  "Địa chỉ này không phải là một liên kết xác nhận do hệ thống gửi, hoặc đã bị "
                  "cắt ngắn khi sao chép. Hãy mở lại liên kết trong email nhắc việc."),
    "forged": (403, "Liên kết xác nhận không hợp lệ",
               "Liên kết này không đúng với liên kết hệ thống đã gửi (có thể đã bị sửa). Không "
               "có gì được ghi nhận. Hãy mở lại liên kết trong email nhắc việc của đơn vị."),
    "expired": (410, "Liên kết xác nhận đã hết hạn",
                "Thời gian theo dõi hạn báo cáo này đã kết thúc. Nếu đơn vị đã gửi báo cáo, "
                "đề nghị báo cơ quan thường trực để xác nhận trong sổ theo dõi."),
    "replaced": (410, "Liên kết xác nhận đã được thay",
                 "Liên kết này đã được thay bằng liên kết mới. Hãy dùng liên kết trong email "
                 "nhắc việc gần nhất."),
    "gone": (410, "Hạn báo cáo không còn trong kế hoạch",
             "Hạn báo cáo này không còn trong lịch của đơn vị (kế hoạch đã thay đổi). "
             "Không có gì được ghi nhận."),
    "unavailable": (503, "Hệ thống tạm thời chưa ghi nhận được",
                    "Cơ sở dữ liệu đang tạm gián đoạn nên chưa có gì được ghi nhận. Xin vui "
                    "lòng thử lại sau ít phút (tải lại trang này hoặc bấm lại nút xác nhận)."),
    "cross-site": (403, "Yêu cầu bị từ chối",
                   "Biểu mẫu xác nhận chỉ được gửi từ chính trang xác nhận. Hãy mở lại liên "
                   "kết trong email và bấm nút trên trang đó."),
}


def confirmation_view(confirmation: Confirmation | None) -> dict[str, str] | None:
    """A confirmation as the templates show it."""
    if confirmation is None:
        return None
    return {"at": confirmation.at.strftime("%H:%M ngày %d/%m/%Y"),
            "ref": confirmation.ref or "", "by": BY_LABELS.get(confirmation.by, "")}


def render_confirm(config: Config, unit_id: str, occurrence: Occurrence,
                   confirmation: Confirmation | None, token: str,
                   message: str = "") -> bytes:
    """The confirm page of `unit_id` for `occurrence`."""
    unit = config.unit(unit_id)
    event = occurrence.event
    coordinator_id = event.report_to or config.coordinator
    coordinator = config.unit(coordinator_id) if coordinator_id else None
    context: dict[str, Any] = {
        "unit_name": unit.name if unit else unit_id,
        "title": event.title,
        "kind": vi.KIND_LABELS[event.kind],
        "due": vi.dated_with_weekday(occurrence.end),
        "basis": event.basis,
        "report_to": coordinator.name if coordinator else "",
        "confirmation": confirmation_view(confirmation),
        "token": token,
        "message": message,
    }
    env = template_environment(None)
    return env.get_template("confirm.html.j2").render(context).encode()


def render_refusal(reason: str) -> tuple[int, bytes]:
    """(status, page) for a refused confirm link or form."""
    status, heading, text = REFUSALS[reason]
    env = template_environment(None)
    page = env.get_template("refused.html.j2").render(heading=heading, text=text)
    return status, page.encode()
