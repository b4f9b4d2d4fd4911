"""The attacks that recovered masked values from the funder view, each replayed as a funder would.

A funder sees every page, export, PDF, meeting screen and `kpis --vue financeur` answer, for any filter
the funder view offers, and subtracts, adds and compares them (threat model: pipelines.privacy.secret).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth, data
from pipelines import __main__ as cli
from pipelines.privacy import secret
from pipelines.queries import besoins, cube, indicators, masks, resultats, structures, territoires, vue_ensemble
from pipelines.queries.indicators import Scope
from pipelines.store import warehouse
from tests.conftest import REPO_DIR

DAY_LEVEL = [Scope(departement="61", jusqu_au=dt.date(2023, 12, 31)),  # "up to 2023 minus up to 2022"
             Scope(depuis=dt.date(2021, 1, 18)),  # "from the 18th minus from the 19th"
             Scope(depuis=dt.date(2022, 1, 1), jusqu_au=dt.date(2023, 12, 31))]  # two years minus one

FUNDER_QUERIES = {
    "vue_ensemble": lambda con, s: vue_ensemble.page_data(con, s, "financeur"),
    "kpis": lambda con, s: vue_ensemble.kpis(con, s, "financeur"),
    "structures": lambda con, s: structures.page_data(con, s, None, "financeur"),
    "besoins": lambda con, s: besoins.page_data(con, s, "domaine", "financeur"),
    "territoires": lambda con, s: territoires.page_data(con, s, "departement", "financeur"),
    "portrait": lambda con, s: territoires.protected_portrait(con, s, "14", "region", "financeur"),
    "resultats": lambda con, s: resultats.page_data(con, s, "financeur"),
}


@pytest.mark.parametrize("scope", DAY_LEVEL, ids=["jusqu-au", "au-jour-pres", "deux-annees"])
@pytest.mark.parametrize("name", list(FUNDER_QUERIES))
def test_the_funder_view_refuses_periods_other_than_one_whole_year(demo_db, name, scope):
    with warehouse.read_connection(demo_db) as con, pytest.raises(secret.SecretError, match="année civile"):
        FUNDER_QUERIES[name](con, scope)


def test_the_funder_view_answers_a_whole_year_and_the_analyst_view_any_period(demo_db):
    with warehouse.read_connection(demo_db) as con:
        year = Scope(departement="61", depuis=dt.date(2023, 1, 1), jusqu_au=dt.date(2023, 12, 31))
        assert year.whole_year == 2023
        assert vue_ensemble.kpis(con, year, "financeur")["vue"] == "financeur"
        assert vue_ensemble.kpis(con, DAY_LEVEL[0], "analyste")["structures"] > 0


def test_the_cli_refuses_a_day_level_period_for_the_funder_in_french(demo_db, capsys):
    code = cli.main(["kpis", "--db", str(demo_db), "--vue", "financeur", "--departement", "61",
                     "--jusqu-au", "2023-12-31"])
    assert code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "année civile entière" in err and "Traceback" not in err
    assert cli.main(["kpis", "--db", str(demo_db), "--vue", "financeur", "--annee", "2023"]) == cli.EXIT_OK
    assert json.loads(capsys.readouterr().out)["vue"] == "financeur"


def test_the_year_before_a_calendar_year_is_the_previous_calendar_year():
    leap = Scope(depuis=dt.date(2024, 1, 1), jusqu_au=dt.date(2024, 12, 31))
    assert leap.previous_period() == Scope(depuis=dt.date(2023, 1, 1), jusqu_au=dt.date(2023, 12, 31))
    assert Scope(depuis=dt.date(2024, 1, 1), jusqu_au=dt.date(2024, 12, 30)).whole_year is None


def test_a_territory_secret_in_its_own_view_is_secret_in_every_view_that_shows_it(demo_db):
    """The Lot (46) was entirely secret in its own view and showed 9 structures in région 76's view."""
    checked = 0
    with warehouse.read_connection(demo_db) as con:
        choices = indicators.filter_choices(con)
        region_of = dict(zip(choices["departements"]["code"], choices["departements"]["code_region"]))
        national = vue_ensemble.page_data(con, Scope(), "financeur")["departements"].set_index("code")
        for code, region in region_of.items():
            own = vue_ensemble.page_data(con, Scope(departement=code), "financeur")["chiffres"]
            if own["structures"] is not None or indicators.key_figures(con, Scope(departement=code))["structures"] == 0:
                continue
            checked += 1
            regional = vue_ensemble.page_data(con, Scope(region=region), "financeur")["departements"]
            territories = territoires.page_data(con, Scope(region=region), "departement", "financeur")["territoires"]
            for where, frame in (("région", regional.set_index("code")), ("national", national),
                                 ("carte", territories.set_index("code"))):
                if code in frame.index:
                    assert frame.loc[code, "structures"] is None, f"{code} shows in the {where} view"
    assert checked, "the demo has départements secret in their own view"


