"""The funder's published cube: every key figure a funder's filters can select, protected once.

A funder's view is a cell of the cube territory (France, région, département, commune) × domaine (or all) ×
programme (or all), for one whole calendar year or for every year (pipelines.privacy.secret.PERIOD_RULE).
Its key figures — structures accompanied, accompaniments, hours — are the cell's (a commune's show on
its département's map), and the cube's lines are the sums a funder can take: a région is the sum of
its départements, a département of its communes, all domaines the sum of the
domaines, all programmes the sum of the programmes (for accompaniments and hours: a structure followed by
two programmes counts once in all programmes). The cells are protected together
(pipelines.privacy.secret.protect_linked), so that a cell secret in one view is secret in every view
that could show it: a région's total less its visible domaines no longer gives back the masked one.

Years are separate slices: a year counts the accompaniments active during it, so years do not add up to
every year and no line links them. Computed once per warehouse version and year, in memory.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from pipelines.privacy import secret
from pipelines.queries.indicators import Scope, query

ALL = "*"  # the cube's "every domaine / every programme" coordinate
UNKNOWN = "?"  # a structure whose commune is not known: in France's total, in no région a funder can choose
LEVELS = ("france", "region", "departement", "commune")
MEASURES = ("structures", "accompagnements", "heures")
COUNT_MEASURES = (True, True, False)


def cell_key(scope: Scope) -> tuple[str, str, str, str]:
    """The cube cell a scope is: (level, territory code, domaine, programme)."""
    if scope.departement:
        level, code = "departement", scope.departement
    elif scope.region:
        level, code = "region", scope.region
    else:
        level, code = "france", ALL
    return level, code, scope.domaine or ALL, scope.programme or ALL


def protected_cube(con: duckdb.DuckDBPyConnection, scope: Scope, version: tuple) -> pd.DataFrame:
    """The cube of the scope's year (or of every year), indexed by cell_key, with the measures, `top`
    (the largest structure's hours), `primary` and `secret`. Memoised per warehouse `version` and year."""
    secret.check_published_period(scope)
    year = Scope(depuis=scope.depuis, jusqu_au=scope.jusqu_au)
    key = (version, year)
    if key not in _CUBES:
        if len(_CUBES) >= 4:  # a few years at a time: funders compare a year with the one before
            _CUBES.pop(next(iter(_CUBES)))
        fine = query(con, """
            SELECT id_structure, coalesce(code_region, '?') AS region, coalesce(code_departement, '?') AS departement,
                   coalesce(code_commune, '?') AS commune, coalesce(domaine, '?') AS domaine, id_programme AS programme,
                   count(*) AS accompagnements, sum(coalesce(heures, 0)) AS heures
            FROM acc GROUP BY ALL""", year)
        parents = {**{("departement", d): ("region", r) for d, r in zip(fine["departement"], fine["region"])},
                   **{("commune", c): ("departement", d) for c, d in zip(fine["commune"], fine["departement"])}}
        _CUBES[key] = _protect(_cells(fine), parents)
    return _CUBES[key]


_CUBES: dict[tuple, pd.DataFrame] = {}


def _cells(fine: pd.DataFrame) -> pd.DataFrame:
    """Every non-empty cell: each territory level × (every or one domaine) × (every or one programme)."""
    frames = []
    for level, territory in zip(LEVELS, (None, "region", "departement", "commune")):
        for by_domaine in (False, True):
            for by_programme in (False, True):
                keys = [k for k, used in ((territory, territory), ("domaine", by_domaine),
                                          ("programme", by_programme)) if used]
                cells = _aggregate(fine, keys)
                frames.append(pd.DataFrame({
                    "level": level, "code": cells[territory] if territory else ALL,
                    "domaine": cells["domaine"] if by_domaine else ALL,
                    "programme": cells["programme"] if by_programme else ALL,
                    **{column: cells[column] for column in (*MEASURES, "top")}}))
    return pd.concat(frames, ignore_index=True).set_index(["level", "code", "domaine", "programme"]).sort_index()


def _aggregate(fine: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of `keys` (one group when none): distinct structures, accompaniments, hours, top structure's hours."""
    grouping = keys + ["id_structure"]
    per_structure = fine.groupby(grouping)[["accompagnements", "heures"]].sum().reset_index()
    if not keys:
        per_structure = per_structure.assign(_all=ALL)
    out = per_structure.groupby(keys or ["_all"]).agg(
        structures=("id_structure", "size"), accompagnements=("accompagnements", "sum"),
        heures=("heures", "sum"), top=("heures", "max")).reset_index()
    return out


def _lines(cells: pd.DataFrame, parents: dict[tuple, tuple]) -> list[secret.Line]:
    """The sums a funder can take: régions of France, départements of their région, communes of their
    département, domaines, programmes."""
    position = {key: i for i, key in enumerate(cells.index)}
    everything = tuple(range(len(MEASURES)))
    flows = everything[1:]  # structures do not add up across programmes (one can be in two)
    groups: dict[tuple, list[int]] = {}

    def add(margin: tuple, part: tuple, dimension: str) -> None:
        groups.setdefault((margin, dimension), []).append(position[part])

    for key in position:
        level, code, domaine, programme = key
        if level == "region":
            add(("france", ALL, domaine, programme), key, "territoire")
        elif level != "france":
            add((*parents.get((level, code), (LEVELS[LEVELS.index(level) - 1], UNKNOWN)), domaine, programme),
                key, "territoire")
        if domaine != ALL:
            add((level, code, ALL, programme), key, "domaine")
        if programme != ALL:
            add((level, code, domaine, ALL), key, "programme")
    return [secret.Line(position[margin], tuple(parts), flows if dimension == "programme" else everything)
            for (margin, dimension), parts in groups.items()]


def _protect(cells: pd.DataFrame, parents: dict[tuple, tuple]) -> pd.DataFrame:
    values = cells[list(MEASURES)].to_numpy(dtype=float)
    primary = np.array([secret.is_primary_secret(n, top, hours) for n, top, hours
                        in zip(cells["structures"], cells["top"], cells["heures"])], dtype=bool)
    # A cell no funder can select (territory or domaine not known) is never published: masked from the start.
    unpublished = np.asarray((cells.index.get_level_values("code") == UNKNOWN)
                             | (cells.index.get_level_values("domaine") == UNKNOWN))
    mask = secret.protect_linked(values, primary, _lines(cells, parents), COUNT_MEASURES, forced=unpublished)
    return cells.assign(primary=primary, secret=mask)
