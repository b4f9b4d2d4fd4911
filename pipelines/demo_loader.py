"""Load the synthetic demo (data/demo/*.csv) through the analysts' ingestion path."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines import ingest
from pipelines.datasets import LOAD_ORDER
from pipelines.warehouse import REPO_DIR

DEMO_DIR = REPO_DIR / "data" / "demo"
DEMO_ROLE = "demo"


def load_demo(db: Path, demo_dir: Path = DEMO_DIR) -> ingest.IngestResult:
    uploads = [ingest.Upload.from_path(demo_dir / f"{name}.csv", name) for name in LOAD_ORDER]
    return ingest.ingest(db, uploads, role=DEMO_ROLE)


def is_demo(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the warehouse holds the synthetic demo (an import made by the demo loader)."""
    return bool(con.execute(
        "SELECT count(*) FROM imports WHERE role = ? AND statut = 'importe'", [DEMO_ROLE]).fetchall()[0][0])
