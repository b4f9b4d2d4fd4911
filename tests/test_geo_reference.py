"""The offline geographic reference shipped in data/geo."""

import json

import pandas as pd
import pytest
import shapely
from shapely.geometry import shape

from pipelines import geo

DEPARTEMENT_CODES = [f"{i:02d}" for i in range(1, 96) if i != 20] + ["2A", "2B", "971", "972", "973", "974", "976"]
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
    assert (names["77"], names["68"], names["973"], names["2A"]) == ("Seine-et-Marne", "Haut-Rhin", "Guyane", "Corse-du-Sud")
    by_code = {f["properties"]["code"]: f["properties"]["nom"] for f in features("departements")}
    assert by_code == names
    assert set(geo.read_departements()["code_region"]) == set(REGION_CODES)


@pytest.mark.parametrize("layer", geo.LAYERS)
def test_polygons_are_valid(layer):
    assert all(shape(f["geometry"]).is_valid and not shape(f["geometry"]).is_empty for f in features(layer))


def test_neighbouring_departements_share_their_border():
    shapes = {f["properties"]["code"]: shape(f["geometry"]) for f in features("departements")}
    # Calvados and Manche touch along a line, without overlapping.
    border = shapes["14"].intersection(shapes["50"])
    assert border.length > 0.3 and shapes["14"].intersection(shapes["50"]).area < 1e-6


def test_display_layer_moves_only_overseas_into_insets():
    for layer, overseas in (("departements_carte", {"971", "972", "973", "974", "976"}),
                            ("regions_carte", {"01", "02", "03", "04", "06"})):
        inset = {f["properties"]["code"] for f in features(layer) if f["properties"]["encart"]}
        assert inset == overseas
        for f in features(layer):
            if f["properties"]["encart"]:  # drawn beside the mainland, west of Brittany
                minx, miny, maxx, maxy = shape(f["geometry"]).bounds
                assert -7 < minx and maxx < -5 and 41 < miny and maxy < 50


def test_communes():
    communes = geo.read_communes()
    current = communes[~communes["arrondissement"]]
    assert len(current) > 34_000 and current["code"].is_unique
    caen = current.set_index("code").loc["14118"]
    assert (caen["nom"], caen["code_departement"], caen["code_region"]) == ("Caen", "14", "28")
    assert caen["nom_epci"] == "CU Caen la Mer" and caen["code_epci"] == "200065597"
    assert current.set_index("code").loc["2A004", "nom"] == "Ajaccio"
    assert current.set_index("code").loc["75056", "population"] > 2_000_000
    assert set(current["code_departement"]) <= set(DEPARTEMENT_CODES)
    arrondissements = communes[communes["arrondissement"]]
    assert set(arrondissements["code_parent"]) == {"75056", "69123", "13055"}


def test_shipped_files_are_small():
    assert sum(p.stat().st_size for p in geo.GEO_DIR.iterdir()) < 5 * 1024 * 1024
