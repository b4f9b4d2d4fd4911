"""The offline geographic reference shipped in data/geo."""


import pandas as pd
import pytest
import shapely
from shapely.geometry import shape

from pipelines.geo import reference as geo

DEPARTEMENT_CODES = [f"{i:02d}" for i in range(1, 96) if i != 20] + ["2A", "2B", "971", "972", "973", "974", "976"]
OVERSEAS_DEPARTEMENTS = {"971", "972", "973", "974", "976"}
OVERSEAS_REGIONS = {"01", "02", "03", "04", "06"}
REGION_CODES = ["01", "02", "03", "04", "06", "11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"]


def features(layer):
    return geo.read_geojson(layer)["features"]


def test_101_departements_and_18_regions_with_their_codes():
    assert sorted(f["properties"]["code"] for f in features("departements")) == sorted(DEPARTEMENT_CODES)
    assert sorted(f["properties"]["code"] for f in features("regions")) == sorted(REGION_CODES)
    assert sorted(geo.read_departements()["code"]) == sorted(DEPARTEMENT_CODES)
    assert sorted(geo.read_regions()["code"]) == sorted(REGION_CODES)


def test_names_come_from_the_cog():
    names = dict(zip(geo.read_departements()["code"], geo.read_departements()["nom"]))
    # Natural Earth spells these "Seien-et-Marne", "Haute-Rhin" and "Guyane française".
    assert (names["77"], names["68"], names["973"], names["2A"]) == ("Seine-et-Marne", "Haut-Rhin", "Guyane", "Corse-du-Sud")
    regions = dict(zip(geo.read_regions()["code"], geo.read_regions()["nom"]))
    assert (regions["28"], regions["76"], regions["93"], regions["01"], regions["04"]) == (
        "Normandie", "Occitanie", "Provence-Alpes-Côte d'Azur", "Guadeloupe", "La Réunion")


def test_every_departement_belongs_to_a_known_region():
    departements = geo.read_departements().set_index("code")
    assert set(departements["code_region"]) == set(REGION_CODES)
    assert departements.loc["14", "code_region"] == "28" and departements.loc["976", "code_region"] == "06"


@pytest.mark.parametrize("layer", geo.LAYERS)
def test_geojson_and_parquet_agree(layer):
    table = geo.read_regions() if layer.startswith("regions") else geo.read_departements()
    properties = pd.DataFrame([f["properties"] for f in features(layer)]).drop(columns="encart", errors="ignore")
    assert list(properties.columns) == list(table.columns)
    pd.testing.assert_frame_equal(properties.sort_values("code", ignore_index=True), table.sort_values("code", ignore_index=True))


@pytest.mark.parametrize("layer", geo.LAYERS)
def test_polygons_are_valid(layer):
    assert all(shape(f["geometry"]).is_valid and not shape(f["geometry"]).is_empty for f in features(layer))


def test_neighbouring_departements_share_their_border():
    shapes = {f["properties"]["code"]: shape(f["geometry"]) for f in features("departements")}
    # Calvados and Manche touch along a line, without overlapping.
    border = shapes["14"].intersection(shapes["50"])
    assert border.length > 0.3 and shapes["14"].intersection(shapes["50"]).area < 1e-6
    # The simplified départements still form a coverage: no overlap anywhere.
    assert shapely.coverage_is_valid(list(shapes.values()))


def test_regions_are_the_union_of_their_departements():
    regions = {f["properties"]["code"]: shape(f["geometry"]) for f in features("regions")}
    by_region = {}
    for f in features("departements"):
        by_region.setdefault(f["properties"]["code_region"], []).append(shape(f["geometry"]))
    for code, parts in by_region.items():
        assert shapely.union_all(parts).symmetric_difference(regions[code]).area < 1e-3, code


