"""Mode réunion: one screen at a time, next/previous, the screen number and filters in the URL."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import meeting
from pipelines.queries import indicators, plan
from pipelines.queries.indicators import Scope
from pipelines import ingest
from pipelines.store import national, warehouse
from tests.conftest import REPO_DIR

REUNION = REPO_DIR / "pages" / "reunion.py"


@pytest.fixture
def reunion(demo_db, monkeypatch):
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))

    def start(scope: Scope = Scope(), role: str = "comite", **query_params) -> AppTest:
        at = AppTest.from_file(str(REUNION), default_timeout=60)
        at.session_state["scope"] = scope  # what app.py's sidebar puts there
        at.session_state["auth_role"] = role  # what signing in leaves there
        for key, value in query_params.items():
            at.query_params[key] = value
        return at.run()

    return start


def html_text(at: AppTest) -> str:
    return " ".join([t.value for t in at.title] + [m.value for m in at.markdown])


def counter(at: AppTest) -> tuple[int, int]:
    text = at.get("progress")[0].proto.text
    _, current, _, total, *_ = text.split()
    return int(current), int(total)


def test_first_screen_is_one_big_key_figure_with_the_filters(reunion, demo_db):
    at = reunion()
    assert not at.exception
    with warehouse.read_connection(demo_db) as con:
        structures = indicators.key_figures(con, Scope())["structures"]
    text = html_text(at)
    assert "Périmètre : ensemble des données" in text
    assert f'reunion-chiffre">{structures:,}'.replace(",", "\u202f") in text
    assert "<b>Vue d&#x27;ensemble</b>" in text
    assert counter(at)[0] == 1
    assert at.query_params["ecran"] == "1"
    assert at.button(key="reunion_precedent").disabled


def test_next_and_previous_walk_the_agenda_in_order(reunion):
    at = reunion()
    total = counter(at)[1]
    sections = []
    for expected in range(1, total + 1):
        assert counter(at)[0] == expected
        assert at.query_params["ecran"] == str(expected)
        assert "Périmètre :" in html_text(at)  # the filters, on every screen
        sections.append(html_text(at).split("<b>")[1].split("</b>")[0])
        if expected < total:
            at = at.button(key="reunion_suivant").click().run()
            assert not at.exception
    assert at.button(key="reunion_suivant").disabled
    order = ["Vue d&#x27;ensemble", "Besoins", "Territoires", "Résultats", "Plan d&#x27;action", "Témoignages"]
    assert [s for i, s in enumerate(sections) if i == 0 or s != sections[i - 1]] == order
    assert len(at.get("plotly_chart")) + len(at.markdown) > 0
    at = at.button(key="reunion_precedent").click().run()
    assert counter(at)[0] == total - 1
    assert at.query_params["ecran"] == str(total - 1)


def test_a_shared_url_opens_the_same_screen_of_the_same_sequence(reunion):
    region = Scope(region="28")
    at = reunion(region)
    for _ in range(3):
        at = at.button(key="reunion_suivant").click().run()
    shared = dict(at.query_params)
    screen = html_text(at)
    again = reunion(region, **shared)
    assert counter(again)[0] == 4
    assert html_text(again) == screen
    assert "Normandie" in screen


def test_out_of_range_screen_numbers_are_clamped(reunion):
    at = reunion(ecran="999")
    assert not at.exception
    current, total = counter(at)
    assert current == total and at.query_params["ecran"] == str(total)
    at = reunion(ecran="abc")
    assert counter(at)[0] == 1


@pytest.mark.parametrize("role, shows_number", [("analyste", True), ("comite", True), ("financeur", False)])
def test_financeur_sees_secret_instead_of_a_small_key_figure(reunion, demo_db, role, shows_number):
    with warehouse.read_connection(demo_db) as con:
        frame = indicators.departements_couverts(con, Scope())
    small = frame.sort_values(["structures", "code"]).iloc[0]
    assert 0 < small["structures"] < 3, "the demo should hold a département with fewer than 3 structures"
    at = AppTest.from_file(str(REUNION), default_timeout=60)
    at.session_state["scope"] = Scope(departement=small["code"])
    at.session_state["auth_role"] = role
    at.run()
    assert not at.exception
    text = html_text(at)
    assert (f'reunion-chiffre">{small["structures"]}<' in text) is shows_number
    assert ('reunion-chiffre">secret<' in text) is not shows_number


def test_financeur_territory_screen_leaves_out_secret_departements(demo_db, monkeypatch):
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))
    occitanie = Scope(region="76")  # its départements fit on one projector screen
    with warehouse.read_connection(demo_db) as con:
        frame = indicators.departements_couverts(con, occitanie)
    small = frame[frame["structures"] < 3]["code"].tolist()
    assert small
    shown = {}
    for role in ("comite", "financeur"):
        at = AppTest.from_file(str(REUNION), default_timeout=60)
        at.session_state["scope"] = occitanie
        at.session_state["auth_role"] = role
        at.query_params["ecran"] = "7"  # after the map
        at.run()
        assert "Structures accompagnées par département" in html_text(at)
        figure = at.get("plotly_chart")[0].proto.spec
        shown[role] = figure
    for code in small:
        assert f'"{code} \\u2013' in shown["comite"] and f'"{code} \\u2013' not in shown["financeur"]


def test_the_whole_set_shows_its_largest_departements_on_the_projector(reunion, demo_db):
    at = reunion(ecran="7")
    assert f"Les {meeting.TERRITORIES_SHOWN} départements comptant le plus de structures accompagnées" in html_text(at)
    spec = at.get("plotly_chart")[0].proto.spec
    with warehouse.read_connection(demo_db) as con:
        frame = indicators.departements_couverts(con, Scope())
    largest = frame.nlargest(1, "structures").iloc[0]
    assert f'"{largest["code"]} \\u2013' in spec


@pytest.mark.parametrize("role", ["analyste", "comite", "financeur", "national"])
def test_every_screen_runs_for_every_role_on_the_whole_scope(reunion, role):
    """The funder's unfiltered meeting crashed on the territories screen (masked counts are not numbers)."""
    at = reunion(role=role)
    assert not at.exception
    total = counter(at)[1]
    for screen in range(1, total + 1):
        at = reunion(role=role, ecran=str(screen))
        assert not at.exception, f"{role}, écran {screen}: {at.exception}"
        assert counter(at) == (screen, total)
        assert at.title, f"{role}, écran {screen} has a title"


