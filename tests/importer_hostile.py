"""Hostile files for `lichnhac import`: each one must fail with one line, exit 1, quickly.

`generate(folder)` writes the whole campaign (200 files by default): huge lines, text
dense in dates, text far longer than a plan, .docx zip bombs (one huge member, thousands
of members, a member lying about its size, entity and nesting bombs), malformed and
looping PDFs, scans with too many pages or absurd page sizes, symlink loops and things
that are not files. The test suite runs one of each kind (`kinds=1`); the bench runs all.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

MB = 1024 * 1024

_CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                  'openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
                  'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                  '<Default Extension="xml" ContentType="application/xml"/><Override '
                  'PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                  'officedocument.wordprocessingml.document.main+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
         'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
         'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="word/document.xml"/></Relationships>')
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _docx(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _zeros_member(path: Path, size: int, name: str = "word/document.xml") -> None:
    """A .docx whose `name` inflates to `size` bytes, written without holding them."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        chunk = b"<w:t>" + b"0" * (MB - 11) + b"</w:t>\n"
        with archive.open(name, "w", force_zip64=True) as member:
            written = 0
            while written < size:
                member.write(chunk)
                written += len(chunk)


def _lying_member(path: Path, real: int, declared: int) -> None:
    """A .docx whose document.xml inflates to `real` bytes but declares `declared`."""
    body = (f'<w:document {_W}><w:body>'.encode() + b"<w:p><w:r><w:t>x</w:t></w:r></w:p>"
            * (real // 34))
    data = _docx({"word/document.xml": body})
    patched = bytearray(data)
    marker = b"word/document.xml"
    # Patch the uncompressed size in the local header and the central directory entry.
    for at in [i for i in range(len(patched)) if patched.startswith(marker, i)]:
        if patched[at - 30:at - 26] == b"PK\x03\x04":
            struct.pack_into("<I", patched, at - 30 + 22, declared)
        elif patched[at - 46:at - 42] == b"PK\x01\x02":
            struct.pack_into("<I", patched, at - 46 + 24, declared)
    path.write_bytes(bytes(patched))


def _pdf(objects: list[bytes], root: int = 1, trailer_extra: bytes = b"") -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root {root} 0 R ".encode() + trailer_extra
            + f">>\nstartxref\n{xref}\n%%EOF\n".encode())
    return bytes(out)


def _image_pdf(pages: int, width: int = 595, height: int = 842) -> bytes:
    """An image-only PDF (a scan) of `pages` grey pages, each one small image."""
    kids = " ".join(f"{3 + 3 * i} 0 R" for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()]
    pixels = zlib.compress(b"\xff" * 64 * 64)
    for i in range(pages):
        page, image, content = 3 + 3 * i, 4 + 3 * i, 5 + 3 * i
        del page
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
                       f"/Resources << /XObject << /Im0 {image} 0 R >> >> "
                       f"/Contents {content} 0 R >>".encode())
        objects.append(b"<< /Type /XObject /Subtype /Image /Width 64 /Height 64 "
                       b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode "
                       b"/Length " + str(len(pixels)).encode() + b" >>\nstream\n" + pixels
                       + b"\nendstream")
        draw = f"q {width} 0 0 {height} 0 0 cm /Im0 Do Q".encode()
        objects.append(b"<< /Length " + str(len(draw)).encode() + b" >>\nstream\n" + draw
                       + b"\nendstream")
    return _pdf(objects)


def _text_pdf(text: str) -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                 b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                 b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font "
                 b"<< /F1 4 0 R >> >> /Contents 5 0 R >>",
                 b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                 b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream
                 + b"\nendstream"])


Maker = Callable[[Path, random.Random, int], None]


