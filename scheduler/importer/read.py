"""Reading plan documents into lines of text: .txt, .md, .docx, .doc, .html and .pdf.

Every way a file can be unusable (missing, a symlink loop, empty, binary, too big, a .docx
that is not a zip or would expand past its limits, a PDF that is broken, an unknown
extension, a text far longer or denser in dates than any plan) becomes one `DocumentError`
with a Vietnamese message naming the file, before any slow parsing starts. The formats
that need an outside tool live in their own modules: `legacy` (.doc through antiword),
`web` (.html through trafilatura) and `ocr` (scanned PDFs through tesseract).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scheduler.errors import DocumentError, display_path
from scheduler.i18n import _

MAX_BYTES = 20 * 1024 * 1024
# Limits on what a file holds once unpacked; a real plan stays far below each of them.
MAX_TEXT_CHARS = 2_000_000  # all its text
MAX_LINE_CHARS = 50_000  # one line or Word paragraph (a long one is ~3,000)
MAX_DATES = 3_000  # date-like expressions (a long plan has ~200)
MAX_DOCX_MEMBER = 32 * 1024 * 1024  # one part of a .docx, uncompressed
MAX_DOCX_TOTAL = 64 * 1024 * 1024  # the whole .docx, uncompressed
MAX_DOCX_MEMBERS = 2_000
MAX_PDF_PAGES = 500
MAX_LINES = 200_000  # lines of a text file (a long plan has ~2,000)
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
SUFFIXES = (*TEXT_SUFFIXES, ".docx", ".doc", *HTML_SUFFIXES, ".pdf")

# Called with (pages done, pages in all) while a scanned PDF is being recognised.
OcrProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Document:
    """The raw lines of one plan; line numbers are 1-based indexes into `lines`.

    For .docx a "line" is a paragraph or a table row of the document (so line 12 is the
    12th); for .doc a paragraph as antiword prints it; for .pdf a line of the extracted
    text layer (or of the recognised text), pages in order. `numbers`, when set, is the
    line of the original file each line came from (.html: the source line of the block);
    `pages` the page of each line of a PDF.
    """

    path: Path
    name: str
    lines: tuple[str, ...]
    separate_lines: bool = False  # every line is a paragraph of its own (Word, HTML blocks)
    numbers: tuple[int, ...] | None = None
    pages: tuple[int, ...] | None = None
    ocr: bool = False  # the text was recognised from page images

    def page_of(self, line: int) -> int | None:
        """The PDF page holding `line` (None for other formats)."""
        if self.pages is None or not 1 <= line <= len(self.pages):
            return None
        return self.pages[line - 1]


def safe_name(path: Path) -> str:
    """`display_path`, but a path that cannot be resolved (a symlink loop) shows as given."""
    try:
        return display_path(path)
    except (OSError, RuntimeError, ValueError):
        return str(path)


def read_document(path: Path, ocr_progress: OcrProgress | None = None) -> Document:
    """The lines of the plan at `path`, or a `DocumentError` saying why it cannot be read."""
    name = safe_name(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        shown = f'"{suffix}"' if suffix else _("no extension")
        raise DocumentError(_("{name}: format {shown} is not supported: use .txt, .md, .docx, "
                              ".doc, .html or .pdf").format(name=name, shown=shown))
    data = _read_bytes(path, name)
    if suffix == ".docx":
        document = Document(path, name, tuple(_docx_lines(path, name, data)),
                            separate_lines=True)
    elif suffix == ".doc":
        from scheduler.importer.legacy import doc_lines

        document = Document(path, name, tuple(doc_lines(path, name, data)), separate_lines=True)
    elif suffix in HTML_SUFFIXES:
        from scheduler.importer.web import html_document

        document = html_document(path, name, _decode(name, data, html=True))
    elif suffix == ".pdf":
        document = _pdf_document(path, name, data, ocr_progress)
    else:
        document = Document(path, name, tuple(_text_lines(name, data)))
    check_text(document)
    return document


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise DocumentError(_("{name}: not a file").format(name=name))
    except FileNotFoundError:
        raise DocumentError(_("{name}: file not found").format(name=name)) from None
    except OSError as exc:  # ELOOP (a symlink loop), EACCES, ENAMETOOLONG ...
        raise DocumentError(_("{name}: cannot read the file ({reason})")
                            .format(name=name, reason=exc.strerror or exc)) from None
    if size == 0:
        raise DocumentError(_("{name}: the file is empty").format(name=name))
    if size > MAX_BYTES:
        raise DocumentError(_("{name}: the file is too large ({size} MB, at most {limit} MB) - "
                              "a plan is usually under 1 MB")
                            .format(name=name, size=f"{size / 1024 / 1024:.1f}",
                                    limit=MAX_BYTES // 1024 // 1024))
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise DocumentError(_("{name}: cannot read the file ({reason})")
                            .format(name=name, reason=exc.strerror or exc)) from None
    if not data:
        raise DocumentError(_("{name}: the file is empty").format(name=name))
    if len(data) > MAX_BYTES:  # grew since stat, or a device that lies about its size
        raise DocumentError(_("{name}: the file is too large (over {limit} MB)")
                            .format(name=name, limit=MAX_BYTES // 1024 // 1024))
    return data


_DATE_LIKE = re.compile(r"\d{1,2}\s*[/.-]\s*\d{1,2}|tháng\s+\d|ngày\s+\d", re.IGNORECASE)


def check_text(document: Document, located: bool = True) -> None:
    """Refuse text no plan has: none at all, or far too long, too wide or too dense in dates.

    Runs before any parsing, so a hostile file costs one linear pass. `located=False` leaves
    line numbers out of the messages (the pieces of a web page are not its lines).
    """
    name = document.name
    total = 0
    dates = 0
    for number, line in enumerate(document.lines, start=1):
        total += len(line)
        if len(line) > MAX_LINE_CHARS:
            where = document.numbers[number - 1] if document.numbers else number
            raise DocumentError(_("{name}: a line of {length:,} characters (at most "
                                  "{limit:,}): not like a plan")
                                .format(name=f"{name}:{where}" if located else name,
                                        length=len(line), limit=MAX_LINE_CHARS))
        if total > MAX_TEXT_CHARS:
            raise DocumentError(_("{name}: the text is too long (over {limit:,} characters): "
                                  "a plan is usually under 100,000 characters; split it into "
                                  "several files").format(name=name, limit=MAX_TEXT_CHARS))
        if any(c.isdigit() for c in line):
            dates += len(_DATE_LIKE.findall(line))
            if dates > MAX_DATES:
                where = document.numbers[number - 1] if document.numbers else number
                raise DocumentError(_("{name}: too many dates (over {limit:,}): not like a "
                                      "plan").format(name=f"{name}:{where}" if located else name,
                                                     limit=MAX_DATES))
    if total == 0 or not any(line.strip() for line in document.lines):
        raise DocumentError(_("{name}: the file has no text").format(name=name))


def _decode(name: str, data: bytes, html: bool = False) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192] or data.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0")):
        raise DocumentError(_("{name}: not plain text (a binary file?): save the plan as "
                              "UTF-8 .txt, .docx or .pdf").format(name=name))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if html:  # a page saved by an old portal: its own <meta charset> or Windows-1258
            from scheduler.importer.web import decode_html

            return decode_html(name, data)
        raise DocumentError(_("{name}: not UTF-8 text (a bad byte at position {position}): "
                              "save it again as UTF-8 (Unicode)")
                            .format(name=name, position=exc.start)) from None
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\t\n\r\f")
    if controls > 8:
        raise DocumentError(_("{name}: not plain text (a binary file?)").format(name=name))
    return text


def _text_lines(name: str, data: bytes) -> list[str]:
    lines = data.count(b"\n")
    if lines > MAX_LINES:
        raise DocumentError(_("{name}: the file has {lines:,} lines (at most {limit:,}): not "
                              "like a plan").format(name=name, lines=lines, limit=MAX_LINES))
    return _decode(name, data).splitlines()


def _check_zip(name: str, archive: zipfile.ZipFile) -> None:
    """Refuse a zip bomb from its directory, before one byte is inflated.

    zipfile stops inflating a member at the size its directory entry declares (and fails
    the CRC if the data goes on), so the declared sizes bound what reading can cost.
    """
    members = archive.infolist()
    if len(members) > MAX_DOCX_MEMBERS:
        raise DocumentError(_("{name}: the .docx file has {count:,} parts (at most {limit:,}): "
                              "not an ordinary Word document")
                            .format(name=name, count=len(members), limit=MAX_DOCX_MEMBERS))
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > MAX_DOCX_MEMBER or total > MAX_DOCX_TOTAL:
            raise DocumentError(_("{name}: the .docx file unpacks too large (over {limit} MB, "
                                  "a zip bomb?): open it in Word and save it again")
                                .format(name=name, limit=MAX_DOCX_TOTAL // 1024 // 1024))
    if "word/document.xml" not in archive.namelist():
        raise DocumentError(_("{name}: the .docx file is broken, cannot read it (no "
                              "word/document.xml)").format(name=name))


def _docx_lines(path: Path, name: str, data: bytes) -> list[str]:
    import io

    if not data.startswith(b"PK"):
        raise DocumentError(_("{name}: not a valid .docx file (not a Word zip file): open it "
                              "in Word and save it as .docx").format(name=name))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_zip(name, archive)
    except DocumentError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            NotImplementedError):
        raise DocumentError(_("{name}: not a valid .docx file (not a Word zip file): open it "
                              "in Word and save it as .docx").format(name=name)) from None
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.element.body.iterchildren():
            tag = block.tag.rsplit("}", 1)[-1]
            if tag == "p":
                lines.append(" ".join(Paragraph(block, document).text.split()))
            elif tag == "tbl":
                for row in Table(block, document).rows:
                    # One row, one line: " | " between cells (and lines of a cell), as in a
                    # Markdown table; merged cells repeat, so each is kept once.
                    cells = [" | ".join(" ".join(part.split()) for part in c.text.split("\n")
                                        if part.strip()) for c in row.cells]
                    lines.append(" | ".join(c for c in dict.fromkeys(cells) if c))
    except DocumentError:
        raise
    except Exception as exc:  # python-docx raises KeyError, lxml and zip errors alike
        raise DocumentError(_("{name}: the .docx file is broken, cannot read it ({reason})")
                            .format(name=name, reason=type(exc).__name__)) from None
    return lines


def _pdf_document(path: Path, name: str, data: bytes,
                  ocr_progress: OcrProgress | None) -> Document:
    if not data.startswith(b"%PDF"):
        raise DocumentError(_("{name}: not a valid PDF file").format(name=name))
    import io
    import logging

    import pypdf

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError(_("{name}: the PDF has a password: remove it and try again")
                                .format(name=name))
        count = len(reader.pages)
        if count > MAX_PDF_PAGES:
            raise DocumentError(_("{name}: the PDF has {count} pages (at most {limit})")
                                .format(name=name, count=count, limit=MAX_PDF_PAGES))
        lines: list[str] = []
        pages: list[int] = []
        for number, page in enumerate(reader.pages, start=1):
            text = (page.extract_text() or "").splitlines()
            lines += [*text, ""]
            pages += [number] * (len(text) + 1)
            if sum(map(len, lines)) > MAX_TEXT_CHARS:
                raise DocumentError(_("{name}: the text is too long (over {limit:,} characters)")
                                    .format(name=name, limit=MAX_TEXT_CHARS))
    except DocumentError:
        raise
    except RecursionError:
        raise DocumentError(_("{name}: the PDF is broken (a reference loop), cannot read it")
                            .format(name=name)) from None
    except Exception as exc:
        raise DocumentError(_("{name}: the PDF is broken, cannot read it ({reason})")
                            .format(name=name, reason=type(exc).__name__)) from None
    if any(line.strip() for line in lines):
        return Document(path, name, tuple(lines), pages=tuple(pages))  # never OCRed
    from scheduler.importer.ocr import has_images, ocr_document

    if count and not has_images(reader):
        raise DocumentError(_("{name}: the PDF has no text layer and no scanned image: no "
                              "text to read").format(name=name))

    return ocr_document(path, name, count, ocr_progress)
