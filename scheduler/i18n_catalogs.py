"""Developer tool behind `make messages` (needs Babel, a dev extra): after Babel's extract
and update, the English catalog's empty entries get their msgid (the msgids are English),
and `check` lists what a release must not ship: an untranslated or fuzzy entry, a catalog
entry missing, or a `.mo` older than its `.po`."""

from __future__ import annotations

import gettext
import sys
from pathlib import Path

from babel.messages.catalog import Message
from babel.messages.pofile import read_po, write_po

from scheduler.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

POT = LOCALE_DIR / f"{DOMAIN}.pot"


def _strings(message: Message) -> tuple[str, ...]:
    """A message's translations as a tuple (one, or one per plural form)."""
    string = message.string
    if isinstance(string, str) or string is None:
        return (string or "",)
    return tuple(string)


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def fill_english() -> int:
    """Give every empty English msgstr its msgid; returns how many were filled."""
    path = po_path("en")
    with path.open("rb") as f:
        catalog = read_po(f, locale="en")
    filled = 0
    for message in catalog:
        if isinstance(message.id, tuple):
            if not all(_strings(message)):
                message.string = message.id[:2]  # English: one and other
                filled += 1
        elif message.id and not message.string:
            message.string = message.id
            filled += 1
    with path.open("wb") as f:
        write_po(f, catalog, width=100)
    return filled


def problems() -> list[str]:
    """Every reason the catalogs are not ready to ship (empty when they are)."""
    with POT.open("rb") as f:
        template = read_po(f)
    wanted = {m.id for m in template if m.id}
    found: list[str] = []
    for lang in LANGUAGES:
        with po_path(lang).open("rb") as f:
            catalog = read_po(f, locale=lang)
        have = {m.id: m for m in catalog if m.id}
        for msgid in sorted(wanted - have.keys(), key=str):
            found.append(f"{lang}: missing entry {msgid!r}")
        for msgid, message in have.items():
            if not all(_strings(message)):
                found.append(f"{lang}: untranslated {msgid!r}")
            if message.fuzzy:
                found.append(f"{lang}: fuzzy {msgid!r}")
        mo = po_path(lang).with_suffix(".mo")
        if not mo.exists():
            found.append(f"{lang}: {mo.name} missing: run make compile-messages")
            continue
        with mo.open("rb") as f:
            compiled = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
        expected: dict[object, str] = {}
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple):
                if all(_strings(message)):
                    for i, text in enumerate(_strings(message)):
                        expected[(message.id[0], i)] = text
            elif _strings(message)[0]:
                expected[message.id] = _strings(message)[0]
        compiled = {k: v for k, v in compiled.items() if k != ""}
        if compiled != expected:
            found.append(f"{lang}: {mo.name} is stale: run make compile-messages")
    return found


if __name__ == "__main__":
    if sys.argv[1:] == ["fill-en"]:
        print(f"en: {fill_english()} entries filled with their msgid")
    else:
        listed = problems()
        print("\n".join(listed) or "catalogs complete")
        sys.exit(1 if listed else 0)
