"""Shared fixtures: fresh warehouses built through the real init and ingestion code."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipelines import ingest
from pipelines.demo import loader as demo_loader
from pipelines.spec.datasets import LOAD_ORDER
from pipelines.store import schema, warehouse

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
