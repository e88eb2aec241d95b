"""Word 97-2003 `.doc` files, read through Debian's `antiword`.

antiword prints each Word paragraph on one line with `-w 0`, and a table row as
`|cell   |cell   |` (one printed line per line of the tallest cell); it runs in a few
milliseconds and reads only the binary format, so a `.doc` that is really a .docx, an
HTML page or RTF (all three are common: "Save as .doc" on a portal) is routed by its
first bytes instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from scheduler.errors import DocumentError
from scheduler.i18n import _

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TIMEOUT_S = 20


def doc_lines(path: Path, name: str, data: bytes) -> list[str]:
    """The paragraphs (and table rows) of a Word 97-2003 document."""
    if data.startswith(b"PK"):  # a .docx under the old extension
        from scheduler.importer.read import _docx_lines

        return _docx_lines(path, name, data)
    head = data[:512].lstrip().lower()
    if head.startswith(b"{\\rtf"):
        raise DocumentError(_("{name}: this .doc file is really RTF: open it in Word and save "
                              "it as .docx").format(name=name))
    if head.startswith((b"<html", b"<!doctype", b"<?xml", b"<meta", b"<head")):
        from scheduler.importer.read import _decode
        from scheduler.importer.web import html_document

        return list(html_document(path, name, _decode(name, data, html=True)).lines)
    if not data.startswith(OLE_MAGIC):
        raise DocumentError(_("{name}: not a valid Word 97-2003 (.doc) file").format(name=name))
    antiword = shutil.which("antiword")
    if antiword is None:
        raise DocumentError(_("{name}: reading a .doc file needs antiword (apt-get install "
                              "antiword), or save it as .docx").format(name=name))
    with tempfile.TemporaryDirectory(prefix="lichnhac-doc-") as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8"}
        try:
            done = subprocess.run([antiword, "-m", "UTF-8.txt", "-w", "0", str(path)],
                                  capture_output=True, timeout=TIMEOUT_S, env=env, check=False)
        except subprocess.TimeoutExpired:
            raise DocumentError(_("{name}: reading the .doc file took more than {seconds} "
                                  "seconds: a broken file?").format(name=name,
                                                                   seconds=TIMEOUT_S)) from None
        except OSError as exc:
            raise DocumentError(_("{name}: cannot run {program} ({reason})")
                                .format(name=name, program="antiword",
                                        reason=exc.strerror)) from None
    if done.returncode != 0:
        raise DocumentError(_("{name}: the .doc file is broken or not a Word 97-2003 file: "
                              "open it in Word and save it as .docx").format(name=name))
    text = done.stdout.decode("utf-8", errors="replace")
    return [_row(line) for line in text.splitlines()]


def _row(line: str) -> str:
    """`|a      |b      |` → `| a | b |`: a table row as the rest of the importer reads it."""
    if not line.startswith("|"):
        return line
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return "| " + " | ".join(cells) + " |"
