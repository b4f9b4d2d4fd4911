"""Role × page × sensitive field, through app.py as each role's session runs it.

For each role, every page of its navigation is opened on a small territory (Lozère:
2 structures in the demo) and everything the page sends is collected: texts,
tables, metrics and chart specifications. What a role may not see must be absent,
not hidden.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.privacy import roles
from pipelines.queries import temoignages
from pipelines.queries.indicators import Scope
from pipelines.store import warehouse
from tests.conftest import REPO_DIR

PAGES = {"vue-ensemble": "vue_ensemble", "structures": "structures", "besoins": "besoins",
         "territoires": "territoires", "resultats": "resultats", "temoignages": "temoignages", "plan": "plan", "reunion": "reunion",
         "importer": "importer", "soumissions": "soumissions", "observation": "observation"}
SMALL = "48"


def everything_sent(at: AppTest) -> str:
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "success",
                 "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [table.value.to_csv() for table in at.dataframe]
    parts += [chart.proto.spec for chart in at.get("plotly_chart")]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def sensitive(demo_db):
    with warehouse.read_connection(demo_db) as con:
        small_names = [n for (n,) in con.execute("""
            SELECT s.nom FROM structures s JOIN geo_communes c ON c.code = s.code_commune
            WHERE c.code_departement = $d""", {"d": SMALL}).fetchall()]
        every = temoignages.temoignages(con, Scope(), include_unconsented=True, limite=10_000)["temoignages"]
        consented = set(every.loc[every["consentement_publication"].astype(bool), "texte"])
        withheld = set(every.loc[~every["consentement_publication"].astype(bool), "texte"]) - consented
        intervenants = [n for (n,) in con.execute(
            "SELECT DISTINCT intervenant FROM accompagnements WHERE intervenant IS NOT NULL").fetchall()]
    assert small_names and withheld and intervenants
    return {"small_names": small_names, "withheld": withheld, "intervenants": intervenants}


def open_as(role: str, page: str, **query) -> AppTest:
    at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=60)
    at.session_state["auth_role"] = role
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("role", list(roles.ROLES))
def test_each_role_receives_only_what_it_may_see(demo_db, monkeypatch, sensitive, role):
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))
    rules = roles.ROLES[role]
    for url, page in PAGES.items():
        if url not in rules.pages:
            continue
        sent = everything_sent(open_as(role, page, departement=SMALL))
        if not rules.personal_data:
            assert not any(name in sent for name in sensitive["intervenants"]), f"{role} {page}: intervenant"
        if rules.statistical_secrecy:
            assert not any(name in sent for name in sensitive["small_names"]), f"{role} {page}: structure name"
    # Testimonies without consent: only the analyst view receives them (whole set, no territory filter).
    sent = everything_sent(open_as(role, "temoignages"))
    received = {text for text in sensitive["withheld"] if text in sent}
    if rules.unconsented_testimonies:
        assert received, "the analyst reads every testimony"
    else:
        assert not received, f"{role} received testimonies without consent"


def test_upload_page_is_the_analysts_only(demo_db, monkeypatch):
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))
    assert open_as("analyste", "importer").get("file_uploader")
    for role in ("comite", "financeur", "national"):
        at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=60)
        at.session_state["auth_role"] = role
        at.run()
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page("pages/importer.py")


@pytest.mark.parametrize("page, says", [("structures", "liste nominative"), ("temoignages", "témoignage")])
def test_funder_pages_name_no_structure(demo_db, monkeypatch, page, says):
    """No nominative list and no testimony signed by a structure reach a funder, even on a large territory."""
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))
    sent = everything_sent(open_as("financeur", page, region="76"))
    with warehouse.read_connection(demo_db) as con:
        names = [n for (n,) in con.execute("SELECT nom FROM structures").fetchall()]
    assert says in sent
    assert not [n for n in names if n in sent]


def test_the_national_reader_reads_like_the_committee_and_writes_nothing():
    from dashboard import meeting

    reader, committee = roles.ROLES["national"], roles.ROLES["comite"]
    assert reader.label == "Lecture nationale" and reader.pages == committee.pages
    assert not ({"importer", "soumissions"} & reader.pages) and not reader.unconsented_testimonies
    assert not reader.statistical_secrecy and not reader.personal_data
    assert "national" not in meeting.DECIDERS
