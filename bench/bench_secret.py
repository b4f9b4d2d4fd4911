"""Information loss of the funder view's secrecy against maintained tools, on the same tables (not a test).

    python bench/bench_secret.py [--db /tmp/demo.duckdb]

Tables from the synthetic demo: structures and hours by département × domaine, with their margins.
Each method gets the same rule (fewer than 3 structures, or one structure making 85 % or more of the
hours) and the count of masked cells and of masked value is printed, with each pattern's audit by our
LP (pipelines.privacy.secret.audit: every masked primary cell must keep its protection range):
* Observatoire: pipelines.privacy.secret.protect (protection-range-aware greedy, then audit and repair);
* pytauargus (tau-ARGUS's engine on HiGHS): OPT, optimal secondary suppression;
* secret-stat (INSEE-style primary and secondary secrecy by Gauss pivot).
The two tools are not runtime dependencies: `pip install pytauargus==0.6.0 secret-stat==1.0.0` first.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.privacy import secret  # noqa: E402
from pipelines.queries.indicators import Scope, query  # noqa: E402
from pipelines.store import warehouse  # noqa: E402


def microdata(db: Path) -> pd.DataFrame:
    """One row per structure, département and domaine, with its hours (each structure one contributor)."""
    with warehouse.read_connection(db) as con:
        return query(con, """SELECT id_structure, code_departement AS departement, domaine,
                                    sum(coalesce(heures, 0)) AS heures
                             FROM acc WHERE code_departement IS NOT NULL GROUP BY ALL""", Scope())


def loss(stats: secret.TableStats, mask: np.ndarray) -> dict:
    values = stats.values.to_numpy(dtype=float)
    primary = secret.primary_mask(stats)
    weak = [cell for cell in secret.audit(stats, mask, primary) if not cell.protected]
    return {"cases": int(mask.sum()), "dont primaires": int(primary.sum()),
            "valeur masquée": float(values[mask].sum()), "sous-protégées (audit)": len(weak)}


def ours(stats: secret.TableStats, rows: pd.DataFrame) -> np.ndarray:
    return secret.protect(stats).mask.to_numpy()


def tauargus(stats: secret.TableStats, rows: pd.DataFrame) -> np.ndarray:
    from pytauargus import protect

    with tempfile.TemporaryDirectory() as work, contextlib.chdir(work):  # its engine writes logs in the cwd
        result = protect(rows, ["departement", "domaine"], response="heures",
                         safety_rules="FREQ(3,10)|NK(1,85)", suppress="OPT(1)", workdir=work)
        table = result.tables[0].dataframe()
    # tau-ARGUS's statuses: S safe, E empty, U unsafe (primary), M and D secondary suppressions.
    return _align(stats, table, "departement", "domaine", table["status"].astype(str).isin(["U", "M", "D"]))


def secret_stat(stats: secret.TableStats, rows: pd.DataFrame) -> np.ndarray:
    import polars as pl
    from secret_stat import appliquer_secret

    table = appliquer_secret(pl.from_pandas(rows), ["departement", "domaine"], "somme", var="heures",
                             id_unite="id_structure", dominance=[(1, 85)], protect_zero=False,
                             progression=False).to_pandas()
    return _align(stats, table, "departement", "domaine",
                  table["secret_primaire"].astype(bool) | table["secret_secondaire"].astype(bool))


def _align(stats: secret.TableStats, table: pd.DataFrame, rows: str, columns: str, masked: pd.Series) -> np.ndarray:
    """A tool's masked cells on our grid (codes stripped: tau-ARGUS pads them to a common width)."""
    out = np.zeros(stats.values.shape, dtype=bool)
    row_index = {str(k): i for i, k in enumerate(stats.values.index)}
    column_index = {str(k): j for j, k in enumerate(stats.values.columns)}
    for r, c, m in zip(table[rows].astype(str).str.strip(), table[columns].astype(str).str.strip(), masked):
        i, j = row_index.get(r, len(row_index) - 1), column_index.get(c, len(column_index) - 1)
        out[i, j] |= bool(m)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=Path("/tmp/demo.duckdb"))
    args = parser.parse_args()
    rows = microdata(args.db)
    stats = secret.cell_stats(rows, "departement", "domaine", measure="heures")
    print(f"Tableau : {stats.values.shape[0] - 1} départements × {stats.values.shape[1] - 1} domaines, "
          f"heures, marges comprises ; {len(rows)} contributions (structure × case).")
    for name, method in (("Observatoire", ours), ("pytauargus OPT", tauargus), ("secret-stat", secret_stat)):
        started = time.perf_counter()
        try:
            mask = method(stats, rows)
        except Exception as exc:  # a tool missing or failing is reported, not fatal
            print(f"{name}: indisponible ({type(exc).__name__}: {exc})")
            continue
        print(f"{name}: {loss(stats, mask)} en {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