def _kinds() -> Iterator[tuple[str, str, Maker]]:
    """(kind, file suffix, maker(path, rng, variant)) for every kind of hostile file."""
    def huge_line(path: Path, rng: random.Random, n: int) -> None:
        size = [60_000, 500_000, 4 * MB, 19 * MB][n % 4]
        path.write_bytes(("Kế hoạch " + "a" * size).encode())

    def huge_line_of_dates(path: Path, rng: random.Random, n: int) -> None:
        size = [100_000, MB, 10 * MB][n % 3]
        path.write_bytes((" ngày 1/1" * (size // 9)).encode())

    def repeated_date_lines(path: Path, rng: random.Random, n: int) -> None:
        size = [100_000, 2 * MB, 19 * MB][n % 3]
        line = rng.choice(["ngày 1/1\n", "- Trước ngày 15/6/2025\n", "tháng 3, ngày 2-3\n"])
        path.write_bytes((line * (size // len(line.encode()))).encode())

    def long_text(path: Path, rng: random.Random, n: int) -> None:
        sentence = "Tổ chức tuyên truyền về bình đẳng giới tại các thôn, tổ dân phố.\n"
        size = [3 * MB, 8 * MB, 19 * MB][n % 3]
        path.write_bytes((sentence * (size // len(sentence.encode()))).encode())

    def many_short_lines(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(b"\n" * (19 * MB) + "Kế hoạch".encode() + b"x\n" * (n * 1000))

    def markdown_table_of_dates(path: Path, rng: random.Random, n: int) -> None:
        row = "| 1 | Tập huấn | Phòng Văn hóa | 15/11-15/12 |\n"
        path.write_bytes((row * (3 * MB // len(row.encode()) + n)).encode())

    def zip_bomb(path: Path, rng: random.Random, n: int) -> None:
        _zeros_member(path, [80 * MB, 200 * MB, 1024 * MB][n % 3])

    def zip_bomb_in_media(path: Path, rng: random.Random, n: int) -> None:
        _zeros_member(path, 100 * MB, f"word/media/image{n}.png")

    def zip_many_members(path: Path, rng: random.Random, n: int) -> None:
        members = {f"word/media/{i}.xml": b"<x/>" for i in range(2_100 + n)}
        members["word/document.xml"] = f"<w:document {_W}><w:body/></w:document>".encode()
        path.write_bytes(_docx(members))

    def zip_lying_size(path: Path, rng: random.Random, n: int) -> None:
        _lying_member(path, 3 * MB, 1_000 + n)

    def xml_entity_bomb(path: Path, rng: random.Random, n: int) -> None:
        entities = '<!ENTITY a0 "hahahahahahaha">' + "".join(
            f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 12))
        body = (f'<?xml version="1.0"?><!DOCTYPE w:document [{entities}]><w:document {_W}>'
                f"<w:body><w:p><w:r><w:t>&a11;</w:t></w:r></w:p></w:body></w:document>")
        path.write_bytes(_docx({"word/document.xml": body.encode()}))

    def xml_deep_nesting(path: Path, rng: random.Random, n: int) -> None:
        depth = [10_000, 200_000][n % 2]
        body = (f'<w:document {_W}><w:body>'.encode() + b"<w:p>" * depth + b"</w:p>" * depth
                + b"</w:body></w:document>")
        path.write_bytes(_docx({"word/document.xml": body}))

    def docx_garbage(path: Path, rng: random.Random, n: int) -> None:
        data = _docx({"word/document.xml": rng.randbytes(4096)})
        path.write_bytes(data[: len(data) - rng.randint(0, 200)])

    def pdf_random(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(b"%PDF-1.7\n" + rng.randbytes([1000, 100_000, 5 * MB][n % 3]))

    def pdf_truncated(path: Path, rng: random.Random, n: int) -> None:
        data = _text_pdf("Ke hoach ngay 15/11/2025")
        path.write_bytes(data[: rng.randint(20, len(data) - 30)])

    def pdf_page_tree_loop(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                               b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                               b"<< /Type /Pages /Kids [2 0 R] /Parent 2 0 R /Count 1 >>"]))

    def pdf_reference_loop(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(_pdf([b"<< /Type /Catalog /Pages 3 0 R >>", b"2 0 R", b"2 0 R"]))

    def pdf_huge_count(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                               b"<< /Type /Pages /Kids [3 0 R] /Count 999999999 >>",
                               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]))

    def pdf_no_text_no_pages(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                               b"<< /Type /Pages /Kids [] /Count 0 >>"]))

    def pdf_bad_stream_length(path: Path, rng: random.Random, n: int) -> None:
        stream = b"BT /F1 12 Tf (x) Tj ET" * 10
        path.write_bytes(_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                               b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
                               b"<< /Length 999999999 /Filter /FlateDecode >>\nstream\n"
                               + stream + b"\nendstream"]))

    def pdf_flate_bomb(path: Path, rng: random.Random, n: int) -> None:
        compressor = zlib.compressobj(9)
        bomb = b"".join(compressor.compress(b" " * MB) for _ in range(400)) + compressor.flush()
        path.write_bytes(_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                               b"/Contents 4 0 R >>",
                               b"<< /Length " + str(len(bomb)).encode()
                               + b" /Filter /FlateDecode >>\nstream\n" + bomb
                               + b"\nendstream"]))

    def scan_too_many_pages(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(_image_pdf(31 + n))

    def scan_blank_giant_page(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(_image_pdf(1, 14_400, 14_400))

    def pdf_too_many_pages(path: Path, rng: random.Random, n: int) -> None:
        kids = " ".join("3 0 R" for _ in range(501 + n))
        path.write_bytes(_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                               f"<< /Type /Pages /Kids [{kids}] /Count {501 + n} >>".encode(),
                               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]))

    def symlink_loop(path: Path, rng: random.Random, n: int) -> None:
        other = path.with_name(path.name + ".loop")
        other.symlink_to(path.name)
        path.symlink_to(other.name)

    def symlink_self(path: Path, rng: random.Random, n: int) -> None:
        path.symlink_to(path.name)

    def directory(path: Path, rng: random.Random, n: int) -> None:
        path.mkdir()

    def fifo(path: Path, rng: random.Random, n: int) -> None:
        os.mkfifo(path)

    def device(path: Path, rng: random.Random, n: int) -> None:
        path.symlink_to("/dev/zero")

    def doc_garbage(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + rng.randbytes(20_000 + n))

    def doc_rtf(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(b"{\\rtf1\\ansi K\\'ea ho\\u7841?ch}")

    def html_huge_line(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(b"<html><body><article><p>" + b"x" * (3 * MB) +
                         b"</p></article></body></html>")

    def html_dates(path: Path, rng: random.Random, n: int) -> None:
        count = [2_500, 20_000][n % 2]  # under the tag limit, then over it
        path.write_bytes(b"<html><body><article>" + "<p>ngày 1/1 tháng 2</p>".encode()
                         * count + b"</article></body></html>")

    def html_deep(path: Path, rng: random.Random, n: int) -> None:
        depth = [9_000, 500_000][n % 2]
        path.write_bytes(b"<html><body>" + b"<div>" * depth + b"x" + b"</div>" * depth
                         + b"</body></html>")

    def html_chrome_only(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes("<html><body><nav>Trang chủ</nav></body></html>".encode())

    def binary_as_text(path: Path, rng: random.Random, n: int) -> None:
        path.write_bytes(rng.randbytes(50_000 + n))

    yield from [
        ("huge-line", ".txt", huge_line), ("huge-line-of-dates", ".txt", huge_line_of_dates),
        ("repeated-dates", ".txt", repeated_date_lines), ("long-text", ".md", long_text),
        ("blank-lines", ".txt", many_short_lines),
        ("table-of-dates", ".md", markdown_table_of_dates),
        ("zip-bomb", ".docx", zip_bomb), ("zip-bomb-media", ".docx", zip_bomb_in_media),
        ("zip-members", ".docx", zip_many_members), ("zip-lying-size", ".docx", zip_lying_size),
        ("xml-entities", ".docx", xml_entity_bomb), ("xml-nesting", ".docx", xml_deep_nesting),
        ("docx-garbage", ".docx", docx_garbage),
        ("pdf-random", ".pdf", pdf_random), ("pdf-truncated", ".pdf", pdf_truncated),
        ("pdf-page-loop", ".pdf", pdf_page_tree_loop),
        ("pdf-reference-loop", ".pdf", pdf_reference_loop),
        ("pdf-huge-count", ".pdf", pdf_huge_count), ("pdf-no-pages", ".pdf", pdf_no_text_no_pages),
        ("pdf-stream-length", ".pdf", pdf_bad_stream_length),
        ("pdf-flate-bomb", ".pdf", pdf_flate_bomb),
        ("pdf-too-many-pages", ".pdf", pdf_too_many_pages),
        ("scan-too-many-pages", ".pdf", scan_too_many_pages),
        ("scan-giant-blank-page", ".pdf", scan_blank_giant_page),
        ("symlink-loop", ".txt", symlink_loop), ("symlink-self", ".docx", symlink_self),
        ("directory", ".md", directory), ("fifo", ".txt", fifo), ("device", ".txt", device),
        ("doc-garbage", ".doc", doc_garbage), ("doc-rtf", ".doc", doc_rtf),
        ("html-huge-line", ".html", html_huge_line), ("html-dates", ".html", html_dates),
        ("html-deep", ".html", html_deep), ("html-chrome-only", ".html", html_chrome_only),
        ("binary", ".txt", binary_as_text),
    ]


KINDS = [kind for kind, _, _ in _kinds()]


def generate(folder: Path, total: int = 200, kinds: int | None = None,
             seed: int = 14) -> list[tuple[str, Path]]:
    """Write hostile files into `folder`: `total` round-robin over the kinds, or `kinds`
    files of each kind. Returns (kind, path) pairs."""
    rng = random.Random(seed)
    makers = list(_kinds())
    count = kinds * len(makers) if kinds is not None else total
    files: list[tuple[str, Path]] = []
    for index in range(count):
        kind, suffix, maker = makers[index % len(makers)]
        path = folder / f"{index:03d}-{kind}{suffix}"
        maker(path, rng, index // len(makers))
        files.append((kind, path))
    return files


def run_import(path: Path, cwd: Path,
               timeout: float = 60) -> tuple[int, str, float, float, float]:
    """Run `lichnhac import path` in a child: (status, stderr, seconds, peak RSS in MiB,
    CPU seconds). On a crowded machine the CPU time shows what the wall time would be alone.

    The peak RSS comes from GNU time (`/usr/bin/time -f %M`) when installed: a child forked
    straight from a big Python parent would report the parent's pages as its own high-water
    mark. Without it, `os.wait4`'s rusage gives that (pessimistic) figure.
    """
    import shutil
    import subprocess
    import sys
    import tempfile
    import time

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    for name in ("LICHNHAC_CONFIG", "LICHNHAC_DEBUG"):
        env.pop(name, None)
    gnu_time = shutil.which("time", path="/usr/bin")
    with tempfile.TemporaryDirectory(prefix="importer-run-") as scratch:
        measured = Path(scratch) / "rss"
        prefix = [gnu_time, "-q", "-f", "%M", "-o", str(measured)] if gnu_time else []
        with (Path(scratch) / "stderr").open("w+b") as err:
            started = time.monotonic()
            child = subprocess.Popen([*prefix, sys.executable, "-m", "scheduler", "import",
                                      str(path), "--out", str(cwd / "draft.toml")], cwd=cwd,
                                     env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=err)
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() - started > timeout:
                    child.kill()
                    os.wait4(child.pid, 0)
                    child.returncode = -9
                    raise TimeoutError(f"{path.name}: still running after {timeout} s")
                time.sleep(0.01)
            seconds = time.monotonic() - started
            child.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            text = err.read().decode("utf-8", "replace")
        rss = usage.ru_maxrss / 1024
        if gnu_time and measured.is_file() and measured.read_text().strip().isdigit():
            rss = int(measured.read_text().strip()) / 1024
    return child.returncode, text, seconds, rss, usage.ru_utime + usage.ru_stime
