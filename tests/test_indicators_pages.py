"""Query layer of the pages against values computed by hand on tests/fixtures/mini.

The fixture (see also tests/test_indicators.py):
  S1 Caen (14, Normandie 28), spectacle vivant, association, 1,5 ETP, employeuse, créée en 2005
     A1 P1 DLA 01/03/2022–30/06/2022 clos, 10 h, ECO.MODELE (+ORG.GOUVERNANCE), long
     A2 P1 DLA 01/02/2023– accompagnement, 5 h, ORG.GOUVERNANCE, appui court
  S2 Rouen (76, Normandie), musique, association, 0 ETP, non employeuse, 2010
     A3 P1 DLA 01/05/2022–31/12/2022 suivi, 20 h, ECO.GESTION, format absent
  S3 Toulouse (31, Occitanie 76), musique, association (9220), ETP et employeur absents, création absente
     A4 P2 pairs 01/03/2023–30/09/2023 clos, 14 h, ECO (+EMP.RH), long
  S4 Marseille (13, PACA 93), patrimoine, SCOP, 3 ETP, employeuse, 1999
     A5 P2 pairs 10/01/2024– diagnostic, sans heures, TRA.NUMERIQUE
  P1 plans 100 h, P2 70 h. Workshops of P2: W1 12 participants (5 adhérents), W2 8 (adhérents absents).
  Results: R1 A1 fin 80 %, ETP 1,5→1,5, budget 80 000→82 000, active; R2 A1 6 mois 90 %, ETP 1,5→2,
  budget 80 000→90 000; R3 A4 fin 50 %, ETP 0→0, budget 20 000→20 000, active.
  Testimonies: T1 P1/S1 consented; T2 P2/S3 not consented (its text holds <b>gras</b>).
"""

import datetime as dt
import re

import pandas as pd
import pytest

from pipelines.ingest import population
from pipelines.queries import besoins, resultats, structures, temoignages, territoires
from pipelines.queries.indicators import Scope
from pipelines.reports import fmt
from pipelines.store import warehouse


@pytest.fixture
def con(mini_db):
    with warehouse.read_connection(mini_db) as connection:
        yield connection


def test_structures_breakdowns(con):
    b = structures.structures_breakdowns(con, Scope())
    as_dict = lambda axe: dict(zip(b[axe]["modalite"], b[axe]["structures"]))  # noqa: E731
    assert as_dict("domaine") == {"musique": 2, "spectacle_vivant": 1, "patrimoine": 1}
    assert as_dict("forme_juridique") == {"association": 3, "scop": 1}
    # 1,5 ETP → 1 à 3 ; 0 → sans salarié ; absent → non renseigné ; 3 → 3 à 10.
    assert as_dict("taille") == {"0": 1, "1-3": 1, "3-10": 1, "nr": 1}
    assert as_dict("employeur") == {"oui": 2, "non": 1, "nr": 1}
    assert as_dict("creation") == {"b": 1, "c": 1, "d": 1, "nr": 1}  # 1999, 2005, 2010, absent
    assert b["taille"]["part"].sum() == pytest.approx(1.0)


def test_structures_table_search_and_scope(con):
    everything = structures.structures_table(con, Scope())
    assert everything["nom"].tolist() == sorted(everything["nom"]) and len(everything) == 4
    s1 = everything.set_index("id_structure").loc["S1"]
    assert (s1["accompagnements"], s1["heures"], s1["programmes"]) == (2, 15.0, "DLA Calvados test")
    assert structures.structures_table(con, Scope(), "toulouse")["id_structure"].tolist() == ["S3"]  # by commune
    assert structures.structures_table(con, Scope(), "TEST UN")["id_structure"].tolist() == ["S1"]   # case, accents
    assert structures.structures_table(con, Scope(region="28"))["id_structure"].tolist() == ["S1", "S2"]


