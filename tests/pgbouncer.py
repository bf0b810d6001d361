"""A private PgBouncer for tests: its own port, transaction mode, in front of the test
PostgreSQL (127.0.0.1:5432, trust). Skipped when the ``pgbouncer`` binary is not installed
(Debian: ``apt-get install pgbouncer``), except with CI=true, where a missing server would
hide an untested set-up, so it fails (as PostgreSQL and redis-server do)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg import HOST, PORT, USER
from tests.remote import free_port

# Debian installs it in /usr/sbin, which an unprivileged user's PATH may not have.
CANDIDATES = ("pgbouncer", "/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer")


def pgbouncer_binary() -> str:
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found is not None:
            return found
    if os.environ.get("CI") == "true":
        pytest.fail("pgbouncer is required in CI (apt-get install pgbouncer)")
    pytest.skip("pgbouncer is not installed")


@dataclass
class PrivatePgBouncer:
    port: int
    log: Path

    def url_for(self, database: str, **query: str) -> str:
        suffix = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{database}" + (
            f"?{suffix}" if suffix else ""
        )

    def logins(self, database: str) -> int:
        """How many client logins to ``database`` the pooler has logged."""
        text = self.log.read_text(errors="replace")
        return text.count(f"login attempt: db={database} ")


@contextmanager
def private_pgbouncer(*, server_connections: int = 2) -> Iterator[PrivatePgBouncer]:
    """PgBouncer in transaction mode with at most ``server_connections`` connections to
    PostgreSQL per database: every client connection beyond that shares them."""
    binary = pgbouncer_binary()
    with tempfile.TemporaryDirectory(prefix="pgbouncer-") as name:
        directory = Path(name)
        port = free_port()
        (directory / "users.txt").write_text(f'"{USER}" ""\n')
        (directory / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host={HOST} port={PORT}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {port}",
                    "unix_socket_dir =",
                    "auth_type = trust",
                    f"auth_file = {directory / 'users.txt'}",
                    "pool_mode = transaction",
                    f"default_pool_size = {server_connections}",
                    "max_client_conn = 500",
                    "log_connections = 1",
                    "",
                ]
            )
        )
        args = [binary, str(directory / "pgbouncer.ini")]
        if os.geteuid() == 0:  # it refuses to run as root
            directory.chmod(0o755)
            args[1:1] = ["-u", "nobody"]
        log = directory / "pgbouncer.log"
        with log.open("wb") as out:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port, process, log)
            yield PrivatePgBouncer(port, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("pgbouncer did not start listening") from None
            time.sleep(0.05)
