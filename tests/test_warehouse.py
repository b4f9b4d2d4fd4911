"""Schema, migrations, atomic writes and the dashboard/CLI running side by side."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from pipelines import ingest, schema, warehouse
from pipelines.datasets import DATASETS
from tests.conftest import MINI, REPO_DIR


def tables(db) -> set[str]:
    with warehouse.read_connection(db) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_schema_has_every_dataset_reference_and_log_table(empty_db):
    names = tables(empty_db)
    for dataset in DATASETS:
        assert dataset in names and f"historique_{dataset}" in names
    assert {"imports", "import_fichiers", "lignes_rejetees", "ref_domaines", "ref_besoins",
            "ref_besoin_categories", "geo_regions", "geo_departements", "geo_communes", "schema_meta"} <= names
    with warehouse.read_connection(empty_db) as con:
        assert schema.current_version(con) == schema.SCHEMA_VERSION
        assert con.execute("SELECT count(*) FROM ref_besoins").fetchall()[0][0] == 21
        assert con.execute("SELECT count(*) FROM geo_departements").fetchall()[0][0] == 101


def test_migrate_upgrades_an_empty_file_and_is_idempotent(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    assert schema.migrate(con) == 0
    assert schema.migrate(con) == schema.SCHEMA_VERSION  # nothing left to do
    con.close()


def test_newer_schema_is_refused_with_a_french_message(empty_db):
    with warehouse.write_transaction(empty_db) as con:
        con.execute("INSERT INTO schema_meta (version) VALUES (?)", [schema.SCHEMA_VERSION + 1])
    with pytest.raises(RuntimeError, match="version plus récente"):
        with warehouse.write_transaction(empty_db):
            pass


def test_db_path_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(warehouse.ENV_VAR, raising=False)
    assert warehouse.db_path() == warehouse.DEFAULT_DB
    monkeypatch.setenv(warehouse.ENV_VAR, str(tmp_path / "env.duckdb"))
    assert warehouse.db_path() == tmp_path / "env.duckdb"
    assert warehouse.db_path(tmp_path / "cli.duckdb") == tmp_path / "cli.duckdb"


def test_a_failed_write_leaves_the_warehouse_untouched(mini_db):
    before = mini_db.read_bytes()
    with pytest.raises(ZeroDivisionError):
        with warehouse.write_transaction(mini_db) as con:
            con.execute("DELETE FROM structures")
            1 / 0
    assert mini_db.read_bytes() == before
    assert not list(mini_db.parent.glob(f".{mini_db.name}.tmp-*"))


def test_a_killed_ingest_leaves_the_warehouse_as_it_was(mini_db, tmp_path):
    """SIGKILL a writer in the middle of its transaction: the live file is unchanged."""
    before = mini_db.read_bytes()
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO_DIR)!r})
        from pathlib import Path
        from pipelines import warehouse
        with warehouse.write_transaction(Path({str(mini_db)!r})) as con:
            con.execute("DELETE FROM accompagnements")
            print("inside", flush=True)
            time.sleep(60)
    """)
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "inside"
    writer.kill()
    writer.wait()
    assert mini_db.read_bytes() == before
    # The next writer cleans the abandoned copy and works normally.
    result = ingest.ingest(mini_db, [ingest.Upload.from_path(MINI / "structures.csv", "structures")])
    assert result.status == "inchange"
    assert not list(mini_db.parent.glob(f".{mini_db.name}.tmp-*"))


READER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from pipelines import indicators, warehouse
    deadline = time.monotonic() + {seconds}
    reads = 0
    while time.monotonic() < deadline:
        with warehouse.read_connection(Path({db!r})) as con:
            indicators.kpis(con, indicators.Scope())
        reads += 1
    print(reads)
""")


def test_cli_ingest_runs_while_the_dashboard_reads(mini_db, tmp_path):
    """A dashboard-like process reads non-stop while an analyst runs the CLI ingest."""
    reader = subprocess.Popen(
        [sys.executable, "-c", READER.format(repo=str(REPO_DIR), db=str(mini_db), seconds=8)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    new_structure = tmp_path / "nouvelle.csv"
    new_structure.write_text("id_structure;nom;forme_juridique;domaine;code_commune\nS99;Nouvelle;association;musique;14118\n")
    cli = subprocess.run([sys.executable, "-m", "pipelines", "ingest", "structures", str(new_structure), "--db", str(mini_db)],
                         cwd=REPO_DIR, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr + cli.stdout
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert int(out) > 10  # it kept reading throughout
    with warehouse.read_connection(mini_db) as con:
        assert con.execute("SELECT nom FROM structures WHERE id_structure = 'S99'").fetchall() == [("Nouvelle",)]


def test_init_on_the_demo_warns_that_own_files_belong_elsewhere(demo_db, tmp_path, capsys):
    import shutil

    from pipelines import __main__ as cli

    copy = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, copy)
    assert cli.main(["init", "--db", str(copy)]) == 0
    assert "contient la démonstration synthétique" in capsys.readouterr().err
    assert cli.main(["init", "--db", str(tmp_path / "mine.duckdb")]) == 0
    assert "démonstration" not in capsys.readouterr().err
