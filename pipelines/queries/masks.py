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
NATIONAL = "national"  # the key of the masks' verdict on the whole of France (the scope without territory)


def territory_masks(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict:
    """Secrecy masks of every territory, computed once over the whole hierarchy and reused by every view.

    Régions are masked as a breakdown of the total, départements as a breakdown of their région,
    communes of their département; a territory inside a masked one is masked. The territory filters
    are ignored on purpose: a région's view and the national view then hide the same départements, so
    neither gives back, by difference, what the other hides. A territory is masked whole (its
    structures and its hours together): the view of it that shows its hours and the view of its parent
    that shows its count can then never disagree. A breakdown that can only be protected by hiding its
    total hides its parent territory too, and the levels are computed again from there.

    Returns, per level (code_region, code_departement, code_commune), a frame indexed by code with the
    columns `structures` and `heures` (True: masked; the two are equal), and under NATIONAL whether the
    total of France is itself secret. Memoised per warehouse file version and scope.
    """
    secret.check_published_period(scope)
    wide = dataclasses.replace(scope, region=None, departement=None)
    key = (_database_file(con), wide)
    if key not in _MASKS:
        _MASKS.clear()  # one scope at a time is plenty: pages ask for the same one repeatedly
        _MASKS[key] = _compute_masks(con, wide)
    return _MASKS[key]


_MASKS: dict[tuple, dict] = {}


def _database_file(con: duckdb.DuckDBPyConnection) -> tuple:
    """The warehouse file and its version: masks are recomputed after any committed write."""
    path = con.execute("SELECT file FROM pragma_database_list WHERE name = current_database()").fetchone()[0]
    return (path, warehouse.version(Path(path))) if path else (id(con),)


def _compute_masks(con: duckdb.DuckDBPyConnection, wide: Scope) -> dict:
    # One row per structure and commune: distinct structures are its rows, hours its sum, top its max.
    per_structure = query(con, f"""
        SELECT id_structure, {", ".join(LEVELS)}, sum(coalesce(heures, 0)) AS h
        FROM acc WHERE code_commune IS NOT NULL GROUP BY ALL""", wide)
    forced: dict[str | None, set] = {level: set() for level in [None, *LEVELS]}
    while True:  # each round hides at least one more territory: it ends
        masks, hide_parents = _masks_top_down(per_structure, forced)
        if not any(hide_parents.values()):
            return masks
        for level, codes in hide_parents.items():
            forced[level] |= codes


def _margins(per_structure: pd.DataFrame, key: str | None) -> pd.DataFrame:
    """Per territory of the level `key` (or for France when None): structures, hours, top structure's hours."""
    per = per_structure.groupby(([key] if key else []) + ["id_structure"])["h"].sum().reset_index()
    if key is None:
        return pd.DataFrame({"n": [len(per)], "hours": [per["h"].sum()], "top": [per["h"].max()]}, index=[None])
    return per.groupby(key).agg(n=("id_structure", "size"), hours=("h", "sum"), top=("h", "max"))


def _masks_top_down(per_structure: pd.DataFrame, forced: dict[str | None, set]) -> tuple[dict, dict]:
    """One pass down the hierarchy; also which visible parents a breakdown needs hidden."""
    france = _margins(per_structure, None).iloc[0]
    national = bool(None in forced[None] or secret.is_primary_secret(france["n"])
                    or secret.is_primary_secret(france["n"], france["top"], france["hours"]))
    masks: dict = {NATIONAL: national}
    hide_parents: dict[str | None, set] = {level: set() for level in [None, *LEVELS]}
    for level, parent in LEVELS.items():
        cells = _margins(per_structure, level).rename(columns={"n": "structures", "hours": "heures"})
        if parent:
            cells[parent] = per_structure.groupby(level)[parent].first()
        margins = _margins(per_structure, parent)
        out = []
        for code, part in (cells.groupby(parent) if parent else [(None, cells)]):
            n, hours, top = margins.loc[code, ["n", "hours", "top"]]
            above = masks[NATIONAL] if parent is None else bool(masks[parent].loc[code, "structures"])
            if above or secret.is_primary_secret(n):
                mask = pd.Series(True, index=part.index)
            else:
                mask, total_hidden = _joint_mask(part, (n, hours, top), part.index.isin(forced[level]))
                if total_hidden:
                    hide_parents[parent].add(code)
            out.append(mask)
        joint = pd.concat(out) if out else pd.Series(dtype=bool)
        masks[level] = pd.DataFrame({"structures": joint, "heures": joint})
    return masks, hide_parents


def _joint_mask(part: pd.DataFrame, margin: tuple, forced) -> tuple[pd.Series, bool]:
    """One mask for a territory's children, protecting their structure counts and their hours at once."""
    n, hours, top = margin
    joint = pd.Series(forced, index=part.index)
    while True:
        counts, counts_total = secret.mask_breakdown(part, "structures", total=(n, n, None), forced=joint)
        summed, hours_total = secret.mask_breakdown(part, "heures", top="top", total=(hours, n, top), forced=joint)
        grown = joint | counts | summed
        if grown.equals(joint):
            return joint, counts_total or hours_total
        joint = grown


def scope_hidden(con: duckdb.DuckDBPyConnection, scope: Scope) -> bool:
    """Under secrecy, is this scope's total itself secret? Fewer than the threshold of structures, or a
    territory the hierarchy masks (its own view would give back by its key figure what the wider views
    hide), or France itself when the hierarchy needs it hidden. A hidden scope shows nothing but "secret".
    Every funder figure goes through here or through `territory_masks`: both refuse a period a funder
    may not choose (pipelines.privacy.secret.check_published_period)."""
    secret.check_published_period(scope)
    n = int(query(con, "SELECT count(DISTINCT id_structure) AS n FROM acc", scope)["n"].iloc[0])
    if secret.is_primary_secret(n):
        return True
    masks = territory_masks(con, scope)
    if not (scope.region or scope.departement):
        return masks[NATIONAL]
    level, code = ("code_departement", scope.departement) if scope.departement else ("code_region", scope.region)
    # A territory with structures in scope but absent from the masks (no commune known) fails closed.
    return bool(masks[level]["structures"].get(code, True))
