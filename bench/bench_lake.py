"""Benchmark of the DuckLake engine against the DuckDB file (not a test).

    python bench/bench_lake.py [--lignes 50000] [--structures 100000] [--accompagnements 1000000] [--pg "host=… port=… user=…"]

1. Throughput of 1, 2 and 4 importers started at the same moment, each a `python -m pipelines ingest
   structures` process with a file of its own (`--lignes` structures, distinct ids), into a fresh file
   warehouse and into a fresh lake: wall time until the last one is done, and each import's own time.
2. Page times (full AppTest runs, analyst views) on the warehouse of bench/bench_pages.py
   (`--structures` / `--accompagnements`), in a file and copied into a lake.

Without --pg, a PostgreSQL server is started for the run (tests/postgres.py). Writes its section of
bench/README.md (`<!-- lake:start -->` … `<!-- lake:end -->`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import bench_pages  # noqa: E402
from bench.readme import markers, write_section  # noqa: E402
from pipelines.store import engine, schema, warehouse  # noqa: E402
from tests import postgres  # noqa: E402

IMPORTERS = (1, 2, 4)


def structures_file(path: Path, prefix: str, n: int) -> Path:
    communes = ["76540", "14118", "31555", "13055", "35238", "67482"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("id_structure;nom;forme_juridique;domaine;code_commune;annee_creation\n")
        for i in range(n):
            f.write(f"{prefix}{i};Structure {prefix}{i};association;musique;{communes[i % len(communes)]};"
                    f"{1970 + i % 50}\n")
    return path


def fresh(kind: str, server: str, work: Path, label: str) -> warehouse.Target:
    target: warehouse.Target
    if kind == "fichier":
        target = work / f"{label}.duckdb"
    else:
        target = engine.Lake(postgres.create_database(server, label), str(work / label))
    with warehouse.write_transaction(target, create=True) as con:
        schema.load_reference_data(con)
    return target


def concurrent_imports(target: warehouse.Target, files: list[Path]) -> tuple[float, list[float]]:
    """Start one CLI import per file at the same moment; (wall time of all, each one's time)."""
    env = {**os.environ, warehouse.ENV_VAR: warehouse.target_key(target)}
    start = time.perf_counter()
    procs = [(subprocess.Popen([sys.executable, "-m", "pipelines", "ingest", "structures", str(f)], cwd=REPO,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), time.perf_counter())
             for f in files]
    each = []
    for proc, began in procs:
        out, err = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"import failed: {err or out}")
        each.append(time.perf_counter() - began)
    return time.perf_counter() - start, each


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lignes", type=int, default=50_000, help="structures per importer")
    parser.add_argument("--structures", type=int, default=100_000)
    parser.add_argument("--accompagnements", type=int, default=1_000_000)
    parser.add_argument("--pg", help="libpq parameters of an existing server (default: one started for the run)")
    parser.add_argument("--sans-pages", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="observatoire-bench-lac-"))
    with (contextlib.nullcontext(args.pg) if args.pg else postgres.server()) as server:
        files = [structures_file(work / f"structures_{n}.csv", f"B{n}-", args.lignes) for n in range(max(IMPORTERS))]
        imports = {}
        for kind in ("fichier", "lac"):
            for k in IMPORTERS:
                target = fresh(kind, server, work, f"imports_{kind}_{k}".replace("fichier", "f"))
                imports[kind, k] = concurrent_imports(target, files[:k])
                print(kind, k, f"{imports[kind, k][0]:.1f} s", flush=True)
        pages = {}
        if not args.sans_pages:
            db_file = work / "pages.duckdb"
            start = time.perf_counter()
            bench_pages.build(db_file, args.structures, args.accompagnements)
            built = time.perf_counter() - start
            lake = engine.Lake(postgres.create_database(server, "pages"), str(work / "pages-lac"))
            start = time.perf_counter()
            warehouse.copy_warehouse(db_file, lake)
            copied = time.perf_counter() - start
            views = {"analyste, sans filtre": {}, "analyste, région 76, 2024": {"region": "76", "du": "2024-01-01",
                                                                                 "au": "2024-12-31"}}
            for kind, target in (("fichier", db_file), ("lac", lake)):
                for view, params in views.items():
                    pages[kind, view] = bench_pages.time_pages(target, params, "analyste")
                    print(kind, view, flush=True)
    start_marker, end_marker = markers("lake")
    lines = [start_marker, "## DuckLake against the DuckDB file (bench/bench_lake.py)", "",
             f"Run of {time.strftime('%Y-%m-%d')}: `python bench/bench_lake.py --lignes {args.lignes}`; "
             f"{os.cpu_count()} CPU; PostgreSQL {'given' if args.pg else 'started for the run (fsync off)'}, "
             "on the same machine; lake data files on the local disk.", "",
             f"**Concurrent importers**: each a `python -m pipelines ingest structures` process with its own file of "
             f"{args.lignes:,} structures, all started at once into a fresh warehouse. Writers take turns on both "
             "engines (the file's lock, the lake's advisory lock): what runs side by side is each process' start, "
             "reading and checking before its turn.", "",
             "| importers | engine | all done (s) | structures/s | each import (s, median) |", "|---:|---|---:|---:|---:|"]
    for k in IMPORTERS:
        for kind in ("fichier", "lac"):
            wall, each = imports[kind, k]
            lines.append(f"| {k} | {'DuckDB file' if kind == 'fichier' else 'DuckLake (PostgreSQL)'} | {wall:.1f} | "
                         f"{k * args.lignes / wall:,.0f} | {statistics.median(each):.1f} |")
    if pages:
        lines += ["", f"**Pages** on the warehouse of bench/bench_pages.py ({args.structures:,} structures, "
                      f"{args.accompagnements:,} accompaniments; built in {built:.0f} s, copied into the lake with "
                      f"`copier` in {copied:.0f} s): full AppTest runs, cold (Streamlit cache emptied) and warm "
                      "(median of two). Funder views are left out here: their publication (bench_pages) is the same "
                      "code on both engines.", "",
                  "| page | view | file cold (s) | lake cold (s) | file warm (s) | lake warm (s) |",
                  "|---|---|---:|---:|---:|---:|"]
        for view in views:
            for page in bench_pages.PAGES:
                f_cold, _, f_warm = pages["fichier", view][page]
                l_cold, _, l_warm = pages["lac", view][page]
                lines.append(f"| {page} | {view} | {f_cold:.2f} | {l_cold:.2f} | {f_warm:.2f} | {l_warm:.2f} |")
    lines.append(end_marker)
    write_section("lake", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
