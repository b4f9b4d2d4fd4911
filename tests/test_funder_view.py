"""The funder view: statistical secrecy applied by the query layer, on every scope a funder can choose.

For each breakdown the overview sends a funder, checked against the unmasked figures:
* no visible cell comes from fewer than the threshold of structures (primary secrecy);
* with the total visible on the same screen, a column never hides exactly one cell
  (which the total minus the visible cells would give back: complementary secrecy).
"""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from pipelines import __main__ as cli
from pipelines.privacy import secret
from pipelines.queries import indicators, vue_ensemble
from pipelines.queries.indicators import Scope
from pipelines.store import warehouse
from tests.conftest import REPO_DIR


def funder_scopes(con) -> list[Scope]:
    """Scopes a funder could aim at small cells with: every département, the rarest domaines of each région,
    a few programmes (a bounded sample, so that the suite stays quick)."""
    choices = indicators.filter_choices(con)
    rare = con.execute("SELECT domaine FROM structures GROUP BY 1 ORDER BY count(*), 1 LIMIT 4").fetchall()
    scopes = [Scope()]
    scopes += [Scope(departement=code) for code in choices["departements"]["code"]]
    scopes += [Scope(region=r, domaine=d) for r in choices["regions"]["code"] for (d,) in rare]
    scopes += [Scope(programme=p) for p in choices["programmes"]["code"][::6]]
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
            if secret.is_primary_secret(n):
                assert figures["structures"] is None, where
            checked += 1
    assert checked > 30, "the demo offers many scopes to check"


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


def cell_structures(con, scope: Scope, keys: dict[str, str]) -> dict:
    """Distinct structures behind each cell, keyed like the page's table (tuple of its key columns)."""
    select = ", ".join(f"{sql} AS {name}" for name, sql in keys.items())
    frame = indicators.query(con, f"SELECT {select}, count(DISTINCT id_structure) AS n FROM acc GROUP BY ALL", scope)
    return {tuple(row[:-1]): row[-1] for row in frame.itertuples(index=False)}


def assert_visible_cells_have_enough_structures(frame, column: str, counts: dict, keys: list[str], where: str):
    for row in frame[frame[column].notna()].itertuples(index=False):
        key = tuple(getattr(row, k) for k in keys)
        n = counts.get(key, 0)
        assert n == 0 or n >= secret.threshold(), f"{where}: {column} {key} from {n} structure(s) is visible"


def test_every_funder_table_of_the_detailed_pages_is_protected(demo_db):
    from pipelines.queries import besoins, masks, structures, territoires

    with warehouse.read_connection(demo_db) as con:
        scopes = funder_scopes(con)
        for scope in scopes:
            where = str(scope)
            n = indicators.key_figures(con, scope)["structures"]
            if n == 0:
                continue
            # Structures: breakdowns only, every one a margin of the same total.
            shown = structures.page_data(con, scope, None, "financeur")
            assert shown["table"] is None
            for axe, frame in shown["repartitions"].items():
                raw = structures.structures_breakdowns(con, scope)[axe].set_index("modalite")["structures"]
                for row in frame[frame["structures"].notna()].itertuples():
                    assert raw[row.modalite] >= secret.threshold(), f"{where}: {axe} {row.modalite}"
                if shown["total"] is not None:
                    assert frame["structures"].isna().sum() != 1, f"{where}: {axe} has one masked cell"
            # Territories: départements and communes, as maps and tables.
            data = territoires.page_data(con, scope, "departement", "financeur")
            raw = territoires.by_territory(con, scope, "departement").set_index("code")["structures"]
            visible = data["territoires"][data["territoires"]["structures"].notna()]
            assert all(raw[c] == 0 or raw[c] >= secret.threshold() for c in visible["code"]), where
            if not masks.scope_hidden(con, scope):  # the total is on screen: one masked row is recoverable
                assert data["territoires"]["secret"].sum() != 1, where
            assert "structures_connues" not in data["zones_blanches"].columns
            communes = territoires.communes(con, scope).set_index("code")["structures"]
            assert all(communes[c] >= secret.threshold() for c in data["communes"]["code"]), where
            # Needs: one-way and cross tables.
            needs = besoins.page_data(con, scope, "domaine", "financeur")
            assert needs["cooccurrence"] is None
            assert_visible_cells_have_enough_structures(
                needs["categories"], "accompagnements", cell_structures(con, scope, {"c": "categorie_principale"}),
                ["categorie"], where)
            assert_visible_cells_have_enough_structures(
                needs["hierarchie"], "accompagnements", cell_structures(con, scope, {"c": "besoin_principal"}),
                ["code"], where)
            assert_visible_cells_have_enough_structures(
                needs["comparaison"], "accompagnements",
                cell_structures(con, scope, {"g": "domaine", "c": "categorie_principale"}), ["groupe", "categorie"],
                where)
            assert_visible_cells_have_enough_structures(
                needs["annees"], "accompagnements",
                cell_structures(con, scope, {"a": "year(date_debut)", "c": "categorie_principale"}),
                ["annee", "categorie"], where)
            for name, key in (("comparaison", "groupe"), ("annees", "annee")):
                table = needs[name]
                for _, row in table.groupby(key):
                    if row["part"].notna().any():  # the row total is visible: one hidden cell would be recoverable
                        assert row["accompagnements"].isna().sum() != 1, f"{where}: {name} row {row[key].iloc[0]}"
            if needs["treemap"] is not None:  # merged leaves add up to the visible total
                assert needs["treemap"]["accompagnements"].sum() == indicators.key_figures(con, scope)[
                    "accompagnements"], where


