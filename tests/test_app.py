"""The dashboard driven as a person would, with streamlit.testing.v1.AppTest."""

from __future__ import annotations

from pathlib import Path

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth
from pipelines.queries import indicators
from pipelines.queries.indicators import Scope
from pipelines.store import warehouse
from tests.conftest import REPO_DIR

APP = REPO_DIR / "app.py"

PAGES = sorted(str(path.relative_to(REPO_DIR)) for path in (REPO_DIR / "pages").glob("*.py"))  # tested the day they exist


@pytest.fixture
def app(demo_db, monkeypatch):
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))

    def start(role: str | None = "analyste", **query_params) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        if role:
            at.session_state[auth.ROLE_KEY] = role  # what signing in leaves in the session
        for key, value in query_params.items():
            at.query_params[key] = value
        return at.run()

    return start


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def as_int(text: str) -> int:
    return int(text.replace("\u202f", "").replace("\u00a0", ""))


def expected(db, **scope) -> dict:
    with warehouse.read_connection(db) as con:
        return indicators.key_figures(con, Scope(**scope))


def test_home_shows_the_key_figures_of_the_warehouse(app, demo_db):
    at = app()
    assert not at.exception
    figures = metric_values(at)
    truth = expected(demo_db)
    assert as_int(figures["Structures accompagnées"]) == truth["structures"]
    assert as_int(figures["Accompagnements"]) == truth["accompagnements"]
    assert as_int(figures["Heures d'accompagnement"]) == round(truth["heures"])
    assert len(at.get("plotly_chart")) == 3
    assert any("démonstration synthétiques" in w.value for w in at.warning)


def test_region_filter_narrows_figures_and_goes_into_the_url(app, demo_db):
    at = app()
    everything = as_int(metric_values(at)["Structures accompagnées"])
    at.selectbox(key="filtre_region").set_value("28").run()
    assert not at.exception
    normandie = as_int(metric_values(at)["Structures accompagnées"])
    assert 0 < normandie < everything
    assert normandie == expected(demo_db, region="28")["structures"]
    assert at.query_params["region"] == "28"


def test_url_parameters_restore_the_view(app, demo_db):
    at = app(region="76", du="2024-01-01", au="2024-12-31")
    assert at.selectbox(key="filtre_region").value == "76"
    truth = expected(demo_db, region="76", depuis=dt.date(2024, 1, 1), jusqu_au=dt.date(2024, 12, 31))
    assert as_int(metric_values(at)["Accompagnements"]) == truth["accompagnements"]
    # With a full period, cards compare to the previous period of equal length.
    assert any(m.delta for m in at.metric)


def test_filters_that_match_nothing_show_a_message_not_an_empty_chart(app):
    at = app(du="1995-01-01", au="1995-12-31")
    assert not at.exception
    assert not at.get("plotly_chart")
    assert any("Aucun accompagnement ne correspond" in i.value for i in at.info)


def test_every_page_file_is_in_the_navigation():
    """A page file app.py does not route would never be seen (nor guarded by a role)."""
    routed = APP.read_text(encoding="utf-8")
    assert len(PAGES) >= 9 and [p for p in PAGES if f'"{p}"' not in routed] == []


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_error(app, page):
    # The structures' own pages are not in a team member's menu: a visitor opens them.
    public = Path(page).stem in {"contribuer", "rejoindre"}
    at = app(role=None if public else "analyste")
    at.switch_page(page).run()
    assert not at.exception
    assert at.title, "each page has a title"


def test_missing_warehouse_says_how_to_create_it(monkeypatch, tmp_path):
    monkeypatch.setenv(warehouse.ENV_VAR, str(tmp_path / "absent.duckdb"))
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert "python -m pipelines init --demo" in at.error[0].value


def test_a_warehouse_of_an_older_version_says_how_to_update_it(mini_db, monkeypatch):
    import duckdb

    con = duckdb.connect(str(mini_db))
    con.execute("DELETE FROM schema_meta WHERE version = (SELECT max(version) FROM schema_meta)")
    con.close()
    monkeypatch.setenv(warehouse.ENV_VAR, str(mini_db))
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert "créé par une version précédente" in at.error[0].value and "python -m pipelines init --db" in at.error[0].value
