"""A ``gateway serve`` process as an operator starts it, for the lifecycle tests: its own
environment, its output in a log file the test reads afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateway.source_service import wait_until_healthy


def spawn_gateway(port: int, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """Started and answering /healthz on ``port``; stdout and stderr go to ``log``."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_until_healthy(f"http://127.0.0.1:{port}", process)
    return process
