"""Access to the warehouse: a DuckDB file (default) or a DuckLake (see pipelines.store.engine).

For a file: DuckDB lets one process write it, and refuses readers from other
processes while it does. So that the dashboard and an analyst's
`python -m pipelines ingest` run side by side:

* readers open a short-lived read-only connection per query batch, and retry
  for a moment if the file is being swapped;
* a writer never writes the live file in place: under an exclusive lock file
  it copies the warehouse, applies its transaction to the copy, checkpoints,
  and atomically renames the copy over the live file. Readers keep reading the
  old version meanwhile, and a crash or kill at any point leaves the live file
  exactly as it was.

For a lake: readers share a read-only connection (DuckLake readers block nobody), each read connection
seeing the snapshot it started on; a writer queues on the catalog's advisory lock and migrates and writes
in one DuckLake transaction, which commits whole or not at all.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
from pathlib import Path
from typing import Iterator

import duckdb

from pipelines.store import consolidation, engine, schema
from pipelines.store.consolidation import NationalReadOnly  # noqa: F401 (its public name here too)
from pipelines.store.engine import (Lake, Target, WarehouseBusy, WarehouseError, WarehouseMissing,  # noqa: F401
                                    WarehouseUnreachable, WriteConflict)

REPO_DIR = Path(__file__).resolve().parents[2]
DEFAULT_DB = REPO_DIR / "data" / "observatoire.duckdb"
ENV_VAR = "OBSERVATOIRE_DB"
# What DuckDB may hold in memory while writing, beyond which it spills to a temporary directory beside the
# copy: a million-line import then costs the process ~100 MB less, for no measured loss of time (bench/).
WRITER_MEMORY = "256MB"


def db_path(explicit: "str | os.PathLike | Lake | None" = None) -> Target:
    """The warehouse: --db, else $OBSERVATOIRE_DB, else data/observatoire.duckdb. A file path, or a lake
    (`ducklake:postgres:<conninfo>`, its data under $OBSERVATOIRE_LAKE_DATA)."""
    if isinstance(explicit, Lake):
        return explicit
    if explicit:
        return engine.parse_target(explicit)
    if os.environ.get(ENV_VAR):
        return engine.parse_target(os.environ[ENV_VAR])
    return DEFAULT_DB


def target_key(target: Target) -> str:
    """The warehouse as a string that `db_path` turns back into it (cache keys across reruns)."""
    return target.url if isinstance(target, Lake) else str(target)


def version(path: Target) -> tuple:
    """A cheap token that changes whenever a write is committed (new inode on each swap; a lake's snapshot)."""
    if isinstance(path, Lake):
        return engine.lake_version(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0, 0)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower()


@contextlib.contextmanager
def read_connection(path: Target, wait_seconds: float = 10.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, closed on exit. Never hold it across user interactions. On a lake it reads one
    snapshot throughout (as a file's connection reads one file): a write committed meanwhile shows in the
    next connection."""
    if isinstance(path, Lake):
        with _lake_read_connection(path) as cursor:
            yield cursor
        return
    if not path.exists():
        raise WarehouseMissing(
            f"Entrepôt introuvable : {path}. Créez-le avec « python -m pipelines init --demo »."
        )
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                raise WarehouseBusy(
                    f"L'entrepôt {path} est verrouillé par un autre programme ; réessayez dans un instant."
                ) from exc
            time.sleep(0.05)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def _lake_read_connection(lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    cursor = engine.lake_reader(lake)
    try:
        with engine.catalog_errors(lake):
            # Pins the snapshot: the queries of one page agree with each other while analysts import.
            cursor.execute("BEGIN TRANSACTION")
            if not engine.has_schema(cursor):
                raise WarehouseMissing(f"Lac vide : {lake}. Créez son schéma avec « python -m pipelines init ».")
            yield cursor
    finally:
        with contextlib.suppress(duckdb.Error):  # a dead server or a closed cursor: nothing to end
            cursor.execute("ROLLBACK")
        cursor.close()


@contextlib.contextmanager
def _writer_lock(path: Path, wait_seconds: float) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        "Une autre écriture (import ou annulation) est en cours sur cet entrepôt ; "
                        "réessayez quand elle sera terminée."
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def write_transaction(
    path: Target, *, create: bool = False, wait_seconds: float = 60.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a private copy of the warehouse inside one transaction.

    On normal exit the transaction commits and the copy replaces the live file
    atomically; on any exception nothing of it is ever visible. On a lake: one
    DuckLake transaction, committed whole or not at all.

    A national warehouse (pipelines.store.national) is refused, whatever the write (import, population,
    profile, participatory observation, decisions), unless `create`: init, copier and national.build
    (re)make the warehouse itself.
    """
    if isinstance(path, Lake):
        with _lake_write_transaction(path, create=create, wait_seconds=wait_seconds) as con:
            yield con
        return
    path = Path(path)
    if not path.exists() and not create:
        raise WarehouseMissing(
            f"Entrepôt introuvable : {path}. Créez-le avec « python -m pipelines init »."
        )
    with _writer_lock(path, wait_seconds):
        # Holding the lock, any leftover copy is from a writer that was killed.
        for stale in path.parent.glob(f".{path.name}.tmp-*"):
            _remove_quietly(stale)
        work = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            if path.exists():
                shutil.copyfile(path, work)
        except OSError as exc:
            _remove_quietly(work)
            raise _disk_error(exc, path) from None
        con = duckdb.connect(str(work), config={"memory_limit": WRITER_MEMORY})
        try:
            schema.migrate(con)
            _refuse_if_national(con, create)
            con.execute("BEGIN TRANSACTION")
            yield con
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
            con.close()
            with open(work, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(work, path)
            _fsync_dir(path.parent)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                con.close()
            _remove_quietly(work)
            if _is_disk_full(exc):
                raise _disk_error(exc, path) from None
            raise
        finally:
            _remove_quietly(work.with_name(work.name + ".wal"))
            shutil.rmtree(work.with_name(work.name + ".tmp"), ignore_errors=True)  # DuckDB's spill files


@contextlib.contextmanager
def _lake_write_transaction(lake: Lake, *, create: bool, wait_seconds: float) -> Iterator[duckdb.DuckDBPyConnection]:
    with engine.writer_lock(lake, wait_seconds):
        con = engine.open_lake(lake, read_only=False, create=create, memory_limit=WRITER_MEMORY)
        try:
            with engine.catalog_errors(lake):
                if not create and not engine.has_schema(con):
                    raise WarehouseMissing(f"Lac vide : {lake}. Créez son schéma avec « python -m pipelines init ».")
                # The migration commits with the write or not at all: a refused or failed import must not
                # change the schema every other analyst's release reads.
                con.execute("BEGIN TRANSACTION")
                schema.migrate(con, in_transaction=True)
                engine.claim_write(con)
                _refuse_if_national(con, create)
                yield con
                try:
                    con.execute("COMMIT")
                except duckdb.Error as exc:
                    if engine.is_conflict(exc):
                        raise WriteConflict("Une autre écriture a été enregistrée dans le lac pendant celle-ci : "
                                            "rien de celle-ci n'a été gardé ; recommencez.") from None
                    raise
        finally:
            con.close()


def _refuse_if_national(con: duckdb.DuckDBPyConnection, create: bool) -> None:
    if not create:  # only a rebuild writes into the national view
        consolidation.refuse_if_national(con)


def _is_disk_full(exc: BaseException) -> bool:
    return (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or (
        isinstance(exc, duckdb.Error) and "no space left" in str(exc).lower())


def _disk_error(exc: BaseException, path: Path) -> "WarehouseError":
    if _is_disk_full(exc):
        return WarehouseError(f"Disque plein : l'écriture dans {path.parent} a échoué et rien n'a été écrit (l'entrepôt "
                              "est tel qu'avant). Libérez de la place, puis recommencez.")
    return WarehouseError(f"Écriture impossible dans {path.parent} ({getattr(exc, 'strerror', None) or exc}) : rien "
                          "n'a été écrit.")


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_warehouse(source: Target, destination: Target) -> dict[str, int]:
    """Every table of `source` into `destination` (a file into a lake, or back), in one write: the same rows,
    hence the same figures. The destination must hold no import yet; both at this release's schema."""
    with read_connection(source) as src:
        found = schema.current_version(src)
        if found != schema.SCHEMA_VERSION:
            raise WarehouseError(f"{source} est au schéma {found} : mettez-le à jour d'abord avec « python -m "
                                 f"pipelines init --db … » (schéma {schema.SCHEMA_VERSION}).")
        names = [r[0] for r in src.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
        tables = {name: src.execute(f"SELECT * FROM {name}").to_arrow_table() for name in names}
    copied = {}
    with write_transaction(destination, create=True) as dst:
        if dst.execute("SELECT count(*) FROM imports").fetchall()[0][0]:
            raise WarehouseError(f"{destination} contient déjà des imports : copiez vers un entrepôt neuf.")
        for name, rows in tables.items():
            if name == "schema_meta":  # the destination's own, written by its migrations
                continue
            dst.execute(f"DELETE FROM {name}")
            dst.register("copied_rows", rows)
            dst.execute(f"INSERT INTO {name} SELECT * FROM copied_rows")
            dst.unregister("copied_rows")
            copied[name] = rows.num_rows
    return copied