def test_the_masks_hide_a_territory_whole_and_say_when_france_is_secret(demo_db):
    with warehouse.read_connection(demo_db) as con:
        found = masks.territory_masks(con, Scope())
    assert found[masks.NATIONAL] is False
    for level in masks.LEVELS:
        assert found[level]["structures"].equals(found[level]["heures"]), level
    assert found["code_commune"]["structures"].any() and not found["code_region"]["structures"].all()


def funder_app(demo_db, monkeypatch, **query_params) -> AppTest:
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))
    at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=60)
    at.session_state[auth.ROLE_KEY] = "financeur"
    for key, value in query_params.items():
        at.query_params[key] = value
    return at.run()


def test_the_funders_sidebar_offers_whole_years_only(demo_db, monkeypatch):
    at = funder_app(demo_db, monkeypatch)
    assert not at.exception
    assert not at.date_input, "no day-level dates for a funder"
    year = at.selectbox(key="filtre_annee")
    assert year.options[0] == "Toutes les années" and "2023" in year.options
    year.set_value(2023).run()
    assert not at.exception
    assert at.query_params["du"] == "2023-01-01" and at.query_params["au"] == "2023-12-31"
    with warehouse.read_connection(demo_db) as con:
        truth = vue_ensemble.kpis(con, Scope(depuis=dt.date(2023, 1, 1), jusqu_au=dt.date(2023, 12, 31)), "financeur")
    shown = {m.label: m.value for m in at.metric}
    assert int(shown["Structures accompagnées"].replace("\u202f", "")) == truth["structures"]


def test_a_shared_link_with_day_level_dates_opens_every_year_for_a_funder(demo_db, monkeypatch):
    at = funder_app(demo_db, monkeypatch, du="2021-01-18", au="2023-06-30")
    assert not at.exception
    assert at.selectbox(key="filtre_annee").value == "__tous__"
    assert "du" not in at.query_params and "au" not in at.query_params
    assert any("années civiles entières" in c.value for c in at.sidebar.caption)


# The attacker harness: every accompaniment count a funder sees over a bounded set of views, solved for
# the masked ones by linear programming (HiGHS) over the finest cells those views add up.

HARNESS_DOMAINES = ["autre", "architecture", "publicite", "musique", "patrimoine"]


def harness_views(con) -> list[Scope]:
    programmes = [p for (p,) in con.execute("""
        SELECT id_programme FROM accompagnements a JOIN structures s USING (id_structure)
        JOIN geo_communes c ON c.code = s.code_commune WHERE c.code_region = '76'
        GROUP BY 1 ORDER BY count(*), 1 LIMIT 5""").fetchall()]
    territories = [Scope(), Scope(region="76"), Scope(departement="46"), Scope(departement="48"),
                   Scope(departement="12")]
    return [Scope(t.region, t.departement, p, d) for t in territories
            for d in [None, *HARNESS_DOMAINES] for p in [None, *programmes]]


