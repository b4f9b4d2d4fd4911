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

The breakdowns a funder sees along what it cannot filter on (BREAKDOWNS: need, year of start, step,
format, legal form…) are cells one level below, the cube's cells their fixed margins (`protected_breakdown`).

Years are separate slices: a year counts the accompaniments active during it, so years do not add up to
every year and no line links them. Computed once per warehouse version and year, in memory, and ahead of
any request by `publish` (the dashboard runs it in the background after each import).

In a national warehouse (pipelines.store.national) every région's own funder view is public too, and a
national cell is the sum of its régions' cells: published beside région 76's 650 structures, the national 654
gave région 28's secret 4 back. The national cube is therefore protected together with every région's
published cells (stored at build): one linked table of the national cells, each région's cells with its own
lines, and one line per national cell summing its régions' (`_with_regions`). A cell a région publishes is
fixed as known, one it masks stays masked and, if primary, is audited like the national ones: a regional
secret is protected by national cells (totals, other masked cells), never by a cell its région publishes,
and the national cells published with two secret régions below them only when those two protect each other.
Breakdowns likewise, line by line. A slice the build did not store is masked whole (fail closed).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from pipelines.privacy import secret
from pipelines.store import consolidation
from pipelines.queries.indicators import (
    CREATION_SQL,
    EMPLOYEUR_SQL,
    NB_BESOINS_SQL,
    TAILLE_SQL,
    Scope,
    filter_choices,
    query,
)

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
    """The cube of the scope's year (or of every year), indexed by cell_key, with the column `secret`.
    Memoised per warehouse `version` and year, for every session of the process; a slice being protected
    by another thread (publish) is waited for, not protected twice."""
    secret.check_published_period(scope)
    year = Scope(depuis=scope.depuis, jusqu_au=scope.jusqu_au)
    key = (version, year)
    return _memoised(key, lambda: _protect_slice(con, year))


def _protect_slice(con: duckdb.DuckDBPyConnection, year: Scope) -> pd.DataFrame:
    cells, parents = _cells(con, year)
    return _protect(cells, parents, _regions(con, year, "cube"))[["secret"]]


def _regions(con: duckdb.DuckDBPyConnection, year: Scope, table: str):
    """In a national warehouse, each région's published cells of this slice of the cube or of breakdown `table`
    (a frame per région, indexed as the national cells, with their figures and `secret`); None elsewhere;
    consolidation.UNPROTECTED when the build did not store the slice."""
    found = consolidation.regional_cells(con, year.whole_year, table)
    if found is None or isinstance(found, str):
        return found
    names = ["level", "code", "domaine", "programme"] + ([] if table == "cube" else ["valeur"])
    return [frame.drop(columns="region").set_index(names).sort_index() for _, frame in found.groupby("region")]


def _concat_lines(blocks: list[tuple[int, secret.LineArrays]]) -> secret.LineArrays:
    """The lines of several linked tables laid end to end, each block's cells from its offset on."""
    additive = tuple(sorted({kind for _, lines in blocks for kind in lines.additive}))
    lengths = np.concatenate([np.diff(lines.start) for _, lines in blocks]).astype(np.int64)
    return secret.LineArrays(
        margin=np.concatenate([lines.margin + offset for offset, lines in blocks]).astype(np.int64),
        start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        parts=np.concatenate([lines.parts + offset for offset, lines in blocks]).astype(np.int64),
        kind=np.concatenate([np.array([additive.index(lines.additive[k]) for k in lines.kind], dtype=np.int64)
                             for _, lines in blocks]),
        additive=additive)


@dataclass(frozen=True)
class _Joint:
    """National cells followed by every région's, as one linked table (`_with_regions`)."""

    values: np.ndarray
    lines: secret.LineArrays
    regional: pd.DataFrame  # the régions' cells, in order after the national ones

    def extend(self, national_cells: np.ndarray, regional_cells: np.ndarray) -> np.ndarray:
        return np.concatenate([national_cells, regional_cells]).astype(bool)


