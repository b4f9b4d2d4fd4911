"""The warehouse on both engines (a DuckDB file, DuckLake on PostgreSQL): same figures, all-or-nothing writes,
undo, many writers at once, a killed writer, a file moved into a lake and back, the pages on a lake."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import threading
import traceback

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth
from pipelines import ingest
from pipelines.queries import vue_ensemble
from pipelines.queries.indicators import Scope
from pipelines.spec.datasets import DATASETS
from pipelines.ingest import profiles
from pipelines.opp import tokens
from pipelines.store import engine, national, schema, warehouse
from tests import postgres
from tests.conftest import MINI, REPO_DIR, create_warehouse, load_mini

HEADER = "id_structure;nom;forme_juridique;domaine;code_commune\n"
SCOPES = [Scope(), Scope(region="28"), Scope(domaine="musique"), Scope(region="76", programme="P1")]


def upload(text: str) -> ingest.Upload:
    return ingest.Upload("s.csv", text.encode(), "structures")


def rows(db, table: str) -> list[tuple]:
    with warehouse.read_connection(db) as con:
        return sorted(con.execute(f"SELECT * EXCLUDE (import_id) FROM {table}").fetchall(), key=repr)


def dataset_rows(db) -> dict[str, list[tuple]]:
    return {name: rows(db, name) for name in DATASETS}


def figures(db) -> list[dict]:
    with warehouse.read_connection(db) as con:
        return [vue_ensemble.kpis(con, scope, vue) for scope in SCOPES for vue in ("analyste", "financeur")]


def cli(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=REPO_DIR, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, **kw)


def test_the_mini_fixture_gives_the_same_rows_and_figures_on_a_lake(mini_db, new_lake):
    lake = create_warehouse(new_lake())
    assert load_mini(lake).status == "importe"
    assert dataset_rows(lake) == dataset_rows(mini_db)
    assert figures(lake) == figures(mini_db)
    assert any(f["structures"] for f in figures(lake))  # figures of something, not of two empty warehouses


def test_an_update_then_its_undo_on_each_engine(any_mini_db):
    before = dataset_rows(any_mini_db)
    result = ingest.ingest(any_mini_db, [upload(HEADER + "S2;Ensemble renommé;association;musique;76540\n"
                                                         "S12;Nouvelle;association;patrimoine;14118\n")])
    assert (result.totals["modifie"], result.totals["nouveau"]) == (1, 1)
    assert ("Ensemble renommé" in {r[1] for r in rows(any_mini_db, "structures")})
    assert ingest.undo(any_mini_db, result.import_id)["structures"] == 2
    assert dataset_rows(any_mini_db) == before


def test_a_batch_with_one_bad_line_writes_nothing_on_each_engine(any_mini_db):
    before, version = dataset_rows(any_mini_db), warehouse.version(any_mini_db)
    result = ingest.ingest(any_mini_db, [upload(HEADER + "S20;Bonne;association;musique;76540\n"
                                                         "S21;Mauvaise;pas-une-forme;musique;76540\n")])
    assert result.status == "refuse"
    assert dataset_rows(any_mini_db) == before and warehouse.version(any_mini_db) == version


def test_a_write_that_fails_midway_leaves_nothing_on_each_engine(any_mini_db):
    before = dataset_rows(any_mini_db)
    with pytest.raises(ZeroDivisionError):
        with warehouse.write_transaction(any_mini_db) as con:
            con.execute("DELETE FROM structures")
            con.execute("DELETE FROM accompagnements")
            1 / 0
    assert dataset_rows(any_mini_db) == before


def test_a_lake_url_is_read_from_the_environment_and_never_printed_with_its_password(monkeypatch, tmp_path):
    monkeypatch.setenv(warehouse.ENV_VAR, "ducklake:postgres:dbname=obs host=db user=a password=s3cr3t")
    monkeypatch.setenv(engine.LAKE_DATA_VAR, str(tmp_path / "lac"))
    lake = warehouse.db_path()
    assert lake == engine.Lake("dbname=obs host=db user=a password=s3cr3t", str(tmp_path / "lac"))
    assert "s3cr3t" not in str(lake) and "password=***" in str(lake)
    assert warehouse.db_path(warehouse.target_key(lake)) == lake


def test_an_unreachable_or_empty_catalog_gets_a_french_message(new_lake, postgres_server):
    unreachable = engine.Lake("dbname=nulle host=127.0.0.1 port=1 user=postgres connect_timeout=2")
    with pytest.raises(warehouse.WarehouseUnreachable, match="injoignable"):
        with warehouse.read_connection(unreachable):
            pass
    empty = new_lake()
    with pytest.raises(warehouse.WarehouseError, match="init"):
        with warehouse.read_connection(empty):
            pass
    done = cli("init", "--db", dataclasses.replace(empty, data_path=None).url,
               env={engine.LAKE_DATA_VAR: ""})
    assert done.returncode != 0 and "OBSERVATOIRE_LAKE_DATA" in done.stderr and "Traceback" not in done.stderr


IMPORTER = textwrap.dedent("""
    import sys
    from pipelines import ingest
    from pipelines.store import warehouse
    lake = warehouse.Lake(sys.argv[1], None)
    header = "id_structure;nom;forme_juridique;domaine;code_commune\\n"
    body = "".join(f"W{sys.argv[2]}-{i};Structure {i};association;musique;76540\\n" for i in range(int(sys.argv[3])))
    result = ingest.ingest(lake, [ingest.Upload("s.csv", (header + body).encode(), "structures")])
    print(result.status, result.import_id)
