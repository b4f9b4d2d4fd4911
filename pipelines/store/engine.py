"""The two engines a warehouse runs on, and everything that differs between them.

* A DuckDB **file** (the default): one process writes at a time; see pipelines.store.warehouse for the
  copy-and-swap that lets the dashboard read while an analyst imports.
* **DuckLake** with its catalog in PostgreSQL (`ducklake:postgres:<libpq conninfo>`) and its data as Parquet
  files under `OBSERVATOIRE_LAKE_DATA` (a folder shared by the machines, or an S3-compatible URL): many
  processes on many machines read and write it, each transaction seeing one snapshot.

The rest of the code gets a DuckDB connection whose default database is the warehouse, and writes the same
SQL for both. What DuckLake lacks is made up here: it has no PRIMARY KEY/UNIQUE constraints (`ddl` drops
them; the loader never relied on them, ids are unique by construction under the writer's lock), and its
writers are queued by a PostgreSQL advisory lock (`writer_lock`) with a row every write updates as a guard
(`claim_write`: two writes that overlapped anyway conflict at commit instead of both committing).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Union

import duckdb

LAKE_PREFIX = "ducklake:"
LAKE_CATALOG_PREFIX = "ducklake:postgres:"
LAKE_DATA_VAR = "OBSERVATOIRE_LAKE_DATA"
# The lake's name inside a connection (`USE`d, so queries name its tables bare, as with a file).
LAKE_ALIAS = "entrepot"
# Any fixed number: the advisory lock every writer of one catalog takes.
WRITER_LOCK_KEY = 7_406_911


class WarehouseError(RuntimeError):
    """A problem with the warehouse a user can act on (message in French)."""


class WarehouseBusy(WarehouseError):
    pass


class WarehouseMissing(WarehouseError):
    pass


class WarehouseUnreachable(WarehouseError):
    """The lake's PostgreSQL catalog does not answer: the lake may well exist (not the same as missing)."""


class WriteConflict(WarehouseBusy):
    """Another writer committed first, on the same rows or tables: nothing of this write was kept."""


@dataclass(frozen=True)
class Lake:
    """A DuckLake warehouse: PostgreSQL catalog (libpq conninfo) and where its Parquet files go."""

    catalog: str
    data_path: str | None = None

    @classmethod
    def parse(cls, url: str) -> "Lake":
        if not url.startswith(LAKE_CATALOG_PREFIX):
            raise WarehouseError(f"Adresse d'entrepôt non prise en charge : {_masked(url)}. Un lac s'écrit "
                                 "« ducklake:postgres:dbname=… host=… user=… » (catalogue PostgreSQL).")
        data = os.environ.get(LAKE_DATA_VAR) or None
        if data and "://" not in data:
            data = os.path.abspath(data)
        return cls(url[len(LAKE_CATALOG_PREFIX):].strip(), data)

    @property
    def url(self) -> str:
        return LAKE_CATALOG_PREFIX + self.catalog

    def __str__(self) -> str:  # what messages print: never the password
        return _masked(self.url)

    @property
    def password(self) -> str | None:
        found = _PASSWORD.search(self.catalog) or _URI_PASSWORD.search(self.catalog)
        return found.group(2).strip("'") if found else None

    def scrub(self, text: str) -> str:
        """`text` without this lake's password, in whatever form DuckDB or libpq quoted it."""
        text = _masked(text)
        secret = self.password
        # Also the bare value, however quoted; not a very short one, which would garble the message instead.
        return text.replace(secret, "***") if secret and len(secret) >= 4 else text

    def exists(self) -> bool:
        """False when the database holds no catalog or no schema yet; an unreachable server raises
        WarehouseUnreachable instead (the lake is there, only not answering)."""
        try:
            cursor = lake_reader(self)
        except WarehouseMissing:
            return False
        try:
            with catalog_errors(self):
                return has_schema(cursor)
        finally:
            cursor.close()


Target = Union[Path, Lake]


def parse_target(value: "str | os.PathLike") -> Target:
    text = os.fspath(value)
    return Lake.parse(text) if text.startswith(LAKE_PREFIX) else Path(text)