def _with_regions(cells: pd.DataFrame, lines: secret.LineArrays, regions: list[pd.DataFrame], lines_of) -> _Joint:
    """The national `cells` (with their `lines`), then each région's (with `lines_of(frame)`), and one line per
    national cell: the sum of its régions' cells, for every measure (a structure is in one région's warehouse)."""
    regions = [frame for frame in regions if len(frame)]
    blocks, columns, offset = [(0, lines)], [], len(cells)
    coordinates = [cells.index.get_level_values(name).to_numpy(dtype=object) for name in cells.index.names]
    for frame in regions:
        blocks.append((offset, lines_of(frame)))
        found = CellKeys(frame.index).find(coordinates) if len(cells) else np.zeros(0, dtype=np.int64)
        columns.append(np.where(found >= 0, found + offset, -1))
        offset += len(frame)
    matrix = np.column_stack(columns) if columns else np.full((len(cells), 0), -1, dtype=np.int64)
    has = matrix >= 0
    counts = has.sum(axis=1)
    blocks.append((0, secret.LineArrays(margin=np.flatnonzero(counts), start=np.concatenate([[0], np.cumsum(counts[counts > 0])]),
                                        parts=matrix[has], kind=np.zeros(int((counts > 0).sum()), dtype=np.int64),
                                        additive=(tuple(range(len(MEASURES))),))))
    regional = pd.concat(regions) if regions else pd.DataFrame(columns=[*MEASURES, "top", "secret"])
    values = np.vstack([cells[list(MEASURES)].to_numpy(dtype=float), regional[list(MEASURES)].to_numpy(dtype=float)])
    return _Joint(values, _concat_lines(blocks), regional)


def published_cells(con: duckdb.DuckDBPyConnection, version: tuple, years: list[int | None]) -> pd.DataFrame:
    """Every cell of this warehouse's funder view in the slices `years` (None: every year), as published
    (`protected_cube`, `protected_breakdown`): the cube's (`valeur` ALL) and each breakdown's, its margins
    included, with the columns annee, tableau ('cube' or the breakdown's name), level, code, domaine,
    programme, valeur, the measures, top and secret. A national warehouse built from this one is protected
    with them (pipelines.store.national)."""
    names = ["level", "code", "domaine", "programme", "valeur"]
    columns = ["annee", "tableau", *names, *MEASURES, "top", "secret"]
    frames = [pd.DataFrame(columns=columns)]
    for year in years:
        scope = Scope(**dict(zip(("depuis", "jusqu_au"), Scope.year_period(year))))
        cells, _ = _cells(con, scope)
        verdict = protected_cube(con, scope, version)["secret"].reindex(cells.index, fill_value=True)
        frames.append(cells.assign(secret=verdict.astype(bool)).reset_index().assign(valeur=ALL, annee=year,
                                                                                    tableau="cube"))
        for name, breakdown in BREAKDOWNS.items():
            cells = _breakdown_cells(con, scope, breakdown)[0]
            published = protected_breakdown(con, scope, version, name)
            hidden = published.is_secret([cells.index.get_level_values(n).to_numpy(dtype=object) for n in names])
            frames.append(cells.assign(secret=hidden).reset_index().assign(annee=year, tableau=name))
    return pd.concat([frame[columns] for frame in frames], ignore_index=True)