def test_structure_profile(con):
    p = structures.structure_profile(con, Scope(), "S1")
    assert p["parcours"]["id_accompagnement"].tolist() == ["A1", "A2"]
    needs = p["besoins"].set_index("code")
    # ORG.GOUVERNANCE: other need of A1 and main need of A2 → two accompaniments, main at least once.
    assert needs.loc["ORG.GOUVERNANCE", "accompagnements"] == 2 and needs.loc["ORG.GOUVERNANCE", "principal"]
    assert needs.loc["ECO.MODELE", "accompagnements"] == 1
    assert p["resultats"]["echeance"].tolist() == ["fin", "6_mois"]
    assert p["temoignages"]["id_temoignage"].tolist() == ["T1"]
    assert structures.structure_profile(con, Scope(region="93"), "S1") is None  # not in scope
    # S3's only testimony has no consent: hidden unless the analyst view asks.
    assert structures.structure_profile(con, Scope(), "S3")["temoignages"].empty
    assert len(structures.structure_profile(con, Scope(), "S3", include_unconsented=True)["temoignages"]) == 1


def test_needs_hierarchy_axis_years_and_cooccurrence(con):
    h = besoins.hierarchy(con, Scope())
    assert dict(zip(h["code"], h["accompagnements"])) == {
        "ECO.MODELE": 1, "ECO.GESTION": 1, "ECO": 1, "ORG.GOUVERNANCE": 1, "TRA.NUMERIQUE": 1}
    assert h.set_index("code").loc["ECO", "libelle"] == "Sans précision"
    axis = besoins.by_axis(con, Scope(), "domaine").set_index(["groupe", "categorie"])["part"]
    assert axis[("musique", "ECO")] == 1.0  # A3 and A4 both ECO
    assert axis[("spectacle_vivant", "ECO")] == 0.5 and axis[("spectacle_vivant", "ORG")] == 0.5
    years = besoins.by_year(con, Scope()).set_index(["annee", "categorie"])["accompagnements"]
    assert years.to_dict() == {(2022, "ECO"): 2, (2023, "ECO"): 1, (2023, "ORG"): 1, (2024, "TRA"): 1}
    # Categories named per accompaniment: A1 {ECO, ORG}, A2 {ORG}, A3 {ECO}, A4 {ECO, EMP}, A5 {TRA}.
    co = besoins.cooccurrence(con, Scope()).set_index(["categorie_1", "categorie_2"])["accompagnements"].to_dict()
    assert co == {("ECO", "ECO"): 3, ("ECO", "ORG"): 1, ("ORG", "ECO"): 1, ("ORG", "ORG"): 2, ("ECO", "EMP"): 1,
                  ("EMP", "ECO"): 1, ("EMP", "EMP"): 1, ("TRA", "TRA"): 1}
    plural = besoins.plural_needs(con, Scope())
    assert dict(zip(plural["nb_besoins"], plural["accompagnements"])) == {1: 3, 2: 2}


def test_funnel_hours_and_workshops(con):
    f = resultats.funnel(con, Scope()).set_index(["type_programme", "etape"])["accompagnements"]
    # DLA: A1 clos, A2 accompagnement, A3 suivi. Pairs: A4 clos, A5 diagnostic.
    assert [f[("dla", e)] for e in resultats.ETAPES] == [3, 3, 3, 2, 1]
    assert [f[("pairs", e)] for e in resultats.ETAPES] == [2, 2, 1, 1, 1]
    h = resultats.hours_vs_planned(con, Scope()).set_index("id_programme")
    assert h.loc["P1", "heures_realisees"] == 35 and h.loc["P1", "taux_realisation"] == pytest.approx(0.35)
    assert h.loc["P2", "taux_realisation"] == pytest.approx(14 / 70)
    w = resultats.workshops(con, Scope()).set_index("id_programme").loc["P2"]
    assert (w["ateliers"], w["participants"], w["adherents"], w["non_adherents"]) == (2, 20, 5, 7)
    assert w["places"] == 24 and w["taux_remplissage"] == pytest.approx(20 / 24)  # 12 seats per peer workshop
    assert resultats.workshops(con, Scope(region="28")).empty  # P1 holds no workshop


