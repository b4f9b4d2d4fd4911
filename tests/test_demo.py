"""The synthetic demo: deterministic, shaped like the field, and valid under the contract."""

import csv
import io

import pandas as pd
import pytest
from stdnum.fr import siret

from pipelines import demo, warehouse
from pipelines.datasets import LOAD_ORDER


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def files():
    return {name: read(demo.DEMO_DIR / f"{name}.csv") for name in LOAD_ORDER}


def test_generation_is_deterministic_and_matches_the_committed_files(tmp_path):
    generated = demo.generate_demo(tmp_path)
    for name, path in generated.items():
        assert path.read_bytes() == (demo.DEMO_DIR / f"{name}.csv").read_bytes(), f"{name}.csv differs: rerun python -m pipelines.demo"


def test_volumes(files):
    assert len(files["structures"]) >= 500
    assert len(files["accompagnements"]) >= 800
    assert len(files["ateliers"]) > 50 and len(files["temoignages"]) > 50
    assert set(files["resultats"]["echeance"]) == {"fin", "6_mois", "12_mois"}


def test_the_demo_loads_without_a_single_rejected_line(demo_db):
    with warehouse.read_connection(demo_db) as con:
        imports = con.execute("SELECT nb_lus, nb_rejetes FROM imports").fetchall()
        regions = {r[0] for r in con.execute(
            "SELECT DISTINCT c.code_region FROM structures s JOIN geo_communes c ON c.code = s.code_commune").fetchall()}
    assert imports[0][1] == 0 and imports[0][0] == sum(len(read(demo.DEMO_DIR / f"{n}.csv")) for n in LOAD_ORDER)
    assert regions == {"28", "76", "93"}  # every commune resolved, in the three regions only


def test_needs_shares_follow_the_field(files):
    categories = files["accompagnements"]["besoin_principal"].str.split(".").str[0]
    shares = categories.value_counts(normalize=True)
    assert 0.55 <= shares["ECO"] <= 0.65
    assert 0.20 <= shares["ORG"] <= 0.30


def test_programme_shapes(files):
    programmes = files["programmes"]
    dla = programmes[programmes["type"] == "dla"]
    assert len(dla) == 5 + 13 + 6  # one DLA per département of the three regions
    assert (programmes["type"] == "pole_accompagnement").sum() == 1
    assert (programmes["type"] == "collectif_sectoriel").sum() == 1
    accs = files["accompagnements"]
    ateliers = files["ateliers"]
    for p in programmes[programmes["type"] == "pairs"]["id_programme"]:
        supports = accs[accs["id_programme"] == p]
        assert len(supports) == 5
        assert supports["heures"].astype(float).between(14, 28).all()
        assert supports["intervenant"].str.fullmatch(r"Personne ressource (0[1-9]|10)").all()
        workshops = ateliers[ateliers["id_programme"] == p]
        assert len(workshops) == 8 and (workshops["nb_participants"].astype(int) <= 12).all()
        assert (workshops["nb_adherents"].astype(int) < workshops["nb_participants"].astype(int)).any()


def test_identifiers_and_privacy(files):
    sirets = files["structures"]["siret"]
    assert all(siret.is_valid(s) for s in sirets[sirets != ""])
    consent = files["temoignages"]["consentement_publication"]
    assert {"oui", "non"} == set(consent) and (consent == "non").mean() > 0.1
    # Roles, never names: the author column only holds roles from a fixed list.
    assert set(files["temoignages"]["auteur_role"]) <= set(demo.ROLES)
    assert files["accompagnements"]["intervenant"].str.fullmatch(r"|Personne ressource \d\d|Chargé de mission DLA \w+-\d").all()


def test_files_look_like_french_office_exports():
    raw = (demo.DEMO_DIR / "structures.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw.split(b"\r\n")[0]
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert any("," in cell for row in rows[1:] for cell in row[8:9])  # decimal comma in effectif_etp
