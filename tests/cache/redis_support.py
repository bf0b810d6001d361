"""Real Redis for the cache tests: the shared one on 127.0.0.1:6379 (skipped when absent,
a failure with CI=true), and private ``redis-server`` processes the tests may kill, pause
or cluster without disturbing anyone else."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

SHARED_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis(url: str = SHARED_URL) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI ({url}): {exc}")
        pytest.skip(f"Redis not reachable at {url}: {exc}")


def require_redis_server() -> None:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server and redis-cli are required in CI")
        pytest.skip("redis-server is not installed")


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_cluster_port() -> int:
    """A port whose cluster bus port (port + 10000) is free too, and below 65536."""
    while True:
        port = random.randint(20_000, 50_000)
        if _is_free(port) and _is_free(port + 10_000):
            return port


@dataclass
class PrivateRedis:
    port: int
    directory: Path
    extra: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=5)

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.directory), "--enable-debug-command"]
        args += ["local", *self.extra]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on {self.port} did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@contextmanager
def private_redis(*extra: str) -> Iterator[PrivateRedis]:
    require_redis_server()
    with tempfile.TemporaryDirectory() as directory:
        server = PrivateRedis(free_port(), Path(directory), extra)
        server.start()
        try:
            yield server
        finally:
            server.kill()


@contextmanager
def private_cluster(nodes: int = 3) -> Iterator[list[PrivateRedis]]:
    """A local Redis Cluster of ``nodes`` primaries (no replicas), slots spread evenly."""
    require_redis_server()
    with tempfile.TemporaryDirectory() as directory:
        servers: list[PrivateRedis] = []
        try:
            for n in range(nodes):
                node_dir = Path(directory) / str(n)
                node_dir.mkdir()
                flags = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
                server = PrivateRedis(free_cluster_port(), node_dir, flags)
                server.start()
                servers.append(server)
            addresses = [f"127.0.0.1:{s.port}" for s in servers]
            subprocess.run(
                ["redis-cli", "--cluster", "create", *addresses, "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=30,
            )
            deadline = time.monotonic() + 20
            while servers[0].client().cluster("info")["cluster_state"] != "ok":
                if time.monotonic() > deadline:
                    raise RuntimeError("the test cluster did not converge")
                time.sleep(0.1)
            yield servers
        finally:
            for server in servers:
                server.kill()
