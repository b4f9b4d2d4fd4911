"""The five detailed pages driven with AppTest on the demo: charts drawn, filters obeyed, URL round-trip,
empty states. Figures are compared with the query layer's own answer for the same scope."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth
from pipelines.queries import structures as qs
from pipelines.queries import temoignages as qtem
from pipelines.queries import territoires as qt
from pipelines.queries.indicators import Scope
from pipelines.reports import fmt
from pipelines.store import warehouse
from tests.conftest import REPO_DIR

APP = REPO_DIR / "app.py"
PAGES = {
    "pages/structures.py": 5,   # five breakdowns + the profile timeline
    "pages/besoins.py": 5,
    "pages/territoires.py": 2,  # map + portrait
    "pages/resultats.py": 6,
}
NOTHING = {"du": "1995-01-01", "au": "1995-12-31"}  # no accompaniment was active then


@pytest.fixture
def page(demo_db, monkeypatch):
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))

    def open_page(path: str, role: str = "analyste", **query_params) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.session_state[auth.ROLE_KEY] = role  # what signing in leaves in the session
        for key, value in query_params.items():
            at.query_params[key] = value
        at.run()
        at.switch_page(path).run()
        assert not at.exception, at.exception
        return at

    return open_page


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def figure(at: AppTest, key: str) -> dict:
    import json

    for chart in charts(at):
        spec = json.loads(chart.proto.spec)
        if key in chart.proto.id or key in str(chart.proto):
            return spec
    raise AssertionError(f"no chart {key}")


def subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def as_int(text: str) -> int:
    return int("".join(ch for ch in text if ch.isdigit()))


@pytest.mark.parametrize("path, minimum", PAGES.items())
def test_page_runs_on_the_demo_and_draws_its_charts(page, path, minimum):
    at = page(path)
    assert len(charts(at)) >= minimum
    assert at.title[0].value and "Périmètre : ensemble des données" in at.caption[0].value
    assert at.expander, "every chart has a Données expander"


@pytest.mark.parametrize("path", [*PAGES, "pages/temoignages.py"])
def test_filters_matching_nothing_show_a_message_instead_of_charts(page, path):
    at = page(path, **NOTHING)
    assert not charts(at)
    assert any("Aucun" in i.value and "ne correspond" in i.value for i in at.info)


def test_structures_count_follows_the_region_filter_and_url(page, demo_db):
    everything = as_int(subheaders(page("pages/structures.py"))[0])
    at = page("pages/structures.py", region="28")
    normandie = as_int(subheaders(at)[0])
    with warehouse.read_connection(demo_db) as con:
        truth = qt.by_territory(con, Scope(region="28"), "region")["structures"].sum()
    assert 0 < normandie < everything and normandie == truth
    assert at.query_params["region"] == "28"


def test_structure_search_and_profile_round_trip_through_the_url(page, demo_db):
    at = page("pages/structures.py", recherche="Arpège")
    assert at.text_input(key="page_recherche").value == "Arpège"
    assert at.query_params["recherche"] == "Arpège"
    chosen = at.selectbox(key="page_structure")
    assert chosen.options and all("Arpège" in o for o in chosen.options)
    with warehouse.read_connection(demo_db) as con:
        ids = qs.structures_table(con, Scope(), "Arpège")["id_structure"].tolist()
    assert len(ids) == len(chosen.options)
    # The user is told how many of the structures in scope the search found, not only the scope's total.
    caption = " ".join(c.value for c in at.caption).replace("\u202f", " ")
    assert f"{len(ids)} structure{'s' if len(ids) > 1 else ''} sur " in caption and "« Arpège »" in caption
    second = ids[-1]
    chosen.set_value(second).run()
    assert at.query_params["structure"] == second
    again = page("pages/structures.py", recherche="Arpège", structure=second)
    assert again.selectbox(key="page_structure").value == second


def test_needs_comparison_axis_lives_in_the_url(page):
    at = page("pages/besoins.py")
    at.radio(key="page_comparer").set_value("departement").run()
    assert at.query_params["comparer"] == "departement"
    restored = page("pages/besoins.py", comparer="departement", region="76")
    assert restored.radio(key="page_comparer").value == "departement"
    assert restored.query_params["region"] == "76" and "Occitanie" in restored.caption[0].value


def test_needs_domaine_filter_narrows_the_typology(page):
    everything = page("pages/besoins.py")
    musique = page("pages/besoins.py", domaine="musique")
    # The Données table under the treemap: accompaniments per need, fewer under the filter.
    total = everything.dataframe[0].value["accompagnements"].sum()
    narrowed = musique.dataframe[0].value["accompagnements"].sum()
    assert 0 < narrowed < total


def test_territories_map_indicator_and_region_drill_down(page, demo_db):
    at = page("pages/territoires.py", indicateur="couverture", region="76")
    assert at.radio(key="page_indicateur").value == "couverture"
    assert at.query_params["indicateur"] == "couverture"
    with warehouse.read_connection(demo_db) as con:
        occitanie = qt.by_territory(con, Scope(region="76"), "departement")
    assert len(occitanie) == 13  # the map draws the région's départements
    # Drill-down: the région view lists its communes.
    assert any("Communes comptant" in str(c.proto.spec) for c in charts(at))
    # A département drops to the communes, with the reason there are no bubbles.
    dep = page("pages/territoires.py", departement="31")
    assert any("centres des communes" in c.value for c in dep.caption)


def test_the_communes_chart_of_a_region_keeps_communes_of_several_structures(page, demo_db):
    """At région level a top 20 of one-structure communes would be arbitrary; in a département it says who is
    where. The table lists every commune either way."""
    import json

    def communes_chart(at):
        specs = [json.loads(c.proto.spec) for c in charts(at)]
        return next((s for s in specs if "Communes comptant" in json.dumps(s["layout"].get("title", ""))), None)

    with warehouse.read_connection(demo_db) as con:
        region = qt.communes(con, Scope(region="76"))
        departement = qt.communes(con, Scope(departement="09"))
    assert (region["structures"] == 1).any() and (region["structures"] > 1).any()
    def values(trace_x) -> list[float]:  # plotly ships numeric arrays base64-encoded
        import base64

        import numpy as np

        if isinstance(trace_x, dict):
            return list(np.frombuffer(base64.b64decode(trace_x["bdata"]), dtype=trace_x["dtype"]))
        return list(trace_x)

    chart = communes_chart(page("pages/territoires.py", region="76"))
    drawn = values(chart["data"][0]["x"])
    assert drawn and min(drawn) > 1
    assert len(drawn) == min(20, int((region["structures"] > 1).sum()))
    dep_chart = communes_chart(page("pages/territoires.py", departement="09"))
    assert len(values(dep_chart["data"][0]["x"])) == min(20, len(departement))
    if departement["structures"].max() <= 5:
        assert dep_chart["layout"]["xaxis"]["dtick"] == 1  # whole ticks for small counts


def test_territories_level_choice_round_trips(page):
    at = page("pages/territoires.py")
    at.radio(key="page_niveau").set_value("region").run()
    assert at.query_params["niveau"] == "region"
    assert page("pages/territoires.py", niveau="region").radio(key="page_niveau").value == "region"


def test_portrait_reference_choice_changes_the_reference_column(page):
    regional = page("pages/territoires.py", portrait="31", reference="region")
    national = page("pages/territoires.py", portrait="31", reference="ensemble")
    pick = lambda at: {m.label: m.delta for m in at.metric}["Structures accompagnées"]  # noqa: E731
    assert as_int(pick(regional)) < as_int(pick(national))


def plotly_values(array) -> list:
    """A plotly array as the browser gets it (numbers ship base64-encoded)."""
    import base64

    import numpy as np

    if isinstance(array, dict):
        return list(np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]))
    return list(array)


def test_several_territories_side_by_side_with_the_coverage_as_an_interval(page, demo_db):
    """Two départements and an EPCI against Calvados' région (Normandie, whose demo reference is a range)."""
    at = page("pages/territoires.py", portrait="14,76,epci:200065597", reference="region")
    assert at.multiselect(key="page_portrait").value == ["14", "76", "epci:200065597"]
    spec = figure(at, "portrait")
    names = [trace["name"] for trace in spec["data"]]
    assert names == ["14 – Calvados", "76 – Seine-Maritime", "CU Caen la Mer (14, EPCI)", "Normandie"]
    with warehouse.read_connection(demo_db) as con:
        side = qt.comparison(con, at.session_state["scope"], ["14", "76", "epci:200065597"], "region").set_index("cle")
    calvados = spec["data"][0]
    rows = [label.replace("<br>", " ") for label in calvados["y"]]
    at_coverage = rows.index("Taux de couverture")
    low, high = side.loc["couverture_min", "14"], side.loc["couverture_max", "14"]
    assert low < high  # Normandie's reference is a range: the coverage is an interval
    assert calvados["hovertext"][at_coverage] == fmt.couverture(low, high)
    assert plotly_values(calvados["error_x"]["array"])[at_coverage] == pytest.approx((high - low) / 2)
    assert spec["data"][2]["hovertext"][at_coverage] == ""  # an EPCI has no reference population
    assert all("\u00a0%" in text for text in spec["layout"]["xaxis"]["ticktext"])  # "60 %", never "60%"
    table = [t for t in at.dataframe if "indicateur" in t.value.columns][-1].value
    assert list(table.columns) == ["indicateur", "14", "76", "epci:200065597", "reference"]
    assert table.set_index("indicateur").loc["Taux de couverture", "14"] == fmt.couverture(low, high)
    assert "Taux de couverture" not in [m.label for m in at.metric]  # the cards are for one territory


