"""Load the synthetic demo (data/demo/*.csv) through the analysts' ingestion path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipelines import ingest
from pipelines.demo.generate import OBSERVATION_CAMPAIGNS
from pipelines.ingest import population
from pipelines.opp import tokens
from pipelines.queries import observation
from pipelines.spec.datasets import LOAD_ORDER
from pipelines.store import warehouse
from pipelines.store.warehouse import REPO_DIR

DEMO_DIR = REPO_DIR / "data" / "demo"
DEMO_ROLE = "demo"


DEMO_REFERENCE = "population_reference.csv"


# The demo's own link to one structure's space (the sign-in page offers it, like the demo accounts): public on
# purpose, and only ever written into a warehouse that the demo loader fills with synthetic data.
DEMO_TOKEN = "0000000000000de0.lien-de-demonstration-synthetique"
DEMO_CAMPAIGN = 2025


def load_demo(db: warehouse.Target, demo_dir: Path = DEMO_DIR) -> ingest.IngestResult:
    """The datasets through ingestion, then the synthetic reference population (coverage rate) and the
    participatory observation's campaigns (every structure invited; their links are not kept anywhere).
    `db`: a file or a lake; everything below goes through warehouse.read_connection/write_transaction."""
    uploads = [ingest.Upload.from_path(demo_dir / f"{name}.csv", name) for name in LOAD_ORDER]
    result = ingest.ingest(db, uploads, role=DEMO_ROLE)
    reference = demo_dir / DEMO_REFERENCE
    if result.committed and reference.exists():
        population.load_reference_population(db, reference)
    if result.status == "importe":  # loaded now (not already there): its campaigns too
        for year in OBSERVATION_CAMPAIGNS:
            tokens.invite(db, year)
        with warehouse.write_transaction(db) as con:
            tokens.store(con, DEMO_TOKEN, demo_structure(con), DEMO_CAMPAIGN,
                         dt.date.today() + dt.timedelta(days=tokens.DEFAULT_VALIDITY_DAYS))
            observation.publish(con, DEMO_CAMPAIGN - 1, DEMO_ROLE)  # last campaign closed; this one still open
    return result


def other_imports(con: duckdb.DuckDBPyConnection) -> int:
    """Imports in force that are not the demo's (files an analyst added to the demo warehouse)."""
    return int(con.execute("SELECT count(*) FROM imports WHERE role <> ? AND statut = 'importe'",
                           [DEMO_ROLE]).fetchone()[0])


def demo_link() -> str:
    """The demo link, relative to the dashboard's address."""
    return f"./{tokens.PATH}?{tokens.PARAMETER}={DEMO_TOKEN}"


def demo_structure(con: duckdb.DuckDBPyConnection) -> str:
    """The structure the demo link opens: the first that answered the campaign before and not yet this one
    (its questionnaire is prefilled with last year's answers)."""
    return con.execute("""SELECT id_structure FROM observations WHERE annee = ? AND id_structure NOT IN
                          (SELECT id_structure FROM observations WHERE annee = ?) ORDER BY 1 LIMIT 1""",
                       [DEMO_CAMPAIGN - 1, DEMO_CAMPAIGN]).fetchone()[0]


def is_demo(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the warehouse holds the synthetic demo (an import made by the demo loader)."""
    return bool(con.execute(
        "SELECT count(*) FROM imports WHERE role = ? AND statut = 'importe'", [DEMO_ROLE]).fetchall()[0][0])