def solve_for_masked(db, views: list[Scope]) -> tuple[list[tuple], int]:
    """Each masked primary count's interval, from every accompaniment count the funder sees over `views`
    (key figures of every view, as `kpis --vue financeur` prints them), by LP over the finest cells."""
    import highspy
    import numpy as np

    with warehouse.read_connection(db) as con:
        fine = indicators.query(con, """SELECT code_commune, code_departement, code_region, domaine, id_programme,
                                               count(*) AS n FROM acc GROUP BY ALL""", Scope())
        seen, targets = [], []
        for view in views:
            shown = vue_ensemble.kpis(con, view, "financeur")["accompagnements"]
            truth = indicators.key_figures(con, view)
            members = np.ones(len(fine), dtype=bool)
            for field, column in (("region", "code_region"), ("departement", "code_departement"),
                                  ("domaine", "domaine"), ("programme", "id_programme")):
                if getattr(view, field):
                    members &= (fine[column] == getattr(view, field)).to_numpy()
            if shown != secret.SECRET:
                assert shown == truth["accompagnements"]
                seen.append((members, shown))
            elif 0 < truth["structures"] < secret.threshold():
                targets.append((view, members, truth["accompagnements"]))
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    count = len(fine)
    solver.addVars(count, np.zeros(count), np.full(count, highspy.kHighsInf))
    for members, value in seen:
        index = np.flatnonzero(members).astype(np.int32)
        solver.addRow(value, value, len(index), index, np.ones(len(index)))
    intervals = []
    for view, members, value in targets:
        bounds = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            solver.changeColsCost(count, np.arange(count, dtype=np.int32), members.astype(float))
            solver.changeObjectiveSense(sense)
            solver.run()
            status = solver.getModelStatus()
            assert status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded), status
            bounds.append(solver.getInfo().objective_function_value
                          if status == highspy.HighsModelStatus.kOptimal else float("inf"))
        intervals.append((view, value, *bounds))
    return intervals, len(seen)


def assert_protected(intervals) -> None:
    for view, value, lower, upper in intervals:
        need = secret.required_protection(value, count_table=True)
        assert upper >= value + need and lower <= max(value - need, 0), \
            f"{view}: {value} accompaniment(s) solved into [{lower}, {upper}]"


def test_no_masked_count_can_be_solved_for_from_the_views_a_funder_sees(demo_db):
    with warehouse.read_connection(demo_db) as con:
        views = harness_views(con)
    intervals, seen = solve_for_masked(demo_db, views)
    assert len(intervals) >= 5 and seen >= 20, "the harness looks at small cells among visible ones"
    assert_protected(intervals)


# A warehouse built to tempt the attacker: in one région, a domaine with a single structure, a
# département with two, a programme with one, next to larger cells whose totals a funder sees.
TEMPTING = {
    "programmes": ["id_programme;nom;operateur;type;code_region;date_debut;date_fin;financeurs;heures_prevues",
                   "PA;DLA tentation;Op;dla;28;01/01/2022;;Etat;100", "PB;Pôle tentation;Op;pole_accompagnement;28;01/01/2022;;;100",
                   "PC;Pairs tentation;Op;pairs;28;01/01/2022;;;50"],
    "structures": ["id_structure;nom;forme_juridique;domaine;code_commune"]
    + [f"T{i};Structure tentante {i};association;{domaine};{commune}" for i, (domaine, commune) in enumerate(
        [("musique", "14118")] * 6 + [("spectacle_vivant", "14118")] * 5 + [("patrimoine", "50129")] * 2
        + [("musique", "50129")] * 3 + [("architecture", "61001")] + [("spectacle_vivant", "61001")] * 4)],
    "accompagnements": ["id_accompagnement;id_structure;id_programme;date_debut;etape;modalite;heures;besoin_principal"]
    + [f"AT{i};T{i};{'PC' if i == 3 else ('PB' if i % 3 else 'PA')};01/03/2023;accueil;individuel;{5 + i};ECO.MODELE"
       for i in range(21)],
}


