"""wrk (C, one epoll thread) as bench.processes' load generator for the signed-in listing.

The Python generator (bench/load.py) costs a few milliseconds of CPU per request; on a
2-core machine that is taken from the gateway it is measuring. wrk costs a small fraction
of that, and its CPU is read from its rusage so a table can show what it took. The request
(a GraphQL POST with a buyer's bearer token, the tokens taken in turn) and the check of each
answer (200, no ``errors``) are in bench/wrk_graphql.lua. ``make wrk`` installs it
(Debian's package); without it bench.processes falls back to the Python generator.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

SCRIPT = Path(__file__).with_name("wrk_graphql.lua")
MARK = "WRK_RESULT "


def wrk_path() -> str | None:
    return shutil.which("wrk")


def version() -> str:
    """wrk's first line of --version, e.g. 'wrk debian/4.1.0-3+b2 [epoll]'."""
    path = wrk_path()
    if path is None:
        return "none"
    # wrk prints its version with its usage and exits 1.
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()[0]
    return first.split(" Copyright")[0].strip()


@dataclass
class WrkResult:
    requests: int
    seconds: float
    failures: int
    first_failure: str
    p50_ms: float
    p99_ms: float
    cpu_seconds: float  # wrk's own user + system CPU

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run(
    urls: Sequence[str],
    body: bytes,
    tokens: Sequence[str],
    *,
    connections: int,
    duration: float,
    cpus: str | None = None,
) -> list[WrkResult]:
    """One wrk per URL, all at once, each keeping ``connections`` requests in flight for
    ``duration`` seconds (rounded up to whole seconds, wrk's unit); ``cpus`` pins them with
    taskset (e.g. "1")."""
    path = wrk_path()
    if path is None:
        raise RuntimeError("wrk is not installed (make wrk)")
    seconds = max(1, math.ceil(duration))
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        body_file, tokens_file = Path(tmp) / "body.json", Path(tmp) / "tokens"
        body_file.write_bytes(body)
        tokens_file.write_text("\n".join(tokens) + "\n")
        pin = ["taskset", "-c", cpus] if cpus else []
        processes = [
            subprocess.Popen(
                [
                    *pin,
                    path,
                    "-t1",
                    f"-c{connections}",
                    f"-d{seconds}s",
                    "--timeout",
                    "60s",
                    "-s",
                    str(SCRIPT),
                    url,
                    "--",
                    str(body_file),
                    str(tokens_file),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for url in urls
        ]
        results: list[WrkResult] = []
        for process in processes:
            # wait4 gives the child's own rusage (taskset execs wrk: same process).
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            assert process.stdout is not None
            output = process.stdout.read().decode(errors="replace")
            line = next((x for x in output.splitlines() if x.startswith(MARK)), None)
            if process.returncode != 0 or line is None:
                raise RuntimeError(f"wrk failed ({process.returncode}):\n{output[-2000:]}")
            data = orjson.loads(line[len(MARK) :])
            results.append(
                WrkResult(
                    requests=int(data["requests"]),
                    seconds=int(data["duration_us"]) / 1e6,
                    failures=int(data["failures"])
                    + int(data["socket_errors"])
                    + int(data["timeouts"]),
                    first_failure=str(data["first_failure"]),
                    p50_ms=float(data["p50_ms"]),
                    p99_ms=float(data["p99_ms"]),
                    cpu_seconds=usage.ru_utime + usage.ru_stime,
                )
            )
        return results
