"""The language of the command line: Vietnamese by default, English when the locale asks.

Every user-facing command-line message goes through `_()` (or `ngettext()`) when it is
built. The msgids are English (the code's language); the catalogs
`scheduler/locale/{vi,en}/LC_MESSAGES/lichnhac.po` translate every one of them, and their
compiled `.mo` files are committed and shipped in the wheel (`make messages` extracts and
updates, `make compile-messages` compiles; tests/test_i18n.py fails on a missing
translation or a stale `.mo`).

The language is read from LANGUAGE, LC_ALL, LC_MESSAGES, LANG (the first one set, as
gettext does): a value starting with "en" means English, anything else (unset, "C",
"vi_VN.UTF-8", ...) Vietnamese. It is read at each message, so a test (or a caller) that
changes the environment gets the new language at once.

Operators' logs, emails and web pages do not go through here: logs stay English (stable
for grepping), emails and pages are Vietnamese templates for commune officers.

Messages with values use named placeholders, `_('{where}: unknown key "{key}"').format(...)`,
so a translation can reorder them.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

DOMAIN = "lichnhac"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
# Set by `in_language` (the daemon's log lines are English whatever the locale).
_FORCED: ContextVar[str | None] = ContextVar("lichnhac_language", default=None)


def language(environ: Mapping[str, str] | None = None) -> str:
    """"en" when the first set locale variable starts with "en", else "vi" (or the
    language `in_language` forces in this context)."""
    forced = _FORCED.get()
    if forced is not None and environ is None:
        return forced
    env = os.environ if environ is None else environ
    for name in _VARIABLES:
        value = env.get(name, "")
        if value:
            first = value.split(":", 1)[0].strip().lower()
            return "en" if first.startswith("en") else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of `lang` (the msgids themselves if it is missing)."""
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang],
                               fallback=True)


@contextmanager
def in_language(lang: str) -> Iterator[None]:
    """Build messages in `lang` within this block (and the tasks and threads it starts),
    whatever the locale: the daemon's reload problems go to the operators' English log."""
    token = _FORCED.set(lang)
    try:
        yield
    finally:
        _FORCED.reset(token)


def _(message: str) -> str:
    """`message` (an English msgid) in the language of the environment."""
    return translations(language()).gettext(message)


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it yet (module-level tables whose
    entries are translated with `_()` where they are shown)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for `n`, in the environment's language."""
    return translations(language()).ngettext(singular, plural, n)


def install_argparse() -> None:
    """Make argparse's own words ("usage:", "error:", "the following arguments are
    required") speak the same language as ours (argparse looks them up through the
    module-level names `_` and `ngettext`, which we point at our catalog)."""
    import argparse

    argparse._ = _  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]