def test_a_warehouse_built_to_tempt_the_attacker_gives_nothing_away(empty_db, tmp_path):
    from pipelines import ingest

    uploads = []
    for name in ("programmes", "structures", "accompagnements"):
        path = tmp_path / f"{name}.csv"
        path.write_text("\n".join(TEMPTING[name]) + "\n", encoding="utf-8")
        uploads.append(ingest.Upload.from_path(path, name))
    assert ingest.ingest(empty_db, uploads).status == "importe"
    territories = [Scope(), Scope(region="28"), *(Scope(departement=d) for d in ("14", "50", "61"))]
    domaines = [None, "musique", "spectacle_vivant", "patrimoine", "architecture"]
    views = [Scope(t.region, t.departement, p, d) for t in territories for d in domaines
             for p in (None, "PA", "PB", "PC")]
    intervals, seen = solve_for_masked(empty_db, views)
    assert len(intervals) >= 3 and seen >= 10, (len(intervals), seen)
    assert_protected(intervals)


def test_an_error_in_the_masking_shows_nothing_rather_than_everything(demo_db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("masking failed")

    monkeypatch.setattr(secret, "protect_linked", broken)
    monkeypatch.setattr("pipelines.queries.cube._CUBES", {})
    with warehouse.read_connection(demo_db) as con, pytest.raises(RuntimeError):
        vue_ensemble.kpis(con, Scope(region="76"), "financeur")
    data.clear()  # what earlier tests left in the pages' cache was masked by the working code
    at = funder_app(demo_db, monkeypatch)
    assert at.exception, "the page stops on the error"
    assert not at.metric and not at.get("plotly_chart"), "and draws no figure"


def test_a_fully_secret_overview_names_each_chart_it_cannot_draw(demo_db, monkeypatch):
    at = funder_app(demo_db, monkeypatch, departement="48")
    assert not at.exception
    boxes = [i.value for i in at.info if "secret statistique" in i.value]
    assert len(boxes) == 3 and len(set(boxes)) == 3, boxes
    assert any("par département" in box for box in boxes)


def test_the_portraits_reference_column_hides_what_the_reference_areas_own_view_hides(demo_db):
    """A tester recovered région cells the cube masks (région 76, programme P21, 2026: 4 structures,
    5 accompaniments, 78.4 h) from the portrait's reference column, which checked only its own counts."""
    checked = 0
    with warehouse.read_connection(demo_db) as con:
        programmes = indicators.filter_choices(con)["programmes"]["code"]
        for year in (2026, None):
            depuis, jusqu_au = Scope.year_period(year)
            for programme in programmes:
                scope = Scope(programme=programme, depuis=depuis, jusqu_au=jusqu_au)
                region_hidden = masks.scope_hidden(con, Scope(region="76", programme=programme, depuis=depuis,
                                                              jusqu_au=jusqu_au))
                column = territoires.protected_portrait(con, scope, "09", "region", "financeur").set_index("cle")
                if region_hidden:
                    checked += 1
                    assert column.loc["structures", "reference"] is None, (programme, year)
                    assert column.loc["heures", "reference"] is None, (programme, year)
    assert checked, "the demo has région 76 cells the cube masks"


def _join_publication() -> int:
    threads = [t for t in threading.enumerate() if t.name == "publication-financeur"]
    for thread in threads:
        thread.join(timeout=120)
    return len(threads)


def test_the_server_protects_every_funder_slice_ahead_once_per_warehouse_version(demo_db, tmp_path, monkeypatch):
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, path)
    monkeypatch.setenv(data.PUBLISH_AHEAD_VAR, "1")
    monkeypatch.setattr("pipelines.queries.cube._CUBES", {})
    monkeypatch.setattr("pipelines.queries.cube._LOCKS", {})
    monkeypatch.setattr(data, "_published", set())
    data.clear()
    at = funder_app(path, monkeypatch)
    assert _join_publication() == 1, "the first page of the process starts the publication"
    offered = [None if y == "Toutes les années" else int(y) for y in at.selectbox(key="filtre_annee").options]
    published = {(key[1].whole_year if key[1].depuis else None) for key in cube._CUBES}
    assert published == set(offered), "every slice the funder's sidebar offers is protected"

    # The next funder pages read those slices: none is protected again, and the figures are the same.
    with warehouse.read_connection(path) as con:
        on_demand = {year: vue_ensemble.kpis(con, Scope(**dict(zip(("depuis", "jusqu_au"), Scope.year_period(year)))),
                                             "financeur") for year in (None, offered[1])}
    published_names = {key[2] for key in cube._CUBES if len(key) == 3}
    assert published_names == set(cube.BREAKDOWNS), "and every breakdown of each slice"
    monkeypatch.setattr("pipelines.queries.cube._cells", lambda *a: pytest.fail("a slice protected twice"))
    monkeypatch.setattr("pipelines.queries.cube._breakdown_cells", lambda *a: pytest.fail("a breakdown protected twice"))
    at = funder_app(path, monkeypatch)
    for page in ("pages/besoins.py", "pages/resultats.py", "pages/structures.py"):
        assert not at.switch_page(page).run().exception, page
    assert _join_publication() == 0, "once per warehouse version"
    with warehouse.read_connection(path) as con:
        for year, figures in on_demand.items():
            scope = Scope(**dict(zip(("depuis", "jusqu_au"), Scope.year_period(year))))
            assert vue_ensemble.kpis(con, scope, "financeur") == figures

    with warehouse.write_transaction(path):  # a committed write: a new version to publish
        pass
    monkeypatch.undo()
    monkeypatch.setenv(data.PUBLISH_AHEAD_VAR, "1")
    funder_app(path, monkeypatch)
    assert _join_publication() == 1


