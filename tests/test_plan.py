"""The sector plan (interchange format v1.1): its four datasets through ingestion, the current-status and
lateness rules, live indicators against counts made another way, and `python -m pipelines plan`."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth
from pipelines import ingest
from pipelines.queries import plan
from pipelines.spec import referentiels as ref
from pipelines.store import warehouse
from tests.conftest import REPO_DIR

# The mini fixture's plan (tests/fixtures/mini/plans.csv, enjeux.csv, actions.csv, decisions.csv): PN in région 28
# (2022–2023) with stakes E1, E2 and actions AC1 (both stakes, structures with need ECO, target 4, due 15/02/2023),
# AC2 (hours of P1, target 100), AC3 (abandoned); decisions on AC1: en_cours on 10/01/2023, realisee on 01/03/2023.
ACTIONS_HEADER = ("id_action;id_plan;enjeux;intitule;pilote;partenaires;echeance;statut;indicateur;indicateur_besoin;"
                  "indicateur_programme;cible;commentaire")


def upload(tmp_path, name: str, lines: list[str]) -> ingest.Upload:
    path = tmp_path / f"{name}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ingest.Upload.from_path(path, name)


@pytest.fixture
def plan_db(mini_db):
    return mini_db


def problems_of(db, tmp_path, name: str, lines: list[str]) -> list[tuple[int, str, str]]:
    result = ingest.ingest(db, [upload(tmp_path, name, lines)])
    assert result.status != "importe"
    return [(int(p.ligne), p.colonne, p.erreur) for p in result.problems.itertuples()]


def test_an_action_of_an_unknown_plan_a_stake_of_another_plan_and_a_bad_status_are_refused_by_line(plan_db, tmp_path):
    found = problems_of(plan_db, tmp_path, "actions", [
        ACTIONS_HEADER, "AC7;PX;E1;Plan inconnu;;;;a_lancer;;;;;", "AC8;PN;E9;Enjeu d'un autre plan;;;;a_lancer;;;;;",
        "AC9;PN;E1;Statut inconnu;;;;fini;;;;;", "AC10;PN;E1|E7;Enjeu inconnu;;;;en_cours;;;;;"])
    by_line = {(line, column): message for line, column, message in found}
    assert "Plan PX introuvable" in by_line[(2, "id_plan")]
    assert "Enjeu E9 d'un autre plan" in by_line[(3, "enjeux")]
    assert "« fini » ne fait pas partie de la liste statut" in by_line[(4, "statut")]
    assert "Enjeu E7 introuvable" in by_line[(5, "enjeux")]
    with warehouse.read_connection(plan_db) as con:  # all or nothing: none of them was written
        assert con.execute("SELECT count(*) FROM actions").fetchone()[0] == 3


def test_two_stakes_of_a_plan_cannot_share_a_number(plan_db, tmp_path):
    found = problems_of(plan_db, tmp_path, "enjeux", ["id_enjeu;id_plan;numero;intitule", "E3;PN;2;Même numéro qu'E2"])
    assert found == [(2, "numero", found[0][2])] and "Numéro 2 déjà pris" in found[0][2]


def test_the_current_status_is_the_latest_decision_with_one_as_of_the_date(plan_db):
    with warehouse.read_connection(plan_db) as con:
        status = lambda au: plan.actions(con, ["PN"], au).set_index("id_action")  # noqa: E731
        before = status(dt.date(2023, 1, 5))
        assert before.loc["AC1", "statut_courant"] == "a_lancer", "no decision yet: the action's own status"
        assert status(dt.date(2023, 2, 1)).loc["AC1", "statut_courant"] == "en_cours"
        # D2 and D3 share a date: D3 (later id) has a status, D2 none; D3 decides.
        assert status(dt.date(2023, 3, 1)).loc["AC1", "statut_libelle"] == "Réalisée"


def test_an_action_is_late_past_its_deadline_unless_done_or_abandoned(plan_db):
    with warehouse.read_connection(plan_db) as con:
        late = lambda au: plan.actions(con, ["PN"], au).set_index("id_action")["en_retard"].to_dict()  # noqa: E731
        assert late(dt.date(2023, 2, 20)) == {"AC1": True, "AC2": False, "AC3": False}  # AC3 abandoned, AC2 no deadline
        assert late(dt.date(2023, 3, 2))["AC1"] is False, "realised at the 01/03 meeting"


def test_indicators_count_the_plans_region_and_period_as_the_pages_do(plan_db):
    with warehouse.read_connection(plan_db) as con:
        followed = plan.summary(con, plan="PN", au=dt.date(2024, 6, 30))["plans"][0]
        # Counted another way: accompaniments of région 28 active in 2022–2023 (the plan's period), main need ECO.
        expected_structures = con.execute("""
            SELECT count(DISTINCT a.id_structure) FROM accompagnements a JOIN structures s USING (id_structure)
            JOIN geo_communes c ON c.code = s.code_commune
            WHERE c.code_region = '28' AND a.date_debut <= DATE '2023-12-31'
              AND coalesce(a.date_fin, DATE '9999-12-31') >= DATE '2022-01-01'
              AND split_part(a.besoin_principal, '.', 1) = 'ECO'""").fetchone()[0]
        expected_hours = con.execute("""
            SELECT sum(a.heures) FROM accompagnements a JOIN structures s USING (id_structure)
            JOIN geo_communes c ON c.code = s.code_commune
            WHERE c.code_region = '28' AND a.id_programme = 'P1' AND a.date_debut <= DATE '2023-12-31'
              AND coalesce(a.date_fin, DATE '9999-12-31') >= DATE '2022-01-01'""").fetchone()[0]
    assert expected_structures > 0 and expected_hours > 0
    assert followed["indicateurs"] == {"AC1": {"valeur": expected_structures, "cible": 4.0},
                                       "AC2": {"valeur": expected_hours, "cible": 100.0}}
    assert followed["par_enjeu"] == {"E1": 2, "E2": 2}, "AC1 serves both stakes and counts in both"
    assert followed["par_statut"] == {"abandonnee": 1, "en_cours": 1, "realisee": 1}


def test_undoing_the_decisions_import_brings_the_status_back(plan_db, tmp_path):
    result = ingest.ingest(plan_db, [upload(tmp_path, "decisions", ["id_decision;id_action;date_comite;decision;statut",
                                                                    "D4;AC2;01/06/2023;Reporter;reportee"])])
    with warehouse.read_connection(plan_db) as con:
        assert plan.actions(con, ["PN"], dt.date(2023, 7, 1)).set_index("id_action").loc["AC2", "statut_courant"] == "reportee"
    ingest.undo(plan_db, result.import_id)
    with warehouse.read_connection(plan_db) as con:
        assert plan.actions(con, ["PN"], dt.date(2023, 7, 1)).set_index("id_action").loc["AC2", "statut_courant"] == "en_cours"


def test_undoing_a_stake_is_refused_while_an_action_serves_it(plan_db, tmp_path):
    from pipelines.ingest.load import UndoRefused

    stake = ingest.ingest(plan_db, [upload(tmp_path, "enjeux", ["id_enjeu;id_plan;numero;intitule", "E5;PN;5;Nouvel enjeu"])])
    ingest.ingest(plan_db, [upload(tmp_path, "actions", [ACTIONS_HEADER, "AC5;PN;E1|E5;Sert le nouvel enjeu;;;;a_lancer;;;;;"])])
    with pytest.raises(UndoRefused, match="actions"):
        ingest.undo(plan_db, stake.import_id)


def test_the_cli_prints_the_plans_of_the_demo_in_json(demo_db):
    run = subprocess.run([sys.executable, "-m", "pipelines", "plan", "--db", str(demo_db), "--region", "76",
                          "--au", "2025-06-30", "--json"], cwd=REPO_DIR, capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 0, run.stderr
    (followed,) = json.loads(run.stdout)["plans"]
    assert set(followed) == {"id_plan", "nom", "actions", "par_statut", "par_enjeu", "en_retard", "indicateurs"}
    assert followed["id_plan"] == "PL76" and followed["actions"] == sum(followed["par_statut"].values()) >= 12
    assert len(followed["par_enjeu"]) == 4 and sum(followed["par_enjeu"].values()) > followed["actions"]
    assert followed["en_retard"] >= 1
    measured = followed["indicateurs"]
    assert measured and all(m["valeur"] >= 0 and m["cible"] > 0 for m in measured.values())


# --------------------------------------------------------------------------- the Plan d'action page (AppTest)


def open_plan_page(db, monkeypatch, role: str, **query) -> AppTest:
    monkeypatch.setenv(warehouse.ENV_VAR, str(db))
    at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=60)
    at.session_state[auth.ROLE_KEY] = role
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/plan.py").run()
    assert not at.exception, at.exception
    return at


def tables(at: AppTest) -> list[pd.DataFrame]:
    """The page's tables as pandas frames (a styled table arrives as its data)."""
    return [t.value.data if hasattr(t.value, "data") else t.value for t in at.dataframe]