def test_display_layer_moves_only_overseas_into_insets():
    for layer, overseas in (("departements_carte", OVERSEAS_DEPARTEMENTS), ("regions_carte", OVERSEAS_REGIONS)):
        true_shapes = {f["properties"]["code"]: shape(f["geometry"]) for f in features(layer.removesuffix("_carte"))}
        shown = {f["properties"]["code"]: f for f in features(layer)}
        assert set(shown) == set(true_shapes)
        assert {code for code, f in shown.items() if f["properties"]["encart"]} == overseas
        insets = []
        for code, f in shown.items():
            geometry = shape(f["geometry"])
            if code in overseas:  # drawn in the Atlantic, west of Brittany, beside the mainland
                minx, miny, maxx, maxy = geometry.bounds
                assert -9 < minx and maxx < -5.5 and 42 < miny and maxy < 50.5, code
                assert 0.8 < maxy - miny <= 1.41, code  # readable, whatever its true size
                insets.append(geometry)
            else:
                assert geometry.equals(true_shapes[code]), code
        mainland = shapely.union_all([shape(f["geometry"]) for c, f in shown.items() if c not in overseas])
        for i, a in enumerate(insets):
            assert not a.intersects(mainland.buffer(0.3))
            assert not any(a.intersects(b) for b in insets[i + 1:])


COMMUNE_COLUMNS = ["code", "nom", "code_departement", "code_region", "code_epci", "nom_epci", "population",
                   "latitude", "longitude", "arrondissement", "code_parent"]


def test_communes():
    communes = geo.read_communes()
    assert list(communes.columns) == COMMUNE_COLUMNS
    assert communes["code"].is_unique
    current = communes[~communes["arrondissement"]].set_index("code")
    assert len(current) > 34_000
    caen = current.loc["14118"]
    assert (caen["nom"], caen["code_departement"], caen["code_region"]) == ("Caen", "14", "28")
    # The SIREN of "CU Caen la Mer" in the package's epci.json (Caen's own SIREN is 211401187).
    assert caen["nom_epci"] == "CU Caen la Mer" and caen["code_epci"] == "200065597"
    assert current.loc["2A004", ["nom", "code_departement", "code_region"]].tolist() == ["Ajaccio", "2A", "94"]
    assert current.loc["75056", "population"] > 2_000_000
    assert current["population"].notna().all() and (current["population"] >= 0).all()
    assert set(current["code_departement"]) <= set(geo.read_departements()["code"])
    departements = geo.read_departements().set_index("code")["code_region"]
    assert (current["code_departement"].map(departements) == current["code_region"]).all()
    # Every commune is in one EPCI but four single-commune islands (Bréhat, Sein, Ouessant, Yeu).
    assert sorted(current.index[current["code_epci"].isna()]) == ["22016", "29083", "29155", "85113"]
    assert current["code_parent"].isna().all()


def test_municipal_arrondissements_point_to_their_commune():
    communes = geo.read_communes()
    arrondissements = communes[communes["arrondissement"]].set_index("code")
    assert len(arrondissements) == 20 + 9 + 16
    assert set(arrondissements["code_parent"]) == {"75056", "69123", "13055"}
    assert arrondissements.loc["75111", "code_parent"] == "75056"
    assert arrondissements.loc["69381", "code_parent"] == "69123"
    assert arrondissements.loc["13201", "code_parent"] == "13055"
    # They take their commune's EPCI, and add up to its population.
    parents = communes[~communes["arrondissement"]].set_index("code")
    assert (arrondissements["code_epci"] == arrondissements["code_parent"].map(parents["code_epci"])).all()
    assert arrondissements.loc["75111", "nom_epci"] == "Métropole du Grand Paris"
    assert arrondissements[arrondissements["code_parent"] == "75056"]["population"].sum() == parents.loc["75056", "population"]


def test_commune_centres_when_known_are_in_france():
    """Today no open source of commune centres is reachable (see data/geo/SOURCES.md): the columns are empty."""
    communes = geo.read_communes()
    assert str(communes["latitude"].dtype) == "Float64" and str(communes["longitude"].dtype) == "Float64"
    known = communes.dropna(subset=["latitude", "longitude"])
    assert known["latitude"].between(-22, 52).all() and known["longitude"].between(-62, 56).all()


def test_shipped_files_are_small():
    assert sum(p.stat().st_size for p in geo.GEO_DIR.iterdir()) < 5 * 1024 * 1024
