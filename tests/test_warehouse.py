"""Schema, migrations, atomic writes and the dashboard/CLI running side by side."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import time
from typing import Iterator

import duckdb
import pytest

from pipelines import ingest
from pipelines.spec.datasets import DATASETS
from pipelines.store import schema, warehouse
from tests.conftest import MINI, REPO_DIR


def tables(db) -> set[str]:
    with warehouse.read_connection(db) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_schema_has_every_dataset_reference_and_log_table(empty_db):
    names = tables(empty_db)
    for dataset in DATASETS:
        assert dataset in names and f"historique_{dataset}" in names and f"journal_{dataset}" in names
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


def test_a_schema_5_warehouse_keeps_its_history_and_undo_when_split_into_journal_and_previous_states(mini_db):
    """v6 moved who-wrote-what out of the wide history tables: a warehouse written before keeps every entry."""
    header = "id_structure;nom;forme_juridique;domaine;code_commune\n"
    changed = ingest.ingest(mini_db, [ingest.Upload("s.csv", (header + "S2;Ensemble renommé;association;musique;76540\n"
                                                              "S12;Nouvelle;association;patrimoine;14118\n").encode())])
    assert changed.status == "importe"

    def logs(con):
        return {name: (sorted(con.execute(f"SELECT * FROM journal_{name}").fetchall()),
                       sorted(con.execute(f"SELECT {DATASETS[name].id_column}, import_id, action FROM historique_{name}").fetchall()))
                for name in DATASETS}

    with warehouse.write_transaction(mini_db) as con:
        expected = logs(con)
        for name, ds in DATASETS.items():  # as schema 5 held it: every action in historique_<dataset>
            con.execute(f"INSERT INTO historique_{name} ({ds.id_column}, import_id, action) "
                        f"SELECT * FROM journal_{name} WHERE action <> 'modification'")
            con.execute(f"DROP TABLE journal_{name}")
        con.execute("DROP TABLE ecritures")  # schema 7's
        con.execute("ALTER TABLE population_reference DROP COLUMN nb_structures_reference_max")  # schema 8's
        con.execute("DROP TABLE cases_regionales")  # schema 9's
        con.execute("DELETE FROM schema_meta WHERE version > 5")
    assert any(journal for journal, _ in expected.values()) and expected["structures"][1]  # something to keep
    with warehouse.write_transaction(mini_db) as con:  # a write migrates
        assert schema.current_version(con) == schema.SCHEMA_VERSION
        assert logs(con) == expected
    assert ingest.undo(mini_db, changed.import_id)["structures"] == 2
    with warehouse.read_connection(mini_db) as con:
        assert con.execute("SELECT nom FROM structures WHERE id_structure='S2'").fetchall() == [("Ensemble Test Deux",)]


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
        from pipelines.store import warehouse
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


# A dashboard-like process: reads until its standard input closes (bounded), printing for each read its
# wall-clock start and end and what it saw, so the test can place every read against the write.
READER = textwrap.dedent("""
    import sys, threading, time
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from pipelines.queries import indicators
    from pipelines.store import warehouse
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    deadline = time.monotonic() + 120
    while not stop.is_set() and time.monotonic() < deadline:
        start = time.time()
        with warehouse.read_connection(Path({db!r})) as con:
            figures = indicators.kpis(con, indicators.Scope())
            structures = con.execute("SELECT count(*) FROM structures").fetchone()[0]
        print(start, time.time(), structures, figures["accompagnements"], flush=True)
""")


@dataclasses.dataclass(frozen=True)
class Read:
    start: float
    end: float
    structures: int
    accompagnements: int


def start_reader(db) -> tuple[subprocess.Popen, Iterator[Read]]:
    """The reader process, and its reads as they come (the first one already done)."""
    reader = subprocess.Popen([sys.executable, "-c", READER.format(repo=str(REPO_DIR), db=str(db))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reads = (Read(float(a), float(b), int(s), int(n)) for a, b, s, n in (line.split() for line in reader.stdout))
    next(reads)
    return reader, reads


def reads_until(reads: Iterator[Read], done) -> list[Read]:
    """Reads as they come, until `done(those so far)`."""
    seen: list[Read] = []
    for read in reads:
        seen.append(read)
        if done(seen):
            break
    return seen


def stop_reader(reader: subprocess.Popen) -> None:
    reader.stdin.close()
    assert reader.wait(timeout=60) == 0, reader.stderr.read()


def key_counts(db) -> tuple[int, int]:
    with warehouse.read_connection(db) as con:
        return (con.execute("SELECT count(*) FROM structures").fetchone()[0],
                con.execute("SELECT count(*) FROM accompagnements").fetchone()[0])


WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from pipelines.store import warehouse
    with warehouse.write_transaction(Path({db!r})) as con:
        con.execute("DELETE FROM accompagnements")
        print("inside", time.time(), flush=True)
        sys.stdin.readline()  # commit when told
    print("committed", time.time(), flush=True)
""")


def test_reads_go_on_during_a_write_and_see_it_once_committed(mini_db):
    """Reads that start and end while a writer holds its transaction open succeed and see the version
    before it; a read started after the commit sees the new one."""
    _, accompagnements = key_counts(mini_db)
    assert accompagnements > 0
    reader, reads = start_reader(mini_db)
    writer = subprocess.Popen([sys.executable, "-c", WRITER.format(repo=str(REPO_DIR), db=str(mini_db))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    word, inside = writer.stdout.readline().split()
    assert word == "inside"
    during = reads_until(reads, lambda seen: sum(r.start > float(inside) for r in seen) >= 3)
    writer.stdin.write("\n")
    writer.stdin.flush()
    word, committed = writer.stdout.readline().split()
    assert word == "committed" and writer.wait(timeout=60) == 0
    after = reads_until(reads, lambda seen: seen[-1].start > float(committed))
    stop_reader(reader)

    overlapping = [r for r in during + after if float(inside) < r.start and r.end < float(committed)]
    assert len(overlapping) >= 3, "reads ran while the write was in progress"
    assert {r.accompagnements for r in overlapping} == {accompagnements}, "a write in progress is invisible"
    assert after[-1].accompagnements == 0, "a read started after the commit sees it"


def test_cli_ingest_runs_while_the_dashboard_reads(mini_db, tmp_path):
    """The real command: an analyst's `python -m pipelines ingest` while a dashboard-like process reads
    non-stop. Reads succeed while the command runs, and those started after it see its structure."""
    structures, _ = key_counts(mini_db)
    reader, reads = start_reader(mini_db)
    new_structure = tmp_path / "nouvelle.csv"
    new_structure.write_text("id_structure;nom;forme_juridique;domaine;code_commune\nS99;Nouvelle;association;musique;14118\n")
    cli_start = time.time()
    cli = subprocess.run([sys.executable, "-m", "pipelines", "ingest", "structures", str(new_structure), "--db", str(mini_db)],
                         cwd=REPO_DIR, capture_output=True, text=True, timeout=120)
    cli_end = time.time()
    assert cli.returncode == 0, cli.stderr + cli.stdout
    seen = reads_until(reads, lambda seen: seen[-1].start > cli_end)
    stop_reader(reader)
    assert [r for r in seen if cli_start < r.start and r.end < cli_end], "reads went on while the command ran"
    assert seen[-1].structures == structures + 1, "a read started after the command sees its structure"
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
