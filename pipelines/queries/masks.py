"""Secrecy masks that every view of the funder shares, so that no two views disagree on a cell.

* `territory_masks`: the masks of every région, département and commune for the scope's domaine,
  programme and year, read from the funder's published cube (pipelines.queries.cube);
* `scope_hidden`: whether a scope's own total is secret (then its view shows nothing but "secret");
* `hours_top`: the largest single structure's hours, the dominance rule's input.

The algorithms (primary and complementary secrecy, linked tables, audit) are pipelines.privacy.secret.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines.queries import cube
from pipelines.queries.indicators import Scope, query
from pipelines.store import engine, warehouse


def hours_top(con: duckdb.DuckDBPyConnection, scope: Scope, key_sql: str | None = None) -> pd.DataFrame:
    """Largest single structure's hours per `key_sql` AS cle (or over the whole scope): the dominance rule's input."""
    if key_sql is None:
        return query(con, """SELECT max(h) AS top FROM (
                                 SELECT id_structure, coalesce(sum(heures), 0) AS h FROM acc GROUP BY 1)""", scope)
    return query(con, f"""SELECT cle, max(h) AS top FROM (
                              SELECT {key_sql} AS cle, id_structure, coalesce(sum(heures), 0) AS h FROM acc GROUP BY 1, 2)
                          GROUP BY 1""", scope)


LEVELS = {"code_region": "region", "code_departement": "departement", "code_commune": "commune"}  # → cube level
NATIONAL = "national"  # the key of the masks' verdict on the whole of France (the scope without territory)


def territory_masks(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict:
    """Secrecy masks of every territory for the scope's domaine, programme and year, read from the
    funder's published cube (pipelines.queries.cube), protected once for every view.

    The territory filters are ignored on purpose: a région's view and the national view then hide the
    same départements, and so does the view of the domaine next door, so that no view gives back, by
    difference, what another hides. A territory is masked whole (structures and hours together).
    Returns, per level (code_region, code_departement, code_commune), a frame indexed by code with the
    columns `structures` and `heures` (True: masked; the two are equal), and under NATIONAL whether the
    total of France is itself secret.
    """
    published = protected(con, scope)
    domaine, programme = cube.cell_key(scope)[2:]
    out: dict = {NATIONAL: bool(published["secret"].get(("france", cube.ALL, domaine, programme), False))}
    for column, level in LEVELS.items():
        try:
            cells = published.xs((level, domaine, programme), level=("level", "domaine", "programme"))["secret"]
        except KeyError:  # nothing in this domaine and programme
            cells = pd.Series(dtype=bool)
        cells = cells[cells.index != cube.UNKNOWN].astype(bool)
        out[column] = pd.DataFrame({"structures": cells, "heures": cells})
    return out


def protected(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """The published cube of the scope's year, for this warehouse version."""
    return cube.protected_cube(con, scope, database_version(con))


def database_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """The warehouse file and its version: the cube is protected again after any committed write."""
    if engine.on_lake(con):
        return engine.connection_version(con)
    path = con.execute("SELECT file FROM pragma_database_list WHERE name = current_database()").fetchone()[0]
    return (path, warehouse.version(Path(path))) if path else (id(con),)


def scope_hidden(con: duckdb.DuckDBPyConnection, scope: Scope) -> bool:
    """Under secrecy, is this scope's total itself secret? Its cell of the published cube says so: fewer
    than the threshold of structures, one of them making most of its hours, or masked so that no other
    view gives it back. A hidden scope shows nothing but "secret". Every funder figure goes through here
    or through `territory_masks`: both refuse a period a funder may not choose
    (pipelines.privacy.secret.check_published_period)."""
    published = protected(con, scope)
    key = cube.cell_key(scope)
    if key in published.index:
        return bool(published.loc[key, "secret"])
    # Not in the cube: nothing in scope (its zeros hide nothing), else fail closed.
    n = int(query(con, "SELECT count(DISTINCT id_structure) AS n FROM acc", scope)["n"].iloc[0])
    return n > 0


def children_secret(con: duckdb.DuckDBPyConnection, scope: Scope, dimension: str) -> pd.Series:
    """Whether each domaine, programme or département of the scope is secret in the published cube: a
    breakdown of the scope along a dimension a funder can also filter on shows the cube's cells, so it
    masks at least these (codes absent from the cube have nothing in scope)."""
    if dimension == "departement":
        return territory_masks(con, scope)["code_departement"]["structures"]
    if dimension not in ("domaine", "programme"):
        raise ValueError(f"unknown dimension {dimension!r}")
    level, code, domaine, programme = cube.cell_key(scope)
    other, fixed = ("programme", programme) if dimension == "domaine" else ("domaine", domaine)
    try:
        cells = protected(con, scope).xs((level, code, fixed), level=("level", "code", other))["secret"]
    except KeyError:  # nothing in scope
        return pd.Series(dtype=bool)
    return cells[cells.index != cube.ALL].astype(bool)


def breakdown_mask(con: duckdb.DuckDBPyConnection, scope: Scope, name: str, family: tuple[int, ...],
                   keys: pd.DataFrame) -> pd.Series:
    """Whether each row of a breakdown a funder sees is secret, read from the published breakdown `name`
    (pipelines.queries.cube.BREAKDOWNS) of the scope's cell: `keys` has one column per axis the `family`
    breaks down (in the axes' order), after an optional first column `domaine` or `departement` for a
    comparison of the scope's children. A row with no published cell is secret (fail closed)."""
    published = cube.protected_breakdown(con, scope, database_version(con), name)
    level, code, domaine, programme = cube.cell_key(scope)
    along = keys.columns[0] if keys.columns[0] in ("domaine", "departement") else None
    axes = [c for c in keys.columns if c != along]

    def text(value) -> str:  # as the published cells name values (SQL VARCHAR; NULL is UNKNOWN)
        return cube.UNKNOWN if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)

    index = []
    for row in keys.itertuples(index=False):
        row = dict(zip(keys.columns, row))
        values, columns = [], iter(axes)
        for depth in family:
            values.append(text(row[next(columns)]) if depth else None)
        where = ("departement", text(row[along])) if along == "departement" else (level, code)
        index.append((*where, text(row[along]) if along == "domaine" else domaine, programme,
                      cube.value_key(family, values)))
    if not index:
        return pd.Series(dtype=bool, index=keys.index)
    coordinates = [np.array(level, dtype=object) for level in zip(*index)]
    return pd.Series(published.is_secret(coordinates).astype(bool), index=keys.index)