""")


def test_several_processes_importing_at_once_all_commit_and_lose_nothing(new_lake):
    lake = create_warehouse(new_lake())
    writers = [subprocess.Popen([sys.executable, "-c", IMPORTER, lake.catalog, str(n), "200"], cwd=REPO_DIR,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(4)]
    outcomes = [w.communicate(timeout=300) for w in writers]
    assert all(w.returncode == 0 for w in writers), [err for _, err in outcomes]
    import_ids = sorted(int(out.split()[1]) for out, _ in outcomes)
    assert [out.split()[0] for out, _ in outcomes] == ["importe"] * 4
    assert import_ids == [1, 2, 3, 4]  # distinct: each writer saw the others' commits
    with warehouse.read_connection(lake) as con:
        assert con.execute("SELECT count(*), count(DISTINCT id_structure) FROM structures").fetchall() == [(800, 800)]
        assert con.execute("SELECT count(*) FROM journal_structures WHERE action = 'ajout'").fetchall() == [(800,)]


def test_a_writer_killed_mid_import_leaves_the_lake_unchanged_and_unlocked(new_lake):
    lake = create_warehouse(new_lake())
    assert ingest.ingest(lake, [upload(HEADER + "S1;Une;association;musique;76540\n")]).status == "importe"
    before, version = dataset_rows(lake), warehouse.version(lake)
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from pipelines.store import warehouse
        with warehouse.write_transaction(warehouse.Lake(sys.argv[1], None)) as con:
            con.execute("DELETE FROM structures")
            con.execute("INSERT INTO imports (import_id, cree_le, role, mode, statut) VALUES (99, now(), 'x', 'x', 'importe')")
            print("en cours", flush=True)
            time.sleep(120)
    """), lake.catalog], cwd=REPO_DIR, stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "en cours"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert dataset_rows(lake) == before and warehouse.version(lake) == version
    # PostgreSQL ended the dead writer's session, its lock with it: the next import goes through.
    result = ingest.ingest(lake, [upload(HEADER + "S2;Deux;association;musique;76540\n")])
    assert result.status == "importe" and result.import_id == 2


