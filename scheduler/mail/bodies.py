"""Reminder bodies rendered once per class of digest, filled per unit.

On a national send day most units get the same items; what differs between their emails
is the salutation, the feed and subscribe links and the confirm links. `BodyCache`
renders the text and HTML templates once per *shape* — the template context with those
per-unit values replaced by numbered slots — and fills the slots per message: the text
body gets each value as it is, the HTML body its HTML-escaped form, which is exactly what
Jinja2's `{{ value }}` writes in each (autoescape on for `.html.j2` only).

Conditionals of the shipped templates on per-unit values (`{% if item.confirm_url %}`)
are part of the shape: an empty value is left in place, never made a slot. Used only with
the shipped templates (a deployment's own templates may filter or test any value: they
are rendered whole), and only when no other value contains the slot marker characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from markupsafe import escape

# Values a unit does not share with the others of its class.
UNIT_KEYS = ("unit_name", "feed_url", "webcal_url", "outlook_url", "outlook_365_url",
             "subscribe_url")
ITEM_UNIT_KEYS = ("confirm_url",)
# Private-use characters: `one_line` removes them from every configured text, and the
# generated values (dates, countdowns) never contain them.
_OPEN, _CLOSE = "\ue000", "\ue001"
_SLOT = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
MAX_SHAPES = 256

# A filled body: literal pieces and slot numbers, alternating (literal first).
Pieces = tuple[tuple[str, ...], tuple[int, ...]]


def _split(rendered: str) -> Pieces:
    parts = _SLOT.split(rendered)
    return tuple(parts[0::2]), tuple(int(number) for number in parts[1::2])


def _fill(pieces: Pieces, values: list[str]) -> str:
    literals, slots = pieces
    out = [literals[0]]
    for slot, literal in zip(slots, literals[1:], strict=True):
        out.append(values[slot])
        out.append(literal)
    return "".join(out)


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


class BodyCache:
    """(text, html) of a reminder context, from the shape's bodies rendered once."""

    def __init__(self, render_text: Callable[[dict[str, Any]], str],
                 render_html: Callable[[dict[str, Any]], str]) -> None:
        self._render_text = render_text
        self._render_html = render_html
        self._shapes: dict[Any, tuple[Pieces, Pieces]] = {}

    def bodies(self, context: dict[str, Any]) -> tuple[str, str]:
        values: list[str] = []

        def slot(value: str) -> str:
            values.append(value)
            return f"{_OPEN}{len(values) - 1}{_CLOSE}"

        shape = dict(context)
        for key in UNIT_KEYS:
            shape[key] = slot(context[key])
        items = []
        for item in context["items"]:
            entry = dict(item)
            for key in ITEM_UNIT_KEYS:
                if entry.get(key):
                    entry[key] = slot(entry[key])
            items.append(entry)
        shape["items"] = items
        key = _frozen(shape)
        pieces = self._shapes.get(key)
        if pieces is None:
            if not _only_slots(key, len(values)):
                return self._render_text(context), self._render_html(context)
            text, html = _split(self._render_text(shape)), _split(self._render_html(shape))
            if len(self._shapes) >= MAX_SHAPES:
                self._shapes.clear()
            pieces = self._shapes[key] = (text, html)
        text_pieces, html_pieces = pieces
        return (_fill(text_pieces, values),
                _fill(html_pieces, [str(escape(value)) for value in values]))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _only_slots(key: Any, slots: int) -> bool:
    """Whether the marker characters in the shape are exactly our `slots` slots (a value
    that carried one itself would be mistaken for a slot: such a context is rendered
    whole)."""
    text = "\n".join(_strings(key))
    return text.count(_OPEN) == text.count(_CLOSE) == slots == len(_SLOT.findall(text))
