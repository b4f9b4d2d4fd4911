"""Shared fixtures: fresh warehouses built through the real init and ingestion code."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from pipelines import ingest
from pipelines.demo import loader as demo_loader
from pipelines.spec.datasets import LOAD_ORDER
from pipelines.store import schema, warehouse
from tests import postgres

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini"
REPO_DIR = Path(__file__).resolve().parent.parent

# Each test's warehouse is read a few times: protecting every funder slice ahead of them (as a server
# does after an import) would only load the two cores; tests/test_funder_attacks.py tests that publication.
os.environ.setdefault("OBSERVATOIRE_PUBLICATION_ANTICIPEE", "0")


def create_warehouse(path: Path) -> Path:
    with warehouse.write_transaction(path, create=True) as con:
        schema.load_reference_data(con)
    return path


def load_mini(path: Path) -> ingest.IngestResult:
    return ingest.ingest(path, [ingest.Upload.from_path(MINI / f"{name}.csv", name) for name in LOAD_ORDER])


@pytest.fixture
def empty_db(tmp_path) -> Path:
    return create_warehouse(tmp_path / "vide.duckdb")


@pytest.fixture(scope="session")
def _mini_template(tmp_path_factory) -> Path:
    path = create_warehouse(tmp_path_factory.mktemp("mini") / "mini.duckdb")
    result = load_mini(path)
    assert result.status == "importe", result.problems
    return path


@pytest.fixture
def mini_db(_mini_template, tmp_path) -> Path:
    """The hand-checkable fixture (tests/fixtures/mini), a private copy per test."""
    path = tmp_path / "mini.duckdb"
    shutil.copyfile(_mini_template, path)
    return path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The synthetic demo, loaded once per session: tests must not write to it."""
    path = create_warehouse(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    result = demo_loader.load_demo(path)
    assert result.status == "importe", result.problems.head(20).to_string()
    return path


# --- DuckLake on PostgreSQL (issue 15) -------------------------------------------------------------------
# The lake tests run against a PostgreSQL server of their own (tests/postgres.py: Debian's binaries, a free
# port, a temporary folder, stopped at the end). OBSERVATOIRE_TEST_PG="host=… port=… user=… password=…" uses an
# existing server instead. Without PostgreSQL the lake tests are skipped, unless OBSERVATOIRE_EXIGER_LAC=1
# (CI) makes that a failure.
REQUIRE_LAKE_VAR = "OBSERVATOIRE_EXIGER_LAC"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """libpq parameters of a running PostgreSQL server (without dbname)."""
    if os.environ.get("OBSERVATOIRE_TEST_PG"):
        yield os.environ["OBSERVATOIRE_TEST_PG"]
        return
    if postgres.binaries() is None:
        if os.environ.get(REQUIRE_LAKE_VAR) == "1":
            pytest.fail("PostgreSQL introuvable (/usr/lib/postgresql/*/bin) : apt-get install postgresql")
        pytest.skip("PostgreSQL n'est pas installé : tests du lac sautés")
    with postgres.server() as params:
        yield params


_lake_count = 0


@pytest.fixture
def new_lake(postgres_server, tmp_path):
    """A function returning a new, empty lake (a database of its own, data files under tmp_path)."""
    def make() -> warehouse.Lake:
        global _lake_count
        _lake_count += 1
        name = f"lac_{os.getpid()}_{_lake_count}"
        return warehouse.Lake(postgres.create_database(postgres_server, name), str(tmp_path / name))

    return make


@pytest.fixture(params=["fichier", "lac"])
def any_empty_db(request, tmp_path):
    """An empty warehouse on each engine: a DuckDB file, then a DuckLake."""
    if request.param == "fichier":
        return create_warehouse(tmp_path / "vide.duckdb")
    return create_warehouse(request.getfixturevalue("new_lake")())


@pytest.fixture
def any_mini_db(any_empty_db):
    """The mini fixture loaded through ingestion, on each engine."""
    result = load_mini(any_empty_db)
    assert result.status == "importe", result.problems
    return any_empty_db


@pytest.fixture(scope="session")
def demo_lake(demo_db, postgres_server, tmp_path_factory):
    """The demo moved into a lake (`copier`), once per session: tests must not write to it."""
    catalog = postgres.create_database(postgres_server, f"demo_{os.getpid()}")
    lake = warehouse.Lake(catalog, str(tmp_path_factory.mktemp("demo-lac")))
    warehouse.copy_warehouse(demo_db, lake)
    return lake
