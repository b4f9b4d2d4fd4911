"""Benchmark of the dashboard pages at scale (not a test).

    python bench/bench_pages.py [--structures 100000] [--accompagnements 1000000] [--db /tmp/bench.duckdb]

Builds a large warehouse directly in DuckDB (no CSV ingestion), then times every
page's full AppTest run cold (empty cache) and warm (same filters again), and
the `kpis` queries. Writes the figures into the pages section of bench/README.md
(between its `<!-- pages:start -->` / `<!-- pages:end -->` markers).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.readme import markers, write_section  # noqa: E402
from pipelines.demo import generate as demo  # noqa: E402
from pipelines.queries import cube, indicators, masks
from pipelines.store import schema, warehouse

PAGES = ["pages/vue_ensemble.py", "pages/structures.py", "pages/besoins.py", "pages/territoires.py",
         "pages/resultats.py", "pages/temoignages.py"]


def build(path: Path, n_structures: int, n_accs: int) -> None:
    path.unlink(missing_ok=True)
    with warehouse.write_transaction(path, create=True) as con:
        schema.load_reference_data(con)
        con.execute("SELECT setseed(0.42)")
        con.execute("""CREATE TEMP TABLE c AS SELECT row_number() OVER (ORDER BY code) - 1 AS i, code, code_region
                       FROM geo_communes WHERE NOT arrondissement""")
        n_communes = con.execute("SELECT count(*) FROM c").fetchall()[0][0]
        con.execute(f"""
            INSERT INTO structures (id_structure, nom, forme_juridique, domaine, code_commune, annee_creation,
                                    effectif_etp, nb_benevoles, budget_annuel, employeur)
            SELECT 'S' || g, 'Structure ' || g,
                   ['association','association','association','scop','scic','sarl'][1 + (g % 6)],
                   ['spectacle_vivant','musique','arts_visuels','patrimoine','livre_edition_presse','action_culturelle'][1 + (g % 6)],
                   c.code, 1970 + (g % 55), round(random() * 6, 1), (g % 20), round(random() * 500000, -2), random() < 0.55
            FROM range({n_structures}) t(g) JOIN c ON c.i = (hash(g) % {n_communes})""")
        regions = [r[0] for r in con.execute("SELECT code FROM geo_regions ORDER BY code").fetchall()]
        programmes = [(f"P{i:03d}", f"Programme {i}", ["dla", "pole_accompagnement", "pairs", "collectif_sectoriel"][i % 4],
                       regions[i % len(regions)]) for i in range(120)]
        con.executemany("""INSERT INTO programmes (id_programme, nom, operateur, type, code_region, date_debut, heures_prevues)
                           VALUES (?, ?, 'Opérateur', ?, ?, DATE '2019-01-01', 50000)""", programmes)
        needs = list(demo.ref.BESOINS)
        con.execute(f"""
            INSERT INTO accompagnements (id_accompagnement, id_structure, id_programme, date_debut, date_fin, etape,
                                         modalite, heures, besoin_principal, besoins, format)
            SELECT 'A' || g, 'S' || (hash(g) % {n_structures}), 'P' || lpad(((hash(g * 7) % 120))::VARCHAR, 3, '0'),
                   d, CASE WHEN random() < 0.8 THEN d + (30 + (g % 300))::INTEGER END,
                   ['accueil','diagnostic','accompagnement','suivi','clos'][1 + (g % 5)],
                   ['individuel','collectif','pairs'][1 + (g % 3)], round(random() * 40, 1),
                   n1, [n1, n2], CASE WHEN g % 4 = 0 THEN 'appui_court' ELSE 'accompagnement_long' END
            FROM (SELECT g, DATE '2019-01-01' + (hash(g * 3) % 2700)::INTEGER AS d,
                         {needs}[(1 + hash(g * 5) % {len(needs)})::BIGINT] AS n1, {needs}[(1 + hash(g * 11) % {len(needs)})::BIGINT] AS n2
                  FROM range({n_accs}) t(g))""")
        con.execute("""
            INSERT INTO resultats (id_resultat, id_accompagnement, echeance, date_mesure, objectifs_atteints, etp_avant,
                                   etp_apres, budget_avant, budget_apres, structure_active, satisfaction)
            SELECT 'R' || e || id_accompagnement, id_accompagnement, e, date_fin + (CASE e WHEN 'fin' THEN 0 WHEN '6_mois' THEN 182 ELSE 365 END)::INTEGER,
                   (hash(id_accompagnement) % 101)::INTEGER, 1.0, 1.5, 50000, 52000, random() < 0.93, 1 + (hash(id_accompagnement) % 5)::INTEGER
            FROM accompagnements, (VALUES ('fin'), ('6_mois'), ('12_mois')) v(e)
            WHERE date_fin IS NOT NULL AND hash(id_accompagnement || e) % 3 = 0""")
        con.execute("""
            INSERT INTO ateliers (id_atelier, id_programme, date, theme, duree_heures, nb_participants, nb_adherents)
            SELECT 'W' || g, 'P' || lpad((g % 120)::VARCHAR, 3, '0'), DATE '2019-01-01' + (g % 2700)::INTEGER, 'ECO.MODELE',
                   3, 4 + g % 9, g % 4 FROM range(20000) t(g)""")
        con.execute("""
            INSERT INTO temoignages (id_temoignage, id_programme, id_structure, date, auteur_role, texte, consentement_publication)
            SELECT 'T' || id_accompagnement, id_programme, id_structure, date_fin + 10, 'directrice',
                   'Un témoignage de démonstration pour le banc d''essai.', hash(id_accompagnement) % 5 <> 0
            FROM accompagnements WHERE date_fin IS NOT NULL AND hash(id_accompagnement) % 50 = 0""")


def time_pages(db: Path, query_params: dict, role: str) -> dict[str, tuple[float, float | None, float]]:
    """Per page: cold (nothing cached, no funder slice published: the first page after an import), cold
    with the funder's slices published ahead (what a server does after an import; funder views only), warm."""
    from dashboard import data

    os.environ[warehouse.ENV_VAR] = warehouse.target_key(db)
    os.environ[data.PUBLISH_AHEAD_VAR] = "0"  # published explicitly below, outside the timings
    funder = role == "financeur"

    def run(page: str, clear_cube: bool, clear_cache: bool = True) -> float:
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
        at.session_state["auth_role"] = role  # what signing in leaves in the session
        for k, v in query_params.items():
            at.query_params[k] = v
        at.run()  # the session starts on the home page
        if clear_cache:
            data.clear()  # cold: nothing cached, sidebar choices included,
        if clear_cube:
            cube._CUBES.clear()  # nor the funder's published cube (as after a new import)
        start = time.perf_counter()
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        return time.perf_counter() - start

    cold = {page: run(page, clear_cube=True) for page in PAGES}
    if funder:
        PUBLICATIONS.append(publish(db))
    published = {page: run(page, clear_cube=False) for page in PAGES} if funder else {}
    warm = {page: statistics.median(run(page, clear_cube=False, clear_cache=False) for _ in range(2)) for page in PAGES}
    return {page: (cold[page], published.get(page), warm[page]) for page in PAGES}