def test_follow_up_cohorts_and_formats(con):
    f = resultats.follow_up(con, Scope()).set_index("echeance")
    assert f.index.tolist() == ["fin", "6_mois"]
    fin = f.loc["fin"]
    assert (fin["mesures"], fin["objectifs_atteints"], fin["structures"]) == (2, 65.0, 2)
    assert (fin["etp_avant"], fin["etp_apres"]) == (1.5, 1.5)
    assert (fin["budget_avant"], fin["budget_apres"]) == (50_000, 51_000)  # mean of S1 and S3
    assert fin["part_active"] == 1.0
    six = f.loc["6_mois"]
    assert (six["etp_avant"], six["etp_apres"], six["budget_apres"]) == (1.5, 2.0, 90_000)
    c = resultats.cohorts(con, Scope()).set_index("annee")
    assert c.loc[2022, "accompagnements"] == 2 and c.loc[2022, "part_clos"] == 0.5
    assert c.loc[2022, "objectifs_fin"] == 80 and c.loc[2022, "heures_moyennes"] == 15
    assert c.loc[2023, "objectifs_fin"] == 50
    fm = resultats.formats(con, Scope()).set_index("format")
    assert fm.loc["accompagnement_long", "accompagnements"] == 2 and fm.loc["appui_court", "heures"] == 5
    assert fm.loc["accompagnement_long", "duree_mediane_jours"] == pytest.approx((121 + 213) / 2)
    assert fm.loc["nr", "accompagnements"] == 2


def test_testimonies_need_consent(con):
    published = temoignages.temoignages(con, Scope())
    assert published["temoignages"]["id_temoignage"].tolist() == ["T1"]
    assert (published["total"], published["sans_consentement"]) == (1, 1)
    everything = temoignages.temoignages(con, Scope(), include_unconsented=True)
    assert everything["temoignages"]["id_temoignage"].tolist() == ["T2", "T1"]
    assert "<b>gras</b>" in everything["temoignages"].iloc[0]["texte"]  # kept raw; pages show it as plain text
    assert temoignages.temoignages(con, Scope(region="76"))["total"] == 0
    assert temoignages.temoignages(con, Scope(depuis=dt.date(2023, 1, 1)))["total"] == 0  # T1 dated 2022


def test_territories_without_reference_population(con):
    t = territoires.by_territory(con, Scope(region="28"), "departement").set_index("code")
    assert len(t) == 5  # the five départements of Normandie
    assert (t.loc["14", "structures"], t.loc["14", "accompagnements"], t.loc["14", "heures"]) == (1, 2, 15.0)
    assert t.loc["14", "heures_par_structure"] == 15.0
    population_14 = con.execute("SELECT sum(population) FROM geo_communes WHERE code_departement = '14' "
                                "AND NOT arrondissement").fetchall()[0][0]
    assert t.loc["14", "taux_100k"] == pytest.approx(100_000 / population_14)
    assert t["couverture"].isna().all()
    regions = territoires.by_territory(con, Scope(), "region").set_index("code")
    assert regions.loc["28", "structures"] == 2 and regions.loc["11", "structures"] == 0


def test_coverage_rate_with_a_reference_population(mini_db, tmp_path):
    csv = tmp_path / "ref.csv"
    csv.write_text("code_territoire;niveau;nb_structures_reference;source;annee\n28;region;8;Test;2025\n"
                   "14;departement;4;Test;2025\n", encoding="utf-8")
    assert population.load_reference_population(mini_db, csv) == 2
    with warehouse.read_connection(mini_db) as con:
        regions = territoires.by_territory(con, Scope(), "region").set_index("code")
        deps = territoires.by_territory(con, Scope(), "departement").set_index("code")
        portrait = territoires.portrait(con, Scope(), "14", "region").set_index("cle")
    assert regions.loc["28", "couverture"] == pytest.approx(2 / 8)
    assert deps.loc["14", "couverture"] == pytest.approx(1 / 4) and deps["couverture"].notna().sum() == 1
    assert (portrait.loc["structures", "territoire"], portrait.loc["structures", "reference"]) == (1, 2)
    assert (portrait.loc["heures", "territoire"], portrait.loc["heures", "reference"]) == (15, 35)
    assert portrait.loc["couverture", "territoire"] == pytest.approx(0.25)
    assert portrait.loc["couverture", "reference"] == pytest.approx(0.25)
    assert portrait.loc["part_long", "territoire"] == 0.5  # A1 long, A2 short