def test_the_page_lists_each_stake_in_order_with_its_actions_and_their_history(demo_db, monkeypatch):
    at = open_plan_page(demo_db, monkeypatch, "comite", region="28")
    with warehouse.read_connection(demo_db) as con:
        expected = plan.page_data(con, "PL28", dt.date.today(), "comite")
    stakes = expected["enjeux"]
    assert [s.value for s in at.subheader] == [f"{n}\\. {t}" for n, t in zip(stakes["numero"], stakes["intitule"])]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Actions"] == str(len(expected["actions"]))
    assert metrics["En retard"] == str(int(expected["actions"]["en_retard"].sum()))
    shown = tables(at)
    action_tables, history_tables = shown[0::2], shown[1::2]
    for stake, listed in zip(stakes.to_dict("records"), action_tables):
        assert len(listed) == stake["actions"]
        assert set(listed["Statut"]) <= set(ref.STATUTS_ACTION.values())
    served_by_two = expected["actions"][expected["actions"]["enjeux"].map(len) > 1]["intitule"]
    assert sum(served_by_two.iloc[0] in set(t["Action"]) for t in action_tables) >= 2, "listed under each stake"
    # The committee reads the text of its decisions; a bar carries each measured action's share of its target.
    assert any("comité valide le bilan" in " ".join(t["Décision"]) for t in history_tables)
    measured = pd.concat(action_tables)["Avancement"].dropna()
    assert len(measured) and measured.between(0, 1).all()


