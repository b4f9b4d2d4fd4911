"""Statistical secrecy: primary rules, complementary masking, and differencing attacks."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.privacy import secret
from pipelines.privacy.secret import TOTAL, TableStats


def grid(rows: list[list[float]], *, total_row=True, total_column=True) -> pd.DataFrame:
    """Interior cells → the grid with its margins (sums), labelled like cell_stats does."""
    inner = pd.DataFrame(rows, index=[f"r{i}" for i in range(len(rows))],
                         columns=[f"c{j}" for j in range(len(rows[0]))], dtype=float)
    if total_column:
        inner[TOTAL] = inner.sum(axis=1)
    if total_row:
        inner.loc[TOTAL] = inner.sum(axis=0)
    return inner


def table(values, counts, top=None, *, total_row=True, total_column=True) -> TableStats:
    frames = [grid(v, total_row=total_row, total_column=total_column) if v is not None else None
              for v in (values, counts, top)]
    return TableStats(frames[0], frames[1], frames[2], total_row=total_row, total_column=total_column)


# The attacker: every equation the margins give, combined with coefficients in {-1, 0, 1}.

def margin_equations(shape, total_row: bool, total_column: bool) -> list[dict]:
    n_rows, n_cols = shape
    eqs = []
    if total_column:
        for r in range(n_rows):
            eqs.append({**{(r, c): 1 for c in range(n_cols - 1)}, (r, n_cols - 1): -1})
    if total_row:
        for c in range(n_cols):
            eqs.append({**{(r, c): 1 for r in range(n_rows - 1)}, (n_rows - 1, c): -1})
    return eqs


def recoverable_by_brute_force(values: pd.DataFrame, mask: np.ndarray, total_row: bool,
                               total_column: bool) -> set[tuple[int, int]]:
    """Masked cells that some ±1 combination of row/column equations isolates, and its recovered value."""
    unknowns = [tuple(cell) for cell in np.argwhere(mask)]
    if not unknowns:
        return set()
    eqs = margin_equations(values.shape, total_row, total_column)
    if not eqs:
        return set()
    index = {cell: i for i, cell in enumerate(unknowns)}
    a = np.zeros((len(eqs), len(unknowns)))
    known = np.zeros(len(eqs))  # Σ coef·value over visible cells
    grid_values = values.to_numpy(dtype=float)
    for e, eq in enumerate(eqs):
        for cell, coef in eq.items():
            if cell in index:
                a[e, index[cell]] = coef
            else:
                known[e] += coef * grid_values[cell]
    found = set()
    for coefs in itertools.product((-1, 0, 1), repeat=len(eqs)):
        combo = np.array(coefs) @ a
        nonzero = np.flatnonzero(combo)
        if len(nonzero) == 1:
            cell = unknowns[nonzero[0]]
            # The attacker's answer: x = -(Σ known) / coefficient. Check it is indeed the hidden value.
            recovered = -(np.array(coefs) @ known) / combo[nonzero[0]]
            assert recovered == pytest.approx(grid_values[cell])
            found.add(cell)
    return found


def assert_safe(stats: TableStats, result: secret.Protected) -> None:
    mask = result.mask.to_numpy()
    assert (mask >= result.primary.to_numpy()).all(), "a primary cell was left visible"
    assert not recoverable_by_brute_force(stats.values, mask, stats.total_row, stats.total_column)
    for (r, c) in np.argwhere(mask):
        assert result.values.iat[r, c] is None
    for (r, c) in np.argwhere(~mask):
        assert result.values.iat[r, c] == stats.values.iat[r, c]


# Primary rules.

@pytest.mark.parametrize("count, masked", [(0, False), (1, True), (2, True), (3, False), (10, False)])
def test_fewer_than_three_structures_is_secret(count, masked):
    assert secret.is_primary_secret(count) is masked


def test_one_structure_with_85_percent_of_a_sum_is_secret():
    assert secret.is_primary_secret(5, top=85, value=100)
    assert not secret.is_primary_secret(5, top=84.9, value=100)
    assert not secret.is_primary_secret(5, top=None, value=100)  # counts have no dominance rule


def test_threshold_is_a_setting(monkeypatch):
    assert secret.threshold() == 3
    monkeypatch.setenv(secret.ENV_VAR, "5")
    assert secret.threshold() == 5
    assert secret.is_primary_secret(4)
    assert not secret.is_primary_secret(4, seuil=3)
    assert "moins de 5 structures" in secret.rule_text()
    monkeypatch.setenv(secret.ENV_VAR, "trois")
    with pytest.raises(secret.SecretError, match="OBSERVATOIRE_SEUIL_SECRET"):
        secret.threshold()


def test_primary_mask_covers_margins_too():
    stats = table([[1, 1]], [[1, 1]], total_row=False)  # a single row: its total is 2 structures
    result = secret.protect(stats)
    assert result.mask.all().all()


# Complementary masking.

def test_a_single_small_cell_in_a_breakdown_takes_the_smallest_other_cell_with_it():
    stats = table([[12], [2], [7], [30]], [[12], [2], [7], [30]], total_column=False)
    result = secret.protect(stats)
    assert result.primary["c0"].tolist() == [False, True, False, False, False]
    assert result.mask["c0"].tolist() == [False, True, True, False, False]  # 7 is the smallest other cell
    assert result.values.loc[TOTAL, "c0"] == 51
    assert_safe(stats, result)


def test_two_small_cells_alone_do_not_protect_each_other_enough():
    """2 and 1 masked together sum to 3: the 2 is known to lie in [0, 3], short of the 3 units a count
    needs beyond it. The smallest cell that widens it enough, 12, is masked too: the 2 then lies in [0, 15]."""
    stats = table([[12], [2], [1], [30]], [[12], [2], [1], [30]], total_column=False)
    result = secret.protect(stats)
    assert result.mask["c0"].tolist() == [True, True, True, False, False]
    assert result.complementary.to_numpy().sum() == 1
    assert_safe(stats, result)
    assert all(cell.protected for cell in secret.audit(stats, result.mask.to_numpy(), result.primary.to_numpy()))


def test_dominance_in_a_cross_table_with_margins():
    hours = [[100, 20, 30], [40, 50, 60], [70, 80, 90]]
    counts = [[5, 5, 5], [5, 5, 5], [5, 5, 5]]
    top = [[95, 5, 5], [5, 5, 5], [5, 5, 5]]
    stats = table(hours, counts, top)
    result = secret.protect(stats)
    assert result.primary.to_numpy().sum() == 1 and result.primary.iat[0, 0]
    mask = result.mask.to_numpy()
    inner = mask[:-1, :-1]
    assert (inner.sum(axis=0) != 1).all() and (inner.sum(axis=1) != 1).all()
    assert_safe(stats, result)


def test_a_bridge_between_two_protected_blocks_is_caught():
    # Each line has 0 or 2+ masked cells, yet cell (1, 2) joins two cycles: it is recoverable by
    # adding rows 0-1 and subtracting columns 0-1. The algorithm must mask more.
    values = [[5, 6, 9, 9], [7, 8, 4, 9], [9, 9, 6, 7], [9, 9, 8, 5]]
    stats = table(values, [[9] * 4] * 4)
    mask = np.zeros(stats.values.shape, dtype=bool)
    for cell in [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3), (3, 2), (3, 3)]:
        mask[cell] = True
    assert (1, 2) in recoverable_by_brute_force(stats.values, mask, True, True)
    assert secret.recoverable(stats, mask)[1, 2]
    grown = secret.complementary_mask(stats, mask)
    assert not recoverable_by_brute_force(stats.values, grown, True, True)


def test_without_margins_nothing_more_is_masked():
    stats = table([[1, 10], [10, 10]], [[1, 10], [10, 10]], total_row=False, total_column=False)
    result = secret.protect(stats)
    assert result.mask.to_numpy().sum() == 1


def test_display_writes_secret():
    stats = table([[12], [2], [1]], [[12], [2], [1]], total_column=False)
    shown = secret.protect(stats).display(lambda v: f"{v:.0f}")
    assert shown["c0"].tolist() == ["secret", "secret", "secret", "15"]  # 2 and 1 alone: too narrow a range


# From rows (an `acc`-like frame) to cell statistics.

ACC = pd.DataFrame({
    "id_structure": ["S1", "S2", "S3", "S4", "S5", "S5", "S6", "S7"],
    "departement": ["14", "14", "14", "50", "61", "61", "61", "61"],
    "categorie": ["ECO", "ORG", "ECO", "ECO", "ECO", "ORG", "ORG", "ECO"],
    "heures": [10.0, 5.0, 20.0, 14.0, 100.0, 2.0, 1.0, 3.0],
})


def test_cell_stats_counts_distinct_structures_and_margins_from_rows():
    stats = secret.cell_stats(ACC, "departement", "categorie")
    assert stats.counts.loc["61", "ECO"] == 2  # S5, S7
    assert stats.counts.loc["61", TOTAL] == 3  # S5 counted once across its two cells
    assert stats.counts.loc[TOTAL, TOTAL] == 7
    assert stats.top is None


def test_cell_stats_sums_with_top_contribution():
    stats = secret.cell_stats(ACC, "departement", "categorie", measure="heures")
    assert stats.values.loc["61", "ECO"] == 103
    assert stats.top.loc["61", "ECO"] == 100
    assert stats.top.loc["61", TOTAL] == 102  # S5 over both categories
    assert stats.values.loc[TOTAL, TOTAL] == ACC["heures"].sum()
    result = secret.protect(stats)
    assert result.primary.loc["61", "ECO"]  # 100 of 103 hours from one structure
    assert_safe(stats, result)


def test_protect_breakdown_in_one_call():
    out = secret.protect_breakdown(ACC, "departement")
    assert out["departement"].tolist() == ["14", "50", "61", TOTAL]
    # 50 has 1 structure; 14 and 61 tie at 3, the first one goes with it; the total stays.
    assert out["secret"].tolist() == [True, True, False, False]
    assert out["valeur"].tolist() == [None, None, 3, 7]


def test_protect_breakdown_of_accompaniments():
    out = secret.protect_breakdown(ACC, "categorie", measure="lignes")
    assert out.set_index("categorie")["valeur"].to_dict() == {"ECO": 5, "ORG": 3, TOTAL: 8}


# Random small tables: whatever the values, no masked cell is recoverable.

@st.composite
def tables(draw):
    n_rows = draw(st.integers(1, 3))
    n_cols = draw(st.integers(1, 3))
    total_row = draw(st.booleans())
    total_column = draw(st.booleans())
    counts = [[draw(st.integers(0, 6)) for _ in range(n_cols)] for _ in range(n_rows)]
    values = [[float(draw(st.integers(1, 50))) * (c > 0) for c in row] for row in counts]
    dominant = [[float(draw(st.sampled_from([0, 1]))) for _ in range(n_cols)] for _ in range(n_rows)]
    top = [[v * (0.9 if d else 0.3) for v, d in zip(vrow, drow)] for vrow, drow in zip(values, dominant)]
    stats = table(values, counts, top, total_row=total_row, total_column=total_column)
    # Margin counts and tops are not sums: give the margins plausible structure counts of their own.
    margin_counts = stats.counts.copy()
    if total_column:
        margin_counts.iloc[:, -1] = [draw(st.integers(0, 12)) for _ in range(len(margin_counts))]
    if total_row:
        margin_counts.iloc[-1, :] = [draw(st.integers(0, 12)) for _ in range(margin_counts.shape[1])]
    return TableStats(stats.values, margin_counts, stats.top, total_row=total_row, total_column=total_column)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_differencing_never_recovers_a_masked_value(stats):
    result = secret.protect(stats)
    assert_safe(stats, result)


@pytest.mark.parametrize("count, top, value", [(None, None, None), (float("nan"), None, None),
                                               (5, float("nan"), 100), (5, 10, None), (5, 10, float("nan"))])
def test_an_unknown_count_or_value_is_secret(count, top, value):
    assert secret.is_primary_secret(count, top=top, value=value)


def test_a_table_cell_of_unknown_value_or_count_is_secret():
    values = pd.DataFrame({"valeur": [10.0, float("nan"), 20.0, 40.0]}, index=["a", "b", "c", secret.TOTAL])
    counts = pd.DataFrame({"valeur": [5.0, 5.0, float("nan"), 15.0]}, index=values.index)
    primary = secret.primary_mask(secret.TableStats(values, counts, total_row=True))
    assert primary[:, 0].tolist() == [False, True, True, False]


# Protection ranges and the audit, against intervals computed by hand.

def interval_of(stats, mask_cells, cell):
    mask = np.zeros(stats.values.shape, dtype=bool)
    for masked in mask_cells:
        mask[masked] = True
    primary = np.zeros_like(mask)
    primary[cell] = True
    (found,) = secret.audit(stats, mask, primary)
    return found


def test_audit_of_a_cross_table_whose_four_inner_cells_are_masked():
    # [[2, 5], [4, 6]] with margins 7, 10 / 6, 11 / 17: x00 = t gives x01 = 7 - t, x10 = 6 - t, x11 = 4 + t,
    # all non-negative for t in [0, 6].
    stats = table([[2, 5], [4, 6]], [[2, 5], [4, 6]])
    found = interval_of(stats, [(0, 0), (0, 1), (1, 0), (1, 1)], (0, 0))
    assert (found.lower, found.upper) == pytest.approx((0, 6))
    assert found.required == 3 and found.protected  # reaches 2 + 3 above, and 0 below


def test_audit_of_distinct_counts_that_do_not_add_up_uses_inequalities():
    # Structures per year 2, 5, 6 with 10 structures in all (some counted in two years): the masked 2 and 5
    # are only known to sum to at least 10 - 6 and to be at most 10 each.
    stats = table([[2], [5], [6]], [[2], [5], [6]], total_column=False)
    stats.values.loc[secret.TOTAL, "c0"] = stats.counts.loc[secret.TOTAL, "c0"] = 10
    found = interval_of(stats, [(0, 0), (1, 0)], (0, 0))
    assert (found.lower, found.upper) == pytest.approx((0, 10))


def test_a_complementary_cell_is_chosen_for_the_range_it_gives_not_for_being_smallest():
    """Hours [500 (one structure makes them), 3, 200, 300], total 1,003: masking the 3 beside the 500
    left it in [0, 503], 3 hours above a value that needs 50. The 200 gives [0, 700]."""
    stats = table([[500], [3], [200], [300]], [[5], [5], [5], [5]], [[500], [1], [40], [60]], total_column=False)
    result = secret.protect(stats)
    assert result.mask["c0"].tolist() == [True, False, True, False, False]
    (found,) = secret.audit(stats, result.mask.to_numpy(), result.primary.to_numpy())
    assert (found.lower, found.upper) == pytest.approx((0, 700)) and found.protected
    weak = interval_of(stats, [(0, 0), (1, 0)], (0, 0))
    assert weak.upper == pytest.approx(503) and not weak.protected


def test_every_protected_table_passes_its_audit():
    rng = np.random.default_rng(2026)
    for _ in range(40):
        counts = rng.integers(0, 9, size=(4, 3)).tolist()
        hours = [[c * float(rng.integers(1, 40)) for c in row] for row in counts]
        top = [[h * (0.9 if rng.random() < 0.15 else 0.4) for h in row] for row in hours]
        stats = table(hours, counts, top)
        result = secret.protect(stats)
        found = secret.audit(stats, result.mask.to_numpy(), result.primary.to_numpy())
        assert all(cell.protected for cell in found) or result.mask.to_numpy().all()


# Linked tables settled in rounds (the published breakdowns' millions of cells): every line ends as the
# line-by-line rule would leave it — each masked primary part with its protection range from the other
# masked parts, never exactly one masked cell in a line, fixed cells never masked.

def _random_linked_table(rng: np.random.Generator):
    """A two-level table (regions × categories, with their margins) of random counts."""
    regions, categories = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    counts = rng.integers(0, 9, size=(regions, categories)).astype(float)
    cells = [*((r, c) for r in range(regions) for c in range(categories)), *((r, None) for r in range(regions)),
             *((None, c) for c in range(categories)), (None, None)]
    position = {cell: i for i, cell in enumerate(cells)}

    def total(cell):
        r, c = cell
        return counts[r if r is not None else slice(None), c if c is not None else slice(None)].sum()

    values = np.array([[total(cell), total(cell), total(cell) * 2.5] for cell in cells])
    lines = [secret.Line(position[(r, None)], tuple(position[(r, c)] for c in range(categories)), (0, 1, 2))
             for r in [*range(regions), None]]
    lines += [secret.Line(position[(None, c)], tuple(position[(r, c)] for r in range(regions)), (0, 1, 2))
              for c in [*range(categories), None]]
    return values, lines


def _as_arrays(lines: list[secret.Line]) -> secret.LineArrays:
    kinds = sorted({line.additive for line in lines})
    return secret.LineArrays(margin=np.array([line.margin for line in lines]),
                             start=np.concatenate([[0], np.cumsum([len(line.parts) for line in lines])]),
                             parts=np.concatenate([line.parts for line in lines]).astype(int),
                             kind=np.array([kinds.index(line.additive) for line in lines]), additive=tuple(kinds))


@pytest.mark.parametrize("seed", range(40))
def test_lines_settled_in_rounds_end_as_the_line_by_line_rule_requires(seed):
    rng = np.random.default_rng(seed)
    values, lines = _random_linked_table(rng)
    primary = secret.primary_cells(values[:, 0], values[:, 2], values[:, 2] * rng.uniform(0.2, 1.0, len(values)))
    fixed = np.zeros(len(values), dtype=bool)
    fixed[lines[-1].margin] = not primary[lines[-1].margin]  # the grand total already published, when it may be
    mask = secret.protect_linked_rounds(values, primary, _as_arrays(lines), (True, True, False), fixed=fixed)
    assert not (mask & fixed).any(), "a fixed cell is never masked"
    assert (mask | ~primary | fixed).all(), "every primary cell is masked"
    ratio, units = np.full(3, secret.PROTECTION_RATIO), np.array([secret.PROTECTION_UNITS, secret.PROTECTION_UNITS, 0])
    for line in lines:
        parts = np.asarray(line.parts)
        assert secret._next_in_line(line, parts, mask, primary, values, ratio, units, fixed) is None, line
