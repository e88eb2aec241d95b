"""The line of each table header comes from a one-pass header scan on plain files; it must
give the very lines the full key-by-key scan gives, and yield to it when it cannot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scheduler.tomlfile import _locate, _locate_headers, load_toml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import dataset

PLAIN = """\
# a comment
coordinator = "a"

[[unit]]
id = "a"
email = ["a@example.vn"]
  [[unit]]
id = "b"
groups = ["g"]

[mail.smtp]
host = "x"
[[event]]
id = "e"
[[unit]]
id = "c"
"""


def _indexed(lines: dict) -> dict:
    return {path: line for path, line in lines.items() if path and isinstance(path[-1], int)}


def test_header_scan_gives_the_full_scans_lines_for_every_indexed_table() -> None:
    headers = _locate_headers(PLAIN)
    assert headers is not None
    assert _indexed(headers) == _indexed(_locate(PLAIN))
    assert headers[("unit", 2)] == 15 and headers[("unit", 1)] == 7


def test_header_scan_gives_the_same_lines_on_a_generated_province_config() -> None:
    text = dataset.generate("province")
    headers = _locate_headers(text)
    assert headers is not None
    assert _indexed(headers) == _indexed(_locate(text))


@pytest.mark.parametrize("text", [
    'a = """\n[[unit]]\n"""\n[[unit]]\nid = "x"\n',   # a header-like line inside a string
    "[[unit]]\r\nid = 'x'\r\n[[unit]]\r\nid = 'y'\r\n",  # CRLF: splitlines counts differently
    "[[unit]]\nid = 'x'\u2028\n[[unit]]\n",
])
def test_header_scan_leaves_multiline_strings_and_odd_line_breaks_to_the_full_scan(
        text: str) -> None:
    assert _locate_headers(text) is None


def test_a_unit_after_a_multiline_string_is_still_reported_at_its_own_line(
        tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('note = """\n[[unit]]\n"""\n[[unit]]\nid = "x"\nemail = 5\n',
                    encoding="utf-8")
    doc = load_toml(path)
    assert doc.line(("unit", 0)) == 4
    assert doc.line(("unit", 0, "email")) == 6
    assert doc.line(("unit", 0, "name")) == 4


def test_a_key_of_a_unit_is_located_on_demand_on_a_plain_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(PLAIN, encoding="utf-8")
    doc = load_toml(path)
    assert doc.headers is not None
    assert doc.line(("unit", 1)) == 7
    assert doc.line(("unit", 1, "groups")) == 9
    assert doc.line(("mail", "smtp", "host")) == 12
    assert doc.line(("unit", 5)) == 4  # no such unit: the nearest located ancestor
