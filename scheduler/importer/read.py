"""Reading plan documents into lines of text: .txt, .md, .docx and .pdf with a text layer.

Every way a file can be unusable (missing, empty, binary, too big, a .docx that is not a
zip, a scanned PDF, an unknown extension) becomes one `DocumentError` with a Vietnamese
message naming the file, before any slow parsing starts.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from scheduler.errors import DocumentError, display_path

MAX_BYTES = 20 * 1024 * 1024
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
SUFFIXES = (*TEXT_SUFFIXES, ".docx", ".pdf")


@dataclass(frozen=True)
class Document:
    """The raw lines of one plan; line numbers are 1-based indexes into `lines`.

    For .docx a "line" is a paragraph or a table row of the document (so line 12 is the
    12th); for .pdf a line of the extracted text layer, pages in order.
    """

    path: Path
    name: str
    lines: tuple[str, ...]
    separate_lines: bool = False  # .docx: every line is a Word paragraph or table row


def read_document(path: Path) -> Document:
    """The lines of the plan at `path`, or a `DocumentError` saying why it cannot be read."""
    name = display_path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        hint = " (Word 97-2003: hãy lưu lại thành .docx)" if suffix == ".doc" else ""
        shown = f'"{suffix}"' if suffix else "không có phần mở rộng"
        raise DocumentError(f"{name}: định dạng {shown} không được hỗ trợ{hint}: "
                            "dùng .txt, .md, .docx hoặc .pdf")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DocumentError(f"{name}: không tìm thấy tệp") from None
    except OSError as exc:
        raise DocumentError(f"{name}: không đọc được tệp ({exc.strerror})") from None
    if not path.is_file():
        raise DocumentError(f"{name}: không phải là tệp")
    if size == 0:
        raise DocumentError(f"{name}: tệp rỗng")
    if size > MAX_BYTES:
        raise DocumentError(f"{name}: tệp quá lớn ({size / 1024 / 1024:.1f} MB, tối đa "
                            f"{MAX_BYTES // 1024 // 1024} MB) - một kế hoạch thường dưới 1 MB")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{name}: không đọc được tệp ({exc.strerror})") from None
    if suffix == ".docx":
        lines = _docx_lines(path, name, data)
    elif suffix == ".pdf":
        lines = _pdf_lines(path, name, data)
    else:
        lines = _text_lines(name, data)
    if not any(line.strip() for line in lines):
        raise DocumentError(f"{name}: tệp không có nội dung văn bản")
    return Document(path=path, name=name, lines=tuple(lines), separate_lines=suffix == ".docx")


def _text_lines(name: str, data: bytes) -> list[str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").splitlines()
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192] or data.startswith((b"PK\x03\x04", b"%PDF")):
        raise DocumentError(f"{name}: không phải văn bản thuần (tệp nhị phân?): "
                            "lưu kế hoạch thành .txt UTF-8, .docx hoặc .pdf")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: không phải văn bản UTF-8 (byte lỗi ở vị trí "
                            f"{exc.start}): lưu lại với mã hóa UTF-8 (Unicode)") from None
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\t\n\r\f")
    if controls > 8:
        raise DocumentError(f"{name}: không phải văn bản thuần (tệp nhị phân?)")
    return text.splitlines()


def _docx_lines(path: Path, name: str, data: bytes) -> list[str]:
    if not data.startswith(b"PK") or not zipfile.is_zipfile(path):
        raise DocumentError(f"{name}: không phải tệp .docx hợp lệ (không phải tệp zip của "
                            "Word): mở bằng Word và lưu lại thành .docx")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
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
    except Exception as exc:  # python-docx raises KeyError, lxml and zip errors alike
        raise DocumentError(f"{name}: tệp .docx bị hỏng, không đọc được "
                            f"({type(exc).__name__})") from None
    return lines


def _pdf_lines(path: Path, name: str, data: bytes) -> list[str]:
    if not data.startswith(b"%PDF"):
        raise DocumentError(f"{name}: không phải tệp PDF hợp lệ")
    import logging

    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted:
            raise DocumentError(f"{name}: tệp PDF có mật khẩu: hãy gỡ mật khẩu rồi thử lại")
        lines: list[str] = []
        for page in reader.pages:
            lines.extend((page.extract_text() or "").splitlines())
            lines.append("")
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"{name}: tệp PDF bị hỏng, không đọc được "
                            f"({type(exc).__name__})") from None
    if not any(line.strip() for line in lines):
        raise DocumentError(f"{name}: PDF không có lớp văn bản (bản quét?): cần bản PDF có "
                            "chữ chọn được, hoặc bản .docx")
    return lines