def test_no_masked_need_count_can_be_solved_for_across_territories(demo_db):
    """The needs a funder sees per territory (a view's categories, a région's comparison of its
    départements) add up across the hierarchy: solved together, no masked département × category count
    comes out within its protection range. (Protected view by view, 10 of 46 did; one exactly.)"""
    import highspy
    import numpy as np

    with warehouse.read_connection(demo_db) as con:
        fine = indicators.query(con, """
            SELECT code_departement AS departement, code_region AS region, categorie_principale AS categorie,
                   count(*) AS n, count(DISTINCT id_structure) AS structures
            FROM acc WHERE code_departement IS NOT NULL GROUP BY ALL""", Scope())
        views = [Scope(), *(Scope(region=r) for r in sorted(fine["region"].unique())),
                 *(Scope(departement=d) for d in sorted(fine["departement"].unique()))]
        seen = []
        for view in views:
            inside = np.ones(len(fine), dtype=bool)
            if view.region:
                inside &= (fine["region"] == view.region).to_numpy()
            if view.departement:
                inside &= (fine["departement"] == view.departement).to_numpy()
            total = vue_ensemble.kpis(con, view, "financeur")["accompagnements"]
            if total != secret.SECRET:
                seen.append((inside, total))
            shown = besoins.page_data(con, view, "departement", vue="financeur")
            for row in shown["categories"].itertuples():
                if not row.secret:
                    seen.append((inside & (fine["categorie"] == row.categorie).to_numpy(), row.accompagnements))
            for row in shown["comparaison"].itertuples():
                if not row.secret:
                    seen.append((inside & (fine["departement"] == row.groupe).to_numpy()
                                 & (fine["categorie"] == row.categorie).to_numpy(), row.accompagnements))
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    count = len(fine)
    solver.addVars(count, np.zeros(count), np.full(count, highspy.kHighsInf))
    for members, value in seen:
        index = np.flatnonzero(members).astype(np.int32)
        solver.addRow(value, value, len(index), index, np.ones(len(index)))
    intervals = []
    for i, cell in fine[(fine["structures"] > 0) & (fine["structures"] < secret.threshold())].iterrows():
        bounds = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            costs = np.zeros(count)
            costs[i] = 1.0
            solver.changeColsCost(count, np.arange(count, dtype=np.int32), costs)
            solver.changeObjectiveSense(sense)
            solver.run()
            optimal = solver.getModelStatus() == highspy.HighsModelStatus.kOptimal
            bounds.append(solver.getInfo().objective_function_value if optimal else float("inf"))
        intervals.append((f"{cell.departement} × {cell.categorie}", cell.n, *bounds))
    assert len(intervals) >= 20 and len(seen) >= 100, (len(intervals), len(seen))
    assert_protected(intervals)