def _memoised(key: tuple, compute):
    """The memo of published slices, for every session of the process: one computation per key, the
    other threads asking for it wait for that one."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        published = _CUBES.get(key)
        if published is None:
            published = compute()
            with _LOCKS_GUARD:
                while len(_CUBES) >= MAX_SLICES:  # the oldest slice first (an older version's, usually)
                    oldest = next(iter(_CUBES))
                    del _CUBES[oldest]
                    _LOCKS.pop(oldest, None)
                _CUBES[key] = published
    return published


def publish(con: duckdb.DuckDBPyConnection, version: tuple) -> list[int | None]:
    """Protect, ahead of any funder's request, every slice a funder can choose for this warehouse
    version: the cube of every year, then of each year of activity from the latest back, then their
    breakdowns in the same order. Returns the years (None: every year). A funder's first page after an
    import then reads what is published instead of protecting it."""
    period = filter_choices(con)["periode"].iloc[0]  # the years the funder's sidebar offers
    years = [None] + ([] if pd.isna(period["debut"]) else list(range(period["fin"].year, period["debut"].year - 1, -1)))
    scopes = [Scope(**dict(zip(("depuis", "jusqu_au"), Scope.year_period(year)))) for year in years[:MAX_YEARS]]
    for scope in scopes:
        protected_cube(con, scope, version)
    for scope in scopes:
        for name in BREAKDOWNS:
            protected_breakdown(con, scope, version, name)
    return years[:MAX_YEARS]


MAX_YEARS = 16  # years published ahead
_CUBES: dict[tuple, pd.DataFrame] = {}
_LOCKS: dict[tuple, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()

# The cells, one grouping set each: France, a région, a département (each by every or one domaine and
# programme), and a commune (a funder sees communes without a domaine or programme filter only).
_TERRITORIES = ((), ("region",), ("departement",))
_BY_PROGRAMME = [(*territory, *by, "programme") for territory in _TERRITORIES for by in ((), ("domaine",))]
_ALL_PROGRAMMES = [(*territory, *by) for territory in _TERRITORIES for by in ((), ("domaine",))] + [("commune",)]


def _cells(con: duckdb.DuckDBPyConnection, year: Scope) -> tuple[pd.DataFrame, dict[tuple, tuple]]:
    """Every non-empty cell with its measures and top structure's hours, and each territory's parent.
    A structure's territory and domaine are its own: its accompaniments are summed per programme, then
    over programmes, before the cells are counted from those (far fewer) rows in two GROUPING SETS passes."""
    def grouping(sets: list[tuple]) -> str:
        return ", ".join("(" + ", ".join(keys) + ")" for keys in sets)

    measures = ("count(*) AS structures, sum(accompagnements) AS accompagnements, sum(heures) AS heures, "
                "max(heures) AS top")
    frame = query(con, f"""
        , per_programme AS (
            SELECT id_structure, coalesce(code_region, '{UNKNOWN}') AS region,
                   coalesce(code_departement, '{UNKNOWN}') AS departement, coalesce(code_commune, '{UNKNOWN}') AS commune,
                   coalesce(domaine, '{UNKNOWN}') AS domaine, id_programme AS programme,
                   count(*) AS accompagnements, round(sum(coalesce(heures, 0)), 2) AS heures
            FROM acc GROUP BY ALL),
        per_structure AS (
            SELECT id_structure, region, departement, commune, domaine,
                   sum(accompagnements) AS accompagnements, sum(heures) AS heures
            FROM per_programme GROUP BY ALL)
        SELECT region, departement, NULL::VARCHAR AS commune, domaine, programme, {measures}
        FROM per_programme GROUP BY GROUPING SETS ({grouping(_BY_PROGRAMME)})
        UNION ALL
        SELECT region, departement, commune, domaine, NULL::VARCHAR AS programme, {measures}
        FROM per_structure GROUP BY GROUPING SETS ({grouping(_ALL_PROGRAMMES)})""", year)
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


class CellKeys:
    """The cells of a cube (a MultiIndex) as integers — each level's values numbered, a cell the
    mixed-radix number of its values — to find millions of cells at once and to keep a published
    breakdown in a few bytes per cell."""

    def __init__(self, index: pd.MultiIndex):
        self.levels = [pd.Index(level) for level in index.levels]
        sizes = np.array([len(level) + 1 for level in self.levels], dtype=np.int64)  # + 1: not a value of it
        self.strides = np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]]).astype(np.int64)
        keys = sum(np.asarray(codes, dtype=np.int64) * stride for codes, stride in zip(index.codes, self.strides))
        self.order = np.argsort(keys, kind="stable")
        self.sorted = keys[self.order]

    def find(self, coordinates) -> np.ndarray:
        """The position of each cell named by `coordinates` (one array per level), -1 where there is none."""
        keys = np.zeros(len(coordinates[0]), dtype=np.int64)
        for level, values, stride in zip(self.levels, coordinates, self.strides):
            codes = level.get_indexer(pd.Index(values, dtype=object))
            keys += np.where(codes < 0, len(level), codes).astype(np.int64) * stride
        at = np.minimum(np.searchsorted(self.sorted, keys), len(self.sorted) - 1)
        return np.where((len(self.sorted) > 0) & (self.sorted[at] == keys), self.order[at], -1)

    def coordinates(self, positions: np.ndarray) -> list[np.ndarray]:
        """The values, one array per level, of the cells at `positions` of the index the keys were made of."""
        keys = np.empty(len(self.sorted), dtype=np.int64)
        keys[self.order] = self.sorted
        keys = keys[np.asarray(positions, dtype=np.int64)]
        return [level.to_numpy(dtype=object)[(keys // stride) % (len(level) + 1)]
                for level, stride in zip(self.levels, self.strides)]


@dataclass(frozen=True)
class PublishedBreakdown:
    """A published breakdown, compactly: its cells' keys and whether each is secret."""

    keys: CellKeys
    secret: np.ndarray

    def is_secret(self, coordinates) -> np.ndarray:
        """Each named cell's verdict; a cell that is not published is secret (fail closed)."""
        found = self.keys.find(coordinates)
        return np.where(found < 0, True, self.secret[np.maximum(found, 0)])