def test_a_funder_compares_departements_only(page):
    at = page("pages/territoires.py", role="financeur", portrait="14,epci:200065597")
    assert not any(code.startswith("epci:") for code in at.multiselect(key="page_portrait").options)
    assert at.multiselect(key="page_portrait").value == ["14"]


def test_results_count_the_peer_programmes_resource_persons(page, demo_db):
    at = page("pages/resultats.py")
    assert at.session_state["scope"] == Scope()  # every year: the counts below need no period filter
    with warehouse.read_connection(demo_db) as con:  # a resource person counts once in each programme
        persons, hours = con.execute("""SELECT sum(n), sum(h) FROM (SELECT id_programme,
            count(DISTINCT intervenant) AS n, sum(heures_benevoles) AS h FROM accompagnements
            WHERE modalite = 'pairs' GROUP BY 1)""").fetchall()[0]
    cards = {m.label: m.value for m in at.metric}
    assert persons > 0 and as_int(cards["Personnes ressources"]) == persons
    assert as_int(cards["Heures bénévoles des pairs"]) == round(hours)
    funder = page("pages/resultats.py", role="financeur")
    assert "Personnes ressources" not in [m.label for m in funder.metric]  # from `intervenant`: personal data


def test_a_period_draws_no_bar_for_the_years_before_it(page, demo_db):
    """Issue 16: a 2024–2025 period showed a 2023 bar (accompaniments started in 2023, still active)."""
    at = page("pages/vue_ensemble.py", du="2024-01-01", au="2025-12-31")
    assert at.session_state["scope"].depuis == dt.date(2024, 1, 1)
    years = plotly_values(figure(at, "Accompagnements et structures")["data"][0]["x"])
    assert years and min(int(y) for y in years) == 2024
    with warehouse.read_connection(demo_db) as con:  # there are such accompaniments, counted in the key figures
        carried = con.execute("SELECT count(*) FROM accompagnements WHERE date_debut < DATE '2024-01-01' "
                              "AND coalesce(date_fin, DATE '9999-12-31') >= DATE '2024-01-01'").fetchall()[0][0]
    assert carried > 0
    assert any("commencés avant 2024" in c.value for c in at.caption)