def test_two_writes_that_overlap_anyway_do_not_both_commit(new_lake, monkeypatch):
    """The advisory lock queues writers; if two overlapped all the same (e.g. a lock lost with its server
    connection), the row every write updates makes the second one fail at commit, with nothing kept."""
    import contextlib

    lake = create_warehouse(new_lake())
    monkeypatch.setattr(engine, "writer_lock", lambda *a, **k: contextlib.nullcontext())
    both_inside, first_done = threading.Barrier(2), threading.Event()
    outcome: dict[str, object] = {}

    def write(name: str, wait_for_first: bool) -> None:
        try:
            with warehouse.write_transaction(lake) as con:
                con.execute(f"INSERT INTO ref_domaines VALUES ('{name}', '{name}')")
                both_inside.wait(timeout=30)
                if wait_for_first:
                    first_done.wait(timeout=30)
            outcome[name] = "committed"
        except warehouse.WriteConflict as exc:
            outcome[name] = exc
        finally:
            first_done.set() if not wait_for_first else None

    threads = [threading.Thread(target=write, args=("premier", False)),
               threading.Thread(target=write, args=("second", True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcome["premier"] == "committed"
    assert isinstance(outcome["second"], warehouse.WriteConflict) and "recommencez" in str(outcome["second"])
    with warehouse.read_connection(lake) as con:
        assert {r[0] for r in con.execute("SELECT code FROM ref_domaines WHERE code IN ('premier', 'second')").fetchall()} == {"premier"}


def test_a_file_moved_into_a_lake_and_back_keeps_its_rows_and_figures(mini_db, new_lake, tmp_path):
    lake = new_lake()
    moved = cli("copier", "--db", str(mini_db), "--vers", lake.url, env={engine.LAKE_DATA_VAR: lake.data_path})
    assert moved.returncode == 0, moved.stderr
    assert "imports" in moved.stdout
    back = tmp_path / "retour.duckdb"
    assert cli("copier", "--db", lake.url, "--vers", str(back)).returncode == 0
    for db in (lake, back):
        assert dataset_rows(db) == dataset_rows(mini_db)
        assert figures(db) == figures(mini_db)
        assert rows(db, "imports") == rows(mini_db, "imports")
    # The moved history still undoes: the last import of the fixture, on the lake.
    with warehouse.read_connection(lake) as con:
        last = con.execute("SELECT max(import_id) FROM imports").fetchall()[0][0]
    ingest.undo(lake, last)
    assert dataset_rows(lake) != dataset_rows(mini_db)
    # A destination holding imports is refused.
    again = cli("copier", "--db", str(mini_db), "--vers", lake.url)
    assert again.returncode != 0 and "contient déjà des imports" in again.stderr


def test_the_demo_gives_the_same_figures_on_a_lake(demo_db, demo_lake):
    assert figures(demo_lake) == figures(demo_db)


@pytest.mark.parametrize("path, role", [("pages/vue_ensemble.py", "analyste"), ("pages/structures.py", "analyste"),
                                        ("pages/besoins.py", "financeur"), ("pages/territoires.py", "comite"),
                                        ("pages/resultats.py", "financeur"), ("pages/plan.py", "comite"),
                                        ("pages/temoignages.py", "financeur"), ("pages/importer.py", "analyste")])
def test_pages_run_on_a_lake(demo_lake, demo_db, monkeypatch, path, role):
    def open_page(db) -> AppTest:
        monkeypatch.setenv(warehouse.ENV_VAR, warehouse.target_key(db))
        at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=120)
        at.session_state[auth.ROLE_KEY] = role
        at.run()
        at.switch_page(path).run()
        assert not at.exception, at.exception
        return at

    on_lake, on_file = open_page(demo_lake), open_page(demo_db)
    assert len(on_lake.get("plotly_chart")) == len(on_file.get("plotly_chart"))
    assert [m.value for m in on_lake.metric] == [m.value for m in on_file.metric]
    def texts(at: AppTest) -> list[str]:
        return [e.value for kind in (at.title, at.subheader, at.caption, at.markdown, at.info, at.warning)
                for e in kind]

    assert texts(on_lake) == texts(on_file) and on_lake.title  # the same page, with its words


def test_a_lake_connection_held_by_a_reader_does_not_stop_a_writer(new_lake):
    lake = create_warehouse(new_lake())
    with warehouse.read_connection(lake) as reader:
        assert reader.execute("SELECT count(*) FROM structures").fetchall() == [(0,)]
        version = engine.connection_version(reader)
        result = ingest.ingest(lake, [upload(HEADER + "S1;Une;association;musique;76540\n")])
        assert result.status == "importe"
        # One snapshot per connection, its version (cache keys) with it: a page's queries agree.
        assert reader.execute("SELECT count(*) FROM structures").fetchall() == [(0,)]
        assert engine.connection_version(reader) == version
        assert warehouse.version(lake) != (version[1],) and warehouse.version(lake)[1] > version[1]
    with warehouse.read_connection(lake) as reader:  # the next one sees the write
        assert reader.execute("SELECT count(*) FROM structures").fetchall() == [(1,)]


def test_duckdb_refuses_keys_on_a_lake_so_the_schema_has_none(new_lake):
    lake = create_warehouse(new_lake())
    con = engine.open_lake(lake, read_only=False)
    try:
        with pytest.raises(duckdb.Error, match="PRIMARY KEY"):
            con.execute("CREATE TABLE essai (code VARCHAR PRIMARY KEY)")
        assert engine.on_lake(con)
    finally:
        con.close()


def test_a_national_warehouse_holds_every_region_with_the_region_in_each_id(mini_db, new_lake, tmp_path):
    lake = create_warehouse(new_lake())
    assert load_mini(lake).status == "importe"
    national_db = tmp_path / "national.duckdb"
    done = cli("national", "--source", f"28={mini_db}", "--source", f"76={lake.url}", "--vers", str(national_db))
    assert done.returncode == 0, done.stderr
    regional = dataset_rows(mini_db)
    with warehouse.read_connection(national_db) as con:
        for name, ds in DATASETS.items():
            ids = [r[0] for r in con.execute(f"SELECT {ds.id_column} FROM {name}").fetchall()]
            assert len(ids) == 2 * len(regional[name]) == len(set(ids))
            assert all(i.startswith(("28-", "76-")) for i in ids)
        # References follow: every accompaniment's structure and programme exist under the same région.
        assert con.execute("""SELECT count(*) FROM accompagnements a ANTI JOIN structures s USING (id_structure)""").fetchall() == [(0,)]
        assert con.execute("""SELECT count(*) FROM accompagnements a ANTI JOIN programmes p USING (id_programme)""").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM accompagnements WHERE left(id_structure, 3) <> left(id_accompagnement, 3)").fetchall() == [(0,)]
    analyst = [f for f in figures(national_db)[::2]]
    assert [f["structures"] for f in analyst] == [2 * f["structures"] for f in figures(mini_db)[::2]]
    # Rebuilt, not imported into: the same figures again; ingest and undo refused in French.
    assert cli("national", "--source", f"28={mini_db}", "--source", f"76={lake.url}", "--vers", str(national_db)).returncode == 0
    assert figures(national_db)[::2] == analyst
    refused = cli("ingest", "structures", str(REPO_DIR / "tests" / "fixtures" / "mini" / "structures.csv"),
                  "--db", str(national_db))
    assert refused.returncode != 0 and "vue nationale" in refused.stderr and "Traceback" not in refused.stderr
    assert "vue nationale" in cli("annuler", "1", "--db", str(national_db)).stderr


def test_the_funder_view_of_the_nation_is_protected_on_the_national_rows(mini_db, tmp_path):
    """Regional masks do not compose: the national warehouse decides its own cells, and a value published
    nationally is the national rows' value, not a sum of regional publications."""
    national_db = tmp_path / "national.duckdb"
    other = tmp_path / "autre.duckdb"
    other.write_bytes(mini_db.read_bytes())
    from pipelines.store import national

    national.build({"28": mini_db, "76": other}, national_db)
    with warehouse.read_connection(mini_db) as con:
        regional = vue_ensemble.kpis(con, Scope(), "financeur")
    with warehouse.read_connection(national_db) as con:
        nation = vue_ensemble.kpis(con, Scope(), "financeur")
        truth = vue_ensemble.kpis(con, Scope(), "analyste")
    # The mini fixture's 4 structures are secret in each région (a sum of two "secret" says nothing); the
    # national cube, protected on its 8 structures, publishes them.
    assert regional["structures"] == "secret" and nation["structures"] == truth["structures"] == 8


def test_unknown_region_codes_and_a_warehouse_of_files_as_destination_are_refused(mini_db, empty_db, tmp_path):
    bad = cli("national", "--source", f"99={mini_db}", "--vers", str(tmp_path / "n.duckdb"))
    assert bad.returncode != 0 and "n'est pas un code de région" in bad.stderr
    taken = cli("national", "--source", f"28={mini_db}", "--vers", str(mini_db.parent / "autre.duckdb"))
    assert taken.returncode == 0
    into_regional = cli("national", "--source", f"28={empty_db}", "--vers", str(mini_db))
    assert into_regional.returncode != 0 and "contient des imports de fichiers" in into_regional.stderr


# --- review findings ---------------------------------------------------------------------------------------


def pg_tables(catalog: str) -> int:
    """Tables of any kind in the PostgreSQL database `catalog` names, read without DuckLake."""
    con = duckdb.connect()
    try:
        engine._load(con, "postgres_scanner")
        con.execute(f"ATTACH {engine._quote(catalog)} AS pg (TYPE postgres, READ_ONLY)")
        return con.execute("SELECT * FROM postgres_query('pg', 'SELECT count(*) FROM information_schema.tables "
                           "WHERE table_schema NOT IN (''pg_catalog'', ''information_schema'')')").fetchall()[0][0]
    finally:
        con.close()


def exception_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def test_masked_hides_the_password_in_key_value_and_uri_forms():
    cases = [("ducklake:postgres:dbname=obs host=h user=u password=s3cr3t", "host=h"),
             ("ducklake:postgres:dbname=obs password='s3cr3t et plus' user=u", "user=u"),
             ("ducklake:postgres:postgresql://u:s3cr3t@h:5432/obs", "postgresql://u:***@h:5432/obs"),
             ("ducklake:postgres:postgresql://u@h/obs?password=s3cr3t&sslmode=require", "sslmode=require")]
    for url, kept in cases:
        assert "s3cr3t" not in engine._masked(url) and kept in engine._masked(url), url
    for url, _ in cases:
        lake = engine.Lake(url[len(engine.LAKE_CATALOG_PREFIX):])
        assert "s3cr3t" not in str(lake) and "s3cr3t" not in lake.scrub(f'Unable to connect to "{lake.catalog}"')


def test_a_catalog_that_stops_answering_never_shows_its_password(postgres_server, tmp_path):
    """After a good read through the shared reader, the server goes away: every path gives the French
    message, and neither it nor its traceback carries the password."""
    if postgres.binaries() is None:
        pytest.skip("a server of its own to stop: PostgreSQL's binaries are needed")
    secret = "mot-de-passe-tres-secret"
    with postgres.server() as params:
        lake = engine.Lake(postgres.create_database(params, "fuite") + f" password={secret}", str(tmp_path / "lac"))
        create_warehouse(lake)
        assert rows(lake, "structures") == []  # the shared reader is open
    # The server is stopped now.
    failures = []
    for attempt in (lambda: rows(lake, "structures"), lambda: warehouse.version(lake), lake.exists,
                    lambda: ingest.ingest(lake, [upload(HEADER + "S1;Une;association;musique;76540\n")])):
        with pytest.raises(warehouse.WarehouseError) as caught:
            attempt()
        failures.append(caught.value)
    assert all(isinstance(f, warehouse.WarehouseUnreachable) and "injoignable" in str(f) for f in failures[:3])
    assert not [exception_text(f) for f in failures if secret in exception_text(f)]
    done = cli("kpis", "--db", lake.url)
    assert done.returncode != 0 and "injoignable" in done.stderr and secret not in done.stderr + done.stdout
    engine._shared_readers.pop(lake.url).close()


def test_init_demo_on_a_fresh_lake_gives_the_file_demo(demo_db, new_lake):
    lake = new_lake()
    done = cli("init", "--demo", "--db", lake.url, env={engine.LAKE_DATA_VAR: lake.data_path}, timeout=900)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert dataset_rows(lake) == dataset_rows(demo_db)
    with warehouse.read_connection(lake) as a, warehouse.read_connection(demo_db) as b:
        for query in ("SELECT * FROM population_reference",
                      "SELECT annee, role FROM opp_publications",  # not when: the two loads ran at other times
                      "SELECT * FROM opp_valeurs_publiees",
                      # every campaign's links, the demo's own among them (random secrets aside)
                      "SELECT id_structure, annee, expire_le, revoque_le IS NULL FROM opp_jetons"):
            found = a.execute(query + " ORDER BY ALL").fetchall()
            assert found == b.execute(query + " ORDER BY ALL").fetchall() and found, query
    assert figures(lake) == figures(demo_db)


def test_a_file_named_like_the_lake_alias_is_still_a_file(mini_db, tmp_path):
    db = create_warehouse(tmp_path / f"{engine.LAKE_ALIAS}.duckdb")
    assert load_mini(db).status == "importe"
    with warehouse.read_connection(db) as con:
        assert not engine.on_lake(con)
        assert con.execute("SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
                           ).fetchall()[0][0] > 0  # its keys kept
    assert figures(db) == figures(mini_db)  # the funder view included


def test_a_write_command_on_an_empty_database_leaves_it_empty(new_lake):
    empty = new_lake()
    refused = cli("ingest", "structures", str(MINI / "structures.csv"), "--db", empty.url,
                  env={engine.LAKE_DATA_VAR: empty.data_path})
    assert refused.returncode != 0 and "init" in refused.stderr and "Traceback" not in refused.stderr
    with pytest.raises(warehouse.WarehouseMissing, match="init"):
        with warehouse.write_transaction(empty):
            pass
    assert pg_tables(empty.catalog) == 0
    assert not empty.exists()


def test_a_write_that_fails_or_is_refused_leaves_the_lake_at_its_schema(new_lake, monkeypatch):
    """The next release's migration runs with the write: a write that fails, or an import refused, leaves the
    shared lake at the schema every other analyst's release reads."""
    lake = create_warehouse(new_lake())

    def next_step(con):
        engine.ddl(con, "ALTER TABLE population_reference ADD COLUMN essai_migration BIGINT")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, next_step])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))

    def state() -> tuple[int, bool]:
        with warehouse.read_connection(lake) as con:
            columns = {r[0] for r in con.execute("DESCRIBE population_reference").fetchall()}
            return schema.current_version(con), "essai_migration" in columns

    old = (schema.SCHEMA_VERSION - 1, False)
    assert state() == old
    with pytest.raises(ZeroDivisionError):
        with warehouse.write_transaction(lake):
            1 / 0
    assert state() == old
    bad = ingest.ingest(lake, [upload(HEADER + "S1;Mauvaise;pas-une-forme;musique;76540\n")])
    assert bad.status == "refuse" and state() == old
    assert ingest.ingest(lake, [upload(HEADER + "S1;Une;association;musique;76540\n")]).status == "importe"
    assert state() == (schema.SCHEMA_VERSION, True)