def test_the_status_filter_keeps_only_actions_with_that_current_status(demo_db, monkeypatch):
    at = open_plan_page(demo_db, monkeypatch, "analyste", region="28")
    at.multiselect[0].set_value(["realisee"]).run()
    assert not at.exception
    listed = [t for t in tables(at) if "Statut" in t.columns]
    assert listed and all(set(t["Statut"]) == {"Réalisée"} for t in listed)


def test_a_funder_sees_statuses_and_progress_by_quarter_but_no_value_comment_or_decision_text(demo_db, monkeypatch):
    at = open_plan_page(demo_db, monkeypatch, "financeur", region="28")
    shown = tables(at)
    listed = [t for t in shown if "Statut" in t.columns]
    assert listed and all("Valeur" not in t.columns and "Commentaire" not in t.columns for t in listed)
    words = set(pd.concat(listed)["Avancement"]) - {""}
    quarters = {"moins de 25 %", "de 25 % à 50 %", "de 50 % à 75 %", "de 75 % à 100 %", "cible atteinte"}
    assert words and words <= {q.replace(" %", "\u00a0%") for q in quarters}  # French: a no-break space before %
    assert all("Décision" not in t.columns for t in shown)
    with warehouse.read_connection(demo_db) as con:
        texts = set(plan.decisions(con, ["PL28"])["decision"])
    sent = "\n".join(t.to_csv() for t in shown)
    assert not any(text in sent for text in texts)


def test_funder_progress_hides_an_indicator_of_one_or_two_structures():
    assert plan.funder_progress(2, 4, structures=2) is None
    assert plan.funder_progress(3, 4, structures=3) == 0.75
    assert plan.funder_progress(7, 12, structures=7) == 0.5
    assert plan.funder_progress(40, 30, structures=40) == 1.0