def _lines(cells: pd.DataFrame, parents: dict[tuple, tuple], value_parents: dict[str, tuple[str, ...]] | None = None,
           per_structure: bool = False) -> secret.LineArrays:
    """The sums a funder can take: régions of France, départements of their région, communes of their
    département, domaines, programmes; and in a breakdown's cube (a fifth index level, `valeur`), each
    value within its parents (`value_parents`; ALL: the published cube's cell), structures adding up
    along it only when a structure has one value (`per_structure`). Lines come in the order of their
    first part's position."""
    coordinates = [cells.index.get_level_values(name).to_numpy(dtype=object) for name in cells.index.names]
    level, code, domaine, programme = coordinates[:4]
    above = {"region": "france", "departement": "region", "commune": "departement"}
    parent_level = pd.Series(level).map(above).to_numpy(dtype=object)
    parent_code = np.full(len(cells), UNKNOWN, dtype=object)  # a territory not in the reference: France's '?'
    parent_code[level == "region"] = ALL
    for child in ("departement", "commune"):
        rows = level == child
        parent_code[rows] = pd.Series(code[rows]).map({c: p[1] for (lv, c), p in parents.items() if lv == child}) \
            .fillna(UNKNOWN).to_numpy(dtype=object)
    every = np.full(len(cells), ALL, dtype=object)
    rest = coordinates[4:]  # the breakdown's value, kept along the cube's own lines
    # The published cube's cells in a breakdown's cube are its fixed margins: their own lines are not redrawn.
    below = rest[0] != ALL if rest else np.ones(len(cells), dtype=bool)
    everything = tuple(range(len(MEASURES)))
    flows = everything[1:]  # structures do not add up across programmes (one can be in two)
    margins = [  # (cells that have such a margin, the margin's coordinates, the measures that add up)
        (below & (level != "france"), (parent_level, parent_code, domaine, programme, *rest), everything),
        (below & (domaine != ALL), (level, code, every, programme, *rest), everything),
        (below & (programme != ALL), (level, code, domaine, every, *rest), flows)]
    # A value within its parent, one line per family: years and needs both add up to the cube's cell, apart.
    # (Per distinct value, then spread: a breakdown has millions of cells and a few hundred values.)
    value_codes, values = pd.factorize(rest[0]) if rest else (np.array([], dtype=int), np.array([], dtype=object))
    family = np.array([v.split(_SEP)[0] for v in values], dtype=object)[value_codes]
    for slot in range(max((len(p) for p in (value_parents or {}).values()), default=0)):
        parent_of_value = [value_parents.get(v, ())[slot] if len(value_parents.get(v, ())) > slot else None
                           for v in values]
        parent = np.array(parent_of_value, dtype=object)[value_codes]
        has_parent = np.array([p is not None for p in parent_of_value], dtype=bool)[value_codes]
        for number in sorted(set(family[has_parent])):
            margins.append((has_parent & (family == number), (level, code, domaine, programme, parent),
                            everything if per_structure else flows))
    keys = CellKeys(cells.index)
    parts = []
    for order, (has, margin, _) in enumerate(margins):
        found = keys.find([c[has] for c in margin])
        assert (found >= 0).all(), "a cube cell without its margin"
        parts.append(pd.DataFrame({"part": np.flatnonzero(has), "order": order, "margin": found}))
    links = pd.concat(parts).sort_values(["part", "order"], kind="stable")
    group, first = pd.factorize(links["margin"].to_numpy() * len(margins) + links["order"].to_numpy())
    by_group = np.argsort(group, kind="stable")
    kinds = sorted({additive for _, _, additive in margins})
    kind_of_order = np.array([kinds.index(additive) for _, _, additive in margins])
    return secret.LineArrays(margin=first // len(margins), start=np.concatenate([[0], np.cumsum(np.bincount(group))]),
                             parts=links["part"].to_numpy()[by_group], kind=kind_of_order[first % len(margins)],
                             additive=tuple(kinds))


