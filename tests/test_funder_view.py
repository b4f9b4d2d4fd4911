"""The funder view: statistical secrecy applied by the query layer, on every scope a funder can choose.

For each breakdown the overview sends a funder, checked against the unmasked figures:
* no visible cell comes from fewer than the threshold of structures (primary secrecy);
* with the total visible on the same screen, a column never hides exactly one cell
  (which the total minus the visible cells would give back: complementary secrecy).
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from pipelines import __main__ as cli
from pipelines import indicators, secret, warehouse
from pipelines.indicators import Scope
from pipelines.queries import vue_ensemble
from tests.conftest import REPO_DIR


def funder_scopes(con) -> list[Scope]:
    """Every département, every région × domaine, every programme: the small cells a funder could aim at."""
    choices = indicators.filter_choices(con)
    scopes = [Scope()]
    scopes += [Scope(departement=code) for code in choices["departements"]["code"]]
    scopes += [Scope(region=r, domaine=d) for r in choices["regions"]["code"] for d in choices["domaines"]["code"]]
    scopes += [Scope(programme=p) for p in choices["programmes"]["code"]]
    return scopes


def structures_per(con, scope: Scope, key_sql: str) -> dict:
    frame = indicators.query(con, f"SELECT {key_sql} AS cle, count(DISTINCT id_structure) AS n FROM acc GROUP BY 1",
                             scope)
    return dict(zip(frame["cle"], frame["n"]))


def assert_breakdown_safe(shown, column: str, counts: dict, key: str, total_visible: bool, where: str) -> None:
    hidden = shown[column].isna()
    for row in shown[~hidden].itertuples():
        assert counts[getattr(row, key)] >= secret.threshold(), f"{where}: {column} of {getattr(row, key)} visible"
    if total_visible:
        assert hidden.sum() != 1, f"{where}: one masked {column} could be recomputed from the total"


def test_every_funder_breakdown_of_the_overview_is_protected(demo_db):
    checked = 0
    with warehouse.read_connection(demo_db) as con:
        for scope in funder_scopes(con):
            shown = vue_ensemble.page_data(con, scope, "financeur")
            if shown["annees"].empty:
                continue
            figures = shown["chiffres"]
            where = str(scope)
            years = structures_per(con, scope, "year(date_debut)")
            for column in ("structures", "accompagnements", "heures"):
                assert_breakdown_safe(shown["annees"], column, years, "annee", figures[column] is not None, where)
            assert_breakdown_safe(shown["besoins"], "accompagnements",
                                  structures_per(con, scope, "categorie_principale"), "categorie",
                                  figures["accompagnements"] is not None, where)
            assert_breakdown_safe(shown["departements"], "structures",
                                  structures_per(con, scope, "code_departement"), "code",
                                  figures["structures"] is not None, where)
            n = indicators.key_figures(con, scope)["structures"]
            assert (figures["structures"] is None) == secret.is_primary_secret(n), where
            checked += 1
    assert checked > 50, "the demo offers many scopes to check"


def test_the_masking_is_the_funders_only(demo_db):
    with warehouse.read_connection(demo_db) as con:
        small = Scope(departement="48")
        assert indicators.key_figures(con, small)["structures"] < secret.threshold()
        for role in ("analyste", "comite"):
            data = vue_ensemble.page_data(con, small, role)
            assert data["chiffres"] == indicators.key_figures(con, small)
            assert "secret" not in data["departements"].columns
        assert vue_ensemble.page_data(con, small, "financeur")["chiffres"]["structures"] is None


def test_kpis_cli_in_the_funder_view_prints_secret(demo_db, capsys):
    assert cli.main(["kpis", "--db", str(demo_db), "--departement", "48", "--vue", "financeur"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["structures"] == printed["accompagnements"] == "secret"
    assert set(printed["part_besoin_principal"].values()) == {"secret"}
    assert printed["structures_par_departement"] == {"48": "secret"}
    assert cli.main(["kpis", "--db", str(demo_db), "--departement", "48"]) == 0
    assert json.loads(capsys.readouterr().out)["structures"] == 2


def test_funder_overview_page_shows_secret_and_sends_no_small_value(demo_db, monkeypatch):
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))
    at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=60)
    at.session_state["auth_role"] = "financeur"
    at.query_params["departement"] = "48"
    at.run()
    assert not at.exception
    cards = {m.label: m.value for m in at.metric}
    assert cards["Structures accompagnées"] == cards["Accompagnements"] == "secret"
    assert any("Secret statistique" in c.value for c in at.caption)
    for table in at.dataframe:
        numbers = table.value.select_dtypes("number")
        assert numbers.drop(columns=[c for c in numbers if c in ("Année",)]).empty, table.value