PUBLICATIONS: list[tuple[int, float, float]] = []  # each funder view's publication, measured


def publish(db: Path) -> tuple[int, float, float]:
    """Every funder slice protected ahead, as the dashboard's background publication does:
    (slices, seconds, peak resident memory of this process in MB)."""
    import resource

    cube._CUBES.clear()
    with warehouse.read_connection(db) as con:
        start = time.perf_counter()
        slices = cube.publish(con, masks.database_version(con))
        return len(slices), time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def time_kpis(db: Path) -> float:
    with warehouse.read_connection(db) as con:
        start = time.perf_counter()
        indicators.kpis(con, indicators.Scope())
        return time.perf_counter() - start


START, END = markers("pages")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--structures", type=int, default=100_000)
    parser.add_argument("--accompagnements", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/observatoire_bench.duckdb"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "README.md")
    parser.add_argument("--vues", nargs="*", help="only the views whose name contains one of these words")
    args = parser.parse_args()
    start = time.perf_counter()
    build(args.db, args.structures, args.accompagnements)
    built = time.perf_counter() - start
    kpis = time_kpis(args.db)
    views = {"analyste, sans filtre": ({}, "analyste"),
             "analyste, région 76, 2024": ({"region": "76", "du": "2024-01-01", "au": "2024-12-31"}, "analyste"),
             # The funder view masks in the query layer (row-level secrecy work): measured on its own.
             "financeur, sans filtre": ({}, "financeur"),
             "financeur, région 76, 2024": ({"region": "76", "du": "2024-01-01", "au": "2024-12-31"}, "financeur")}
    if args.vues:
        views = {name: view for name, view in views.items() if any(v in name for v in args.vues)}
    timings = {name: time_pages(args.db, params, role) for name, (params, role) in views.items()}
    lines = [
        START,
        "## Pages (bench/bench_pages.py)",
        "",
        f"Warehouse: {args.structures:,} structures, {args.accompagnements:,} accompaniments, built directly in "
        f"DuckDB in {built:.1f} s ({args.db.stat().st_size / 1e6:.0f} MB). Machine: {os.cpu_count()} CPU.",
        "",
        "Each page's full AppTest run (app.py with sidebar, then the page). *Cold* = Streamlit cache emptied "
        "and, for a funder, no slice of the published cube protected yet (the first funder page after an "
        "import, if it comes before the background publication is done); *cold, published* = Streamlit cache "
        "emptied, the funder's slices published (what the dashboard does by itself after each import); "
        "*warm* = same filters again (median of two). Target: < 3 s cold, < 1 s warm.",
        "",
        "| page | view | cold (s) | cold, published (s) | warm (s) |",
        "|---|---|---:|---:|---:|",
    ]
    for view, result in timings.items():
        for page, (cold, published, warm) in result.items():
            lines.append(f"| {page} | {view} | {cold:.2f} | {'—' if published is None else f'{published:.2f}'} "
                         f"| {warm:.2f} |")
    slices, seconds, peak = PUBLICATIONS[0] if PUBLICATIONS else publish(args.db)
    lines += ["", f"`kpis` queries (no filter, direct connection): {kpis:.2f} s.",
              f"Background publication for funders (`cube.publish`: the cube and its {len(cube.BREAKDOWNS)} breakdowns, "
              f"every year and each of {slices - 1} years): {seconds:.0f} s, once per warehouse version; "
              f"peak memory of the process {peak:,.0f} MB.", END]
    write_section("pages", "\n".join(lines), args.out)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
