"""The committee report built from the pages' own queries: what the screen says, with the role's masking."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from pipelines import __main__ as cli
from pipelines.privacy import secret
from pipelines.queries import indicators, temoignages
from pipelines.queries.indicators import Scope
from pipelines.reports import fmt
from pipelines.store import warehouse
from tests.conftest import REPO_DIR

SECTIONS = ["Chiffres clés", "Besoins des structures", "Territoires", "Résultats des programmes", "Témoignages",
            "Méthodologie"]


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def committee_pdf(demo_db, tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("rapport") / "normandie.pdf"
    assert cli.main(["rapport", "--db", str(demo_db), "--region", "28", "--vue", "comite", "--out", str(out)]) == 0
    return out.read_bytes()


@pytest.fixture(scope="module")
def funder_pdf(demo_db, tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("rapport") / "lozere.pdf"
    assert cli.main(["rapport", "--db", str(demo_db), "--departement", "48", "--vue", "financeur",
                     "--out", str(out)]) == 0
    return out.read_bytes()


def test_report_has_its_sections_in_order_and_the_figures_on_screen(committee_pdf, demo_db):
    pages = text_of(committee_pdf)
    whole = "\n".join(pages)
    assert pages[0].count("Normandie") >= 2 and "Tous les programmes" in pages[0]
    positions = [whole.index(title) for title in SECTIONS]
    assert positions == sorted(positions)
    with warehouse.read_connection(demo_db) as con:
        figures = indicators.key_figures(con, Scope(region="28"))
    for key in ("structures", "accompagnements", "heures"):
        assert fmt.nombre(figures[key]).replace("\u202f", " ") in whole.replace("\u202f", " ")
    for title, _ in indicators.DEFINITIONS:
        assert title in whole
    assert "Secret statistique" in whole and "Vue Comité de pilotage" in whole


def test_funder_report_masks_like_the_screen_and_names_no_structure(funder_pdf, demo_db):
    whole = "\n".join(text_of(funder_pdf))
    assert "Vue financeur : secret statistique appliqué" in whole
    assert whole.count(secret.SECRET) >= 3
    with warehouse.read_connection(demo_db) as con:
        names = [n for (n,) in con.execute("SELECT nom FROM structures").fetchall()]
        every = temoignages.temoignages(con, Scope(), include_unconsented=True, limite=10_000)["temoignages"]
    assert not [n for n in names if n in whole]
    withheld = set(every.loc[~every["consentement_publication"].astype(bool), "texte"])
    assert not [t for t in withheld if t in whole]


def test_overview_offers_the_report_download(demo_db, monkeypatch):
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))
    at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=60)
    at.session_state["auth_role"] = "financeur"
    at.run()
    assert not at.exception
    buttons = [b for b in at.get("download_button") if "Rapport du comité" in b.proto.label]
    assert len(buttons) == 1


def test_report_files_are_named_after_scope_view_and_day():
    import datetime as dt

    from pipelines.queries.indicators import Scope
    from pipelines.reports import rapport

    day = dt.date(2026, 12, 5)
    assert rapport.file_name(Scope(region="28", domaine="musique", depuis=dt.date(2024, 1, 1),
                                   jusqu_au=dt.date(2024, 12, 31)), "financeur", day) == \
        "rapport-comite_region-28_domaine-musique_2024_financeur_2026-12-05.pdf"
    assert rapport.file_name(Scope(), "comite", day) == "rapport-comite_comite_2026-12-05.pdf"
    assert rapport.file_name(Scope(programme="P/../x"), "comite", day).count("/") == 0


def test_a_meetings_minutes_are_named_after_their_plan_and_day_whatever_the_plans_id():
    import datetime as dt

    from pipelines.reports import plan as plan_report

    day = dt.date(2026, 4, 25)
    assert plan_report.minutes_file_name("PS-2026", day, "pdf") == "releve-decisions_PS-2026_2026-04-25.pdf"
    hostile = plan_report.minutes_file_name("CRESS/76 plan\n<b>", day, "csv")
    assert hostile == "releve-decisions_CRESS-76-planb_2026-04-25.csv"