def test_html_in_a_decision_is_kept_as_text_and_printed_inert(demo_db, tmp_path):
    """HTML typed in the meeting's form is stored as written and the relevé's PDF escapes it."""
    from pipelines.reports import exports
    from pipelines.reports import plan as plan_report

    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    hostile = 'Validé <script>alert(1)</script> <img src="x" onerror="alert(2)">'
    meeting = dt.date(2026, 11, 30)
    done = ingest.record_decision(db, id_action="PL28-A01", date_comite=meeting, decision=hostile, statut=None,
                                  role="comite")
    assert done.status == "importe", done.message
    with warehouse.read_connection(db) as con:
        assert hostile in set(plan.decisions(con, ["PL28"], meeting)["decision"])
        table = plan_report.minutes(con, "PL28", meeting, "comite")
    page = exports.minutes_html("Relevé", "Plan", table)
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://exemple.invalid";"clic")',
                                     '=HYPERLINK("http://exemple.invalid";"clic")\nsur deux lignes',
                                     "@SUM(A1:A9)"])
def test_a_formula_typed_as_a_decision_is_refused_in_french(demo_db, tmp_path, formula):
    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    version = warehouse.version(db)
    refused = ingest.record_decision(db, id_action="PL28-A01", date_comite=dt.date(2026, 11, 30), decision=formula,
                                     statut=None, role="comite")
    assert refused.status == "refuse"
    assert "pas un calcul" in " ".join(refused.problems["erreur"])
    assert warehouse.version(db) == version


def test_a_decision_on_an_unknown_action_is_refused_in_french_and_writes_nothing(demo_db, tmp_path):
    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    version = warehouse.version(db)
    refused = ingest.record_decision(db, id_action="PL99-A01", date_comite=dt.date(2026, 11, 30), decision="x",
                                     statut=None, role="comite")
    assert refused.status == "refuse" and "rien n'a été écrit" in refused.message
    assert "Action PL99-A01 introuvable" in " ".join(refused.problems["erreur"])
    assert warehouse.version(db) == version


def test_ingest_auto_recognises_the_four_plan_files_from_their_headers(demo_db, tmp_path):
    """`python -m pipelines ingest auto` on the demo's plan files renamed so that their names say nothing:
    each is recognised from its headers and found already in the demo warehouse, line for line."""
    from pipelines.demo import generate as demo

    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    paths = []
    for i, name in enumerate(("plans", "enjeux", "actions", "decisions")):
        target = tmp_path / f"export-{i}.csv"
        shutil.copyfile(demo.DEMO_DIR / f"{name}.csv", target)
        paths.append(target)
    checked = ingest.preview(db, [ingest.Upload.from_path(p) for p in paths])
    assert [f["jeu"] for f in checked.files] == ["plans", "enjeux", "actions", "decisions"]
    assert checked.status == "valide" and checked.totals["inchange"] == checked.totals["lus"] > 0
    run = subprocess.run([sys.executable, "-m", "pipelines", "ingest", "auto", *map(str, paths), "--db", str(db)],
                         cwd=REPO_DIR, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert "Aucune modification" in run.stdout


@pytest.mark.parametrize("role", ["comite", "financeur"])
def test_the_committee_report_has_the_plan_of_its_region(demo_db, role):
    """Progress per stake, the late actions, the last meeting's decisions — without their text for a funder."""
    from pipelines.queries.indicators import Scope
    from pipelines.reports import exports, rapport

    with warehouse.read_connection(demo_db) as con:
        report = rapport.committee_report(con, Scope(region="28"), role)
        expected = plan.page_data(con, "PL28", dt.date.today(), role)
        last = plan.meeting_dates(con, "PL28")[0]
        meeting = plan.decisions(con, ["PL28"], last)
    texts = set(meeting["decision"])
    (chapter,) = report.plans
    assert chapter.title == "Plan d'action : Plan sectoriel culture Normandie"
    tables = dict(chapter.tables)
    progress = tables["Avancement par enjeu"]
    assert progress["Actions"].tolist() == expected["enjeux"]["actions"].tolist()
    late = expected["actions"][expected["actions"]["en_retard"]]
    if len(late):
        assert sorted(tables["Actions en retard"]["Action"]) == sorted(late["intitule"])
    decided = tables[f"Décisions du comité du {last:%d/%m/%Y}"]
    assert len(decided) == len(meeting) > 0
    page = exports.report_html(report)
    assert ("Décision" in decided.columns) == (role == "comite")
    assert any(t in page for t in texts) == (role == "comite")
