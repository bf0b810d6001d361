"""A benchmark's figures saved with where they came from: the command, the date, the commit
and the machine's load while it ran, in ``bench/results/<name>.json``.

docs/benchmarks.md's tables are rendered from these files (``python -m bench.docs``), never
typed in, so a figure cannot outlive the run that produced it or travel without its
command, date and commit. A run on a tree with uncommitted changes says so (``dirty``):
its figures are of code no commit holds.
"""

from __future__ import annotations

import math
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def commit() -> dict[str, Any]:
    """The commit the figures belong to; ``dirty`` when tracked files differ from it."""
    sha = _git("rev-parse", "HEAD")
    changes = _git("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": bool(changes) if changes is not None else None}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """The command as a person would retype it (``argv`` None: this process's own)."""
    args = sys.argv[1:] if argv is None else list(argv)
    return f"python -m {module} {shlex.join(args)}".strip()


def _plain(value: Any) -> Any:
    """JSON has no NaN or infinity: a figure that could not be measured is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass
class Measurement:
    """One benchmark run, begun before its first measurement so the load average, the
    duration and the commit cover the whole of it."""

    name: str
    command: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    load_before: tuple[float, float, float] = field(default_factory=os.getloadavg)
    # Taken at the start: the code that runs is what was checked out when it began.
    source: dict[str, Any] = field(default_factory=commit)
    _clock: float = field(default_factory=time.perf_counter)

    @classmethod
    def begin(cls, name: str, module: str, argv: Sequence[str] | None = None) -> Measurement:
        return cls(name=name, command=command_line(module, argv))

    def record(self, figures: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "name": self.name,
            "date": self.started.isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - self._clock, 1),
            "commit": self.source,
            "machine": machine(),
            "cores": os.cpu_count(),
            "load_average": {"before": list(self.load_before), "after": list(os.getloadavg())},
            "command": self.command,
            "figures": _plain(figures),
        }

    def save(self, figures: Mapping[str, Any], directory: Path = RESULTS_DIR) -> Path:
        path = directory / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(self.record(figures), option=orjson.OPT_INDENT_2) + b"\n")
        print(f"figures written to {path}", file=sys.stderr, flush=True)
        return path


def load(name: str, directory: Path = RESULTS_DIR) -> dict[str, Any] | None:
    path = directory / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data
