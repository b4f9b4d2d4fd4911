"""Readers of the offline geographic reference shipped in data/geo (see SOURCES.md there)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd

GEO_DIR = Path(__file__).resolve().parents[2] / "data" / "geo"
LAYERS = ("regions", "departements", "regions_carte", "departements_carte")


def read_regions() -> pd.DataFrame:
    return pd.read_parquet(GEO_DIR / "regions.parquet")


def read_departements() -> pd.DataFrame:
    return pd.read_parquet(GEO_DIR / "departements.parquet")


def read_communes() -> pd.DataFrame:
    return pd.read_parquet(GEO_DIR / "communes.parquet")


@functools.lru_cache(maxsize=None)
def read_geojson(name: str) -> dict:
    """One of LAYERS as a GeoJSON dict; `*_carte` layers show overseas territories as insets."""
    if name not in LAYERS:
        raise ValueError(f"unknown layer {name!r}: expected one of {LAYERS}")
    return json.loads((GEO_DIR / f"{name}.geojson").read_text(encoding="utf-8"))