_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&\"]+)", re.IGNORECASE)  # key=value, or ?password= of a URI
_URI_PASSWORD = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(?=@)")  # postgresql://user:secret@host/db


def _masked(url: str) -> str:
    return _URI_PASSWORD.sub(r"\1***", _PASSWORD.sub(r"\1***", url))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def extension_path(name: str) -> str:
    """The extension binary shipped in the PyPI wheel `duckdb-extension-<name>` for this DuckDB (no download:
    the machines have no access to DuckDB's extension site)."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    found = None
    if spec is not None and spec.origin:
        found = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if found is None or not found.exists():
        raise WarehouseError(
            f"Extension DuckDB « {name} » introuvable pour duckdb {duckdb.__version__} : installez "
            f"duckdb-extension-{name.replace('_', '-')}=={duckdb.__version__} (requirements.txt).")
    return str(found)


def _load(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    for name in names:
        con.execute(f"LOAD {_quote(extension_path(name))}")


def open_lake(lake: Lake, *, read_only: bool, create: bool = False,
              memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A connection whose default database is the lake. Only `create` (init, copier, national) makes the
    catalog when the PostgreSQL database holds none yet (then OBSERVATOIRE_LAKE_DATA says where the files
    go): any other writer is refused before it leaves tables behind in a database meant for something else."""
    con = duckdb.connect(config={"memory_limit": memory_limit} if memory_limit else {})
    try:
        _load(con, "ducklake", "postgres_scanner")
        if read_only:
            options = ["READ_ONLY"]
        else:
            options = [] if create else ["CREATE_IF_NOT_EXISTS false"]
            options += [f"DATA_PATH {_quote(lake.data_path)}"] if lake.data_path else []
        con.execute(f"ATTACH {_quote(lake.url)} AS {LAKE_ALIAS}" + (f" ({', '.join(options)})" if options else ""))
        con.execute(f"USE {LAKE_ALIAS}")
    except duckdb.Error as exc:
        con.close()
        raise _attach_error(exc, lake) from None
    return con


def _attach_error(exc: duckdb.Error, lake: Lake) -> WarehouseError:
    text = str(exc)
    if "does not exist" in text and "creating a new DuckLake is explicitly disabled" in text:
        return WarehouseMissing(f"Lac introuvable : {lake} ne contient pas encore de catalogue. Créez-le avec "
                                "« python -m pipelines init --db '…' » (et OBSERVATOIRE_LAKE_DATA).")
    if "DATA_PATH" in text and "does not match" in text:
        return WarehouseError(f"OBSERVATOIRE_LAKE_DATA ({lake.data_path}) n'est pas le dossier de données de ce lac : "
                              "laissez-la vide ou donnez celui choisi à sa création.")
    if "data path" in text.lower() or "DATA_PATH" in text:
        return WarehouseError("Ce lac est neuf : indiquez où ranger ses fichiers de données avec la variable "
                              "OBSERVATOIRE_LAKE_DATA (un dossier partagé, ou une adresse s3://).")
    if "connect" in text.lower() or "password" in text.lower():
        return WarehouseUnreachable(f"Catalogue PostgreSQL injoignable ({lake}) : vérifiez que le serveur tourne et "
                                    "les paramètres de connexion (dbname, host, port, user, password).")
    return WarehouseError(f"Ouverture du lac impossible ({lake}) : {lake.scrub(text.splitlines()[0])}")


_UNREACHABLE = re.compile(r"unable to connect|could not connect|connection to server|server closed the connection|"
                          r"connection refused|no connection to the server", re.IGNORECASE)


def _from_catalog(exc: duckdb.Error, lake: Lake) -> bool:
    text = str(exc)
    return lake.scrub(text) != text or bool(_UNREACHABLE.search(text))


