"""What marks a warehouse as the national consolidation, and what it keeps of the régions' funder views.

A leaf module: the writer (pipelines.store.warehouse), the national build (pipelines.store.national) and the
funder cube (pipelines.queries.cube) all read these marks, and the build itself needs the cube, so the marks
cannot live in the build's module without an import cycle.
"""

from __future__ import annotations

import json

import duckdb

from pipelines.store.engine import WarehouseError

MODE = "consolidation"  # imports.mode of the rows that say which régional warehouse each row comes from
SLICES = "tranches_protegees"  # in each région's imports.rapport: the years (null: every year) stored
UNPROTECTED = "non protégée"  # regional_cells: a slice the build did not store, masked whole


class NationalReadOnly(WarehouseError):
    pass


def is_national(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM imports WHERE mode = ?", [MODE]).fetchall()[0][0])


def refuse_if_national(con: duckdb.DuckDBPyConnection) -> None:
    if is_national(con):
        raise NationalReadOnly("Cet entrepôt est la vue nationale, reconstruite à partir des entrepôts régionaux : on "
                               "n'y importe rien et on n'y annule rien. Importez dans l'entrepôt de la région, puis "
                               "relancez « python -m pipelines national ».")


def regional_cells(con: duckdb.DuckDBPyConnection, year: int | None, table: str):
    """Every région's published cells (region, level, code, domaine, programme, valeur, measures, top, secret) of
    the slice `year` (None: every year) of `table` ('cube' or a breakdown's name), named as the national cube
    names them; None in a warehouse that is not national; UNPROTECTED when a région's slice was not stored."""
    reports = con.execute("SELECT rapport FROM imports WHERE mode = ?", [MODE]).fetchall()
    if not reports:
        return None
    for (report,) in reports:
        if year not in (json.loads(report or "{}").get(SLICES) or []):
            return UNPROTECTED
    return con.execute("""SELECT region, niveau AS level, code, domaine, programme, valeur, structures, accompagnements,
                                 heures, max_structure AS top, secret
                          FROM cases_regionales WHERE annee IS NOT DISTINCT FROM ? AND tableau = ?""",
                       [year, table]).df()
