"""A throwaway PostgreSQL server for the lake tests and benchmarks: Debian's `postgresql` binaries, a
temporary folder, a free port, run as the `postgres` user when we are root (PostgreSQL refuses root)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator


def binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server() -> Iterator[str]:
    """Start a server; yield its libpq parameters (without dbname); stop and remove it on exit."""
    bin_dir = binaries()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL introuvable (/usr/lib/postgresql/*/bin) : apt-get install postgresql")
    # Not under pytest's temporary folder: the `postgres` user cannot enter root's.
    root = Path(tempfile.mkdtemp(prefix="observatoire-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        os.chmod(root, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    try:
        subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "--no-sync"], check=True, capture_output=True)
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                        "start"], check=True, capture_output=True)
        yield f"host=127.0.0.1 port={port} user=postgres"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def create_database(params: str, name: str) -> str:
    """CREATE DATABASE `name` on the server `params`; return the libpq parameters to reach it."""
    given = dict(part.split("=", 1) for part in params.split())
    subprocess.run(["psql", "-h", given.get("host", "127.0.0.1"), "-p", given.get("port", "5432"),
                    "-U", given.get("user", "postgres"), "-d", "postgres", "-qc", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True, env={**os.environ, "PGPASSWORD": given.get("password", "")})
    return f"dbname={name} {params}"