def test_an_unreachable_catalog_is_not_taken_for_a_missing_warehouse(new_lake, monkeypatch):
    secret = "s3cr3t-du-lac"
    unreachable = engine.Lake(f"dbname=nulle host=127.0.0.1 port=1 user=postgres password={secret} connect_timeout=2")
    with pytest.raises(warehouse.WarehouseUnreachable) as caught:
        unreachable.exists()
    assert secret not in exception_text(caught.value)
    assert new_lake().exists() is False  # no catalog: missing indeed
    monkeypatch.setenv(warehouse.ENV_VAR, unreachable.url)
    at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(e.value for e in at.error)
    assert "injoignable" in shown and "--demo" not in shown and secret not in shown


def test_every_writer_is_refused_on_a_national_warehouse(mini_db, tmp_path):
    national_db = tmp_path / "national.duckdb"
    national.build({"28": mini_db}, national_db)
    def contents(table: str) -> list[tuple]:
        with warehouse.read_connection(national_db) as con:
            return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)

    before = {t: contents(t) for t in ("population_reference", "structures", "profils_import", "opp_jetons")}
    refused = cli("population", str(REPO_DIR / "data" / "demo" / "population_reference.csv"), "--db", str(national_db))
    assert refused.returncode != 0 and "vue nationale" in refused.stderr and "Traceback" not in refused.stderr
    profile = profiles.Profile.from_toml('jeu = "structures"\nnom = "Export"\n[colonnes]\n"Réf" = "id_structure"\n')
    with pytest.raises(warehouse.NationalReadOnly, match="vue nationale"):
        with warehouse.write_transaction(national_db) as con:  # as the upload page saves a profile
            profiles.save(con, profile, role="analyste")
    with pytest.raises(warehouse.NationalReadOnly):
        tokens.invite(national_db, 2025)
    assert {t: contents(t) for t in before} == before and not before["profils_import"] and not before["opp_jetons"]
    national.build({"28": mini_db}, national_db)  # rebuilding it is no import
