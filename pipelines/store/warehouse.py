"""Access to the DuckDB warehouse file.

DuckDB lets one process write a file, and refuses readers from other
processes while it does. So that the dashboard and an analyst's
`python -m pipelines ingest` run side by side:

* readers open a short-lived read-only connection per query batch, and retry
  for a moment if the file is being swapped;
* a writer never writes the live file in place: under an exclusive lock file
  it copies the warehouse, applies its transaction to the copy, checkpoints,
  and atomically renames the copy over the live file. Readers keep reading the
  old version meanwhile, and a crash or kill at any point leaves the live file
  exactly as it was.
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

from pipelines.store import schema

REPO_DIR = Path(__file__).resolve().parents[2]
DEFAULT_DB = REPO_DIR / "data" / "observatoire.duckdb"
ENV_VAR = "OBSERVATOIRE_DB"
# What DuckDB may hold in memory while writing, beyond which it spills to a temporary directory beside the
# copy: a million-line import then costs the process ~100 MB less, for no measured loss of time (bench/).
WRITER_MEMORY = "256MB"


class WarehouseError(RuntimeError):
    """A problem with the warehouse file a user can act on (message in French)."""


class WarehouseBusy(WarehouseError):
    pass


class WarehouseMissing(WarehouseError):
    pass


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """The warehouse file: --db, else $OBSERVATOIRE_DB, else data/observatoire.duckdb."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return DEFAULT_DB


def version(path: Path) -> tuple[int, int, int]:
    """A cheap token that changes whenever a write is committed (new inode on each swap)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0, 0)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower()


@contextlib.contextmanager
def read_connection(path: Path, wait_seconds: float = 10.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, closed on exit. Never hold it across user interactions."""
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
    path: Path, *, create: bool = False, wait_seconds: float = 60.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a private copy of the warehouse inside one transaction.

    On normal exit the transaction commits and the copy replaces the live file
    atomically; on any exception nothing of it is ever visible.
    """
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