# --------------------------------------------------------------------------- the plan screens


def stake_screen_number(at: AppTest, numero: int) -> int:
    """The screen of stake `numero` of the scope's plan (they follow the results, in stake order)."""
    total = counter(at)[1]
    for screen in range(1, total + 1):
        if at.session_state["reunion_ecran"] == screen - 1 and at.title[0].value.startswith(f"Enjeu {numero} "):
            return screen
        at = at.button(key="reunion_suivant").click().run()
    raise AssertionError(f"no screen for stake {numero}")


def writable_meeting(demo_db, tmp_path, monkeypatch, role: str) -> tuple:
    """A private copy of the demo (these tests write) and the meeting of région 28 opened on it by `role`."""
    db = tmp_path / "reunion.duckdb"
    shutil.copyfile(demo_db, db)
    monkeypatch.setenv(warehouse.ENV_VAR, str(db))
    at = AppTest.from_file(str(REUNION), default_timeout=60)
    at.session_state["scope"] = Scope(region="28")
    at.session_state["auth_role"] = role
    return db, at.run()


def current_status(db, id_action: str) -> str:
    with warehouse.read_connection(db) as con:
        listed = plan.actions(con, [id_action.split("-")[0]], dt.date.today())
    return listed.set_index("id_action").loc[id_action, "statut_courant"]


