"""Statistical secrecy ("secret statistique") for the funder view.

Threat model. A funder sees every page, export, PDF, meeting screen and `kpis --vue financeur`
answer, for any filter the funder view offers (territory, domaine, programme, one whole calendar year
or every year), and subtracts, adds and compares them. What is promised: no value computed from fewer
than `threshold` structures (3), nor one that a single structure dominates (85 % or more of a sum), can
be recovered exactly, or narrowed to less than its protection range, from any combination of them.
What is not promised (open, said in the README): years are separate slices (a year counts the
accompaniments active during it, so years do not add up), linked only by inequalities; breakdowns are
settled line by line (`protect_linked_rounds`) without the cube's global audit; the means of results
are masked by their own number of structures, view by view.

How it holds:
* primary secrecy: a cell computed from fewer than `threshold` distinct structures
  (env ``OBSERVATOIRE_SEUIL_SECRET``), or a summed value (hours, budget, jobs) of which one structure
  makes 85 % or more, is masked; an unknown count or value is masked too (fail closed);
* the funder's periods are whole calendar years (`check_published_period`): two periods a day apart
  would give back what lies between them;
* every key figure a funder's filters can select is a cell of one published cube protected once
  (pipelines.queries.cube, with `protect_linked_audited`): a cell secret in one view is secret in all;
  breakdowns along what a funder cannot filter on (need, year of start, step, legal form…) are cells
  below the cube's, protected with the same lines and the cube's cells as fixed margins;
* complementary (secondary) secrecy masks further cells, chosen for the protection range they give
  (τ-ARGUS's protection level: the attacker's interval must reach 10 % of the value beyond it on each
  side, and at least 3 units for counts), and `audit` computes by linear programming (HiGHS) the
  feasible interval of every masked primary cell; a table whose pattern fails is repaired before it is
  shown.

A table is a grid of cells with, optionally, a total row (the sum of each column) and a total column
(the sum of each row); with both, the corner is the grand total. A breakdown with its total is a
one-column table with a total row. Each cell carries its value, the number of distinct structures
behind it and, for summed values, the largest single structure's contribution. Whatever else a screen
shows (a KPI card with the grand total, say) must be a margin of the table it belongs to, so that it is
counted in the equations.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

ENV_VAR = "OBSERVATOIRE_SEUIL_SECRET"
DEFAULT_THRESHOLD = 3
DOMINANCE = 0.85
TOTAL = "Total"
SECRET = "secret"

RULE_TEXT = (
    "Secret statistique : une valeur calculée sur moins de {seuil} structures, ou dont une seule structure "
    "représente 85 % ou plus (heures, budgets, emplois), est remplacée par « secret ». D'autres valeurs sont "
    "masquées en complément pour qu'aucune valeur secrète ne puisse être retrouvée par différence avec un "
    "total, une ligne ou une colonne du même tableau."
)


class SecretError(ValueError):
    """A secrecy setting or table that cannot be used (message in French)."""


def threshold(explicit: int | None = None) -> int:
    """The minimum number of structures behind a visible value: parameter, else env, else 3."""
    if explicit is not None:
        value = explicit
    else:
        text = os.environ.get(ENV_VAR, "").strip()
        if not text:
            return DEFAULT_THRESHOLD
        try:
            value = int(text)
        except ValueError:
            raise SecretError(
                f"{ENV_VAR}={text!r} n'est pas un nombre entier : indiquez un seuil comme 3.") from None
    if value < 1:
        raise SecretError(f"Le seuil du secret statistique doit être au moins 1 (reçu : {value}).")
    return value


PERIOD_RULE = ("Vue financeur : la période est une année civile entière (du 1er janvier au 31 décembre) ou "
               "toutes les années. Des périodes au jour près permettraient de retrouver, par différence, des "
               "valeurs secrètes.")


def check_published_period(scope) -> None:
    """Refuse (SecretError, in French) a period a funder may not choose: only one whole calendar year,
    or none. Two periods that differ by a day or a year would give back, by difference, what lies
    between them. `scope` is a pipelines.queries.indicators.Scope."""
    if (scope.depuis or scope.jusqu_au) and not scope.whole_year:
        raise SecretError(PERIOD_RULE)


def rule_text(seuil: int | None = None) -> str:
    """The secrecy rule in French, for methodology pages and export footers."""
    return RULE_TEXT.format(seuil=threshold(seuil))


def is_primary_secret(count: int | float | None, top: float | None = None, value: float | None = None,
                      *, seuil: int | None = None, dominance: float = DOMINANCE) -> bool:
    """Primary rule for one value (a KPI card, a map cell).

    Fails closed: an unknown count is secret, and so is a summed value (`top` given: the dominance rule
    applies) whose value or top contribution is unknown. Counts pass no `top`: they have no dominance rule.
    """
    if count is None or pd.isna(count):
        return True
    if 0 < count < threshold(seuil):
        return True
    if top is None:
        return False
    if pd.isna(top) or value is None or pd.isna(value):
        return count > 0
    return value > 0 and top >= dominance * value


@dataclass(frozen=True)
class TableStats:
    """A table before protection: values, structure counts and top contributions on one grid.

    The grid includes the margins when shown: `total_row` means the last row
    holds the column totals, `total_column` that the last column holds the
    row totals. `top` is None for counts (no dominance rule).
    """

    values: pd.DataFrame
    counts: pd.DataFrame
    top: pd.DataFrame | None = None
    total_row: bool = False
    total_column: bool = False

    def __post_init__(self):
        for name in ("counts", "top"):
            other = getattr(self, name)
            if other is not None and (other.shape != self.values.shape
                                      or not other.index.equals(self.values.index)
                                      or not other.columns.equals(self.values.columns)):
                raise SecretError(f"Le tableau « {name} » n'a pas les mêmes lignes et colonnes que les valeurs.")

    def equations(self) -> list[list[tuple[int, int, int]]]:
        """Each margin relation as [(row, col, coefficient)], summing to zero."""
        n_rows, n_cols = self.values.shape
        lines = []
        if self.total_column:
            for r in range(n_rows):
                lines.append([(r, c, 1) for c in range(n_cols - 1)] + [(r, n_cols - 1, -1)])
        if self.total_row:
            for c in range(n_cols):
                lines.append([(r, c, 1) for r in range(n_rows - 1)] + [(n_rows - 1, c, -1)])
        return lines


@dataclass(frozen=True)
class Protected:
    """A table after protection: masked values are None; `mask` and `primary` say which and why."""

    values: pd.DataFrame
    mask: pd.DataFrame
    primary: pd.DataFrame

    @property
    def complementary(self) -> pd.DataFrame:
        return self.mask & ~self.primary

    def display(self, formatter=str, secret: str = SECRET) -> pd.DataFrame:
        """Strings for a screen or an export: formatted values, "secret" where masked."""
        shown = self.values.astype(object).copy()
        for column in shown.columns:
            shown[column] = [secret if hidden else formatter(value)
                             for value, hidden in zip(self.values[column], self.mask[column])]
        return shown


def primary_mask(stats: TableStats, *, seuil: int | None = None, dominance: float = DOMINANCE) -> np.ndarray:
    return primary_cells(stats.counts.to_numpy(dtype=float), stats.values.to_numpy(dtype=float),
                         None if stats.top is None else stats.top.to_numpy(dtype=float), seuil=seuil, dominance=dominance)


def primary_cells(counts: np.ndarray, values: np.ndarray, top: np.ndarray | None = None, *, seuil: int | None = None,
                  dominance: float = DOMINANCE) -> np.ndarray:
    """The primary rule over arrays of cells (structure counts, values, largest contributions; `top` None for
    counts). Fails closed: an unknown count is secret, and so is an unknown value behind known structures."""
    mask = np.isnan(counts) | ((counts > 0) & (counts < threshold(seuil))) | (np.isnan(values) & (counts != 0))
    if top is not None:
        with np.errstate(invalid="ignore"):
            mask |= (values > 0) & (np.isnan(top) | (top >= dominance * values))
    return mask


def recoverable(stats: TableStats, mask: np.ndarray) -> np.ndarray:
    """Masked cells whose value follows exactly from the visible cells and the margin equations."""
    cells = list(zip(*np.nonzero(mask)))
    out = np.zeros_like(mask, dtype=bool)
    if not cells:
        return out
    position = {cell: i for i, cell in enumerate(cells)}
    rows = []
    for line in stats.equations():
        row = np.zeros(len(cells))
        for r, c, coef in line:
            if (r, c) in position:
                row[position[(r, c)]] = coef
        if row.any():
            rows.append(row)
    if not rows:
        return out
    matrix = np.array(rows)
    rank = np.linalg.matrix_rank(matrix)
    for (r, c), i in position.items():
        # e_i is in the row space of the system iff dropping unknown i lowers the rank.
        if np.linalg.matrix_rank(np.delete(matrix, i, axis=1)) < rank:
            out[r, c] = True
    return out


def _can_hide(stats: TableStats, mask: np.ndarray, cell: tuple[int, int], allow_empty: bool = False) -> bool:
    """A visible cell complementary masking may take. Not an empty cell (no structure) unless nothing
    else is left: screens and exports leave empty combinations out or show them as 0, so a reader
    knows them whatever the mask."""
    return not mask[cell] and (allow_empty or stats.counts.iat[cell] != 0)


def _smallest_visible(stats: TableStats, mask: np.ndarray, line: list[tuple[int, int, int]],
                      values: np.ndarray, allow_empty: bool = False, need: float = 0.0) -> tuple[int, int] | None:
    """The cell of `line` to mask next: the smallest that gives the protection `need`, else the largest."""
    candidates = [(r, c) for r, c, _ in line if _can_hide(stats, mask, (r, c), allow_empty)]
    return min(candidates, key=lambda cell: _cost_of(stats, cell, values, need)) if candidates else None


def _need(stats: TableStats, primary: np.ndarray, line: list[tuple[int, int, int]], values: np.ndarray) -> float:
    """The protection the primary cells of `line` ask of a complementary cell there."""
    wanted = [required_protection(values[r, c], stats.top is None) for r, c, _ in line
              if primary[r, c] and not np.isnan(values[r, c])]
    return max(wanted, default=0.0)


def complementary_mask(stats: TableStats, mask: np.ndarray) -> np.ndarray:
    """Grow `mask` until no masked value is recoverable (a fixed point; at worst, everything).

    Cells are chosen for the protection they give the primary ones (`mask` as given), not only for being
    small: in a line, the smallest visible cell at least as large as the protection its primary cells
    need (pipelines.privacy.secret.required_protection), else the largest one there is."""
    primary = mask.copy()
    mask = mask.copy()
    values = stats.values.to_numpy(dtype=float)
    lines = stats.equations()
    while True:
        changed = False
        # A line with exactly one masked cell gives it away by subtraction.
        for line in lines:
            if sum(mask[r, c] for r, c, _ in line) == 1:
                cell = _smallest_visible(stats, mask, line, values, need=_need(stats, primary, line, values))
                if cell is not None:
                    mask[cell] = True
                    changed = True
        if changed:
            continue
        # Subtler combinations of rows and columns (a masked cell bridging two blocks).
        exposed = recoverable(stats, mask)
        if not exposed.any():
            return mask
        r, c = map(int, np.argwhere(exposed)[0])
        best = None
        for line in lines:
            if any((r, c) == (lr, lc) for lr, lc, _ in line):
                for cell in [(lr, lc) for lr, lc, _ in line if _can_hide(stats, mask, (lr, lc))]:
                    trial = mask.copy()
                    trial[cell] = True
                    if not recoverable(stats, trial)[r, c]:
                        candidate = _cost_of(stats, cell, values)
                        if best is None or candidate < best[0]:
                            best = (candidate, cell)
        if best is None:
            # No single cell in its lines is enough: mask the smallest one of its row or column and go on.
            # Empty cells only when nothing else is left; failing that, any visible cell of the table.
            mine = [line for line in lines if any((r, c) == (lr, lc) for lr, lc, _ in line)]
            everything = [[(i, j, 1) for i in range(mask.shape[0]) for j in range(mask.shape[1])]]
            line, allow_empty = next(
                (line, allow) for allow in (False, True) for line in mine + everything
                if any(_can_hide(stats, mask, (lr, lc), allow) for lr, lc, _ in line))
            cell = _smallest_visible(stats, mask, line, values, allow_empty)
        else:
            cell = best[1]
        mask[cell] = True


def _cost_of(stats: TableStats, cell: tuple[int, int], values: np.ndarray, need: float = 0.0) -> tuple:
    """Margins last; then cells large enough for `need`, smallest first; then the others, largest first."""
    n_rows, n_cols = values.shape
    r, c = cell
    is_margin = (stats.total_row and r == n_rows - 1) or (stats.total_column and c == n_cols - 1)
    value = np.inf if np.isnan(values[r, c]) else abs(values[r, c])
    enough = value >= need
    return (is_margin, not enough, value if enough else -value, r, c)


# Protection ranges (τ-ARGUS's protection levels) and their audit by linear programming.

PROTECTION_RATIO = 0.10  # the attacker's interval reaches 10 % of a masked value beyond it, on each side
PROTECTION_UNITS = 3  # and at least 3 units for counts
_EPS = 1e-6


def required_protection(value: float, count_table: bool) -> float:
    """How far beyond a masked primary value, on each side, the attacker's interval must reach."""
    return max(PROTECTION_RATIO * abs(float(value)), PROTECTION_UNITS if count_table else 0.0)