def test_every_funder_figure_of_the_outcomes_page_is_protected(demo_db):
    from pipelines.queries import resultats

    with warehouse.read_connection(demo_db) as con:
        for scope in funder_scopes(con):
            where = str(scope)
            raw = resultats.page_data(con, scope, "analyste")
            shown = resultats.page_data(con, scope, "financeur")
            if raw["entonnoir"].empty:
                continue
            # Funnel: a type's steps beyond accueil are shown only when no exact step is small.
            exact = cell_structures(con, scope, {"t": "type_programme", "e": "etape"})
            for kind, steps in shown["entonnoir"].groupby("type_programme"):
                if steps["accompagnements"].iloc[1:].notna().any():
                    small = [n for (t, _), n in exact.items() if t == kind and 0 < n < secret.threshold()]
                    assert not small, f"{where}: {kind} shows its steps with a small exact step"
            per_programme = cell_structures(con, scope, {"p": "id_programme"})
            assert_visible_cells_have_enough_structures(shown["heures"], "heures_realisees", per_programme,
                                                        ["id_programme"], where)
            follow = shown["suivi"]
            for column, count in (("objectifs_atteints", "structures"), ("etp_avant", "structures_etp"),
                                  ("budget_avant", "structures_budget"), ("part_active", "structures_statut")):
                raw_counts = raw["suivi"].set_index("echeance")[count]
                for row in follow[follow[column].notna()].itertuples():
                    assert raw_counts[row.echeance] >= secret.threshold(), f"{where}: {column} {row.echeance}"
            years = cell_structures(con, scope, {"a": "year(date_debut)"})
            assert_visible_cells_have_enough_structures(shown["cohortes"], "structures", years, ["annee"], where)
            assert not {"structures_fin", "structures_12_mois"} & set(shown["cohortes"].columns)
            formats = cell_structures(con, scope, {"f": "coalesce(format, 'nr')"})
            assert_visible_cells_have_enough_structures(shown["formats"], "accompagnements", formats, ["format"],
                                                        where)


def test_no_view_gives_back_what_another_view_hides(demo_db):
    """The attack a newcomer found: a région's total minus its visible départements, with a département
    seen in the national view, gave back a masked one. Masks now come from the whole hierarchy."""
    with warehouse.read_connection(demo_db) as con:
        national = vue_ensemble.page_data(con, Scope(), "financeur")["departements"].set_index("code")
        for region in indicators.filter_choices(con)["regions"]["code"]:
            view = vue_ensemble.page_data(con, Scope(region=region), "financeur")
            total = view["chiffres"]["structures"]
            mine = view["departements"].set_index("code")
            # Same départements hidden here and in the national view, same values shown.
            assert list(mine["secret"]) == list(national.loc[mine.index, "secret"]), region
            hidden = mine.index[mine["secret"]]
            if total is not None:
                assert len(hidden) != 1, f"{region}: one hidden département = total - visible ones"
            for code in hidden:  # nor does a hidden département's own view show its figure
                own = vue_ensemble.page_data(con, Scope(departement=code), "financeur")["chiffres"]
                assert own["structures"] is None and own["accompagnements"] is None, code
        assert national["secret"].any(), "the demo has départements to hide"
