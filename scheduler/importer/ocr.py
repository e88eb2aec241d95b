"""Scanned PDFs (no text layer): pages rendered by poppler's `pdftoppm`, read by tesseract.

Only a PDF with no text on any page comes here (`read` never OCRs one with a text layer).
Each page is rendered to a grey image no larger than an A4 page at 300 dpi (`-scale-to`,
so a page declared a kilometre wide cannot exhaust memory) and recognised in Vietnamese
(`tesseract -l vie`); the document is marked `ocr` so the draft says its text came from
recognition and needs a closer review. A scan of more than `MAX_OCR_PAGES` pages is
refused rather than half read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from scheduler.errors import DocumentError
from scheduler.i18n import _
from scheduler.importer.read import Document

MAX_OCR_PAGES = 30
RENDER_PIXELS = 3508  # the long side of A4 at 300 dpi
RENDER_TIMEOUT_S = 30
OCR_TIMEOUT_S = 60
LANGUAGE = "vie"


def _tool(name: str, package: str, file: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DocumentError(_("{file}: the PDF has no text layer (a scan): recognising its "
                              "text needs {package} (apt-get install {package})")
                            .format(file=file, package=package))
    return found


def _run(command: list[str], file: str, what: str, timeout: float,
         env: dict[str, str]) -> bytes:
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, env=env,
                              check=False)
    except subprocess.TimeoutExpired:
        raise DocumentError(_("{file}: {what} took more than {seconds} seconds: a broken "
                              "file?").format(file=file, what=what,
                                              seconds=f"{timeout:.0f}")) from None
    except OSError as exc:
        raise DocumentError(_("{name}: cannot run {program} ({reason})")
                            .format(name=file, program=command[0],
                                    reason=exc.strerror)) from None
    if done.returncode != 0:
        raise DocumentError(_("{file}: the PDF is broken, could not {what}")
                            .format(file=file, what=what))
    return done.stdout


def has_images(reader: object) -> bool:
    """Whether any page of a pypdf reader draws an image (a scan does, a broken PDF not)."""
    def images_in(resources: object, depth: int) -> bool:
        try:
            objects = resources.get("/XObject") if hasattr(resources, "get") else None
            objects = objects.get_object() if objects is not None else None
            if not objects or not hasattr(objects, "values"):
                return False
            for item in list(objects.values())[:100]:
                item = item.get_object()
                subtype = item.get("/Subtype") if hasattr(item, "get") else None
                if subtype == "/Image":
                    return True
                if subtype == "/Form" and depth < 3 and images_in(item.get("/Resources"),
                                                                 depth + 1):
                    return True
        except Exception:  # a broken resource dictionary draws nothing
            return False
        return False

    try:
        for page in getattr(reader, "pages", []):
            resources = page.get("/Resources")
            if images_in(resources.get_object() if resources is not None else None, 0):
                return True
    except Exception:
        return False
    return False


def _blank(image: Path) -> bool:
    """Whether a rendered grey page (binary PGM) has almost no dark pixel: nothing to read."""
    data = image.read_bytes()
    parts = data.split(maxsplit=4)  # P5, width, height, maxval, pixels
    if len(parts) < 5 or parts[0] != b"P5":
        return False
    pixels = parts[4]
    dark = len(pixels) - len(pixels.translate(None, bytes(range(128))))
    return dark < len(pixels) // 2000


def ocr_document(path: Path, name: str, pages: int,
                 progress: Callable[[int, int], None] | None = None) -> Document:
    """The recognised lines of a scanned PDF of `pages` pages, page by page."""
    if pages == 0:
        raise DocumentError(_("{name}: the PDF has no pages").format(name=name))
    if pages > MAX_OCR_PAGES:
        raise DocumentError(_("{name}: a scanned PDF (no text layer) of {pages} pages, text is "
                              "recognised on at most {limit} pages: split out the plan, or "
                              "use the .docx").format(name=name, pages=pages,
                                                      limit=MAX_OCR_PAGES))
    pdftoppm = _tool("pdftoppm", "poppler-utils", name)
    tesseract = _tool("tesseract", "tesseract-ocr-vie", name)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_THREAD_LIMIT": "1",
           "LANG": "C.UTF-8"}
    lines: list[str] = []
    numbers: list[int] = []
    with tempfile.TemporaryDirectory(prefix="lichnhac-ocr-") as folder:
        for page in range(1, pages + 1):
            if progress:
                progress(page - 1, pages)
            stem = Path(folder) / f"page-{page}"
            _run([pdftoppm, "-f", str(page), "-l", str(page), "-r", "300", "-scale-to",
                  str(RENDER_PIXELS), "-gray", "-singlefile", str(path), str(stem)],
                 name, _("render the page image"), RENDER_TIMEOUT_S, env)
            image = Path(f"{stem}.pgm")
            text = b"" if _blank(image) else _run(
                [tesseract, str(image), "stdout", "-l", LANGUAGE, "--psm", "3"],
                name, _("recognise the text of page {page}").format(page=page), OCR_TIMEOUT_S,
                env)
            image.unlink(missing_ok=True)
            page_lines = text.decode("utf-8", errors="replace").replace("\f", "").splitlines()
            lines += [*page_lines, ""]
            numbers += [page] * (len(page_lines) + 1)
        if progress:
            progress(pages, pages)
    if not any(line.strip() for line in lines):
        raise DocumentError(_("{name}: the PDF has no text layer and no text could be "
                              "recognised (the scan too faint?)").format(name=name))
    return Document(path, name, tuple(lines), pages=tuple(numbers), ocr=True)
