"""The national funder view against the régions' own funder views (pipelines.store.national).

A funder of one région sees its région's funder view and the national one, and subtracts them: with the demo
as région 76 (650 structures) and the mini fixture as région 28 (« secret »), a national total of 654 gave
région 28's 4 back. Every cell a regional funder view masks must stay masked once the national view is
added: neither the national cell less the régions that publish theirs, nor its line's other secret cells,
may give it back exactly or within its protection range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.privacy import secret
from pipelines.queries import cube, indicators, masks, vue_ensemble
from pipelines.queries.indicators import Scope
from pipelines.store import national, warehouse

MEASURES = ("structures", "accompagnements", "heures")


@pytest.fixture(scope="module")
def warehouses(demo_db, _mini_template, tmp_path_factory) -> dict[str, object]:
    """Région 28: the mini fixture; région 76: the demo; and the national warehouse built from both."""
    destination = tmp_path_factory.mktemp("national") / "national.duckdb"
    national.build({"28": _mini_template, "76": demo_db}, destination)
    return {"28": _mini_template, "76": demo_db, "national": destination}


def year_scope(year: int | None, **territory) -> Scope:
    return Scope(**territory, **dict(zip(("depuis", "jusqu_au"), Scope.year_period(year))))


def slices(db) -> list[int | None]:
    """Every year the national funder's sidebar offers, and every year."""
    with warehouse.read_connection(db) as con:
        period = indicators.filter_choices(con)["periode"].iloc[0]
    return [None, *range(period["fin"].year, period["debut"].year - 1, -1)]


def national_key(label: str, key: tuple) -> tuple:
    """A regional cell's name in the national warehouse: its programme is prefixed by the région."""
    level, code, domaine, programme, *rest = key
    return (level, code, domaine, programme if programme == cube.ALL else f"{label}-{programme}", *rest)


def as_scope(key: tuple, year: int | None) -> Scope:
    level, code, domaine, programme = key[:4]
    territory = {"region": code} if level == "region" else {"departement": code} if level == "departement" else {}
    return year_scope(year, **territory, domaine=None if domaine == cube.ALL else domaine,
                      programme=None if programme == cube.ALL else programme)


def test_the_reviewers_subtraction_gives_region_28_nothing_back(warehouses):
    figures = {}
    for name in ("28", "76", "national"):
        with warehouse.read_connection(warehouses[name]) as con:
            figures[name] = vue_ensemble.kpis(con, Scope(), "financeur")
    assert figures["28"]["structures"] == secret.SECRET and figures["76"]["structures"] == 650
    with warehouse.read_connection(warehouses["national"]) as con:
        assert vue_ensemble.kpis(con, Scope(), "analyste")["structures"] == 654
    # 654 − 650 = 4 is what the national view must not allow: its total is masked, whole.
    for measure in MEASURES:
        assert figures["national"][measure] == secret.SECRET, measure


def published_cubes(warehouses, year: int | None) -> dict[str, pd.Series]:
    """Each warehouse's published cube of the slice, as the funder pages and `kpis --vue financeur` read it
    (masks.protected: the verdict scope_hidden and territory_masks give), regional cells named nationally."""
    out = {}
    for name, db in warehouses.items():
        with warehouse.read_connection(db) as con:
            verdict = masks.protected(con, year_scope(year))["secret"].astype(bool)
        if name != "national":
            verdict.index = pd.MultiIndex.from_tuples([national_key(name, k) for k in verdict.index])
        out[name] = verdict
    return out


def figures_of(db, key: tuple, year: int | None) -> dict:
    with warehouse.read_connection(db) as con:
        return indicators.key_figures(con, as_scope(key, year))


def regional_key(key: tuple) -> tuple:
    level, code, domaine, programme = key
    return level, code, domaine, programme.split("-", 1)[1] if programme != cube.ALL else programme