def test_results_follow_the_programme_filter(page):
    everything = page("pages/resultats.py")
    peers = page("pages/resultats.py", programme="P26")
    count = lambda at: as_int({m.label: m.value for m in at.metric}["Ateliers"])  # noqa: E731
    assert count(peers) == 8 < count(everything)
    rate = {m.label: m.value for m in peers.metric}["Taux de remplissage (jauge connue)"]
    assert rate.endswith("%")


@pytest.mark.parametrize("role", ["comite", "financeur"])
def test_testimonies_outside_the_analyst_view_are_consented_only_and_plain_text(page, demo_db, role):
    at = page("pages/temoignages.py", role=role, region="28")
    with warehouse.read_connection(demo_db) as con:
        consented = qtem.temoignages(con, Scope(region="28"))
        everything = qtem.temoignages(con, Scope(region="28"), include_unconsented=True)["temoignages"]
    withheld = set(everything.loc[~everything["consentement_publication"].astype(bool), "texte"])
    withheld -= set(consented["temoignages"]["texte"])  # the same sentence may occur in a consented one
    assert consented["sans_consentement"] > 0 and withheld
    assert as_int(subheaders(at)[0].split("témoignage")[0]) == consented["total"]
    texts = {t.value for t in at.text}
    assert set(consented["temoignages"]["texte"].head(20)) <= texts, "the first page: the twenty newest"
    assert not texts & withheld, "a testimony without publication consent reached this role"
    assert at.query_params["region"] == "28"


