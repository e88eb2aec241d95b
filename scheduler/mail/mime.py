"""Writing a reminder's MIME structure directly, 7-bit clean and byte-for-byte stable.

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain; charset="utf-8"   (quoted-printable)
    │   └── text/html; charset="utf-8"    (quoted-printable)
    └── text/calendar; charset="utf-8"    (base64, attachment)

The `email` package's generator refolds every header of every part through
`email.header.Header`; at a national burst that was a third of the pipeline's time, so
the fixed structure above is written here (binascii does the encoding, in C). Header
values arrive already encoded (see `encoded_header`) and are folded here (`fold_header`),
so no header line passes 78 characters whatever the names configured (a strict server
refuses a line over 998); the result parses back with the standard library, which the
tests do for every message they receive.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from email.header import Header, decode_header, make_header
from email.utils import formataddr, getaddresses
from functools import lru_cache

UTF8 = "utf-8"
# RFC 5322 2.1.1: lines SHOULD be at most 78 characters and MUST be at most 998.
MAX_LINE = 78
ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender"})


@lru_cache(maxsize=4096)
def encoded_header(name: str, value: str) -> str:
    """`value` as RFC 2047 words (UTF-8, base64), folded at 76 columns after `name: `.

    `email.header.Header` keeps the spaces between words inside the encoded words; the
    modern `email.policy` folding drops one at a word break (seen in tests), hence this.
    Cached: on a send day thousands of digests share a few subjects.
    """
    if value.isascii() and len(name) + len(value) < 76 and "=?" not in value:
        return value
    return Header(value, UTF8, header_name=name).encode(linesep="\n")


def _decoded(value: str) -> str:
    """A header value with its encoded words decoded and its folding undone."""
    unfolded = " ".join(part.strip() for part in value.splitlines())
    return str(make_header(decode_header(unfolded)))


# RFC 2047: an encoded word is at most 75 characters; "=?utf-8?b?" + "?=" is 12 of them.
_WORD_MAX = 75
_WORD_OVERHEAD = 12


def encoded_words(text: str, first: int) -> str:
    """`text` as base64 encoded words (RFC 2047, UTF-8), folded: the first word at most
    `first` characters long, each later one on a line of its own within 76 columns. A
    character's bytes are never split between words (RFC 2047 5). What `email.header`
    does for this case, without its per-character accounting (a national burst encodes
    33,550 unit names)."""
    data = text.encode(UTF8)
    words = []
    budget = first
    while data:
        take = (min(budget, _WORD_MAX) - _WORD_OVERHEAD) // 4 * 3
        if take < len(data):
            while take > 0 and 0x80 <= data[take] < 0xC0:     # inside a character
                take -= 1
            if take <= 0:                                      # not even one fits
                take = 1
                while take < len(data) and 0x80 <= data[take] < 0xC0:
                    take += 1
        encoded = binascii.b2a_base64(data[:take], newline=False).decode("ascii")
        words.append(f"=?utf-8?b?{encoded}?=")
        data = data[take:]
        budget = MAX_LINE - 2 - 1
    return "\n ".join(words)


def _mailbox(name: str, display: str, address: str, column: int) -> str:
    """`display <address>`, the name as encoded words folded to fit, starting at `column`."""
    if not display:
        return f"<{address}>"
    words = encoded_words(display, MAX_LINE - 2 - column)
    last = words.rsplit("\n", 1)[-1]
    joint = "\n " if len(last) + len(address) + 3 > MAX_LINE else " "
    return f"{words}{joint}<{address}>"


def fold_header(name: str, value: str) -> str:
    """`value` folded so that no line of `name: value` passes 78 characters (RFC 5322).

    A value that already fits is returned as it is. Address headers (From, To, Reply-To)
    are refolded mailbox by mailbox, a long display name split into several encoded words;
    other headers are re-encoded as folded encoded words.
    """
    lines = f"{name}: {value}".split("\n")
    if all(len(line) <= MAX_LINE for line in lines):
        return value
    if name.lower() in ADDRESS_HEADERS:
        boxes = []
        for index, (display, address) in enumerate(getaddresses([" ".join(
                part.strip() for part in value.splitlines())])):
            column = len(name) + 2 if index == 0 else 1
            boxes.append(_mailbox(name, _decoded(display), address, column))
        return ",\n ".join(boxes)
    return Header(_decoded(value), UTF8, header_name=name).encode(linesep="\n")


# Addresses `getaddresses` gives back unchanged (no quoting, comments or odd dots).
_PLAIN_ADDRESS = re.compile(r"^[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
                            r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def mailbox_list(name: str, display: str, addresses: Sequence[str]) -> str:
    """`display <a>, display <b>` as `fold_header(name, ...)` would fold the `formataddr`
    of each, without its round trip (encode, parse, decode, encode again) when it can.

    The short cut is taken only where the round trip is known to give back what went in:
    a non-ASCII display name (`formataddr` writes it as one base64 encoded word, which
    decodes to the same text) and plain addresses; anything else takes the long way.
    """
    if display and not display.isascii() and all(_PLAIN_ADDRESS.match(a) for a in addresses):
        return ",\n ".join(_mailbox(name, display, address, len(name) + 2 if index == 0 else 1)
                            for index, address in enumerate(addresses))
    value = ",\n ".join(formataddr((display, address), UTF8) for address in addresses)
    if all(len(line) <= MAX_LINE for line in f"{name}: {value}".split("\n")):
        return value
    return fold_header(name, value)


def _quoted_printable(text: str) -> bytes:
    return binascii.b2a_qp(text.encode(UTF8), quotetabs=False, istext=True, header=False)


def assemble(headers: Sequence[tuple[str, str]], text: str, html: str, calendar: bytes,
             filename: str, boundary: str) -> bytes:
    """The whole message: `headers` (name, already-encoded value), bodies, attachment.

    `boundary` must not occur in the bodies: "=_" never appears in quoted-printable or
    base64 output, so any boundary starting "=_" is safe.
    """
    mixed, alternative = f"{boundary}_m", f"{boundary}_a"
    head = "".join(f"{name}: {fold_header(name, value)}\n" for name, value in headers)
    parts = [
        head.encode("ascii"),
        b"MIME-Version: 1.0\n",
        f'Content-Type: multipart/mixed; boundary="{mixed}"\n\n'.encode("ascii"),
        f"--{mixed}\n".encode("ascii"),
        f'Content-Type: multipart/alternative; boundary="{alternative}"\n\n'.encode("ascii"),
        f"--{alternative}\n".encode("ascii"),
        b'Content-Type: text/plain; charset="utf-8"\n',
        b"Content-Transfer-Encoding: quoted-printable\n\n",
        _quoted_printable(text), b"\n",
        f"--{alternative}\n".encode("ascii"),
        b'Content-Type: text/html; charset="utf-8"\n',
        b"Content-Transfer-Encoding: quoted-printable\n\n",
        _quoted_printable(html), b"\n",
        f"--{alternative}--\n\n".encode("ascii"),
        f"--{mixed}\n".encode("ascii"),
        b'Content-Type: text/calendar; charset="utf-8"\n',
        b"Content-Transfer-Encoding: base64\n",
        f'Content-Disposition: attachment; filename="{filename}"\n\n'.encode("ascii"),
        _base64_lines(calendar),
        f"--{mixed}--\n".encode("ascii"),
    ]
    return b"".join(parts)


@lru_cache(maxsize=64)
def _base64_lines(data: bytes) -> bytes:
    """Base64 in 76-character lines, each ending in a newline (cached: the digests of a
    send day share a few attachments, and a bytes object keeps its hash)."""
    chunk = 57  # 57 bytes → 76 characters
    return b"".join(binascii.b2a_base64(data[i:i + chunk]) for i in range(0, len(data), chunk))
