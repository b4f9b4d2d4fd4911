"""Benchmark of CSV ingestion at scale (not a test).

    python bench/bench_ingest.py [--lignes 1000000] [--structures N] [--programmes 36]
                                 [--repetitions 1] [--readme | --sans-readme] [--profil] [--commit REV]

1. Generates, deterministically and vectorised (numpy/pandas for the structures,
   one DuckDB COPY for the accompaniments), interchange-format CSV files in
   bench/out/ (gitignored): structures.csv, programmes.csv, accompagnements.csv.
   They look like real exports: `;` delimiter, JJ/MM/AAAA dates with some ISO ones,
   decimal commas, thousands spaces, labels mixed with codes, `|` lists, empty
   optional cells. Every row is valid, so the all-or-nothing import goes through.
2. Times, each path in its own child process (peak memory = that child's
   ru_maxrss, read with os.wait4, so it includes Python, pandas and DuckDB):
   - observatoire: `ingest.ingest_paths` (the real read + validate + load, into a
     copy of the warehouse swapped in atomically) of the structures + programmes
     files into a warehouse holding only the reference data, then of the
     accompaniments file into a warehouse already holding those structures and
     programmes;
   - duckdb: `CREATE TABLE … AS SELECT * FROM read_csv('accompagnements.csv')`
     into a new DuckDB file (auto-detected types; the baseline);
   - duckdb typé: the same with the types, date format and decimal comma given
     (for information: what a typed load costs DuckDB);
   - pandas: `pd.read_csv` (default inference) then
     `con.execute("CREATE TABLE … AS SELECT * FROM df")` into a new DuckDB file
     (what `DataFrame.to_sql` amounts to without SQLAlchemy/duckdb-engine, which
     are not dependencies of the project; to_sql through SQLAlchemy would insert
     row batches and be slower).
3. Writes the figures and the machine between the `ingest` markers of
   bench/README.md (by default only for the full 1,000,000-row run).

`--profil` also runs the observatoire accompaniments import under cProfile and
writes the top functions to bench/out/profil_ingest.txt.

`--commit REV` measures the `pipelines` package of a commit (extracted with
`git archive` into bench/out/code-REV) instead of the working tree, e.g. while
someone is editing pipelines/ingest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.readme import README, markers, write_section  # noqa: E402

OUT = REPO / "bench" / "out"
START, END = markers("ingest")
FULL = 1_000_000


# ---------------------------------------------------------------------------
# Generation (deterministic, vectorised)


def _luhn_digit(digits):
    """Luhn check digit to append to each row of `digits` (n × L array)."""
    import numpy as np

    length = digits.shape[1]
    # In the final number, digit i sits at position length - i from the right: doubled when odd.
    doubled = digits.copy()
    doubled[:, (length - np.arange(length)) % 2 == 1] *= 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    return (10 - doubled.sum(axis=1) % 10) % 10


def _luhn_siret(rng, n: int):
    """n valid SIRETs as strings: Luhn-valid SIREN (9 digits) + NIC, Luhn-valid as a whole."""
    import numpy as np
    import pandas as pd

    siren = rng.integers(0, 10, size=(n, 8))
    siren[:, 0] = rng.integers(1, 10, size=n)  # no leading zero, never La Poste's 356000000
    siren = np.concatenate([siren, _luhn_digit(siren)[:, None]], axis=1)
    prefix = np.concatenate([siren, rng.integers(0, 10, size=(n, 4))], axis=1)
    full = np.concatenate([prefix, _luhn_digit(prefix)[:, None]], axis=1)
    weights = 10 ** np.arange(13, -1, -1, dtype=np.int64)
    return pd.Series((full * weights).sum(axis=1)).astype(str).str.zfill(14)


def generate(out: Path, n_accs: int, n_structures: int, n_programmes: int) -> dict:
    import duckdb
    import numpy as np
    import pandas as pd

    from pipelines.geo import reference as geo
    from pipelines.ingest.validate import FRANCE_BOXES
    from pipelines.spec import referentiels as ref

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240607)

    # Communes (not arrondissements), with coordinates inside the boxes the validator accepts.
    communes = geo.read_communes()
    communes = communes[~communes["arrondissement"].fillna(False).astype(bool)].sort_values("code").reset_index(drop=True)
    lat, lon = communes["latitude"], communes["longitude"]
    inside = pd.Series(False, index=communes.index)
    for lat0, lat1, lon0, lon1 in FRANCE_BOXES:
        inside |= lat.between(lat0, lat1).fillna(False) & lon.between(lon0, lon1).fillna(False)

    # --- structures ---------------------------------------------------------
    g = np.arange(n_structures)
    pick = rng.integers(0, len(communes), size=n_structures)
    c = communes.iloc[pick].reset_index(drop=True)
    c_inside = inside.iloc[pick].to_numpy()
    formes = np.array(["association", "Association", "9220", "scop", "SCIC", "sarl", "fondation", "sas", "association"])
    domaines_codes = list(ref.DOMAINES)
    domaines = np.array(domaines_codes + [ref.DOMAINES[d] for d in domaines_codes[:4]])  # some written as labels
    forme = formes[g % len(formes)]
    is_asso = np.isin(forme, ["association", "Association", "9220"])
    budget = (rng.integers(2_000, 900_000, size=n_structures) // 100) * 100
    budget_s = pd.Series(budget).astype(str)
    spaced = (pd.Series(budget // 1000).astype(str) + " " + pd.Series(budget % 1000).astype(str).str.zfill(3))
    budget_s = budget_s.where(g % 3 != 0, spaced)  # "85 000": a thousands space, one row in three
    etp = pd.Series(rng.integers(0, 120, size=n_structures) / 10).astype(str).str.replace(".", ",", regex=False)
    with_coords = c_inside & (g % 4 != 0)
    structures = pd.DataFrame({
        "id_structure": "S" + pd.Series(g + 1).astype(str).str.zfill(6),
        "nom": np.where(g % 2 == 0, "Compagnie ", "Théâtre de l'Envol ") + pd.Series(g + 1).astype(str),
        "siret": _luhn_siret(rng, n_structures).where(g % 5 != 0, ""),
        "rna": ("W" + pd.Series(rng.integers(0, 10**9, size=n_structures)).astype(str).str.zfill(9)).where(is_asso, ""),
        "forme_juridique": forme,
        "domaine": domaines[(g * 7) % len(domaines)],
        "code_commune": c["code"].to_numpy(),
        "annee_creation": pd.Series(1950 + (g * 13) % 74).astype(str).where(g % 10 != 0, ""),
        "effectif_etp": etp.where(g % 6 != 0, ""),
        "nb_benevoles": pd.Series((g * 3) % 40).astype(str).where(g % 8 != 0, ""),
        "budget_annuel": budget_s.where(g % 9 != 0, ""),
        "employeur": np.array(["oui", "non", "oui", "o", "Non", ""])[g % 6],
        "latitude": c["latitude"].round(4).astype(str).str.replace(".", ",", regex=False).where(with_coords, ""),
        "longitude": c["longitude"].round(4).astype(str).str.replace(".", ",", regex=False).where(with_coords, ""),
    })
    structures.to_csv(out / "structures.csv", sep=";", index=False, encoding="utf-8")

    # --- programmes ---------------------------------------------------------
    regions = sorted(geo.read_regions()["code"])
    types = list(ref.TYPES_PROGRAMME)
    p = np.arange(n_programmes)
    programmes = pd.DataFrame({
        "id_programme": "P" + pd.Series(p + 1).astype(str).str.zfill(2),
        "nom": "Programme " + pd.Series(p + 1).astype(str),
        "operateur": "Opérateur " + pd.Series(p % 7 + 1).astype(str),
        "type": np.array(types)[p % len(types)],
        "code_region": np.array(regions)[p % len(regions)],
        "date_debut": "01/01/2018",
        "date_fin": np.where(p % 3 == 0, "31/12/2027", ""),
        "financeurs": np.array(["État|Région", "Région", "État|Département|Ville", ""])[p % 4],
        "heures_prevues": np.array(["1 200", "50000", "800,5", ""])[p % 4],
    })
    programmes.to_csv(out / "programmes.csv", sep=";", index=False, encoding="utf-8")

    # --- accompagnements: one DuckDB COPY ------------------------------------
    etapes = list(ref.ETAPES)
    etapes_written = etapes + [ref.ETAPES["diagnostic"], ref.ETAPES["accompagnement"]]  # labels too
    modalites = list(ref.MODALITES) + ["Entre pairs", "INDIVIDUEL"]
    needs = list(ref.BESOINS)
    needs_principal = needs + ["ECO", "STR"]  # a bare category code is accepted
    n_needs = len(needs)
    con = duckdb.connect()
    # NULL (not '') for empty cells: DuckDB writes '' as a quoted "" and the file would hold quotes.
    con.execute(f"""
        COPY (
          SELECT 'A' || lpad((g + 1)::VARCHAR, 7, '0') AS id_accompagnement,
                 'S' || lpad(((g * 7919 + 13) % {n_structures} + 1)::VARCHAR, 6, '0') AS id_structure,
                 'P' || lpad(((g * 31 + g // 1000) % {n_programmes} + 1)::VARCHAR, 2, '0') AS id_programme,
                 CASE WHEN g % 10 = 3 THEN strftime(d, '%Y-%m-%d') ELSE strftime(d, '%d/%m/%Y') END AS date_debut,
                 CASE WHEN (g * 13) % 10 < 8 THEN strftime(d + (30 + g % 300)::INTEGER, '%d/%m/%Y') END AS date_fin,
                 {etapes_written}[1 + g % {len(etapes_written)}] AS etape,
                 {modalites}[1 + (g // 3) % {len(modalites)}] AS modalite,
                 CASE WHEN g % 9 <> 0 THEN ((g * 17) % 40)::VARCHAR || ',' || (g % 10)::VARCHAR END AS heures,
                 {needs_principal}[1 + (g * 5) % {len(needs_principal)}] AS besoin_principal,
                 CASE (g % 4)
                   WHEN 0 THEN NULL
                   WHEN 1 THEN {needs}[1 + (g // 4) % {n_needs}]
                   WHEN 2 THEN {needs}[1 + (g // 4) % {n_needs}] || '|' || {needs}[1 + (g // 77) % {n_needs}]
                   ELSE {needs}[1 + (g // 4) % {n_needs}] || '|' || {needs}[1 + (g // 77) % {n_needs}]
                        || ' | ' || {needs}[1 + (g // 1601) % {n_needs}]
                 END AS besoins,
                 CASE WHEN g % 5 <> 0 THEN CASE WHEN g % 4 = 0 THEN 'appui_court' ELSE 'accompagnement_long' END END AS format,
                 CASE WHEN g % 6 <> 5 THEN ['direct', 'prescripteur', 'reseau'][1 + g % 3] END AS orientation,
                 CASE WHEN g % 5 = 0 THEN (g % 12)::VARCHAR END AS heures_benevoles,
                 CASE WHEN g % 3 <> 0 THEN 'Chargé de mission ' || (g % 40 + 1)::VARCHAR END AS intervenant
          FROM (SELECT g, DATE '2019-01-01' + ((g * 2654435761) % 2500)::INTEGER AS d FROM range({n_accs}) t(g))
          ORDER BY g
        ) TO '{out / "accompagnements.csv"}' (HEADER, DELIMITER ';')
    """)
    con.close()
    sizes = {name: (out / f"{name}.csv").stat().st_size for name in ("structures", "programmes", "accompagnements")}
    return {"octets": sizes}


# ---------------------------------------------------------------------------
# Child processes: one path each, JSON on the last stdout line


class _RssSampler:
    """Peak resident memory per phase, sampled from /proc every 20 ms."""

    def __init__(self):
        self.phase = "départ"
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self):
        while not self._stop.is_set():
            value = self.rss()
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), value)
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _maxrss_now() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_observatoire(db: Path, paths: list[Path], profile: Path | None) -> dict:
    from pipelines import ingest

    base_rss = _maxrss_now()
    marks: list[tuple[str, float]] = []
    with _RssSampler() as sampler:
        def progress(fraction: float, label: str) -> None:
            marks.append((label, time.perf_counter()))
            sampler.phase = label

        start = time.perf_counter()
        if profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            result = prof.runcall(ingest.ingest_paths, db, paths, progress=progress)
            prof.dump_stats(str(profile.with_suffix(".prof")))
            with open(profile, "w") as fh:
                stats = pstats.Stats(prof, stream=fh)
                fh.write("# cumulative\n")
                stats.sort_stats("cumulative").print_stats(45)
                fh.write("\n# tottime\n")
                stats.sort_stats("tottime").print_stats(35)
        else:
            result = ingest.ingest_paths(db, paths, progress=progress)
        total = time.perf_counter() - start
    if result.status != "importe":
        raise SystemExit(f"import non abouti ({result.status}) : {result.message}\n{result.problems.head(20)}")
    # Phases from the progress labels: reading, checking, writing (incl. commit + checkpoint + swap).
    phases: dict[str, float] = {}
    times = [("Lecture des fichiers", start)] + marks[1:]
    for (label, t0), (_, t1) in zip(times, times[1:]):
        key = "écriture" if label.startswith("Écriture") else label
        phases[key] = phases.get(key, 0.0) + (t1 - t0)
    return {"secondes": total, "phases": phases, "rss_import_modules": base_rss,
            "rss_par_phase": {("écriture" if k.startswith("Écriture") else k): v for k, v in sampler.peaks.items()},
            "totaux": result.totals, "message": result.message, "module": ingest.__file__}


def child_duckdb(db: Path, csv_path: Path, typed: bool) -> dict:
    import duckdb

    base_rss = _maxrss_now()
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    con = duckdb.connect(str(db))
    if typed:
        source = f"""read_csv('{csv_path}', delim=';', header=true, dateformat='%d/%m/%Y', decimal_separator=',',
                     columns={{'id_accompagnement': 'VARCHAR', 'id_structure': 'VARCHAR', 'id_programme': 'VARCHAR',
                               'date_debut': 'VARCHAR', 'date_fin': 'DATE', 'etape': 'VARCHAR', 'modalite': 'VARCHAR',
                               'heures': 'DOUBLE', 'besoin_principal': 'VARCHAR', 'besoins': 'VARCHAR',
                               'format': 'VARCHAR', 'orientation': 'VARCHAR', 'heures_benevoles': 'DOUBLE',
                               'intervenant': 'VARCHAR'}})"""
        # date_debut mixes JJ/MM/AAAA and ISO: one format per column in read_csv, so parsed after.
        con.execute(f"""CREATE TABLE accompagnements AS
                        SELECT * REPLACE (coalesce(try_strptime(date_debut, '%d/%m/%Y'),
                                                   try_strptime(date_debut, '%Y-%m-%d'))::DATE AS date_debut,
                                          string_split(besoins, '|') AS besoins)
                        FROM {source}""")
    else:
        con.execute(f"CREATE TABLE accompagnements AS SELECT * FROM read_csv('{csv_path}')")
    rows = con.execute("SELECT count(*) FROM accompagnements").fetchall()[0][0]
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'accompagnements' ORDER BY ordinal_position").fetchall())
    con.close()
    total = time.perf_counter() - start
    return {"secondes": total, "lignes": rows, "types": types, "rss_import_modules": base_rss}


def child_pandas(db: Path, csv_path: Path) -> dict:
    import duckdb
    import pandas as pd

    base_rss = _maxrss_now()
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    df = pd.read_csv(csv_path, sep=";")
    read = time.perf_counter() - start
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE accompagnements AS SELECT * FROM df")
    rows = con.execute("SELECT count(*) FROM accompagnements").fetchall()[0][0]
    con.close()
    total = time.perf_counter() - start
    return {"secondes": total, "phases": {"read_csv": read, "CREATE TABLE AS": total - read}, "lignes": rows,
            "dtypes": {k: str(v) for k, v in df.dtypes.items()}, "rss_import_modules": base_rss}


def child_main(args) -> int:
    if args.code:
        sys.path.insert(0, str(args.code))
    if args.chemin == "generer":
        start = time.perf_counter()
        result = generate(args.db, args.lignes, args.structures, args.programmes)
        result["secondes"] = time.perf_counter() - start
    elif args.chemin == "preparer":
        prepare_warehouse(args.db)
        result = {}
    elif args.chemin == "machine":
        result = machine()
    elif args.chemin == "observatoire":
        result = child_observatoire(args.db, args.fichiers, args.profil_vers)
    elif args.chemin == "duckdb":
        result = child_duckdb(args.db, args.fichiers[0], typed=False)
    elif args.chemin == "duckdb-type":
        result = child_duckdb(args.db, args.fichiers[0], typed=True)
    elif args.chemin == "pandas":
        result = child_pandas(args.db, args.fichiers[0])
    else:
        raise SystemExit(f"chemin inconnu : {args.chemin}")
    print(json.dumps(result, ensure_ascii=False, default=str))
    return 0


def run_child(chemin: str, db: Path, files: list[Path] = (), profile: Path | None = None, extra: list[str] = ()) -> dict:
    """Run one path in a child process; its peak RSS comes from os.wait4 (that child only).

    The parent imports neither pandas nor DuckDB, so the resident memory a child inherits
    at fork time (and ru_maxrss keeps across exec) is the parent's few MB.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--chemin", chemin, "--db", str(db),
           "--fichiers", *map(str, files), *extra]
    if CODE:
        cmd += ["--code", str(CODE)]
    if profile:
        cmd += ["--profil-vers", str(profile)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=REPO)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"le chemin {chemin} a échoué (code {proc.returncode})")
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    result["rss_max"] = usage.ru_maxrss * 1024
    return result


def run_process(cmd: list[str]) -> dict:
    """A whole command, as an analyst runs it: wall time from start to exit (interpreter start and imports
    included) and the process's peak RSS (os.wait4)."""
    env = dict(os.environ, PYTHONPATH=str(CODE)) if CODE else None
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, cwd=REPO, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"la commande {' '.join(cmd)} a échoué")
    return {"secondes": seconds, "rss_max": usage.ru_maxrss * 1024}


def whole_cli(db: Path, csv_path: Path) -> dict:
    return run_process([sys.executable, "-m", "pipelines", "ingest", "accompagnements", str(csv_path), "--db", str(db)])


def whole_duckdb(db: Path, csv_path: Path) -> dict:
    db.unlink(missing_ok=True)
    script = (f"import duckdb; duckdb.connect({str(db)!r}).execute("
              f"\"CREATE TABLE accompagnements AS SELECT * FROM read_csv('{csv_path}')\")")
    return run_process([sys.executable, "-c", script])


# ---------------------------------------------------------------------------
# Orchestration


def machine() -> dict:
    import duckdb
    import numpy as np
    import pandas as pd

    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": os.cpu_count(), "modele_cpu": cpu, "ram": mem, "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pandas": pd.__version__, "numpy": np.__version__,
            "systeme": f"{platform.system()} {platform.release()}"}


def prepare_warehouse(path: Path) -> None:
    from pipelines.store import schema, warehouse

    path.unlink(missing_ok=True)
    with warehouse.write_transaction(path, create=True) as con:
        schema.load_reference_data(con)


CODE: Path | None = None  # root holding the `pipelines` package the children import


def code_under_test(commit: str | None, out: Path) -> str:
    """Set CODE from --commit; describe the code measured, for the report."""
    global CODE
    git = ["git", "-C", str(REPO)]
    if commit:
        sha = subprocess.run([*git, "rev-parse", "--verify", commit + "^{commit}"], check=True,
                             capture_output=True, text=True).stdout.strip()
        CODE = out / f"code-{sha[:12]}"
        if not (CODE / "pipelines").exists():
            CODE.mkdir(parents=True, exist_ok=True)
            archive = subprocess.run([*git, "archive", sha, "pipelines", "data/geo"], check=True, capture_output=True)
            subprocess.run(["tar", "-x", "-C", str(CODE)], input=archive.stdout, check=True)
        return f"commit {sha[:12]} (`--commit {commit}`)"
    head = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "pipelines"], capture_output=True, text=True).stdout.strip()
    return f"working tree at {head}" + (" with uncommitted changes in pipelines/" if dirty else "")


def best(runs: list[dict]) -> dict:
    return min(runs, key=lambda r: r["secondes"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lignes", type=int, default=FULL, help="accompagnements à générer (défaut 1 000 000)")
    parser.add_argument("--structures", type=int, default=None, help="défaut : lignes / 10")
    parser.add_argument("--programmes", type=int, default=36)
    parser.add_argument("--repetitions", type=int, default=1, help="mesures par chemin (la plus rapide est retenue)")
    parser.add_argument("--readme", dest="readme", action="store_true", default=None,
                        help="écrire les chiffres dans bench/README.md (défaut : seulement pour 1 000 000 lignes)")
    parser.add_argument("--sans-readme", dest="readme", action="store_false")
    parser.add_argument("--profil", action="store_true", help="profil cProfile de l'import observatoire")
    parser.add_argument("--sortie", type=Path, default=OUT)
    # Internal: run one path in this (child) process.
    parser.add_argument("--chemin", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fichiers", type=Path, nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--profil-vers", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--commit", help="mesurer le code de ce commit (git archive) plutôt que l'arbre de travail")
    args = parser.parse_args()
    if args.chemin:
        return child_main(args)

    n = args.lignes
    n_structures = args.structures or max(100, n // 10)
    out: Path = args.sortie
    write_readme = args.readme if args.readme is not None else n == FULL
    acc, st, pr = out / "accompagnements.csv", out / "structures.csv", out / "programmes.csv"

    parent_rss = _maxrss_now()
    load_start = round(os.getloadavg()[0], 1)
    code = code_under_test(args.commit, out)
    # Bytecode compiled once, as on any installation after its first run (pip does it for the libraries); a
    # machine with PYTHONDONTWRITEBYTECODE set would otherwise recompile the project's modules at every command.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str((CODE or REPO) / "pipelines")], check=True,
                   stdout=subprocess.DEVNULL)
    print(f"code mesuré : {code}", flush=True)
    gen = run_child("generer", out, extra=["--lignes", str(n), "--structures", str(n_structures),
                                           "--programmes", str(args.programmes)])
    print(f"génération : {gen['secondes']:.1f} s, {gen['octets']}", flush=True)

    empty = out / "entrepot_vide.duckdb"
    with_refs = out / "entrepot_referentiels.duckdb"
    work = out / "entrepot_travail.duckdb"
    run_child("preparer", empty)
    results: dict[str, list[dict]] = {k: [] for k in ("structures", "accompagnements", "duckdb", "duckdb-type", "pandas",
                                                      "cli", "duckdb-processus")}
    for rep in range(args.repetitions):
        # Structures + programmes into a warehouse holding only the reference data.
        shutil.copyfile(empty, with_refs)
        results["structures"].append(run_child("observatoire", with_refs, [st, pr]))
        print(f"observatoire structures+programmes : {results['structures'][-1]['secondes']:.2f} s", flush=True)
        # Accompaniments into a warehouse already holding those structures and programmes.
        shutil.copyfile(with_refs, work)
        results["accompagnements"].append(run_child("observatoire", work, [acc]))
        print(f"observatoire accompagnements : {results['accompagnements'][-1]['secondes']:.2f} s", flush=True)
        for chemin in ("duckdb", "duckdb-type", "pandas"):
            results[chemin].append(run_child(chemin, out / f"{chemin}.duckdb", [acc]))
            print(f"{chemin} : {results[chemin][-1]['secondes']:.2f} s", flush=True)
        # The whole commands, side by side: what issue 14 measures.
        shutil.copyfile(with_refs, work)
        results["cli"].append(whole_cli(work, acc))
        results["duckdb-processus"].append(whole_duckdb(out / "duckdb.duckdb", acc))
        print(f"processus entiers : {results['cli'][-1]['secondes']:.2f} s contre "
              f"{results['duckdb-processus'][-1]['secondes']:.2f} s", flush=True)
    if args.profil:
        shutil.copyfile(with_refs, work)
        run_child("observatoire", work, [acc], profile=out / "profil_ingest.txt")
        print(f"profil : {out / 'profil_ingest.txt'}", flush=True)
    for f in (work, out / "duckdb.duckdb", out / "duckdb-type.duckdb", out / "pandas.duckdb"):
        f.unlink(missing_ok=True)

    report = {"lignes": n, "structures": n_structures, "programmes": args.programmes, "generation": gen,
              "machine": run_child("machine", out), "rss_parent": parent_rss, "code": code,
              "charge": [load_start, round(os.getloadavg()[0], 1)], "date": dt.date.today().isoformat(), "repetitions": args.repetitions,
              "resultats": results}
    (out / "resultats_ingest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    section = render(report)
    print(section)
    if write_readme:
        write_section("ingest", section)
        print(f"écrit dans {README}")
    return 0


# ---------------------------------------------------------------------------
# Report


def whole_command_ratios(results: dict) -> dict:
    """The import command's time over DuckDB's, pair by pair (each repetition runs both back to back), their
    median, and the import's highest peak memory over the repetitions."""
    import statistics

    pairs = list(zip(results.get("cli", []), results.get("duckdb-processus", [])))
    ratios = [c["secondes"] / d["secondes"] for c, d in pairs]
    return {"ratios": ratios, "median": statistics.median(ratios) if ratios else float("nan"),
            "peak": max((c["rss_max"] for c, _ in pairs), default=0)}


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def render(report: dict) -> str:
    r = {k: best(v) for k, v in report["resultats"].items()}
    m = report["machine"]
    obs, raw, typed, pdp, st = r["accompagnements"], r["duckdb"], r["duckdb-type"], r["pandas"], r["structures"]
    cli, raw_process = r.get("cli"), r.get("duckdb-processus")
    ratio = obs["secondes"] / raw["secondes"]
    peak = max(x["rss_max"] for x in r.values())
    sizes = report["generation"]["octets"]
    n = report["lignes"]
    ok = lambda cond: "**met**" if cond else "**missed**"  # noqa: E731
    rows = [
        ("Observatoire: `ingest.ingest_paths` (read + validate + load)", obs),
        ("DuckDB: raw `read_csv` (auto-detected types) — baseline", raw),
        ("DuckDB: typed `read_csv` (dates, decimal comma, lists)", typed),
        ("pandas: `read_csv` then `CREATE TABLE … AS SELECT * FROM df`", pdp),
    ]
    lines = [
        START,
        "## Ingestion (bench/bench_ingest.py)",
        "",
        f"Run of {report['date']}: `python bench/bench_ingest.py --lignes {n}` "
        f"({report['repetitions']} measure(s) per path, the fastest kept); code measured: {report['code']}.",
        "",
        f"Machine: {m['cpu']} CPU ({m['modele_cpu']}), {m['ram'] / 2**30:.0f} GB RAM, {m['systeme']}; "
        f"Python {m['python']}, duckdb {m['duckdb']}, pandas {m['pandas']}, numpy {m['numpy']}. "
        "Shared machine: other engineers ran test suites at the same time (load average "
        f"{report.get('charge', ['?', '?'])[0]} at the start, {report.get('charge', ['?', '?'])[1]} at the end), "
        "so timings carry noise of tens of percent.",
        "",
        f"Files generated in bench/out/ (deterministic, vectorised, {report['generation']['secondes']:.1f} s): "
        f"{n:,} accompaniments ({sizes['accompagnements'] / 1e6:.0f} MB), {report['structures']:,} structures "
        f"({sizes['structures'] / 1e6:.1f} MB), {report['programmes']} programmes. `;`-delimited UTF-8, "
        "JJ/MM/AAAA dates (one in ten ISO), decimal commas, thousands spaces, labels mixed with codes, `|` lists, "
        "empty optional cells, no quoted field; every row valid.",
        "",
        "Each path runs in its own child process; *peak memory* is that child's `ru_maxrss` (from `os.wait4`), "
        "Python + pandas + DuckDB included (importing them alone: "
        f"{_mb(obs['rss_import_modules'])} MB for Observatoire, {_mb(raw['rss_import_modules'])} MB for DuckDB alone). "
        "Time excludes interpreter start and imports. The project's modules are compiled to bytecode first "
        "(`python -m compileall pipelines`), as Python does on any installation's first run.",
        "",
        f"### Accompaniments file, {n:,} rows",
        "",
        "| path | time (s) | × DuckDB raw | peak memory (MB) |",
        "|---|---:|---:|---:|",
    ]
    for label, x in rows:
        lines.append(f"| {label} | {x['secondes']:.2f} | {x['secondes'] / raw['secondes']:.1f} | {_mb(x['rss_max'])} |")
    paired = whole_command_ratios(report["resultats"])
    if cli and raw_process:
        lines += [
            "",
            "The whole commands, interpreter start and imports included (what issue 14 measures), fastest of "
            f"{report['repetitions']}:",
            "",
            "| command | time (s) | × DuckDB | peak memory (MB) |",
            "|---|---:|---:|---:|",
            f"| `python -m pipelines ingest accompagnements.csv` | {cli['secondes']:.2f} | "
            f"{cli['secondes'] / raw_process['secondes']:.1f} | {_mb(cli['rss_max'])} |",
            f"| `python -c` DuckDB `CREATE TABLE … AS SELECT * FROM read_csv(…)` | {raw_process['secondes']:.2f} | 1.0 | "
            f"{_mb(raw_process['rss_max'])} |",
            "",
            "Each repetition runs the two commands back to back, so a pair shares the machine's load of the moment: "
            f"ratios of the pairs {', '.join(f'{x:.2f}' for x in paired['ratios'])} (median {paired['median']:.2f}); "
            f"peak memory of the import over all repetitions {_mb(paired['peak'])} MB.",
        ]
    lines += [
        "",
        f"Structures + programmes files ({report['structures']:,} + {report['programmes']} rows) through "
        f"`ingest.ingest_paths` into a warehouse holding only the reference data: {st['secondes']:.2f} s, "
        f"peak memory {_mb(st['rss_max'])} MB.",
        "",
        "Observatoire's time by phase, named after the `progress` labels of `ingest.ingest` (*Lecture*: read "
        "the bytes, decode, parse, plus opening the private copy of the warehouse; *Vérification*: every rule; "
        "*écriture*: upsert with history, commit, checkpoint, swap); peak resident memory sampled every 20 ms "
        "in each phase:",
        "",
        "| phase | time (s) | peak RSS (MB) |",
        "|---|---:|---:|",
    ]
    for phase, secs in obs["phases"].items():
        lines.append(f"| {phase} | {secs:.2f} | {_mb(obs['rss_par_phase'].get(phase, 0))} |")
    lines += [
        "",
        "What each path does:",
        "",
        "- *Observatoire*: reads the bytes and sniffs them; a plain UTF-8 export (no quote, every line as wide "
        "as the header) is parsed by Arrow's CSV reader straight from the bytes, each column dictionary-encoded "
        "(each distinct cell once, each line its code), anything else decoded and read by `pd.read_csv` then "
        "held the same way; then every rule of the interchange format (required cells, dates, decimals, "
        "enumerations by code or label, need lists, references to structures and programmes, unique ids, date "
        "order), each column's rules run once per distinct cell value; then the upsert with history (from a "
        "dictionary-encoded Arrow table, handed to DuckDB in batches of one row group so that both cores "
        "write) into a private copy of the warehouse (DuckDB capped at 256 MB, spilling beyond), commit, "
        "checkpoint and atomic swap.",
        f"- *DuckDB raw*: `CREATE TABLE accompagnements AS SELECT * FROM read_csv(…)` into a new file; "
        f"auto-detection types {sum(1 for t in raw['types'].values() if t == 'VARCHAR')} of "
        f"{len(raw['types'])} columns as VARCHAR (decimal commas, mixed date formats and `|` lists are "
        "left as text): no validation.",
        "- *DuckDB typed*: the same with the column types, date format and decimal comma given, the mixed "
        "`date_debut` parsed with two `try_strptime`, the lists split: the typing work, still no validation "
        "or messages.",
        "- *pandas*: `pd.read_csv(path, sep=';')` with default inference, then DuckDB's "
        "`CREATE TABLE … AS SELECT * FROM df` on the frame (what `DataFrame.to_sql` would do through "
        "duckdb-engine, which is not a dependency; `to_sql` with SQLAlchemy inserts row batches and is slower). "
        f"read_csv {pdp['phases']['read_csv']:.2f} s, table {pdp['phases']['CREATE TABLE AS']:.2f} s. "
        "No validation either.",
        "",
        "Targets (issue 14): the whole `python -m pipelines ingest` within 2× DuckDB reading the same file, "
        "under 600 MB:",
        "",
        *([f"- time: median of the paired ratios {paired['median']:.2f}× (fastest against fastest "
           f"{cli['secondes'] / raw_process['secondes']:.2f}×) — {ok(paired['median'] <= 2)};",
           f"- peak memory: {_mb(paired['peak'])} MB at most — {ok(paired['peak'] < 600 * 2**20)}."] if cli and raw_process
          else [f"- in-process: {ratio:.1f}× DuckDB's raw read, peak {_mb(obs['rss_max'])} MB "
                f"({_mb(peak)} MB at most over all paths)."]),
        "",
        END,
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