def test_no_cell_a_region_masks_comes_back_from_the_national_cube(warehouses):
    """Every masked cell of every région's cube (France, régions, départements, communes × domaine ×
    programme × year): the national cell less the other régions' cells. When all of those are published the
    subtraction is exact, and it must not happen; when some are secret they must leave the masked cell its
    protection range along that line."""
    checked, leaks = 0, []
    for year in slices(warehouses["national"]):
        published = published_cubes(warehouses, year)
        nation = published.pop("national")
        for label, verdict in published.items():
            others = {other: v for other, v in published.items() if other != label}
            for key in verdict.index[verdict.to_numpy()]:
                if key[1] == cube.UNKNOWN or key[2] == cube.UNKNOWN:
                    continue  # no funder can select it, in either view
                checked += 1
                if nation.get(key, True):
                    continue
                hidden = [other for other, v in others.items() if v.get(key, False)]
                if not hidden:  # national − the published régions (absent: 0) = this région's cell, exactly
                    leaks.append((label, year, key))
                    continue
                if key[0] == "commune":
                    continue  # no scope names a commune's key figures; its map cell is the same verdict
                # Secret neighbours: the masked cell lies between 0 and the national cell less the published ones.
                truth = figures_of(warehouses[label], regional_key(key), year)
                rest = [figures_of(warehouses[o], regional_key(key), year) for o in hidden]
                for measure in MEASURES:
                    slack = sum(float(r[measure] or 0) for r in rest)
                    need = secret.required_protection(float(truth[measure] or 0), measure != "heures")
                    if truth["structures"] < secret.threshold() and slack < need:
                        leaks.append((label, year, key, measure))
    assert checked > 1000, checked
    if leaks:
        label, year, key = next(leak for leak in leaks if leak[2][0] != "commune")[:3]
        regional = figures_of(warehouses[label], regional_key(key), year)
        whole = figures_of(warehouses["national"], key, year)
        pytest.fail(f"{len(leaks)} masked regional cell(s) recovered from the national view, first: région {label}, "
                    f"{year or 'toutes années'}, {key}: national {whole['structures']} structures, région "
                    f"{regional['structures']}")


def published_breakdowns(warehouses, year: int | None, name: str) -> dict[str, pd.Series]:
    out = {}
    for label, db in warehouses.items():
        with warehouse.read_connection(db) as con:
            published = cube.protected_breakdown(con, year_scope(year), masks.database_version(con), name)
        coordinates = published.keys.coordinates(np.arange(len(published.secret)))
        keys = list(zip(*coordinates))
        if label != "national":
            keys = [national_key(label, k) for k in keys]
        out[label] = pd.Series(published.secret.astype(bool), index=pd.MultiIndex.from_tuples(keys) if keys else None)
    return out


@pytest.mark.parametrize("name", ["besoins", "forme_juridique"])
def test_no_breakdown_cell_a_region_masks_comes_back_from_the_national_breakdown(warehouses, name):
    """The same subtraction on the breakdowns below the cube (needs, legal form): a national breakdown
    cell whose other régions all publish theirs is masked wherever its région masks its own."""
    checked, leaks = 0, []
    for year in slices(warehouses["national"]):
        published = published_breakdowns(warehouses, year, name)
        nation = published.pop("national")
        for label, verdict in published.items():
            others = [v for other, v in published.items() if other != label]
            for key in verdict.index[verdict.to_numpy()]:
                if key[4] == cube.ALL or cube.UNKNOWN in key[1:3]:
                    continue  # the cube's cells, checked with the cube
                checked += 1
                if not nation.get(key, True) and not any(v.get(key, False) for v in others):
                    leaks.append((label, year, key))
    assert checked > 100, checked
    assert not leaks, f"{len(leaks)} masked regional breakdown cell(s) recovered, first: {leaks[0]}"


def test_a_cell_of_one_region_alone_is_published_as_that_region_publishes_it(warehouses):
    """Not everything goes: a national cell where only one région has structures is that région's cell,
    published as it publishes it (département 04 is the demo's alone)."""
    with warehouse.read_connection(warehouses["76"]) as con:
        regional = vue_ensemble.kpis(con, Scope(departement="04"), "financeur")
    with warehouse.read_connection(warehouses["national"]) as con:
        nation = vue_ensemble.kpis(con, Scope(departement="04"), "financeur")
    assert regional["structures"] == nation["structures"] == 8


def test_a_year_the_build_did_not_protect_is_secret_whole(warehouses):
    with warehouse.read_connection(warehouses["national"]) as con:
        assert national.regional_cells(con, 2040, "cube") == national.UNPROTECTED
        assert masks.protected(con, year_scope(2040))["secret"].all()
        assert not isinstance(national.regional_cells(con, None, "cube"), str)
    with warehouse.read_connection(warehouses["76"]) as con:
        assert national.regional_cells(con, None, "cube") is None  # a regional warehouse is not national