def test_coverage_over_a_range_of_reference_populations_is_an_interval(mini_db, tmp_path):
    """The Basse-Normandie case of issue 16: structures ÷ max … structures ÷ min, in every place it is read."""
    from pipelines.queries import vue_ensemble

    csv = tmp_path / "ref.csv"
    csv.write_text("code_territoire;niveau;nb_structures_reference;source;annee;nb_structures_reference_max\n"
                   "28;region;4;Sirène / enquête;2025;10\n14;departement;4;Test;2025;\n", encoding="utf-8")
    assert population.load_reference_population(mini_db, csv) == 2
    with warehouse.read_connection(mini_db) as con:
        regions = territoires.by_territory(con, Scope(), "region").set_index("code")
        deps = territoires.by_territory(con, Scope(region="28"), "departement").set_index("code")
        side = territoires.comparison(con, Scope(), ["14", "76"], "region").set_index("cle")
        region_kpis = vue_ensemble.kpis(con, Scope(region="28"))
        dep_kpis = vue_ensemble.kpis(con, Scope(departement="14"))
        no_ref_kpis = vue_ensemble.kpis(con, Scope(region="76"))
    # Normandie: 2 structures among 4 … 10.
    assert (regions.loc["28", "couverture_min"], regions.loc["28", "couverture_max"]) == pytest.approx((0.2, 0.5))
    assert regions.loc["28", "couverture"] == pytest.approx(0.35)  # the middle colours the map
    assert (deps.loc["14", "couverture_min"], deps.loc["14", "couverture_max"]) == pytest.approx((0.25, 0.25))
    assert pd.isna(deps.loc["76", "couverture_min"])  # Seine-Maritime: no reference supplied
    assert region_kpis["taux_couverture"] == {"min": 0.2, "max": 0.5}
    assert dep_kpis["taux_couverture"] == pytest.approx(0.25)  # a plain reference: a number
    assert no_ref_kpis["taux_couverture"] is None
    # Side by side: Calvados and Seine-Maritime, and Normandie as the reference.
    assert (side.loc["structures", "14"], side.loc["structures", "76"], side.loc["structures", "reference"]) == (1, 1, 2)
    assert (side.loc["couverture_min", "reference"], side.loc["couverture_max", "reference"]) == pytest.approx((0.2, 0.5))
    assert side.loc["couverture", "76"] is None or pd.isna(side.loc["couverture", "76"])
    assert fmt.couverture(0.2, 0.5) == "20,0 – 50,0\u00a0%" and fmt.couverture(0.25, 0.25) == "25,0\u00a0%"