def _protect(cells: pd.DataFrame, parents: dict[tuple, tuple], regions=None) -> pd.DataFrame:
    """`regions`: in a national warehouse, its régions' published cells (`_regions`)."""
    values = cells[list(MEASURES)].to_numpy(dtype=float)
    primary = secret.primary_cells(cells["structures"].to_numpy(), cells["heures"].to_numpy(), cells["top"].to_numpy())
    # A cell no funder can select (territory or domaine not known) is never published: masked from the start.
    unpublished = np.asarray((cells.index.get_level_values("code") == UNKNOWN)
                             | (cells.index.get_level_values("domaine") == UNKNOWN))
    lines = _lines(cells, parents)
    if isinstance(regions, str):  # consolidation.UNPROTECTED
        return cells.assign(primary=primary, secret=True)
    if regions is None:
        mask = secret.protect_linked_audited(values, primary, lines.as_lines(), COUNT_MEASURES, forced=unpublished)
        return cells.assign(primary=primary, secret=mask)
    joint = _with_regions(cells, lines, regions, lambda frame: _lines(frame, parents))
    known = joint.regional["secret"].to_numpy(dtype=bool)
    regional_primary = secret.primary_cells(joint.regional["structures"].to_numpy(dtype=float),
                                            joint.regional["heures"].to_numpy(dtype=float),
                                            joint.regional["top"].to_numpy(dtype=float))
    # A région's published cell is known to every funder: fixed; its masked ones stay masked, primaries audited.
    mask = secret.protect_linked_audited(joint.values, joint.extend(primary, regional_primary), joint.lines.as_lines(),
                                         COUNT_MEASURES, forced=joint.extend(unpublished, known),
                                         fixed=joint.extend(np.zeros(len(cells)), ~known))
    return cells.assign(primary=primary, secret=mask[:len(cells)])


# Breakdowns a funder sees along attributes it cannot filter on (a need, a year of start, a step, a legal
# form…): their cells sit one level below the published cube's, which are their margins, and are
# protected with the cube's own lines (territory, domaine, programme) so that, say, a département's
# needs and its région's needs agree: the région less its visible départements gives nothing back.

@dataclass(frozen=True)
class Breakdown:
    """Cells of the published cube broken down along `axes` (per axis, its levels coarse to fine, SQL over
    acc). `shown`: the families of cells a funder sees, a depth per axis ((1, 0): the first axis's first
    level; (1, 1): the cross of both); every family's parents (one level less on one axis) must be shown
    or be the cube's cell. `per_structure`: the attribute is the structure's own (one value each), so
    structures add up along it."""

    axes: tuple[tuple[str, ...], ...]
    shown: tuple[tuple[int, ...], ...]
    per_structure: bool = False


BREAKDOWNS = {
    # Main need (category, then code) and year of start: the needs page and the outcomes' cohorts.
    "besoins": Breakdown((("categorie_principale", "besoin_principal"), ("year(date_debut)::VARCHAR",)),
                         ((1, 0), (2, 0), (0, 1), (1, 1))),
    "pluralite": Breakdown(((NB_BESOINS_SQL + "::VARCHAR",),), ((1,),)),
    "etapes": Breakdown((("type_programme",), ("etape",)), ((1, 0), (0, 1), (1, 1))),
    "formats": Breakdown((("coalesce(format, 'nr')",),), ((1,),)),
    "forme_juridique": Breakdown((("forme_juridique",),), ((1,),), per_structure=True),
    "taille": Breakdown(((TAILLE_SQL,),), ((1,),), per_structure=True),
    "employeur": Breakdown(((EMPLOYEUR_SQL,),), ((1,),), per_structure=True),
    "creation": Breakdown(((CREATION_SQL,),), ((1,),), per_structure=True),
}
_SEP = chr(31)  # between a family's number and its values, in a breakdown cell's `valeur`
# Slices kept in memory: the cube and each breakdown of every year and of MAX_YEARS years (about 30 MB a
# year at 1,000,000 accompaniments).
MAX_SLICES = (MAX_YEARS + 1) * (1 + len(BREAKDOWNS))


