"""A throwaway PostgreSQL 15 server for the tests (marker `postgres`): a cluster in a temporary folder on a free
port, a fresh database per test, stopped and removed at the end of the session. Debian's packages; when they
are missing, scripts/postgres-up.sh installs them (apt, as root), so the README's test command needs nothing
set up beforehand. The server refuses to run as root: as root, initdb and pg_ctl run as the `postgres` user."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path("/usr/lib/postgresql/15/bin")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres-up.sh"


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One cluster. Its default collation is ICU's English, as on a server set up for people, where text sorts
    unlike bytes ("a-b" after "ab"): the store's order must not depend on it (its text columns say COLLATE "C")."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: its folders are private to root, and the server runs as `postgres`.
        self.dir = Path(tempfile.mkdtemp(prefix="cosr-pg-"))
        self.data, self.port = self.dir / "data", _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run([str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en"])
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run([str(BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "server.log"),
                   "-w", "-t", "60", "start"])

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run(_as_owner(cmd), capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.dir / "server.log"
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stdout}{done.stderr}"
                               + (log.read_text() if log.exists() else ""))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        import psycopg

        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(_as_owner([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's server; no PostgreSQL that can be installed is a failure, never a skip."""
    if not (BIN / "initdb").exists():
        done = subprocess.run(["bash", str(SCRIPT), "--install-only"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.fail(f"PostgreSQL 15 is required for this test and did not install ({SCRIPT}): "
                        f"{done.stdout}{done.stderr}", pytrace=False)
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres_server.new_database()
