"""The importer per style and format: items found / expected / extra, and OCR time per page.

Builds each test document of tests/test_importer_styles.py (and the fixture plans) in every
format it arrives in — the text itself, .docx, .doc (LibreOffice), .html with site chrome,
an image-only PDF (OCR) — drafts it with `lichnhac import`, lists the agenda for the plan's
year and compares it with the expected items.

    .venv/bin/python bench/importer_formats_bench.py [--no-ocr]
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from scheduler.importer.read import read_document
from tests.test_importer_plans import EXPECTED, PLANS
from tests.test_importer_styles import (
    STYLE_EXPECTED,
    STYLES,
    _docx_of,
    _portal_page,
    _scan,
    _soffice_doc,
    _two_column_docx,
)

Items = set[tuple[str | None, str, str, str]]


def _agenda(source: Path, year: int, work: Path) -> list[tuple[str, str, str, str]]:
    draft = work / "draft.toml"
    base = [sys.executable, "-m", "scheduler"]
    done = subprocess.run([*base, "import", str(source), "--out", str(draft)], cwd=work,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    listed = subprocess.run([*base, "agenda", "--calendar", str(draft), "--from",
                             f"{year}-01-01", "--to", f"{year}-12-31", "--format", "json"],
                            cwd=work, capture_output=True, text=True, check=True)
    return [(str(i["event"]), str(i["start"]), str(i["end"]), str(i["kind"]))
            for i in json.loads(listed.stdout)]


def _score(found: list[tuple[str, str, str, str]], expected: Items) -> tuple[int, int, int]:
    def match(item: tuple[str, str, str, str], want: tuple[str | None, str, str, str]) -> bool:
        return item[1:] == want[1:] and want[0] in (None, item[0])

    hits = sum(1 for want in expected if any(match(f, want) for f in found))
    extra = sum(1 for f in found if not any(match(f, want) for want in expected))
    return hits, len(expected), extra


def _formats(name: str, source: Path, work: Path, ocr: bool) -> dict[str, Path]:
    """The document in every format it arrives in (built on demand under `work`)."""
    made = {"text": source}
    if source.suffix not in (".txt", ".md"):
        return made
    docx = work / "plan.docx"
    if "bang-tieu-de" in name:
        _two_column_docx(docx)  # its header and signature as two-column Word tables
    else:
        _docx_of(source, docx)
    made["docx"] = docx
    made["doc"] = _soffice_doc(docx, work)
    _portal_page(source, work / "page.html")
    made["html"] = work / "page.html"
    if ocr:
        made["scan"] = _scan(source, work)
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-ocr", action="store_true")
    args = parser.parse_args()
    print(describe())
    plans: dict[str, tuple[Path, int, Items]] = {
        name: (STYLES / name, year, items) for name, (year, items) in STYLE_EXPECTED.items()}
    plans.update({name: (PLANS / name, year, items) for name, (year, items) in EXPECTED.items()})
    print(f"{'document':40} {'format':6} {'found':>5} {'expected':>8} {'extra':>5}")
    ocr_pages: list[float] = []
    for name, (source, year, items) in plans.items():
        with tempfile.TemporaryDirectory(prefix="importer-formats-") as folder:
            work = Path(folder)
            for fmt, path in _formats(name, source, work, not args.no_ocr).items():
                if fmt == "scan":
                    stamps: list[float] = []
                    read_document(path, lambda _done, _total, s=stamps: s.append(time.monotonic()))
                    ocr_pages += [b - a for a, b in itertools.pairwise(stamps)]
                found, wanted, extra = _score(_agenda(path, year, work), items)
                print(f"{name:40} {fmt:6} {found:5d} {wanted:8d} {extra:5d}", flush=True)
    if ocr_pages:
        print(f"OCR: {len(ocr_pages)} pages, max {max(ocr_pages):.2f} s a page, "
              f"mean {sum(ocr_pages) / len(ocr_pages):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
