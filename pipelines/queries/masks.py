"""Secrecy masks that every view of the funder shares, so that no two views disagree on a cell.

* `territory_masks`: the masks of the whole territorial hierarchy (régions, départements within their
  région, communes within their département), computed once per warehouse version and scope;
* `scope_hidden`: whether a scope's own total is secret (then its view shows nothing but "secret");
* `hours_top`: the largest single structure's hours, the dominance rule's input.

The algorithm itself (primary and complementary secrecy) is pipelines.privacy.secret; this module
feeds it from the warehouse.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.privacy import secret
from pipelines.queries.indicators import Scope, query
from pipelines.store import warehouse


def hours_top(con: duckdb.DuckDBPyConnection, scope: Scope, key_sql: str | None = None) -> pd.DataFrame:
    """Largest single structure's hours per `key_sql` AS cle (or over the whole scope): the dominance rule's input."""
    if key_sql is None:
        return query(con, """SELECT max(h) AS top FROM (
                                 SELECT id_structure, coalesce(sum(heures), 0) AS h FROM acc GROUP BY 1)""", scope)
    return query(con, f"""SELECT cle, max(h) AS top FROM (
                              SELECT {key_sql} AS cle, id_structure, coalesce(sum(heures), 0) AS h FROM acc GROUP BY 1, 2)
                          GROUP BY 1""", scope)


LEVELS = {"code_region": None, "code_departement": "code_region", "code_commune": "code_departement"}


def territory_masks(con: duckdb.DuckDBPyConnection, scope: Scope, down_to: str = "code_departement"
                    ) -> dict[str, pd.DataFrame]:
    """Secrecy masks of every territory, computed once over the whole hierarchy and reused by every view.

    Régions are masked as a breakdown of the total, départements as a breakdown of their région,
    communes of their département (only when `down_to` asks for them); a territory inside a masked
    one is masked. The territory filters are ignored on purpose: a région's view and the national
    view then hide the same départements, so neither gives back, by difference, what the other hides.
    Returns, per level (code_region, code_departement[, code_commune]), a frame indexed by code with
    columns `structures` and `heures` (True: masked). Memoised per warehouse file version and scope.
    """
    wide = dataclasses.replace(scope, region=None, departement=None)
    levels = list(LEVELS)[:list(LEVELS).index(down_to) + 1]
    key = (_database_file(con), wide, down_to)
    if key not in _MASKS:
        _MASKS.clear()  # one scope at a time is plenty: pages ask for the same one repeatedly
        _MASKS[key] = _compute_masks(con, wide, levels)
    return _MASKS[key]


_MASKS: dict[tuple, dict[str, pd.DataFrame]] = {}


def _database_file(con: duckdb.DuckDBPyConnection) -> tuple:
    """The warehouse file and its version: masks are recomputed after any committed write."""
    path = con.execute("SELECT file FROM pragma_database_list WHERE name = current_database()").fetchone()[0]
    return (path, warehouse.version(Path(path))) if path else (id(con),)


def _compute_masks(con: duckdb.DuckDBPyConnection, wide: Scope, levels: list[str]) -> dict[str, pd.DataFrame]:
    columns = ", ".join(levels)
    # One row per structure and territory: distinct structures are its rows, hours its sum, top its max.
    per_structure = query(con, f"""
        SELECT id_structure, {columns}, sum(coalesce(heures, 0)) AS h
        FROM acc WHERE code_commune IS NOT NULL GROUP BY ALL""", wide)
    masks: dict[str, pd.DataFrame] = {}
    for level in levels:
        parent = LEVELS[level]
        keys = [parent, level] if parent else [level]
        per_level = per_structure.groupby(keys + ["id_structure"])["h"].sum().reset_index()
        cells = per_level.groupby(keys).agg(structures=("id_structure", "size"), heures=("h", "sum"),
                                            top=("h", "max")).reset_index()
        if parent:
            per_parent = per_structure.groupby([parent, "id_structure"])["h"].sum().reset_index()
            margins = per_parent.groupby(parent).agg(n=("id_structure", "size"), hours=("h", "sum"),
                                                     top=("h", "max"))
        else:
            totals = per_structure.groupby("id_structure")["h"].sum()
            margins = pd.DataFrame({"n": [len(totals)], "hours": [totals.sum()], "top": [totals.max()]},
                                   index=[None])
        out = []
        for code, part in (cells.groupby(parent) if parent else [(None, cells)]):
            part = part.set_index(level)
            n, hours, top = margins.loc[code, ["n", "hours", "top"]]
            counts_above = parent is not None and bool(masks[parent].loc[code, "structures"])
            hours_above = parent is not None and bool(masks[parent].loc[code, "heures"])
            if counts_above or secret.is_primary_secret(n):
                count_mask = pd.Series(True, index=part.index)
            else:
                count_mask, _ = secret.mask_breakdown(part, "structures", total=(n, n, None))
            if hours_above or count_mask.all():
                hours_mask = pd.Series(True, index=part.index)
            else:
                hours_mask, _ = secret.mask_breakdown(part, "heures", top="top", total=(hours, n, top))
            out.append(pd.DataFrame({"structures": count_mask, "heures": hours_mask | count_mask}))
        masks[level] = (pd.concat(out) if out
                        else pd.DataFrame({"structures": pd.Series(dtype=bool), "heures": pd.Series(dtype=bool)}))
    return masks


def scope_hidden(con: duckdb.DuckDBPyConnection, scope: Scope) -> bool:
    """Under secrecy, is this scope's total itself secret? Fewer than the threshold of structures, or a
    territory filter naming a territory the hierarchy masks (its own view would give back by its key
    figure what the wider views hide). A hidden scope shows nothing but "secret"."""
    n = int(query(con, "SELECT count(DISTINCT id_structure) AS n FROM acc", scope)["n"].iloc[0])
    if secret.is_primary_secret(n):
        return True
    if not (scope.region or scope.departement):
        return False
    level, code = ("code_departement", scope.departement) if scope.departement else ("code_region", scope.region)
    masks = territory_masks(con, scope, level)
    # Hours too: every view of a territory totals them somewhere (key figure, years, programmes).
    return bool(masks[level]["structures"].get(code, False) or masks[level]["heures"].get(code, False))
