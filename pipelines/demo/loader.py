"""Load the synthetic demo (data/demo/*.csv) through the analysts' ingestion path."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines import ingest
from pipelines.ingest import population
from pipelines.spec.datasets import LOAD_ORDER
from pipelines.store.warehouse import REPO_DIR

DEMO_DIR = REPO_DIR / "data" / "demo"
DEMO_ROLE = "demo"


DEMO_REFERENCE = "population_reference.csv"


def load_demo(db: Path, demo_dir: Path = DEMO_DIR) -> ingest.IngestResult:
    """The six datasets through ingestion, then the synthetic reference population (coverage rate)."""
    uploads = [ingest.Upload.from_path(demo_dir / f"{name}.csv", name) for name in LOAD_ORDER]
    result = ingest.ingest(db, uploads, role=DEMO_ROLE)
    reference = demo_dir / DEMO_REFERENCE
    if result.committed and reference.exists():
        population.load_reference_population(db, reference)
    return result


def is_demo(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the warehouse holds the synthetic demo (an import made by the demo loader)."""
    return bool(con.execute(
        "SELECT count(*) FROM imports WHERE role = ? AND statut = 'importe'", [DEMO_ROLE]).fetchall()[0][0])