@contextlib.contextmanager
def catalog_errors(lake: Lake) -> Iterator[None]:
    """DuckDB's errors from the catalog's server quote its whole conninfo, password included, and would carry it
    into logs, tracebacks and the upload page's technical detail: they become the French error, masked."""
    try:
        yield
    except duckdb.Error as exc:
        if _from_catalog(exc, lake):
            raise _attach_error(exc, lake) from None
        raise


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_name = 'schema_meta'").fetchall()[0][0])


# Readers of a lake share one read-only connection per process (attaching costs ~0.1–0.7 s; a DuckLake
# reader blocks no writer). Each use takes a cursor (warehouse.read_connection: one snapshot per use).
_shared_readers: dict[str, duckdb.DuckDBPyConnection] = {}
_shared_readers_lock = threading.Lock()  # the dashboard's sessions run in threads


def lake_reader(lake: Lake) -> duckdb.DuckDBPyConnection:
    """A cursor on the process' shared read-only connection to the lake, its default database set. Close it."""
    with _shared_readers_lock:
        con = _shared_readers.get(lake.url)
        if con is None:
            con = _shared_readers[lake.url] = open_lake(lake, read_only=True)
    cursor = con.cursor()
    try:
        with catalog_errors(lake):
            cursor.execute(f"USE {LAKE_ALIAS}")
    except BaseException:
        cursor.close()
        raise
    return cursor


def lake_version(lake: Lake) -> tuple:
    """The lake's latest snapshot: changes with every committed write, like a file's inode and mtime."""
    try:
        cursor = lake_reader(lake)
    except WarehouseMissing:
        return (0,)
    try:
        with catalog_errors(lake):
            return connection_version(cursor)
    finally:
        cursor.close()


def connection_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """The lake a connection reads and its snapshot (cache keys of what is computed from it): the latest one,
    or inside a read transaction the one it reads. Masked: keys must not carry the password around."""
    catalog = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    snapshot = con.execute(f"SELECT max(snapshot_id) FROM {LAKE_ALIAS}.snapshots()").fetchall()[0][0]
    return (_masked(catalog[0][0]) if catalog and catalog[0][0] else LAKE_ALIAS, int(snapshot))


@contextlib.contextmanager
def writer_lock(lake: Lake, wait_seconds: float) -> Iterator[None]:
    """One writer at a time on a lake, across machines: a PostgreSQL advisory lock held by a transaction of
    its own, released when it ends (also when the process dies: PostgreSQL ends its session)."""
    con = duckdb.connect()
    try:
        _load(con, "postgres_scanner")
        con.execute(f"ATTACH {_quote(lake.catalog)} AS verrou (TYPE postgres)")
        con.execute("BEGIN TRANSACTION")
        deadline = time.monotonic() + wait_seconds
        while not con.execute(f"SELECT * FROM postgres_query('verrou', 'SELECT pg_try_advisory_xact_lock("
                              f"{WRITER_LOCK_KEY})')").fetchall()[0][0]:
            if time.monotonic() > deadline:
                raise WarehouseBusy("Une autre écriture (import ou annulation) est en cours sur ce lac ; "
                                    "réessayez quand elle sera terminée.")
            time.sleep(0.2)
    except duckdb.Error as exc:
        con.close()
        raise _attach_error(exc, lake) from None
    try:
        yield
    finally:
        con.close()


def claim_write(con: duckdb.DuckDBPyConnection) -> None:
    """Every write updates the one row of `ecritures`: two overlapping writes then conflict at commit."""
    con.execute("UPDATE ecritures SET n = n + 1")


def is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.TransactionException) or "conflict" in str(exc).lower()


_PRIMARY_KEY = re.compile(r",\s*PRIMARY KEY\s*\([^)]*\)|\s+PRIMARY KEY\b|\s+UNIQUE\b", re.IGNORECASE)


def ddl(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """Run a schema statement; on a lake, without the keys it cannot hold."""
    if on_lake(con):
        statement = _PRIMARY_KEY.sub("", statement)
    con.execute(statement)


def on_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """By the default database's engine, not its name: a file called entrepot.duckdb is no lake."""
    found = con.execute("SELECT type FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return bool(found) and found[0][0] == "ducklake"