def test_a_decision_recorded_in_the_meeting_changes_the_status_shows_in_the_history_and_can_be_undone(
        demo_db, tmp_path, monkeypatch):
    db, at = writable_meeting(demo_db, tmp_path, monkeypatch, "comite")
    stake_screen_number(at, 2)
    action = "PL28-A13"  # Guide des obligations de l'employeur associatif: en cours, past its deadline
    before = current_status(db, action)
    assert before == "en_cours"
    with warehouse.read_connection(db) as con:
        decisions_before = len(plan.decisions(con, ["PL28"]))

    at.selectbox(key="reunion_decision_action").set_value(action)
    at.text_area(key="reunion_decision_texte").input("Guide publié et diffusé aux adhérents.")
    at.selectbox(key="reunion_decision_statut").set_value("realisee")
    at = at.button(key="reunion_decision_enregistrer").click().run()
    assert not at.exception, at.exception
    assert any("Décision enregistrée" in s.value for s in at.success)
    assert current_status(db, action) == "realisee"
    assert "Réalisée" in html_text(at), "the screen shows the new status at once"
    with warehouse.read_connection(db) as con:
        history = plan.decisions(con, ["PL28"])
        imports = con.execute("SELECT role, statut FROM imports ORDER BY import_id DESC LIMIT 1").fetchall()
    assert len(history) == decisions_before + 1
    recorded = history.iloc[-1]
    assert (recorded["id_action"], recorded["decision"], recorded["statut"], recorded["auteur_role"]) == (
        action, "Guide publié et diffusé aux adhérents.", "realisee", "comite")
    assert imports == [("comite", "importe")], "written as an import: in the history, undoable"

    at = at.button(key="reunion_decision_annuler").click().run()
    assert not at.exception, at.exception
    assert any("Décision annulée" in i.value for i in at.info)
    assert current_status(db, action) == before
    with warehouse.read_connection(db) as con:
        assert len(plan.decisions(con, ["PL28"])) == decisions_before


def test_an_empty_decision_is_refused_in_french_and_writes_nothing(demo_db, tmp_path, monkeypatch):
    db, at = writable_meeting(demo_db, tmp_path, monkeypatch, "analyste")
    stake_screen_number(at, 1)
    version = warehouse.version(db)
    at = at.button(key="reunion_decision_enregistrer").click().run()
    assert any("Écrivez la décision" in e.value for e in at.error)
    assert warehouse.version(db) == version


def test_a_funder_sees_the_plan_screens_without_the_decision_form(reunion):
    at = reunion(scope=Scope(region="28"), role="financeur")
    stake_screen_number(at, 1)
    for screen in range(1, counter(at)[1] + 1):
        shown = reunion(scope=Scope(region="28"), role="financeur", ecran=str(screen))
        assert not shown.get("text_area"), f"écran {screen}: no decision form for a funder"


def fill_decision(at: AppTest, action: str) -> AppTest:
    at.selectbox(key="reunion_decision_action").set_value(action)
    at.text_area(key="reunion_decision_texte").input("Guide publié et diffusé aux adhérents.")
    return at.button(key="reunion_decision_enregistrer").click().run()


def test_a_decision_on_the_national_view_is_refused_in_french_and_writes_nothing(demo_db, tmp_path, monkeypatch):
    nation = tmp_path / "national.duckdb"
    national.build({"28": demo_db}, nation)
    monkeypatch.setenv(warehouse.ENV_VAR, str(nation))
    at = AppTest.from_file(str(REUNION), default_timeout=120)
    at.session_state["scope"] = Scope(region="28")
    at.session_state["auth_role"] = "comite"
    at = at.run()
    stake_screen_number(at, 2)
    version = warehouse.version(nation)
    at = fill_decision(at, "28-PL28-A13")
    assert not at.exception, at.exception
    assert any("vue nationale" in e.value for e in at.error), [e.value for e in at.error]
    assert warehouse.version(nation) == version


def test_a_busy_warehouse_says_so_in_french_when_the_committee_records_a_decision(demo_db, tmp_path, monkeypatch):
    db, at = writable_meeting(demo_db, tmp_path, monkeypatch, "comite")
    stake_screen_number(at, 2)

    def busy(*args, **kwargs):
        raise warehouse.WriteConflict("Une autre écriture est passée avant celle-ci : rien n'a été gardé, recommencez.")

    monkeypatch.setattr(ingest, "record_decision", busy)
    at = fill_decision(at, "PL28-A13")
    assert not at.exception, at.exception
    assert any("recommencez" in e.value for e in at.error)


def test_the_national_reader_sees_the_plan_screens_without_the_decision_form(reunion):
    at = reunion(scope=Scope(region="28"), role="national")
    for screen in range(1, counter(at)[1] + 1):
        shown = reunion(scope=Scope(region="28"), role="national", ecran=str(screen))
        assert not shown.exception
        assert not shown.get("text_area"), f"écran {screen}: no decision form for the national reader"