def value_key(family: tuple[int, ...], values) -> str:
    """A breakdown cell's `valeur`: its family and, per axis, its value at that depth ('' when not broken down)."""
    return _SEP.join([str(BREAKDOWN_FAMILIES[family]), *("" if depth == 0 else str(v) for depth, v in zip(family, values))])


BREAKDOWN_FAMILIES = {family: number for number, family in enumerate(
    sorted({family for b in BREAKDOWNS.values() for family in b.shown}))}


def protected_breakdown(con: duckdb.DuckDBPyConnection, scope: Scope, version: tuple,
                        name: str) -> "PublishedBreakdown":
    """Breakdown `name` of the scope's year as published, its cells named (level, code, domaine, programme,
    valeur — see value_key). Memoised with the cube's slices."""
    secret.check_published_period(scope)
    year = Scope(depuis=scope.depuis, jusqu_au=scope.jusqu_au)
    published = protected_cube(con, year, version)["secret"]
    return _memoised((version, year, name), lambda: _protect_breakdown(con, year, name, published))


def _breakdown_cells(con: duckdb.DuckDBPyConnection, year: Scope, breakdown: Breakdown):
    levels = [(a, k, sql) for a, axis in enumerate(breakdown.axes) for k, sql in enumerate(axis, start=1)]
    column = {(a, k): f"x{a}_{k}" for a, k, _ in levels}
    families = [tuple(0 for _ in breakdown.axes), *breakdown.shown]  # the cube's own cell first

    def key_sql(family: tuple[int, ...]) -> str:
        if not any(family):
            return f"'{ALL}'"
        parts = [f"'{BREAKDOWN_FAMILIES[family]}'"] + [column[(a, d)] if d else "''" for a, d in enumerate(family)]
        return f" || '{_SEP}' || ".join(parts)

    measures = ("count(*) AS structures, sum(accompagnements) AS accompagnements, sum(heures) AS heures, "
                "max(heures) AS top")
    sets = [(*territory, *by) for territory in _TERRITORIES for by in ((), ("domaine",))]

    def grouping(extra: tuple[str, ...]) -> str:
        # A département's breakdown by domaine and programme at once is not published (its cells are 70 % of a
        # breakdown's and almost all secret): a funder who sets the three filters sees its breakdowns as secret.
        return ", ".join("(" + ", ".join((*keys, *extra, "valeur")) + ")" for keys in sets
                         if not (extra and keys == ("departement", "domaine")))

    frame = query(con, f"""
        , leveled AS (
            SELECT id_structure, coalesce(code_region, '{UNKNOWN}') AS region,
                   coalesce(code_departement, '{UNKNOWN}') AS departement, coalesce(domaine, '{UNKNOWN}') AS domaine,
                   id_programme AS programme, coalesce(heures, 0) AS heures,
                   {", ".join(f"coalesce(({sql})::VARCHAR, '{UNKNOWN}') AS {column[(a, k)]}" for a, k, sql in levels)}
            FROM acc),
        per_programme AS (
            SELECT id_structure, region, departement, domaine, programme, valeur,
                   count(*) AS accompagnements, round(sum(heures), 2) AS heures
            FROM (SELECT *, unnest([{", ".join(key_sql(f) for f in families)}]) AS valeur FROM leveled)
            GROUP BY ALL),
        per_structure AS (
            SELECT id_structure, region, departement, domaine, valeur,
                   sum(accompagnements) AS accompagnements, sum(heures) AS heures
            FROM per_programme GROUP BY ALL)
        SELECT region, departement, domaine, programme, valeur, {measures}
        FROM per_programme GROUP BY GROUPING SETS ({grouping(("programme",))})
        UNION ALL
        SELECT region, departement, domaine, NULL::VARCHAR AS programme, valeur, {measures}
        FROM per_structure GROUP BY GROUPING SETS ({grouping(())})""", year)
    level = np.select([frame["departement"].notna(), frame["region"].notna()], ["departement", "region"], "france")
    code = frame["departement"].fillna(frame["region"]).fillna(ALL)
    cells = pd.DataFrame({"level": level, "code": code.to_numpy(), "domaine": frame["domaine"].fillna(ALL).to_numpy(),
                          "programme": frame["programme"].fillna(ALL).to_numpy(), "valeur": frame["valeur"].to_numpy(),
                          **{c: frame[c].to_numpy(dtype=float) for c in (*MEASURES, "top")}})
    # Each value's parents: one level less on one axis (the cube's cell, ALL, above the first level).
    combos = query(con, "SELECT DISTINCT " + ", ".join(f"coalesce(({sql})::VARCHAR, '{UNKNOWN}') AS {column[(a, k)]}"
                                                       for a, k, sql in levels) + " FROM acc", year)
    value_parents: dict[str, tuple[str, ...]] = {}
    for row in combos.itertuples(index=False):
        values = dict(zip(column.values(), row))

        def at(family: tuple[int, ...]) -> str:
            return ALL if not any(family) else value_key(
                family, [values[column[(a, d)]] if d else None for a, d in enumerate(family)])

        for family in breakdown.shown:
            value_parents[at(family)] = tuple(at(family[:a] + (d - 1,) + family[a + 1:])
                                              for a, d in enumerate(family) if d)
    parents = {("departement", d): ("region", r) for d, r in query(
        con, f"""SELECT DISTINCT coalesce(code_departement, '{UNKNOWN}') AS d, coalesce(code_region, '{UNKNOWN}') AS r
                 FROM acc""", year).itertuples(index=False)}
    return cells.set_index(["level", "code", "domaine", "programme", "valeur"]).sort_index(), parents, value_parents


