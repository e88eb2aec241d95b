"""Web pages saved from a portal (`.html`): the article body only, through trafilatura.

trafilatura finds the main content of a page and drops the site chrome around it (menus,
banners, "tin mới" lists, footers), keeping paragraphs, lists and tables (as `| a | b |`
rows). Each block of the article becomes one line; its line number is the line of the
HTML source where its text starts, so provenance points into the file the officer saved.
"""

from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path

from scheduler.errors import DocumentError
from scheduler.i18n import _
from scheduler.importer.read import Document

_TAG = re.compile(r"<[^<>]*>")
MAX_TAGS = 20_000  # a portal page has ~3,000 elements; a plan saved as a web page ~10,000
MIN_WORDS = 20
_SPACE = re.compile(r"\s+")


def decode_html(name: str, data: bytes) -> str:
    """A page that is not UTF-8: the charset it declares, else what charset detection says."""
    from trafilatura.utils import decode_file

    text = decode_file(data)
    if not isinstance(text, str) or not text.strip():
        raise DocumentError(_("{name}: cannot tell the web page's character encoding")
                            .format(name=name))
    return text


def _plain(text: str) -> str:
    return unicodedata.normalize("NFC", _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text)))
                                 ).strip()


def html_document(path: Path, name: str, source: str) -> Document:
    """The article of a saved web page, one block per line, with source line numbers."""
    import logging

    import trafilatura

    from scheduler.importer.read import check_text

    tags = source.count("<")
    if tags > MAX_TAGS:
        raise DocumentError(_("{name}: the web page has {count:,} tags (at most {limit:,}): not "
                              "like an article; save its text on its own")
                            .format(name=name, count=tags, limit=MAX_TAGS))
    # The page's whole text bounds the article's: refuse a hostile page before parsing it.
    pieces = tuple(html.unescape(piece) for piece in _TAG.split(source) if piece.strip())
    check_text(Document(path, name, pieces), located=False)

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)
    try:
        text = trafilatura.extract(source, output_format="txt", include_tables=True,
                                   include_comments=False, include_links=False,
                                   include_images=False, favor_recall=True, deduplicate=False)
    except (ValueError, TypeError, RecursionError, AttributeError, LookupError):
        text = None
    lines = [line.strip() for line in (text or "").splitlines()]
    lines = [line for line in lines if line and not re.fullmatch(r"\|(?:\s*-+\s*\|)+", line)]
    if sum(len(line.split()) for line in lines) < MIN_WORDS:
        raise DocumentError(_("{name}: no article found in the web page").format(name=name))
    return Document(path, name, tuple(lines), separate_lines=True,
                    numbers=tuple(_source_lines(source, lines)))


def _source_lines(source: str, lines: list[str]) -> list[int]:
    """For each extracted line, the first source line at or after the last that holds it."""
    plain = [_plain(raw) for raw in source.splitlines()]
    numbers: list[int] = []
    at = 0
    for line in lines:
        key = _plain(line.strip("| "))[:24].split(" | ")[0]
        found = None
        if key:
            for index in range(at, min(len(plain), at + 400)):
                if key in plain[index]:
                    found = index
                    break
        if found is not None:
            at = found
        numbers.append(at + 1)
    return numbers
