"""The importer's hostile-file campaign: 200 generated files through the real CLI.

Each file runs `lichnhac import` in its own process (reaped with wait4 for its peak RSS);
every one must exit 1 with one line on stderr, under 5 s and 300 MB. Prints one row per
kind and the totals.

    .venv/bin/python bench/importer_hostile_bench.py [--files 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from tests.importer_hostile import generate, run_import

LIMIT_S = 5.0
LIMIT_MIB = 300.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="importer-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    work = folder / "cwd"
    work.mkdir(exist_ok=True)
    print(describe())
    files = generate(folder, total=args.files)
    rows: dict[str, list[tuple[int, int, float, float, float]]] = defaultdict(list)
    bad: list[str] = []
    for kind, path in files:
        try:
            status, stderr, seconds, rss, cpu = run_import(path, work, timeout=60)
        except TimeoutError:
            bad.append(f"{path.name}: still running after 60 s")
            continue
        lines = stderr.strip().splitlines()
        rows[kind].append((status, len(lines), seconds, rss, cpu))
        if status != 1 or len(lines) != 1 or seconds >= LIMIT_S or rss >= LIMIT_MIB:
            bad.append(f"{path.name}: exit {status}, {len(lines)} lines, {seconds:.2f} s, "
                       f"{rss:.0f} MiB: {lines[-1] if lines else ''}")
    print(f"{'kind':24} {'files':>5} {'max s':>6} {'max CPU s':>9} {'max MiB':>8}")
    for kind, results in rows.items():
        print(f"{kind:24} {len(results):5d} {max(r[2] for r in results):6.2f} "
              f"{max(r[4] for r in results):9.2f} {max(r[3] for r in results):8.1f}")
    everything = [r for results in rows.values() for r in results]
    print(f"files: {len(files)}; exit 1 with one line: "
          f"{sum(1 for r in everything if r[0] == 1 and r[1] == 1)}; "
          f"max time {max(r[2] for r in everything):.2f} s "
          f"(max CPU {max(r[4] for r in everything):.2f} s); "
          f"max RSS {max(r[3] for r in everything):.1f} MiB")
    for line in bad:
        print("FAIL", line)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
