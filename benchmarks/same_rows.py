"""Proof that a speed change left every row as it was (#35): the same ``scan`` on a base commit and on this
working tree, byte for byte, over the hostile corpus, tests/data and any folders given.

Why a script and not only the unit tests: start-up work (lazy imports, fewer parser processes, prepared
geocoder arrays) changes where and when things load, never what a row says; the only honest check is the
whole command's output against the code before the change. Compared: the CSV bytes of every row, with the
two columns that record *when* the scan ran (``analysed_at_utc``, ``acquired_at_utc``) blanked.

    python -m benchmarks.same_rows --base integrate [--full] [EXTRA_FOLDER ...]

Exit status 0 when every mode's rows are identical, 1 with the first differences printed otherwise.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEN_COLUMNS = ("analysed_at_utc", "acquired_at_utc")


def _rows(text: str) -> list[str]:
    """Each CSV row re-serialised with the time-of-scan columns blanked (the rest byte for byte)."""
    table = list(csv.reader(io.StringIO(text, newline="")))
    if not table:
        return []
    masked = [table[0].index(name) for name in WHEN_COLUMNS if name in table[0]]
    out = []
    for row in table:
        if row is not table[0]:
            for i in masked:
                row[i] = ""
        buffer = io.StringIO()
        csv.writer(buffer).writerow(row)
        out.append(buffer.getvalue())
    return out


def _scan(tree: Path, folders: list[Path], out: Path, mode: list[str]) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "geoloc_core", "scan", *map(str, folders), "--out", str(out),
                    "--no-progress", *mode], cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    return _rows(out.read_text(encoding="utf-8"))


def compare(base: str, extra: list[Path], full: bool) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.hostile_corpus import build_corpus

    with tempfile.TemporaryDirectory(prefix="same-rows-") as tmp:
        tmp = Path(tmp)
        corpus = tmp / "hostile"
        build_corpus(corpus)
        data = tmp / "data"
        shutil.copytree(ROOT / "tests" / "data", data)
        folders = [corpus, data, *extra]
        old = tmp / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), base], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        failed = 0
        try:
            for mode in [["--metadata-only"]] + ([[]] if full else []):
                name = mode[0][2:] if mode else "full"
                before = _scan(old, folders, tmp / "before.csv", mode)
                after = _scan(ROOT, folders, tmp / "after.csv", mode)
                same = before == after
                print(f"{name}: {len(after) - 1} rows, {'identical' if same else 'DIFFERENT'} to {base}")
                if not same:
                    failed = 1
                    for i, (a, b) in enumerate(zip(before, after)):
                        if a != b:
                            print(f"  row {i}:\n  - {a.strip()[:400]}\n  + {b.strip()[:400]}")
                            break
                    if len(before) != len(after):
                        print(f"  {len(before)} rows before, {len(after)} after")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="integrate", help="the commit before the change (default: integrate)")
    parser.add_argument("--full", action="store_true", help="also compare the full scan's rows")
    parser.add_argument("folders", nargs="*", type=Path, help="more folders to scan (e.g. the benchmark's photos)")
    args = parser.parse_args()
    sys.exit(compare(args.base, [p.resolve() for p in args.folders], args.full))


if __name__ == "__main__":
    main()