@dataclass(frozen=True)
class Interval:
    """What an attacker can deduce of one masked primary cell from every visible cell of its table."""

    cell: tuple[int, int]
    value: float
    lower: float
    upper: float
    required: float

    @property
    def protected(self) -> bool:
        """The interval reaches `required` beyond the value on each side (below, down to zero at least)."""
        return (self.upper >= self.value + self.required - _EPS
                and self.lower <= max(self.value - self.required, 0.0) + _EPS)


class _AttackerModel:
    """What an attacker knows of the masked cells, as a linear program (HiGHS): every visible cell is a
    constant, every value is at least zero, and each line (margin, parts) is an equation when it adds up,
    else — distinct structures, one counting in several parts — the inequalities it still gives: the parts
    sum to at least the margin, and none exceeds it. One model, re-solved per cell from the last basis."""

    def __init__(self, values: np.ndarray, masked: np.ndarray, lines: list[tuple[int, tuple[int, ...], bool]]):
        import highspy  # imported when used: pages of roles without secrecy never need it

        self.highspy, self.infinity = highspy, highspy.kHighsInf
        self.position = {int(cell): i for i, cell in enumerate(masked)}
        self.solver = highspy.Highs()
        self.solver.setOptionValue("output_flag", False)
        self.solver.setOptionValue("presolve", "off")  # re-solved per cell: start from the last basis
        self.solver.setOptionValue("simplex_strategy", 4)  # primal: a new objective keeps that basis feasible
        self.solver.addVars(len(masked), np.zeros(len(masked)), np.full(len(masked), self.infinity))
        self._costs = np.zeros(len(masked))
        for margin, parts, additive in lines:
            self._add_line(values, margin, parts, additive)

    def _add_row(self, lower: float, upper: float, terms: dict[int, float]) -> None:
        terms = {k: v for k, v in terms.items() if v}
        if terms:
            self.solver.addRow(lower, upper, len(terms), np.array(list(terms), dtype=np.int32),
                               np.array(list(terms.values()), dtype=float))

    def _add_line(self, values: np.ndarray, margin: int, parts: tuple[int, ...], additive: bool) -> None:
        position = self.position
        members = [(part, 1.0) for part in parts] + [(margin, -1.0)]
        if not any(cell in position for cell, _ in members):
            return
        terms: dict[int, float] = {}
        known = 0.0
        for cell, coefficient in members:
            if cell in position:
                terms[position[cell]] = terms.get(position[cell], 0.0) + coefficient
            else:
                known += coefficient * values[cell]
        if additive:
            self._add_row(-known, -known, terms)
            return
        self._add_row(-known, self.infinity, terms)
        for part in parts:
            part_terms = {position[part]: 1.0} if part in position else {}
            if margin in position:
                part_terms[position[margin]] = part_terms.get(position[margin], 0.0) - 1.0
            bound = (0.0 if margin in position else values[margin]) - (0.0 if part in position else values[part])
            self._add_row(-self.infinity, bound, part_terms)

    def bound(self, cell: int, maximise: bool) -> tuple[float | None, np.ndarray | None]:
        """The largest (or smallest) value `cell` can take, with the optimal point found (None when the
        solver cannot tell: the caller fails closed)."""
        self._costs[:] = 0.0
        self._costs[self.position[cell]] = 1.0
        self.solver.changeColsCost(len(self._costs), np.arange(len(self._costs), dtype=np.int32), self._costs)
        self.solver.changeObjectiveSense(self.highspy.ObjSense.kMaximize if maximise
                                         else self.highspy.ObjSense.kMinimize)
        self.solver.run()
        status = self.solver.getModelStatus()
        if status == self.highspy.HighsModelStatus.kOptimal:
            return self.solver.getInfo().objective_function_value, np.asarray(self.solver.getSolution().col_value)
        if status in (self.highspy.HighsModelStatus.kUnbounded, self.highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return (self.infinity if maximise else 0.0), None
        return None, None


def audit(stats: TableStats, mask: np.ndarray, primary: np.ndarray | None = None) -> list[Interval]:
    """The feasible interval of every masked primary cell, by linear programming (HiGHS) over what the
    table shows: each visible cell, each margin relation, and values never below zero.

    A line whose parts add up to its margin is an equation. One that does not — distinct structures,
    when a structure counts in several parts (years, programmes) — gives the attacker inequalities
    only: the parts sum to at least the margin, and none exceeds it.
    """
    values = stats.values.to_numpy(dtype=float)
    primary = primary_mask(stats) if primary is None else primary
    cells = [tuple(map(int, cell)) for cell in np.argwhere(mask)]
    targets = [cell for cell in cells if primary[cell] and not np.isnan(values[cell])]
    if not targets:
        return []
    n_cols = values.shape[1]
    flat = values.ravel()
    lines = []
    for equation in stats.equations():
        (margin,) = [r * n_cols + c for r, c, k in equation if k < 0]
        parts = tuple(r * n_cols + c for r, c, k in equation if k > 0)
        truth = np.nansum([k * values[r, c] for r, c, k in equation])
        lines.append((margin, parts, abs(truth) <= _EPS * max(1.0, np.nanmax(np.abs(values)))))
    model = _AttackerModel(flat, np.array([r * n_cols + c for r, c in cells]), lines)
    out = []
    for r, c in targets:
        value = values[r, c]
        lower, upper = (model.bound(r * n_cols + c, maximise)[0] for maximise in (False, True))
        out.append(Interval((r, c), value, value if lower is None else lower, value if upper is None else upper,
                            required_protection(value, stats.top is None)))
    return out


def _strengthen(stats: TableStats, mask: np.ndarray, weak: Interval) -> tuple[int, int] | None:
    """One more cell to mask for an under-protected primary cell: in its lines the cell that best widens
    its interval (the smallest large enough for the deficit, else the largest), else any visible cell."""
    values = stats.values.to_numpy(dtype=float)
    deficit = max(weak.value + weak.required - weak.upper, weak.lower - max(weak.value - weak.required, 0.0), 0.0)
    lines = [line for line in stats.equations() if any((r, c) == weak.cell for r, c, _ in line)]
    everything = [[(i, j, 1) for i in range(mask.shape[0]) for j in range(mask.shape[1])]]
    for allow_empty in (False, True):
        for group in (lines, everything):
            cell = _smallest_visible(stats, mask, [cell for line in group for cell in line], values,
                                     allow_empty, need=deficit)
            if cell is not None:
                return cell
    return None


def protect(stats: TableStats, *, seuil: int | None = None, dominance: float = DOMINANCE,
            forced: np.ndarray | None = None) -> Protected:
    """Apply primary then complementary secrecy to a table (margins included). `forced` cells (masked
    elsewhere) are protected as primary ones."""
    primary = primary_mask(stats, seuil=seuil, dominance=dominance)
    if forced is not None:
        primary = primary | forced
    mask = complementary_mask(stats, primary)
    # Repaired until the audit finds every primary cell protected (at worst, everything is masked).
    while weak := [cell for cell in audit(stats, mask, primary) if not cell.protected]:
        extra = _strengthen(stats, mask, weak[0])
        if extra is None:
            break
        mask[extra] = True
        mask = complementary_mask(stats, mask)
    values = stats.values.astype(object).where(~mask, None)
    frame = lambda array: pd.DataFrame(array, index=stats.values.index, columns=stats.values.columns)
    return Protected(values=values, mask=frame(mask), primary=frame(primary))


# Linked tables: many breakdowns sharing cells (a cube and its margins), protected together.

@dataclass(frozen=True)
class Line:
    """One relation of a linked table: `margin` is the sum of `parts` (cell indexes) for the measures
    `additive` (indexes of the value columns; a distinct count that a structure can enter twice is not)."""

    margin: int
    parts: tuple[int, ...]
    additive: tuple[int, ...]


def protect_linked(values: np.ndarray, primary: np.ndarray, lines: list[Line], count_measures: tuple[bool, ...],
                   forced: np.ndarray | None = None, fixed: np.ndarray | None = None) -> np.ndarray:
    """One mask over the cells of linked tables (a cell masked whole, every measure), modular style: each
    line is settled on its own — never exactly one masked cell among its margin and parts, and each
    masked primary part left with the protection range it needs (required_protection) by the other
    masked parts of the line — and lines are settled again until none changes. A line whose parts can
    give no more protection hides its margin, which its own lines then protect in turn.

    `values` is cells × measures (NaN read as unknown: the cell is primary), `count_measures` which
    measures are counts. Returns the mask. Cells shared by two lines keep one verdict: what a view hides,
    every other view that shows the cell hides too. Settling lines one by one can leave a cell narrowed
    through several of them: `protect_linked_audited` audits the whole pattern and repairs it.

    `fixed`: cells already published as visible (a breakdown's margins from the published cube), never
    masked: a line that would need its fixed margin stays as settled as its parts allow."""
    fixed = np.zeros(len(values), dtype=bool) if fixed is None else fixed
    mask = (primary | (np.isnan(values).any(axis=1)) | (forced if forced is not None else False)) & ~fixed
    filled = np.nan_to_num(values)
    ratio = np.full(values.shape[1], PROTECTION_RATIO)
    units = np.array([PROTECTION_UNITS if count else 0.0 for count in count_measures])
    parts = [np.asarray(line.parts, dtype=int) for line in lines]
    lines_of: dict[int, list[int]] = {}  # cell → the lines it is a margin or a part of
    for number, line in enumerate(lines):
        for cell in (line.margin, *line.parts):
            lines_of.setdefault(cell, []).append(number)
    # Only lines with a masked cell can need more; a newly masked cell puts its own lines back in the queue.
    pending = sorted({number for cell in np.flatnonzero(mask) for number in lines_of.get(int(cell), [])})
    queued = set(pending)
    while pending:
        number = pending.pop()
        queued.discard(number)
        while (cell := _next_in_line(lines[number], parts[number], mask, primary, filled, ratio, units,
                                     fixed)) is not None:
            mask[cell] = True
            for other in lines_of.get(cell, []):
                if other != number and other not in queued:
                    queued.add(other)
                    pending.append(other)
    return mask


@dataclass(frozen=True)
class LineArrays:
    """Lines as flat arrays, for linked tables of millions of cells: line i says that cell `margin[i]` is
    the sum of the cells `parts[start[i]:start[i + 1]]` for the measures `additive[kind[i]]`."""

    margin: np.ndarray
    start: np.ndarray
    parts: np.ndarray
    kind: np.ndarray
    additive: tuple[tuple[int, ...], ...]

    def as_lines(self) -> list[Line]:
        return [Line(int(m), tuple(self.parts[a:b].tolist()), self.additive[k])
                for m, a, b, k in zip(self.margin, self.start[:-1], self.start[1:], self.kind)]


def protect_linked_rounds(values: np.ndarray, primary: np.ndarray, lines: LineArrays,
                          count_measures: tuple[bool, ...], forced: np.ndarray | None = None,
                          fixed: np.ndarray | None = None) -> np.ndarray:
    """`protect_linked`'s rule for each line (same settled state, same choice of the next cell), applied
    to every unsettled line at once, round after round, until none needs more: numpy over flat arrays
    instead of one Python step per line, for the published breakdowns' millions of cells. Two lines
    settled in the same round can each mask a cell where one line at a time would have masked one cell
    for both: at worst a little more is masked, never less protected."""
    fixed = np.zeros(len(values), dtype=bool) if fixed is None else fixed
    mask = (primary | (np.isnan(values).any(axis=1)) | (forced if forced is not None else False)) & ~fixed
    filled = np.nan_to_num(values)
    ratio = np.full(values.shape[1], PROTECTION_RATIO)
    units = np.array([PROTECTION_UNITS if count else 0.0 for count in count_measures])
    measures = values.shape[1]
    additive = np.array([[m in kind for m in range(measures)] for kind in lines.additive], dtype=bool)
    first_measure = np.array([kind[0] for kind in lines.additive])
    lengths = np.diff(lines.start)
    # cell → the lines it is a part or the margin of, as one sorted array of (cell, line) pairs
    line_of_part = np.repeat(np.arange(len(lengths)), lengths)
    cells = np.concatenate([lines.parts, lines.margin])
    owners = np.concatenate([line_of_part, np.arange(len(lengths))])
    order = np.argsort(cells, kind="stable")
    cells, owners = cells[order], owners[order]

    def lines_of(touched: np.ndarray) -> np.ndarray:
        lo, hi = np.searchsorted(cells, touched, "left"), np.searchsorted(cells, touched, "right")
        spans = hi - lo
        return np.unique(owners[np.repeat(lo - np.cumsum(spans) + spans, spans) + np.arange(spans.sum())])

    active = lines_of(np.flatnonzero(mask))
    while len(active):
        spans = lengths[active]
        seg_start = np.cumsum(spans) - spans
        where = np.repeat(lines.start[active] - seg_start, spans) + np.arange(spans.sum())
        part, seg = lines.parts[where], np.repeat(np.arange(len(active)), spans)
        position = np.arange(len(part))
        hidden = mask[part]
        n_hidden = np.add.reduceat(hidden.astype(int), seg_start)
        margin = lines.margin[active]
        margin_hidden = mask[margin]
        kind = lines.kind[active]
        # The worst deficit of a masked primary part, and its measure (the first part's, the first measure's).
        own = filled[part]
        sums = np.add.reduceat(own * hidden[:, None], seg_start, axis=0)
        deficit = np.maximum(ratio * np.abs(own), units) - (sums[seg] - own)
        deficit = np.where((hidden & primary[part])[:, None] & additive[kind][seg], deficit, -np.inf)
        part_worst, part_measure = deficit.max(axis=1), deficit.argmax(axis=1)
        line_worst = np.maximum.reduceat(part_worst, seg_start)
        first = np.minimum.reduceat(np.where(part_worst == line_worst[seg], position, len(part)), seg_start)
        worst = np.maximum(line_worst, 0.0)
        measure = np.where(margin_hidden, first_measure[kind],
                           np.where(line_worst > 0, part_measure[np.minimum(first, len(part) - 1)], first_measure[kind]))
        need = np.where(margin_hidden, 0.0, worst)
        unsettled = np.where(margin_hidden, n_hidden == 0, (n_hidden > 0) & ((worst > _EPS) | (n_hidden == 1)))
        # The next cell of each unsettled line: the smallest visible part large enough, else the largest.
        candidate = ~hidden & ~fixed[part]
        amount = own[position, measure[seg]]
        enough = candidate & (amount >= need[seg] - _EPS)
        smallest = np.minimum.reduceat(np.where(enough, amount, np.inf), seg_start)
        largest = np.maximum.reduceat(np.where(candidate, amount, -np.inf), seg_start)
        pick_enough = np.minimum.reduceat(np.where(enough & (amount == smallest[seg]), position, len(part)), seg_start)
        pick_largest = np.minimum.reduceat(np.where(candidate & (amount == largest[seg]), position, len(part)), seg_start)
        has_enough = pick_enough < len(part)
        has_candidate = pick_largest < len(part)
        chosen = np.where(has_enough, part[np.minimum(pick_enough, len(part) - 1)],
                          np.where(has_candidate, part[np.minimum(pick_largest, len(part) - 1)], -1))
        # Nothing left to hide in a line with a visible margin: the margin goes (unless already published).
        chosen = np.where(~has_candidate & ~margin_hidden & ~fixed[margin], margin, chosen)
        picks = np.unique(chosen[unsettled & (chosen >= 0)])
        picks = picks[~mask[picks]]
        mask[picks] = True
        active = lines_of(picks)
    return mask


AUDIT_MAX_MASKED = 5_000  # masked cells up to which the whole cube is audited (2 s for the demo's 1,360)


def protect_linked_audited(values: np.ndarray, primary: np.ndarray, lines: list[Line],
                           count_measures: tuple[bool, ...], forced: np.ndarray | None = None,
                           fixed: np.ndarray | None = None) -> np.ndarray:
    """`protect_linked`, then the audit of the whole pattern (`audit_linked`): a cell narrowed below its
    range through several lines gets one more masked cell in one of its lines (the smallest large enough
    for its deficit, else the largest), and the lines are settled and audited again until none is weak.
    Up to AUDIT_MAX_MASKED masked cells: the LPs grow with the pattern (about 2 s for the demo's 1,360)."""
    fixed = np.zeros(len(values), dtype=bool) if fixed is None else fixed
    mask = protect_linked(values, primary, lines, count_measures, forced, fixed)
    if mask.sum() > AUDIT_MAX_MASKED:  # beyond, the modular protection alone (README: not yet covered)
        return mask
    lines_of: dict[int, list[Line]] = {}
    for line in lines:
        for cell in (line.margin, *line.parts):
            lines_of.setdefault(cell, []).append(line)
    filled = np.nan_to_num(values)
    # Masking more only widens what an attacker can deduce: after a repair, only the weak cells need a new look.
    suspects = primary
    while weak := audit_linked(values, mask, suspects, lines, count_measures):
        suspects = np.zeros_like(primary)
        suspects[[cell for cell, _, _ in weak]] = True
        grown = mask.copy()
        for cell, measure, deficit in weak:
            candidates = np.array(sorted({part for line in lines_of.get(cell, []) for part in (*line.parts, line.margin)
                                          if not grown[part] and not fixed[part]}), dtype=int)
            if len(candidates):
                grown[_pick(candidates, filled[:, measure], deficit)] = True
        if grown.sum() == mask.sum():  # nothing left to mask around them: everything goes
            return ~fixed
        mask = protect_linked(values, primary, lines, count_measures, grown, fixed)
    return mask


def audit_linked(values: np.ndarray, mask: np.ndarray, primary: np.ndarray, lines: list[Line],
                 count_measures: tuple[bool, ...]) -> list[tuple[int, int, float]]:
    """The masked primary cells an attacker can narrow below their protection range from every visible
    cell of the linked tables and every line between them (linear programming, one HiGHS model per
    measure, re-solved per cell from the previous basis): [(cell, measure, deficit)]."""
    filled = np.nan_to_num(values)
    masked = np.flatnonzero(mask)
    targets = [int(cell) for cell in masked if primary[cell]]
    weak = []
    for measure, is_count in enumerate(count_measures):
        model = _AttackerModel(filled[:, measure], masked,
                               [(line.margin, line.parts, measure in line.additive) for line in lines])
        # Each solve's optimum is a point the attacker cannot rule out: any other target it already puts far
        # enough above (or below) its value needs no solve of its own in that direction.
        wanted = {cell: (filled[cell, measure], required_protection(filled[cell, measure], is_count))
                  for cell in targets if filled[cell, measure] > 0}
        above = {cell: value + need for cell, (value, need) in wanted.items()}
        below = {cell: max(value - need, 0.0) for cell, (value, need) in wanted.items()}
        cells = np.array(list(wanted), dtype=int)
        index = np.array([model.position[cell] for cell in cells], dtype=int)
        goals = {True: np.array([above[c] for c in cells]), False: np.array([below[c] for c in cells])}
        todo = {True: set(wanted), False: set(wanted)}
        for cell in wanted:
            for maximise in (True, False):
                if cell not in todo[maximise]:
                    continue
                todo[maximise].discard(cell)
                bound, point = model.bound(cell, maximise)
                if point is not None:
                    reached = (point[index] >= goals[True] - _EPS if maximise
                               else point[index] <= goals[False] + _EPS)
                    todo[maximise] -= set(cells[reached].tolist())
                if bound is None:  # cannot tell: fail closed, as exposed
                    bound = wanted[cell][0]
                deficit = above[cell] - bound if maximise else bound - below[cell]
                if deficit > _EPS:
                    weak.append((cell, measure, deficit))
    return weak


def _next_in_line(line: Line, parts: np.ndarray, mask: np.ndarray, primary: np.ndarray, values: np.ndarray,
                  ratio: np.ndarray, units: np.ndarray, fixed: np.ndarray) -> int | None:
    """The cell this line (its `parts` as an array) needs masked next, or None when the line is settled
    (or can give no more: nothing but fixed cells left to mask)."""
    hidden = mask[parts]
    masked_parts = parts[hidden]
    if not len(masked_parts) and not mask[line.margin]:
        return None
    visible_parts = parts[~hidden & ~fixed[parts]]
    if mask[line.margin] and not len(visible_parts):
        return None
    if mask[line.margin]:
        # The margin gives nothing away unless every part is visible (their sum is the margin).
        return None if len(masked_parts) else _pick(visible_parts, values[:, line.additive[0]], 0.0)
    measures = list(line.additive)
    masked_values = values[masked_parts][:, measures]
    own = masked_values[primary[masked_parts]]
    # Each masked primary part needs its range from the other masked parts: the worst (first) deficit decides.
    deficit = np.maximum(ratio[measures] * np.abs(own), units[measures]) - (masked_values.sum(axis=0) - own)
    worst, worst_measure = 0.0, measures[0]
    if deficit.size and deficit.max() > worst:
        worst = float(deficit.max())
        worst_measure = measures[int(np.argmax(deficit)) % len(measures)]
    if worst <= _EPS and len(masked_parts) != 1:
        return None
    if not len(visible_parts):  # nothing left to hide in the line: its margin goes, and its own lines protect it
        return None if fixed[line.margin] else line.margin
    return _pick(visible_parts, values[:, worst_measure], worst)


def _pick(candidates: np.ndarray, measure: np.ndarray, need: float) -> int:
    """The smallest candidate at least `need` large on `measure`, else the largest."""
    amounts = measure[candidates]
    enough = amounts >= need - _EPS
    if enough.any():
        return int(candidates[enough][np.argmin(amounts[enough])])
    return int(candidates[np.argmax(amounts)])


# Building the statistics from rows (e.g. `SELECT * FROM acc`).

def _aggregate(frame: pd.DataFrame, keys: list[str], measure: str | None, structure: str) -> pd.DataFrame:
    """Value, distinct structures and top structure's contribution per group of `keys`."""
    grouped = frame.groupby(keys, dropna=False, sort=True) if keys else None
    if measure is None:  # distinct structures: a count, no dominance
        if grouped is None:
            n = frame[structure].nunique()
            return pd.DataFrame({"valeur": [n], "structures": [n], "max_structure": [np.nan]})
        out = grouped[structure].nunique().rename("structures").to_frame()
        return out.assign(valeur=out["structures"], max_structure=np.nan).reset_index()
    if measure == "lignes":  # rows (accompaniments): a count, no dominance
        if grouped is None:
            return pd.DataFrame({"valeur": [len(frame)], "structures": [frame[structure].nunique()],
                                 "max_structure": [np.nan]})
        out = grouped.agg(valeur=(structure, "size"), structures=(structure, "nunique"))
        return out.assign(max_structure=np.nan).reset_index()
    per_structure = frame.groupby(keys + [structure], dropna=False)[measure].sum(min_count=1).reset_index()
    if not keys:
        return pd.DataFrame({"valeur": [per_structure[measure].sum()],
                             "structures": [frame[structure].nunique()],
                             "max_structure": [per_structure[measure].max()]})
    out = per_structure.groupby(keys, dropna=False).agg(
        valeur=(measure, "sum"), max_structure=(measure, "max"))
    counts = frame.groupby(keys, dropna=False)[structure].nunique().rename("structures")
    return out.join(counts).reset_index()


def cell_stats(frame: pd.DataFrame, rows: str, columns: str | None = None, *, measure: str | None = None,
               structure: str = "id_structure", margins: bool = True) -> TableStats:
    """The statistics of a breakdown (`rows`) or a cross-table (`rows` × `columns`) of `frame`.

    `measure`: None counts distinct structures; "lignes" counts rows
    (accompaniments); a column name sums it (with the dominance rule).
    Margins are computed from the rows themselves, so a structure present in
    two cells counts once in their total.
    """
    def grid(long: pd.DataFrame, field: str) -> pd.DataFrame:
        if columns is None:
            return long.set_index(rows)[[field]].set_axis(["valeur"], axis=1)
        return long.pivot(index=rows, columns=columns, values=field)

    keys = [rows] + ([columns] if columns else [])
    inner = _aggregate(frame, keys, measure, structure)
    grids = {}
    for field, fill in (("valeur", 0.0), ("structures", 0), ("max_structure", np.nan)):
        g = grid(inner, field)
        grids[field] = g.astype(float).fillna(fill) if field != "max_structure" else g.astype(float)
    if margins:
        total = _aggregate(frame, [], measure, structure).iloc[0]
        if columns is None:
            for field, g in grids.items():
                g.loc[TOTAL] = total[field]
        else:
            by_row = _aggregate(frame, [rows], measure, structure).set_index(rows)
            by_col = _aggregate(frame, [columns], measure, structure).set_index(columns)
            for field, g in grids.items():
                g[TOTAL] = by_row[field].reindex(g.index).astype(float)
                g.loc[TOTAL] = by_col[field].reindex(g.columns[:-1]).astype(float).tolist() + [float(total[field])]
    top = None if measure in (None, "lignes") else grids["max_structure"]
    return TableStats(values=grids["valeur"], counts=grids["structures"], top=top,
                      total_row=margins, total_column=margins and columns is not None)


def protect_breakdown(frame: pd.DataFrame, rows: str, *, measure: str | None = None,
                      structure: str = "id_structure", seuil: int | None = None) -> pd.DataFrame:
    """One call for pages and exports: a breakdown with its total, protected, as a long table.

    Columns: the `rows` key (with "Total" last), `valeur` (None when masked),
    `secret` (bool).
    """
    result = protect(cell_stats(frame, rows, measure=measure, structure=structure), seuil=seuil)
    out = result.values.reset_index().rename(columns={"index": rows})
    out.columns = [rows, "valeur"]
    return out.assign(secret=result.mask["valeur"].to_numpy())


# Breakdowns the query layer has already aggregated (one row per category, SQL did the counting).

def mask_breakdown(frame: pd.DataFrame, value: str, *, structures: str = "structures", top: str | None = None,
                   total: tuple[float, float, float | None], seuil: int | None = None,
                   forced: pd.Series | None = None) -> tuple[pd.Series, bool]:
    """Which rows of a breakdown must be masked, and whether its total must be.

    `frame` has one row per category with the shown `value`, the number of distinct
    `structures` behind it and, for summed values, the `top` structure's contribution.
    `total` is (value, structures, top) of the whole scope: the margin a screen shows
    as a key figure, so that complementary masking accounts for it. `forced`: rows masked whatever
    their own figures (masked in another table the screen shows), protected like primary ones.
    """
    index = [*range(len(frame)), TOTAL]

    def column(name: str | None, last) -> pd.DataFrame:
        data = list(frame[name].astype(float)) if name else [np.nan] * len(frame)
        return pd.DataFrame({"valeur": data + [last]}, index=index, dtype=float)

    stats = TableStats(column(value, total[0]), column(structures, total[1]),
                       column(top, total[2]) if top else None, total_row=True)
    extra = None if forced is None else np.append(np.asarray(forced, dtype=bool), False)[:, None]
    mask = protect(stats, seuil=seuil, forced=extra).mask["valeur"]
    return pd.Series(mask.iloc[:-1].to_numpy(), index=frame.index), bool(mask.iloc[-1])


def visible_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a chart may draw: those the query layer did not mask (all rows of an unmasked table)."""
    return frame[~frame["secret"].astype(bool)] if "secret" in frame.columns else frame


def apply_mask(frame: pd.DataFrame, mask: pd.Series, columns: list[str]) -> pd.DataFrame:
    """`columns` set to None where `mask` is true, plus a boolean `secret` column (kept if already there)."""
    out = frame.copy()
    for name in columns:
        out[name] = out[name].astype(object).where(~mask, None)
    out["secret"] = mask | (out["secret"] if "secret" in out else False)
    return out