def _protect_breakdown(con: duckdb.DuckDBPyConnection, year: Scope, name: str,
                       published: pd.Series) -> PublishedBreakdown:
    breakdown = BREAKDOWNS[name]
    cells, parents, value_parents = _breakdown_cells(con, year, breakdown)
    values = cells[list(MEASURES)].to_numpy(dtype=float)
    margin = np.asarray(cells.index.get_level_values("valeur") == ALL)
    # The cube's cells keep the verdict they were published with: secret ones are forced, the others fixed.
    verdict = published.reindex(cells.index.droplevel("valeur")).to_numpy(dtype=object)
    margin_secret = margin & np.array([v is not False and v is not np.False_ for v in verdict], dtype=bool)  # bool when empty
    primary = secret.primary_cells(cells["structures"].to_numpy(), cells["heures"].to_numpy(),
                                   cells["top"].to_numpy()) & ~margin
    unpublished = np.asarray((cells.index.get_level_values("code") == UNKNOWN)
                             | (cells.index.get_level_values("domaine") == UNKNOWN))
    # Lines settled in rounds, without the cube's global audit: breakdowns have ten to thirty times its cells
    # (millions at 1,000,000 accompaniments), and the LPs grew past minutes on the demo (README: not yet covered).
    lines = _lines(cells, parents, value_parents, breakdown.per_structure)
    forced, fixed = (unpublished & ~margin) | margin_secret, margin & ~margin_secret
    regions = _regions(con, year, name)
    if isinstance(regions, str):  # consolidation.UNPROTECTED
        return PublishedBreakdown(CellKeys(cells.index), np.ones(len(cells), dtype=bool))
    if regions is None:
        mask = secret.protect_linked_rounds(values, primary, lines, COUNT_MEASURES, forced=forced, fixed=fixed)
        return PublishedBreakdown(CellKeys(cells.index), mask)
    joint = _with_regions(cells, lines, regions,
                          lambda frame: _lines(frame, parents, value_parents, breakdown.per_structure))
    known = joint.regional["secret"].to_numpy(dtype=bool)
    regional_primary = secret.primary_cells(
        joint.regional["structures"].to_numpy(dtype=float), joint.regional["heures"].to_numpy(dtype=float),
        joint.regional["top"].to_numpy(dtype=float)) & (joint.regional.index.get_level_values("valeur") != ALL)
    mask = secret.protect_linked_rounds(joint.values, joint.extend(primary, regional_primary), joint.lines, COUNT_MEASURES,
                                        forced=joint.extend(forced, known), fixed=joint.extend(fixed, ~known))
    return PublishedBreakdown(CellKeys(cells.index), mask[:len(cells)])
