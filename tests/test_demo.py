"""The synthetic demo: deterministic, shaped like the field, and valid under the contract.

These tests read the CSV files with the csv module and pandas only, and restate the
contract (docs: /work/shared/spec/format-echange-v1.md) rather than importing it, so
that a drift between the generator and the contract shows here. The last test loads
the demo through the project's ingestion, end to end.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pandas as pd
import pytest
from stdnum.fr import siret

from pipelines.demo import generate as demo
from pipelines.geo import reference as geo
from pipelines.store import warehouse

DATASETS = ("structures", "programmes", "accompagnements", "ateliers", "resultats", "temoignages")
PLAN_DATASETS = ("plans", "enjeux", "actions", "decisions")  # v1.1: the sector plans of the demo régions
OPP_DATASETS = ("observations",)  # v1.1: what structures declared of themselves
COLUMNS = {
    "structures": ["id_structure", "nom", "siret", "rna", "forme_juridique", "domaine", "code_commune",
                   "annee_creation", "effectif_etp", "nb_benevoles", "budget_annuel", "employeur",
                   "latitude", "longitude"],
    "programmes": ["id_programme", "nom", "operateur", "type", "code_region", "date_debut", "date_fin",
                   "financeurs", "heures_prevues"],
    "accompagnements": ["id_accompagnement", "id_structure", "id_programme", "date_debut", "date_fin", "etape",
                        "modalite", "heures", "besoin_principal", "besoins", "format", "orientation",
                        "heures_benevoles", "intervenant"],
    "ateliers": ["id_atelier", "id_programme", "date", "theme", "duree_heures", "nb_participants", "nb_adherents"],
    "resultats": ["id_resultat", "id_accompagnement", "echeance", "date_mesure", "objectifs_atteints", "etp_avant",
                  "etp_apres", "budget_avant", "budget_apres", "structure_active", "satisfaction"],
    "temoignages": ["id_temoignage", "id_programme", "id_structure", "date", "auteur_role", "texte", "lien_media",
                    "consentement_publication"],
    "plans": ["id_plan", "nom", "code_region", "porteur", "date_debut", "date_fin"],
    "enjeux": ["id_enjeu", "id_plan", "numero", "intitule", "mots_cles"],
    "actions": ["id_action", "id_plan", "enjeux", "intitule", "pilote", "partenaires", "echeance", "statut",
                "indicateur", "indicateur_besoin", "indicateur_programme", "cible", "commentaire"],
    "decisions": ["id_decision", "id_action", "date_comite", "decision", "statut", "auteur_role"],
    "observations": ["id_observation", "id_structure", "annee", "effectif_etp", "nb_salaries", "nb_benevoles",
                     "heures_benevolat", "budget_annuel", "part_recettes_propres", "nb_evenements", "public_touche",
                     "besoins", "commentaire", "source"],
}
ID_PATTERNS = {"structures": r"S\d{4}", "programmes": r"P\d{2}", "accompagnements": r"A\d{5}",
               "ateliers": r"W\d{4}", "resultats": r"R\d{5}", "temoignages": r"T\d{4}"}
DATES = {"programmes": ["date_debut", "date_fin"], "accompagnements": ["date_debut", "date_fin"],
         "ateliers": ["date"], "resultats": ["date_mesure"], "temoignages": ["date"],
         "plans": ["date_debut", "date_fin"], "actions": ["echeance"], "decisions": ["date_comite"]}
DECIMALS = {"structures": ["effectif_etp", "budget_annuel", "latitude", "longitude"],
            "programmes": ["heures_prevues"], "accompagnements": ["heures", "heures_benevoles"],
            "observations": ["effectif_etp", "heures_benevolat", "budget_annuel"],
            "ateliers": ["duree_heures"], "resultats": ["etp_avant", "etp_apres", "budget_avant", "budget_apres"]}
INTEGERS = {"structures": ["annee_creation", "nb_benevoles"], "ateliers": ["nb_participants", "nb_adherents"],
            "resultats": ["objectifs_atteints", "satisfaction"], "enjeux": ["numero"], "actions": ["cible"]}
BOOLEANS = {"structures": ["employeur"], "resultats": ["structure_active"],
            "temoignages": ["consentement_publication"]}
DOMAINES = {"spectacle_vivant", "musique", "arts_visuels", "patrimoine", "audiovisuel_cinema", "livre_edition_presse",
            "arts_rue_cirque", "architecture", "publicite", "enseignement_artistique", "action_culturelle",
            "pluridisciplinaire", "autre"}
FORMES = {"association", "fondation", "scop", "scic", "cae", "sarl", "sas", "ei", "collectivite", "autre"}
BESOINS = {
    "ECO": ["MODELE", "GESTION", "FINANCEMENT", "DIVERSIFICATION"],
    "ORG": ["GOUVERNANCE", "ORGANISATION", "JURIDIQUE"],
    "EMP": ["RH", "MUTUALISATION", "CONDITIONS", "COMPETENCES"],
    "STR": ["PROJET", "ACTIVITES", "COOPERATION"],
    "EXT": ["EVALUATION", "COMMUNICATION", "PARTENARIATS", "PUBLICS"],
    "TRA": ["CRISE", "ECOLOGIQUE", "NUMERIQUE"],
}
NEED_CODES = set(BESOINS) | {f"{c}.{k}" for c, codes in BESOINS.items() for k in codes}
ENUMS = {
    ("structures", "forme_juridique"): FORMES,
    ("structures", "domaine"): DOMAINES,
    ("programmes", "type"): {"dla", "pole_accompagnement", "pairs", "collectif_sectoriel", "autre"},
    ("accompagnements", "etape"): {"accueil", "diagnostic", "accompagnement", "suivi", "clos"},
    ("accompagnements", "modalite"): {"individuel", "collectif", "pairs"},
    ("accompagnements", "besoin_principal"): NEED_CODES,
    ("accompagnements", "format"): {"", "appui_court", "accompagnement_long"},
    ("accompagnements", "orientation"): {"", "direct", "prescripteur", "reseau"},
    ("resultats", "echeance"): {"fin", "6_mois", "12_mois"},
}
REGIONS = {"28", "76", "93"}
TODAY = dt.date(2026, 6, 30)
# A few common first names: structure names are assembled from words, never from a person.
FIRST_NAMES = {"jean", "marie", "pierre", "michel", "anne", "sophie", "nicolas", "nathalie", "isabelle", "philippe",
               "catherine", "françois", "julien", "camille", "thomas", "claire", "laurent", "sylvie", "paul", "julie"}


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def dates(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column.replace("", None), format="%d/%m/%Y")


def numbers(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column.replace("", None).str.replace(",", ".", regex=False))


@pytest.fixture(scope="module")
def files() -> dict[str, pd.DataFrame]:
    return {name: read(demo.DEMO_DIR / f"{name}.csv") for name in DATASETS + PLAN_DATASETS + OPP_DATASETS}


@pytest.fixture(scope="module")
def communes() -> pd.DataFrame:
    frame = pd.read_parquet(warehouse.REPO_DIR / "data" / "geo" / "communes.parquet")
    return frame[~frame["arrondissement"]]


def test_two_generations_are_byte_identical_and_match_the_committed_files(tmp_path):
    first = demo.generate_demo(tmp_path / "a")
    second = demo.generate_demo(tmp_path / "b", seed=2026)
    assert set(DATASETS) <= set(first) and first.keys() == second.keys()
    for name, path in first.items():
        assert path.name == f"{name}.csv" and path.parent == tmp_path / "a"
        assert path.read_bytes() == second[name].read_bytes(), f"{name}.csv differs between two runs"
        assert path.read_bytes() == (demo.DEMO_DIR / path.name).read_bytes(), \
            f"data/demo/{path.name} is stale: rerun python -m pipelines.demo"


def test_another_seed_gives_another_demo(tmp_path):
    other = demo.generate_demo(tmp_path, seed=7)
    assert other["accompagnements"].read_bytes() != (demo.DEMO_DIR / "accompagnements.csv").read_bytes()


def test_cli_writes_every_file(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--seed", "2026"]) == 0
    for name in DATASETS + PLAN_DATASETS + OPP_DATASETS:
        assert (tmp_path / f"{name}.csv").read_bytes() == (demo.DEMO_DIR / f"{name}.csv").read_bytes()
    assert "structures.csv" in capsys.readouterr().out


@pytest.mark.parametrize("name", DATASETS + PLAN_DATASETS + OPP_DATASETS)
def test_files_look_like_french_office_exports(name):
    raw = (demo.DEMO_DIR / f"{name}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == COLUMNS[name], "header = the exact column names of the contract"
    assert all(len(row) == len(rows[0]) for row in rows[1:])
    frame = read(demo.DEMO_DIR / f"{name}.csv")
    for column in frame.columns:
        assert (frame[column] == frame[column].str.strip()).all(), f"{name}.{column}: untrimmed cell"
    for column in DATES.get(name, []):
        assert frame[column].str.fullmatch(r"|\d{2}/\d{2}/\d{4}").all(), f"{name}.{column}: JJ/MM/AAAA"
    for column in DECIMALS.get(name, []):
        assert frame[column].str.fullmatch(r"|-?\d+(,\d+)?").all(), f"{name}.{column}: decimal comma, no dot"
    for column in INTEGERS.get(name, []):
        assert frame[column].str.fullmatch(r"|\d+").all(), f"{name}.{column}: integer"
    for column in BOOLEANS.get(name, []):
        assert set(frame[column]) <= {"oui", "non", ""}, f"{name}.{column}: oui/non"


def test_decimal_commas_and_lists_are_really_used(files):
    assert files["structures"]["effectif_etp"].str.contains(",").any()
    assert files["accompagnements"]["heures"].str.contains(",").any()
    assert files["accompagnements"]["besoins"].str.contains("|", regex=False).any()
    assert files["programmes"]["financeurs"].str.contains("|", regex=False).all()


def test_volumes(files):
    assert len(files["structures"]) >= 500
    assert len(files["accompagnements"]) >= 800
    assert len(files["ateliers"]) >= 100
    assert 140 <= len(files["temoignages"]) <= 200
    assert set(files["resultats"]["echeance"]) == {"fin", "6_mois", "12_mois"}


def test_identifiers_are_unique_and_shaped(files):
    for name, pattern in ID_PATTERNS.items():
        ids = files[name][COLUMNS[name][0]]
        assert ids.is_unique, name
        assert ids.str.fullmatch(pattern).all(), name


def test_every_reference_resolves(files):
    structures = set(files["structures"]["id_structure"])
    programmes = set(files["programmes"]["id_programme"])
    accs = files["accompagnements"]
    assert set(accs["id_structure"]) <= structures
    assert set(accs["id_programme"]) <= programmes
    assert set(files["ateliers"]["id_programme"]) <= programmes
    assert set(files["resultats"]["id_accompagnement"]) <= set(accs["id_accompagnement"])
    assert set(files["temoignages"]["id_programme"]) <= programmes
    assert set(files["temoignages"]["id_structure"]) - {""} <= structures
    # Every structure of the demo is followed at least once.
    assert set(accs["id_structure"]) == structures


def test_each_region_with_a_plan_has_stakes_actions_and_past_meetings(files):
    plans, stakes, actions, decisions = (files[n] for n in PLAN_DATASETS)
    assert set(plans["code_region"]) <= REGIONS and plans["code_region"].is_unique
    assert set(stakes["id_plan"]) == set(actions["id_plan"]) == set(plans["id_plan"])
    plan_of_stake = dict(zip(stakes["id_enjeu"], stakes["id_plan"]))
    for plan, listed in zip(actions["id_plan"], actions["enjeux"]):
        assert listed and all(plan_of_stake[s] == plan for s in listed.split("|")), "stakes of the action's plan"
    assert set(decisions["id_action"]) <= set(actions["id_action"])
    meetings = dates(decisions["date_comite"])
    assert meetings.nunique() >= 2 and (meetings <= pd.Timestamp(TODAY)).all()


def test_exactly_three_regions_and_every_commune_exists(files, communes):
    structures = files["structures"]
    assert structures["code_commune"].str.fullmatch(r"\d[\dAB]\d{3}").all()
    located = structures.merge(communes, left_on="code_commune", right_on="code", how="left")
    assert located["code"].notna().all(), "every commune code exists in data/geo/communes.parquet"
    assert set(located["code_region"]) == REGIONS
    assert set(files["programmes"]["code_region"]) == REGIONS
    # Structures gather in towns: most communes, and some whole départements, see few or none.
    regional = communes[communes["code_region"].isin(REGIONS)]
    assert structures["code_commune"].nunique() < 0.1 * len(regional)
    per_departement = located.groupby("code_departement").size()
    assert per_departement.min() < 3, "a small département for the statistical secrecy"
    assert per_departement.max() > 10 * per_departement.min()


def test_enumerations_and_reference_lists(files):
    for (name, column), allowed in ENUMS.items():
        assert set(files[name][column]) <= allowed, f"{name}.{column}"
    for needs in files["accompagnements"]["besoins"]:
        assert set(needs.split("|")) <= NEED_CODES


def test_needs_shares_follow_the_field(files):
    accs = files["accompagnements"]
    shares = accs["besoin_principal"].str.split(".").str[0].value_counts(normalize=True)
    assert 0.55 <= shares["ECO"] <= 0.65
    assert 0.20 <= shares["ORG"] <= 0.30
    assert set(shares.index) == set(BESOINS)  # the rest split among EMP, STR, EXT, TRA
    lists = accs["besoins"].str.split("|")
    assert lists.map(len).between(1, 3).all()
    assert all(p in needs for p, needs in zip(accs["besoin_principal"], lists))


def test_structures_look_like_cultural_ess(files):
    s = files["structures"]
    assert s["nom"].is_unique
    assert not any(word.lower() in FIRST_NAMES for name in s["nom"] for word in re.split(r"[\s'-]+", name))
    formes = s["forme_juridique"].value_counts(normalize=True)
    assert formes["association"] > 0.75 and {"scop", "scic", "sarl"} <= set(formes.index)
    assert list(s["domaine"].value_counts().index[:2]) == ["spectacle_vivant", "musique"]
    etp, budget = numbers(s["effectif_etp"]), numbers(s["budget_annuel"])
    assert (etp >= 0).all() and (etp == 0).mean() > 0.3 and etp.mean() > etp.median()
    assert budget.min() >= 1000 and budget.max() <= 2_000_000 and budget.mean() > 1.5 * budget.median()
    assert ((etp > 0) == (s["employeur"] == "oui")).all(), "employeur consistent with ETP"
    years = numbers(s["annee_creation"])
    assert years.between(1800, TODAY.year).all()
    first = dates(files["accompagnements"]["date_debut"]).groupby(files["accompagnements"]["id_structure"]).min()
    assert (years.to_numpy() <= s["id_structure"].map(first.dt.year).to_numpy()).all()
    assert (numbers(s["nb_benevoles"]) >= 0).all()
    lat, lon = s["latitude"] == "", s["longitude"] == ""
    assert (lat == lon).all(), "latitude and longitude: both or neither"


def test_sirets_and_rna(files):
    s = files["structures"]
    sirets = s.loc[s["siret"] != "", "siret"]
    assert len(sirets) > 0.5 * len(s) and sirets.is_unique
    assert all(siret.is_valid(v) for v in sirets)
    rna = s.loc[s["rna"] != ""]
    assert rna["rna"].str.fullmatch(r"W\d{9}").all()
    assert (rna["forme_juridique"] == "association").all()
    assert (s.loc[s["forme_juridique"] == "association", "rna"] == "").any(), "some RNA missing"


def test_dates_follow_the_rules_and_stop_before_the_demo_today(files):
    p, accs = files["programmes"], files["accompagnements"]
    for name, columns in DATES.items():
        for column in columns:
            if name in ("plans", "actions"):
                continue  # a plan and its deadlines run past the demo's today, by design
            assert (dates(files[name][column]).dropna() <= pd.Timestamp(TODAY)).all(), f"{name}.{column}"
    assert (dates(p["date_fin"]).isna() | (dates(p["date_fin"]) >= dates(p["date_debut"]))).all()
    start, end = dates(accs["date_debut"]), dates(accs["date_fin"])
    assert (end.isna() | (end >= start)).all()
    assert start.min().year == 2021 and start.max().year == 2026
    # Supports happen while their programme runs.
    prog = p.set_index("id_programme")
    assert (start >= dates(accs["id_programme"].map(prog["date_debut"]))).all()
    prog_end = dates(accs["id_programme"].map(prog["date_fin"]))
    assert (prog_end.isna() | end.isna() | (end <= prog_end)).all()
    ateliers = files["ateliers"]
    assert (dates(ateliers["date"]) >= dates(ateliers["id_programme"].map(prog["date_debut"]))).all()


def test_growth_and_stages_over_time(files):
    accs = files["accompagnements"]
    start = dates(accs["date_debut"])
    per_year = start.dt.year.value_counts().sort_index()
    assert per_year.loc[2021:2025].is_monotonic_increasing and per_year[2025] > 1.8 * per_year[2021]
    assert per_year[2026] > 0.4 * per_year[2025]  # half a year, still growing
    ended = accs["date_fin"] != ""
    assert set(accs.loc[ended, "etape"]) == {"clos", "suivi"}
    assert set(accs.loc[~ended, "etape"]) == {"accueil", "diagnostic", "accompagnement"}
    assert set(accs.loc[start.dt.year < 2025, "etape"]) == {"clos", "suivi"}
    assert (start[~ended] > pd.Timestamp(2025, 1, 1)).all()
    hours = numbers(accs["heures"])
    assert (hours.dropna() >= 0).all() and (numbers(accs["heures_benevoles"]).dropna() >= 0).all()


def test_programme_shapes(files):
    p, accs, ateliers = files["programmes"], files["accompagnements"], files["ateliers"]
    departements = pd.read_parquet(warehouse.REPO_DIR / "data" / "geo" / "departements.parquet")
    departements = departements[departements["code_region"].isin(REGIONS)]
    dla = p[p["type"] == "dla"]
    assert sorted(dla["nom"]) == sorted(f"DLA {n}" for n in departements["nom"])
    assert dla["operateur"].str.startswith("DLA départemental — ").all()
    assert (dla["heures_prevues"] != "").all()

    pole = p[p["type"] == "pole_accompagnement"]
    assert len(pole) == 1 and pole["code_region"].iloc[0] == "93" and "Marseille" in pole["nom"].iloc[0]
    formats = accs.loc[accs["id_programme"] == pole["id_programme"].iloc[0], "format"].value_counts()
    assert formats["appui_court"] > 1.5 * formats["accompagnement_long"] > 0

    plan = p[p["type"] == "collectif_sectoriel"]
    assert len(plan) == 1 and plan["code_region"].iloc[0] == "28"
    assert (ateliers["id_programme"] == plan["id_programme"].iloc[0]).sum() >= 10

    sessions = p[p["type"] == "pairs"]
    assert len(sessions) >= 2 and set(sessions["code_region"]) == {"76"}
    persons = set()
    for session in sessions["id_programme"]:
        supports = accs[accs["id_programme"] == session]
        assert len(supports) == 5
        assert (supports["modalite"] == "pairs").all()
        assert numbers(supports["heures"]).between(14, 28).all()
        assert (numbers(supports["heures_benevoles"]) > 0).all()
        assert supports["intervenant"].str.fullmatch(r"Personne ressource (0[1-9]|10)").all()
        assert supports["intervenant"].is_unique
        persons |= set(supports["intervenant"])
        workshops = ateliers[ateliers["id_programme"] == session]
        assert len(workshops) == 8
        participants, members = numbers(workshops["nb_participants"]), numbers(workshops["nb_adherents"])
        assert (participants <= 12).all() and (members <= participants).all() and (members < participants).any()
    assert len(persons) == 10, "10 resource persons"


def test_workshops(files):
    ateliers = files["ateliers"]
    participants, members = numbers(ateliers["nb_participants"]), numbers(ateliers["nb_adherents"])
    assert (participants >= 0).all() and members.between(0, participants).all()
    assert (numbers(ateliers["duree_heures"]) > 0).all() and (ateliers["theme"] != "").all()


def test_results_follow_the_supports(files):
    accs = files["accompagnements"].set_index("id_accompagnement")
    res = files["resultats"]
    assert not res.duplicated(["id_accompagnement", "echeance"]).any()
    measured = dates(res["date_mesure"])
    assert (measured >= dates(res["id_accompagnement"].map(accs["date_debut"]))).all()
    closed = accs.index[accs["etape"] == "clos"]
    assert set(closed) <= set(res.loc[res["echeance"] == "fin", "id_accompagnement"]), "closed supports have `fin`"
    counts = res["echeance"].value_counts()
    assert counts["fin"] > counts["6_mois"] > counts["12_mois"] > 0
    assert counts["6_mois"] > 0.5 * counts["fin"]
    assert numbers(res["objectifs_atteints"]).between(0, 100).all()
    assert numbers(res["satisfaction"]).between(1, 5).all()
    for column in ("etp_avant", "etp_apres", "budget_avant", "budget_apres"):
        assert (numbers(res[column]) >= 0).all()
    growth = numbers(res["budget_apres"]) / numbers(res["budget_avant"])
    assert 1.0 < growth.median() < 1.2
    inactive = res["structure_active"] == "non"
    assert 0 < inactive.sum() < 0.05 * len(res) and set(res.loc[inactive, "echeance"]) == {"12_mois"}


def test_testimonies_respect_consent_and_never_name_anyone(files):
    t = files["temoignages"]
    consent = t["consentement_publication"]
    assert set(consent) == {"oui", "non"} and 0.1 <= (consent == "non").mean() <= 0.3
    assert set(t["auteur_role"]) <= set(demo.ROLES) and "personne ressource" in set(t["auteur_role"])
    assert (t["texte"].str.len().between(20, 5000)).all()
    assert t["texte"].nunique() > 0.8 * len(t), "varied texts"
    words = {w.lower() for text in t["texte"] for w in re.findall(r"[A-Za-zÀ-ÿ]+", text)}
    assert not words & FIRST_NAMES
    media = t.loc[t["lien_media"] != "", "lien_media"]
    assert 0 < len(media) < 0.3 * len(t) and media.str.startswith("https://example.org/").all()
    assert (t["id_structure"] == "").any()


def test_testimonies_vary_in_shape_and_length_and_speak_of_what_the_support_worked_on(files):
    t = files["temoignages"]
    lengths = t["texte"].str.len()
    assert (lengths < 60).mean() > 0.1 and (lengths > 200).mean() > 0.1, "short words and long stories"
    opening = t["texte"].str.split(".").str[0]
    assert opening.isin(demo.BEFORE).mean() < 0.6, "not every testimony opens on how things were before"
    assert t["texte"].str.contains(r"\bmais\b|aurait fallu|moins pour").mean() > 0.05, "some reservations"
    # A structure's testimony names something of its support's need category, when it names a need at all.
    accs = files["accompagnements"]
    categories = accs.assign(categorie=accs["besoin_principal"].str.split(".").str[0]) \
        .groupby(["id_structure", "id_programme"])["categorie"].agg(set)
    named = [(text, categories.get((s, p), set())) for text, s, p in
             zip(t["texte"], t["id_structure"], t["id_programme"]) if s]
    phrases = {c: demo.BROUGHT[c] for c in demo.BROUGHT}
    naming = [(text, cats) for text, cats in named if any(p in text for ps in phrases.values() for p in ps)]
    assert len(naming) > 0.5 * len(named)
    on_topic = [any(p in text for c in cats for p in phrases[c]) for text, cats in naming]
    assert sum(on_topic) == len(on_topic)
    assert not t["texte"].str.contains(r"\b(?:de|que) [aeiouéèh]", case=False).any(), "French elision"


def test_coordinates_near_the_commune_centre_when_the_reference_has_centres(tmp_path, monkeypatch):
    real = geo.read_communes()

    def with_centres():
        frame = real.copy()
        frame["latitude"], frame["longitude"] = 44.0, 4.0
        return frame

    monkeypatch.setattr(geo, "read_communes", with_centres)
    paths = demo.generate_demo(tmp_path)
    s = read(paths["structures"])
    lat, lon = numbers(s["latitude"]), numbers(s["longitude"])
    assert (lat.isna() == lon.isna()).all()
    assert 0.2 < lat.notna().mean() < 0.4
    assert ((lat.dropna() - 44).abs() < 0.1).all() and ((lon.dropna() - 4).abs() < 0.1).all()
    # Coordinates have their own generator: nothing else moves.
    for name in DATASETS[1:]:
        assert paths[name].read_bytes() == (demo.DEMO_DIR / f"{name}.csv").read_bytes()


def test_the_demo_loads_through_ingestion_without_a_single_rejected_line(demo_db):
    with warehouse.read_connection(demo_db) as con:
        imports = con.execute("SELECT nb_lus, nb_rejetes FROM imports").fetchall()
        regions = {r[0] for r in con.execute(
            "SELECT DISTINCT c.code_region FROM structures s JOIN geo_communes c ON c.code = s.code_commune").fetchall()}
    assert imports[0][1] == 0 and imports[0][0] == sum(
        len(read(demo.DEMO_DIR / f"{n}.csv")) for n in DATASETS + PLAN_DATASETS + OPP_DATASETS)
    assert regions == REGIONS


def test_observations_follow_their_structures_over_two_campaigns(files):
    """Each campaign answered by a share of the structures, once per structure and year, figures near the
    structure's own description; most answers through the questionnaire."""
    obs, structures = files["observations"], files["structures"]
    assert set(obs["id_structure"]) <= set(structures["id_structure"])
    assert not obs.duplicated(["id_structure", "annee"]).any()
    shares = obs.groupby("annee")["id_structure"].nunique() / len(structures)
    assert list(shares.index) == ["2024", "2025"] and 0.35 < shares["2024"] < shares["2025"] < 0.7
    assert (obs["source"] == "questionnaire").mean() > 0.75 and (obs["source"] == "import").any()
    etp = obs["effectif_etp"].str.replace(",", ".").astype(float)
    declared = etp.groupby(obs["id_structure"]).mean()
    described = structures.set_index("id_structure")["effectif_etp"].str.replace(",", ".").astype(float)
    assert (declared - described.reindex(declared.index)).abs().median() < 0.5


def test_names_do_not_contradict_legal_forms_and_programmes_differ_in_delivery(files):
    """Issue 16: "Association …" as a SCOP, and every DLA at ≈ 91 % of its planned hours."""
    s = files["structures"]
    named_association = s["nom"].str.startswith("Association ")
    assert named_association.any() and (s.loc[named_association, "forme_juridique"] == "association").all()
    coop = s["nom"].str.startswith("Coopérative ")
    assert set(s.loc[coop, "forme_juridique"]) <= {"scop", "scic", "cae"}
    programmes, accs = files["programmes"], files["accompagnements"]
    delivered = accs["heures"].replace("", "0").str.replace(",", ".").astype(float).groupby(accs["id_programme"]).sum()
    dla = programmes[programmes["type"] == "dla"].set_index("id_programme")
    ratios = delivered.reindex(dla.index) / dla["heures_prevues"].str.replace(",", ".").astype(float)
    assert ratios.max() - ratios.min() > 0.3  # from well under to over the plan
