"""``python -m gateway ...`` as an operator runs it: a process of its own, its environment
and nothing else, stdout and stderr kept apart."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gateway.settings import SOURCE_NAMES
from gateway.setup.commands import init_shop
from sources.common.db import Database
from sources.common.migrate import upgrade_source
from tests.conftest import settings_for

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def sqlite_env(directory: Path) -> dict[str, str]:
    return {
        f"{name.upper()}_DATABASE_URL": f"sqlite+aiosqlite:///{directory}/{name}.db"
        for name in SOURCE_NAMES
    }


def same_database_env(url: str) -> dict[str, str]:
    return {f"{name.upper()}_DATABASE_URL": url for name in SOURCE_NAMES}


def gateway(*args: str, env: dict[str, str], cwd: Path, timeout: float = 120) -> Run:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    process = subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**base, "PYTHONPATH": str(REPO), "GATEWAY_LOG_FORMAT": "console", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(process.returncode, process.stdout, process.stderr)


def migrated(env: dict[str, str]) -> None:
    """What `gateway migrate` leaves in a ``sqlite_env`` (every source at head, no rows), for
    a test whose subject comes after it: copies of files migrated once per worker rather
    than a process each. test_cli_databases.py runs the command itself."""
    template = _migrated_template()
    for name in SOURCE_NAMES:
        target = Path(env[f"{name.upper()}_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
        for suffix in ("", "-wal", "-shm"):  # a closed database has no WAL left, but be exact
            source = template / f"{name}.db{suffix}"
            if source.exists():
                shutil.copyfile(source, target.with_name(target.name + suffix))


_TEMPLATE: list[Path] = []


def _migrated_template() -> Path:
    if not _TEMPLATE:
        directory = Path(tempfile.mkdtemp(prefix="migrated-template-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)  # the session's template

        async def upgrade() -> None:
            for name, url in _urls(sqlite_env(directory)).items():
                db = Database(url)
                try:
                    await upgrade_source(name, db)
                finally:
                    await db.dispose()

        asyncio.run(upgrade())
        _TEMPLATE.append(directory)
    return _TEMPLATE[0]


def initialised(env: dict[str, str], shop_file: Path) -> None:
    """What `gateway init FILE` writes, done in this process, for a test whose subject is
    what comes after (test_init.py runs the command itself, output and exit status)."""
    asyncio.run(init_shop(settings_for(_urls(env)), str(shop_file)))


def _urls(env: dict[str, str]) -> dict[str, str]:
    return {name: env[f"{name.upper()}_DATABASE_URL"] for name in SOURCE_NAMES}


def assert_one_clear_line(run: Run, *expected: str) -> None:
    """Exit status 2, no traceback, the problem said in a line per database at most."""
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr
    assert 1 <= len(run.lines) <= len(SOURCE_NAMES) + 1, run.stderr
    for text in expected:
        assert text in run.stderr, run.stderr


class _RefusesPassword(socketserver.BaseRequestHandler):
    """Speaks just enough of PostgreSQL's start-up to refuse the password, as a server
    with md5/scram authentication does (the suite's own server trusts everyone)."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        length = struct.unpack("!I", _read(sock, 4))[0]
        body = _read(sock, length - 4)
        if struct.unpack("!I", body[:4])[0] == 80877103:  # SSLRequest: no
            sock.sendall(b"N")
            length = struct.unpack("!I", _read(sock, 4))[0]
            _read(sock, length - 4)
        fields = b"".join(
            code + text.encode() + b"\0"
            for code, text in (
                (b"S", "FATAL"),
                (b"V", "FATAL"),
                (b"C", "28P01"),
                (b"M", 'password authentication failed for user "shop"'),
            )
        )
        payload = fields + b"\0"
        sock.sendall(b"E" + struct.pack("!I", len(payload) + 4) + payload)


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


@contextmanager
def password_refusing_server() -> Iterator[int]:
    """A loopback port whose "PostgreSQL" refuses every password."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _RefusesPassword)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
