"""How often the import profile proposals guess right, on the export corpus (not a test).

    python bench/bench_proposals.py [--no-readme]

The corpus is tests/fixtures/exports: files written as DLA management software, a federation's survey, a
peer programme, a CRESS list and plain spreadsheets write them (synthetic rows), with the mapping an
analyst would choose in attendu.toml. For each file, pipelines.ingest.propose proposes a column for every
header and a code for every value of a list column that matches none; the share of right guesses is
printed per file and overall, with the wrong guesses, and written between the `proposals` markers of
bench/README.md. tests/test_profiles.py holds the same corpus to at least 90 %.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from pipelines.geo.reference import read_communes  # noqa: E402
from tests.exports_corpus import expectations, score  # noqa: E402

README = REPO / "bench" / "README.md"
START, END = "<!-- proposals:start -->", "<!-- proposals:end -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-readme", action="store_true", help="print only, leave bench/README.md as it is")
    args = parser.parse_args(argv)
    communes = read_communes()
    codes = frozenset(communes.loc[~communes.get("arrondissement", pd.Series(False, index=communes.index))
                                   .fillna(False).astype(bool), "code"])
    rows, wrong = [], []
    for case in expectations():
        started = time.perf_counter()
        result = score(case, codes)
        elapsed = time.perf_counter() - started
        rows.append((case.name, case.path.name, case.jeu, result.dataset_guessed, result.right, result.headers,
                     result.values_right, result.values, elapsed))
        wrong += [f"{case.name}: header « {h} » → {p} (expected {e})" for h, p, e in result.wrong]
        wrong += [f"{case.name}: {c} « {v} » → {p} (expected {e})" for c, v, p, e in result.values_wrong]
    headers = sum(r[5] for r in rows)
    right = sum(r[4] for r in rows)
    values = sum(r[7] for r in rows)
    values_right = sum(r[6] for r in rows)
    datasets_right = sum(r[2] == r[3] for r in rows)
    lines = [
        START,
        "## Import profile proposals (bench/bench_proposals.py)",
        "",
        f"Run of {dt.date.today():%Y-%m-%d}, code at commit {_commit()}: `python bench/bench_proposals.py`.",
        "",
        f"Corpus: {len(rows)} exports, {headers} headers, {values} values of list columns to translate "
        "(tests/fixtures/exports, expected mappings in attendu.toml). The commune reference is the shipped one.",
        "",
        "| export | file | dataset (guessed) | headers right | values right | time (s, incl. dataset guess) |",
        "|---|---|---|---:|---:|---:|",
        *[f"| {name} | `{file}` | {jeu} ({guess}) | {r}/{n} | {vr}/{vn} | {t:.2f} |"
          for name, file, jeu, guess, r, n, vr, vn, t in rows],
        "",
        f"**Headers right: {right}/{headers} ({right / headers:.0%}); values right: {values_right}/{values} "
        f"({values_right / max(values, 1):.0%}); dataset recognised: {datasets_right}/{len(rows)}.**",
        "",
        "Wrong guesses: " + ("; ".join(wrong) if wrong else "none") + ".",
        "",
        "The corpus was written alongside the synonym list (pipelines/spec/synonymes.py), so these shares say "
        "that the known vocabulary is recognised, not how a never-seen export fares: the fuzzy and value-based "
        "guesses (`tableur_sans_noms`: headers that say nothing) are the part that generalises.",
        END,
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_readme:
        text = README.read_text(encoding="utf-8")
        if START in text and END in text:
            before, rest = text.split(START, 1)
            text = before + section + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        README.write_text(text, encoding="utf-8")
    return 0


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
