"""Bad plan files: one clear Vietnamese message, exit 1, no traceback, no draft written."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, Result, stderr_on_a_terminal


def _fails_cleanly(cli: Callable[..., Result], path: Path, tmp_path: Path,
                   message: str) -> None:
    out = tmp_path / "draft.toml"
    result = cli("import", str(path), "--out", str(out), cwd=tmp_path, timeout=30)
    assert result.status == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"lichnhac: {path.name}: "), lines[0]
    assert message in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert not out.exists()


def test_binary_file(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "plan.txt"
    path.write_bytes(bytes(range(256)) * 64)
    _fails_cleanly(cli, path, tmp_path, "không phải văn bản thuần")


def test_latin1_text_is_not_utf8(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "plan.txt"
    path.write_bytes("Kế hoạch năm 2024".encode().replace(b"\xe1", b"\xff") + b"\xe9t\xe9")
    _fails_cleanly(cli, path, tmp_path, "không phải văn bản UTF-8")


def test_empty_file(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_bytes(b"")
    _fails_cleanly(cli, path, tmp_path, "tệp rỗng")


def test_blank_file(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "plan.txt"
    path.write_text("\n  \n\u00a0\n", encoding="utf-8")
    _fails_cleanly(cli, path, tmp_path, "không có nội dung văn bản")


def test_docx_that_is_not_a_zip(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "plan.docx"
    path.write_text("Kế hoạch số 45/KH-UBND: thật ra là văn bản thường", encoding="utf-8")
    _fails_cleanly(cli, path, tmp_path, "không phải tệp .docx hợp lệ")


def test_zip_that_is_not_a_word_document(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "plan.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not word")
    _fails_cleanly(cli, path, tmp_path, "tệp .docx bị hỏng")


def test_fifty_megabyte_file(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "plan.txt"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: fast to make, still 50 MB to stat
    _fails_cleanly(cli, path, tmp_path, "tệp quá lớn (50.0 MB")


@pytest.mark.parametrize(("name", "message"), [
    ("plan.xlsx", 'định dạng ".xlsx" không được hỗ trợ'),
    ("plan.doc", "không phải tệp Word 97-2003 (.doc) hợp lệ"),
    ("plan", "không có phần mở rộng"),
])
def test_unknown_extension(cli: Callable[..., Result], tmp_path: Path, name: str,
                           message: str) -> None:
    path = tmp_path / name
    path.write_text("Kế hoạch", encoding="utf-8")
    _fails_cleanly(cli, path, tmp_path, message)


def test_missing_file(cli: Callable[..., Result], tmp_path: Path) -> None:
    _fails_cleanly(cli, tmp_path / "khong-co.txt", tmp_path, "không tìm thấy tệp")


def test_pdf_without_a_text_layer(cli: Callable[..., Result], tmp_path: Path) -> None:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    _fails_cleanly(cli, path, tmp_path, "PDF không có lớp văn bản")


def test_broken_pdf(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "plan.pdf"
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(4096))
    _fails_cleanly(cli, path, tmp_path, "tệp PDF bị hỏng")


def test_one_bad_file_among_good_ones_stops_before_writing(cli: Callable[..., Result],
                                                          tmp_path: Path) -> None:
    bad = tmp_path / "b.txt"
    bad.write_bytes(b"")
    out = tmp_path / "draft.toml"
    result = cli("import", str(FIXTURES / "plans" / "huyen-tho-xuan-2024.md"), str(bad),
                 "--out", str(out), cwd=tmp_path)
    assert result.status == 1 and "b.txt: tệp rỗng" in result.stderr
    assert not out.exists()


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    plan = (FIXTURES / "plans" / "huyen-tho-xuan-2024.md").read_text(encoding="utf-8")
    long_plan = tmp_path / "long.md"
    long_plan.write_text(plan + "\n\n" + "\n\n".join(
        f"- Nội dung bổ sung số {n}: tiếp tục tuyên truyền về bình đẳng giới." for n in range(600)),
        encoding="utf-8")
    out = tmp_path / "d.toml"
    command = [sys.executable, "-m", "scheduler", "import", str(long_plan), "--out", str(out)]
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    piped = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                           env=env, check=False)
    assert piped.returncode == 0, piped.stderr
    assert "Đọc long.md" not in piped.stderr
    seen = stderr_on_a_terminal(command, tmp_path, env, timeout=60)
    assert "Đọc long.md".encode() in seen
    assert out.exists()


def test_cli_module_is_importable_from_repo(cli: Callable[..., Result]) -> None:
    # The `import` subcommand is wired to scheduler.commands.import_plans.
    result = cli("import", "--help", cwd=ROOT)
    assert result.status == 0 and "--format" in result.stdout