def test_testimonies_analyst_view_flags_those_without_consent(page, demo_db):
    at = page("pages/temoignages.py", role="analyste", region="28")
    with warehouse.read_connection(demo_db) as con:
        everything = qtem.temoignages(con, Scope(region="28"), include_unconsented=True)
    cards = everything["temoignages"].head(20)  # the first page: the twenty newest
    unconsented = cards[~cards["consentement_publication"].astype(bool)]
    assert len(unconsented)
    assert as_int(subheaders(at)[0].split("témoignage")[0]) == everything["total"]
    assert set(cards["texte"]) <= {t.value for t in at.text}
    flags = [w for w in at.warning if "Sans consentement de publication" in w.value]
    assert len(flags) == len(unconsented)


def test_a_structure_without_creation_year_or_budget_has_its_profile(mini_db, monkeypatch):
    """S3 of the mini fixture gives neither: the page once crashed on it ("boolean value of NA is ambiguous")."""
    monkeypatch.setenv(warehouse.ENV_VAR, str(mini_db))
    at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=60)
    at.session_state["auth_role"] = "analyste"
    at.query_params["structure"] = "S3"
    at.run()
    at.switch_page("pages/structures.py").run()
    assert not at.exception, at.exception
    assert any(s.value == "Collectif Test Trois" for s in at.subheader)
    assert {m.label: m.value for m in at.metric}["Budget annuel"] == "—"
    assert not any("créée en" in c.value for c in at.caption)


def test_testimonies_are_searched_filtered_and_paged(page, demo_db):
    at = page("pages/temoignages.py")
    with warehouse.read_connection(demo_db) as con:
        every = qtem.temoignages(con, Scope(), include_unconsented=True, limite=10_000)["temoignages"]
    assert len(every) > 20 and at.number_input(key="page_temoignages").max == -(-len(every) // 20)
    assert 0 < len([w for w in at.text if w.value in set(every["texte"])]) <= 20
    # A word narrows the cards to those holding it, whatever its case; the word stays in the address.
    def holding(word):
        return every[every["texte"].str.lower().str.contains(word)]
    # A word found on more than one page of cards, but not on all of them.
    word = next(w for w in ("accompagnement", "séances", "notre", "nous") if 20 < len(holding(w)) < len(every))
    expected = holding(word)
    at.text_input(key="page_mot").set_value(word.upper()).run()
    assert f"{len(expected)} pour cette recherche" in at.subheader[0].value.replace("\u202f", "")
    assert at.query_params["mot"] == word.upper()
    # Page 2 shows the next twenty, and a narrower search brings the page back within range.
    at.text_input(key="page_mot").set_value("").run()
    at.number_input(key="page_temoignages").set_value(2).run()
    assert not at.exception and "Témoignages 21 à 40" in " ".join(c.value for c in at.caption)
    at.number_input(key="page_temoignages").set_value(at.number_input(key="page_temoignages").max).run()
    at.text_input(key="page_mot").set_value(word).run()  # fewer pages than the one shown
    assert not at.exception and at.number_input(key="page_temoignages").value == -(-len(expected) // 20)


def test_a_funders_search_does_not_place_a_structure(demo_db):
    """Under secrecy a testimony shows no structure name: searching one must not find its testimonies."""
    with warehouse.read_connection(demo_db) as con:
        every = qtem.temoignages(con, Scope(), include_unconsented=True, limite=10_000)["temoignages"]
        named = every.dropna(subset=["structure"])
        name = next(n for n in named["structure"] if not every["texte"].str.contains(n, regex=False).any())
        analyst = qtem.temoignages(con, Scope(), vue="analyste", recherche=name)["trouves"]
        funder = qtem.temoignages(con, Scope(), vue="financeur", recherche=name)["trouves"]
    assert analyst >= 1 and funder == 0


@pytest.mark.parametrize("role", ["analyste", "financeur"])
def test_orientation_chart_for_the_team_and_not_for_funders(page, role):
    at = page("pages/resultats.py", role=role)
    specs = [chart.proto.spec for chart in at.get("plotly_chart")]
    has_chart = any("Part des accompagnements selon leur orientation" in spec for spec in specs)
    assert has_chart == (role == "analyste")
    if role == "financeur":
        assert any("Non publié dans la vue financeur" in c.value for c in at.caption)
        assert not any("voles ou de pairs" in spec for spec in specs)  # (the spec escapes accents)
    else:
        assert any("voles ou de pairs" in spec for spec in specs)  # (the spec escapes accents)