def test_the_kpis_cli_prints_a_coverage_range_as_min_and_max(mini_db, tmp_path, capsys):
    import json

    from pipelines import __main__ as cli

    csv = tmp_path / "ref.csv"
    csv.write_text("code_territoire;niveau;nb_structures_reference;nb_structures_reference_max\n28;region;350;850\n",
                   encoding="utf-8")
    assert cli.main(["population", "--db", str(mini_db), str(csv)]) == 0
    capsys.readouterr()
    assert cli.main(["kpis", "--db", str(mini_db), "--region", "28"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["taux_couverture"] == {"min": round(2 / 850, 6), "max": round(2 / 350, 6)}
    assert cli.main(["kpis", "--db", str(mini_db), "--region", "28", "--vue", "financeur"]) == 0
    assert json.loads(capsys.readouterr().out)["taux_couverture"] == "secret"  # 2 structures: the count is secret


def test_a_reference_range_upside_down_is_refused_with_its_line(mini_db, tmp_path):
    csv = tmp_path / "ref.csv"
    csv.write_text("code_territoire;niveau;nb_structures_reference;nb_structures_reference_max\n28;region;850;350\n",
                   encoding="utf-8")
    with pytest.raises(population.ReferencePopulationError, match="Ligne 2, colonne nb_structures_reference_max"):
        population.load_reference_population(mini_db, csv)


@pytest.mark.parametrize("content, message", [
    ("code_territoire;niveau\n28;region\n", "Colonne(s) manquante(s) : nb_structures_reference"),
    ("code_territoire;niveau;nb_structures_reference\n28;pays;3\n", "Ligne 2, colonne niveau"),
    ("code_territoire;niveau;nb_structures_reference\n28;region;beaucoup\n", "Ligne 2, colonne nb_structures_reference"),
    ("code_territoire;niveau;nb_structures_reference\n99;region;3\n", "Ligne 2, colonne code_territoire"),
    ("code_territoire;niveau;nb_structures_reference\n28;region;3\n28;région;4\n", "apparaît 2 fois"),
])
def test_reference_population_errors_name_the_line_and_column(mini_db, tmp_path, content, message):
    csv = tmp_path / "ref.csv"
    csv.write_text(content, encoding="utf-8")
    with pytest.raises(population.ReferencePopulationError, match=re.escape(message)):
        population.load_reference_population(mini_db, csv)


def test_zones_blanches(con):
    # Everyone accompanied over the whole period: Rouen's EPCI is not blank.
    whole = territoires.zones_blanches(con, Scope())
    rouen_epci = con.execute("SELECT code_epci FROM geo_communes WHERE code = '76540'").fetchall()[0][0]
    assert rouen_epci not in set(whole["code_epci"])
    # In 2024 only A2 (S1 Caen, still open) and A5 (Marseille) are active: Rouen's EPCI becomes blank,
    # with one known structure (S2, accompanied in 2022).
    y2024 = territoires.zones_blanches(con, Scope(depuis=dt.date(2024, 1, 1), jusqu_au=dt.date(2024, 12, 31)))
    caen_epci = con.execute("SELECT code_epci FROM geo_communes WHERE code = '14118'").fetchall()[0][0]
    assert caen_epci not in set(y2024["code_epci"])
    row = y2024.set_index("code_epci").loc[rouen_epci]
    assert row["structures_connues"] == 1
    assert y2024["structures_connues"].iloc[0] >= 1  # zones with known structures come first
    # The perimeter is the three régions with structures.
    regions = set(con.execute("SELECT DISTINCT code_region FROM geo_departements WHERE code IN "
                              "(SELECT unnest($c))", {"c": y2024["code_departement"].unique().tolist()}).df()["code_region"])
    assert regions <= {"28", "76", "93"}


def test_population_cli_loads_the_reference_or_refuses_with_the_line(mini_db, tmp_path, capsys):
    from pipelines import __main__ as cli

    good = tmp_path / "ref.csv"
    good.write_text("code_territoire;niveau;nb_structures_reference;source;annee\n28;region;8;Test;2025\n",
                    encoding="utf-8")
    assert cli.main(["population", "--db", str(mini_db), str(good)]) == 0
    assert "1 territoire" in capsys.readouterr().out
    bad = tmp_path / "mauvais.csv"
    bad.write_text("code_territoire;niveau;nb_structures_reference\n99;region;3\n", encoding="utf-8")
    assert cli.main(["population", "--db", str(mini_db), str(bad)]) == 1
    assert "Ligne 2, colonne code_territoire" in capsys.readouterr().err
    with warehouse.read_connection(mini_db) as con:  # the refused file left the loaded one in place
        regions = territoires.by_territory(con, Scope(), "region").set_index("code")
    assert regions.loc["28", "couverture"] == pytest.approx(2 / 8)


def test_orientation_shares_and_volunteer_hours_follow_the_fixture(mini_db):
    """kpis' part_orientation (code → share, 'nr' when not given) and heures_benevoles (sum), from the file."""
    import json
    import subprocess
    import sys

    from tests.conftest import MINI, REPO_DIR

    accs = pd.read_csv(MINI / "accompagnements.csv", sep=";", dtype=str, keep_default_na=False)
    expected = accs["orientation"].replace("", "nr").value_counts(normalize=True).round(4).to_dict()
    hours = accs["heures_benevoles"].replace("", "0").str.replace(",", ".").astype(float).sum()
    out = subprocess.run([sys.executable, "-m", "pipelines", "kpis", "--db", str(mini_db)], cwd=REPO_DIR,
                         capture_output=True, text=True, timeout=120)
    printed = json.loads(out.stdout)
    assert printed["part_orientation"] == expected and printed["heures_benevoles"] == hours
    funder = json.loads(subprocess.run([sys.executable, "-m", "pipelines", "kpis", "--vue", "financeur", "--db",
                                        str(mini_db)], cwd=REPO_DIR, capture_output=True, text=True,
                                       timeout=120).stdout)
    assert funder["part_orientation"] == "secret" and funder["heures_benevoles"] == "secret"
