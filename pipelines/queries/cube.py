"""The funder's published cube: every key figure a funder's filters can select, protected once.

A funder's view is a cell of the cube territory (France, région, département, commune) × domaine (or all) ×
programme (or all), for one whole calendar year or for every year (pipelines.privacy.secret.PERIOD_RULE).
Its key figures — structures accompanied, accompaniments, hours — are the cell's (a commune's show on
its département's map), and the cube's lines are the sums a funder can take: a région is the sum of
its départements, a département of its communes, all domaines the sum of the
domaines, all programmes the sum of the programmes (for accompaniments and hours: a structure followed by
two programmes counts once in all programmes). The cells are protected together, line by line then
audited as a whole (pipelines.privacy.secret.protect_linked_audited), so that a cell secret in one view is secret in every view
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
        cells, parents = _cells(con, year)
        _CUBES[key] = _protect(cells, parents)
    return _CUBES[key]


_CUBES: dict[tuple, pd.DataFrame] = {}

# The cells, one grouping set each: France, a région, a département (each by every or one domaine and
# programme), and a commune (a funder sees communes without a domaine or programme filter only).
_SETS = [(*territory, *by) for territory in ((), ("region",), ("departement",))
         for by in ((), ("domaine",), ("programme",), ("domaine", "programme"))] + [("commune",)]


def _cells(con: duckdb.DuckDBPyConnection, year: Scope) -> tuple[pd.DataFrame, dict[tuple, tuple]]:
    """Every non-empty cell with its measures and top structure's hours, aggregated by DuckDB in one
    pass (a structure's hours summed per cell before their maximum is taken); and each territory's parent."""
    sets = ", ".join("(" + ", ".join([*keys, "id_structure"]) + ")" for keys in _SETS)
    frame = query(con, f"""
        , fine AS (
            SELECT id_structure, coalesce(code_region, '{UNKNOWN}') AS region,
                   coalesce(code_departement, '{UNKNOWN}') AS departement, coalesce(code_commune, '{UNKNOWN}') AS commune,
                   coalesce(domaine, '{UNKNOWN}') AS domaine, id_programme AS programme, coalesce(heures, 0) AS heures
            FROM acc),
        per_structure AS (
            SELECT region, departement, commune, domaine, programme, id_structure,
                   count(*) AS accompagnements, sum(heures) AS heures
            FROM fine GROUP BY GROUPING SETS ({sets}))
        SELECT region, departement, commune, domaine, programme, count(*) AS structures,
               sum(accompagnements) AS accompagnements, sum(heures) AS heures, max(heures) AS top
        FROM per_structure GROUP BY ALL""", year)
    level = np.select([frame["commune"].notna(), frame["departement"].notna(), frame["region"].notna()],
                      ["commune", "departement", "region"], "france")
    code = frame["commune"].fillna(frame["departement"]).fillna(frame["region"]).fillna(ALL)
    cells = pd.DataFrame({"level": level, "code": code.to_numpy(), "domaine": frame["domaine"].fillna(ALL).to_numpy(),
                          "programme": frame["programme"].fillna(ALL).to_numpy(),
                          **{c: frame[c].to_numpy(dtype=float) for c in (*MEASURES, "top")}})
    links = query(con, f"""
        SELECT DISTINCT coalesce(code_commune, '{UNKNOWN}') AS commune, coalesce(code_departement, '{UNKNOWN}') AS departement,
               coalesce(code_region, '{UNKNOWN}') AS region FROM acc""", year)
    parents = {**{("departement", d): ("region", r) for d, r in zip(links["departement"], links["region"])},
               **{("commune", c): ("departement", d) for c, d in zip(links["commune"], links["departement"])}}
    return cells.set_index(["level", "code", "domaine", "programme"]).sort_index(), parents


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
    mask = secret.protect_linked_audited(values, primary, _lines(cells, parents), COUNT_MEASURES, forced=unpublished)
    return cells.assign(primary=primary, secret=mask)
