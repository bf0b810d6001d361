"""Where a measurement's CPU went on this machine: the gateway's processes, PostgreSQL, Redis,
the load generator, and everything else, each in CPU seconds over the same window.

On a small machine the gateway shares its cores with the database and the client driving
it, so "2 workers give 1.8x one worker" can only hold if those others leave it the cores:
this split is what shows whether they did. Everything is read from /proc (Linux):

- gateway: a ``gateway serve`` process and all its descendants (its uvicorn workers);
- PostgreSQL: the whole server (the postmaster, its live children, and the children it has
  reaped, whose CPU the kernel adds to the postmaster's ``cutime``/``cstime``), since a
  backend that closes mid-window would otherwise take its CPU with it; other databases on
  a shared server are in this figure too, and ``postgres_bench_db`` (the backends of the
  bench's own database, sampled while they live) says how much of it was the bench's;
- Redis: the ``redis-server`` serving the bench's port (shared with whoever else uses it);
- machine: busy time of all cores from /proc/stat, so ``other`` (busy minus the above) is
  the other work on a shared machine.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def _stat(pid: int) -> list[str] | None:
    """The fields after the command name of /proc/PID/stat (index 0 is the state)."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _own_cpu(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _reaped_cpu(fields: list[str]) -> float:
    return (int(fields[13]) + int(fields[14])) / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    try:
        text = (PROC / str(pid) / "task" / str(pid) / "children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def tree_cpu_by_pid(root: int) -> dict[int, float]:
    """User + system CPU of a process and of each of its live descendants."""
    found: dict[int, float] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        fields = _stat(pid)
        if fields is not None:
            found[pid] = _own_cpu(fields)
        todo += _children(pid)
    return found


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its live descendants."""
    return sum(tree_cpu_by_pid(root).values())


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _find(comm: str, cmdline_has: str = "") -> int | None:
    """The oldest process named ``comm`` whose parent is not (a server's own children share
    its name), optionally with ``cmdline_has`` in its command line."""
    found: list[tuple[int, int]] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name != comm or cmdline_has not in _cmdline(int(entry.name)):
            continue
        fields = _stat(int(entry.name))
        if fields is None:
            continue
        try:
            parent = (PROC / fields[1] / "comm").read_text().strip()
        except OSError:
            parent = ""
        if parent != comm:
            found.append((int(fields[19]), int(entry.name)))  # start time, pid
    return min(found)[1] if found else None


def _established_inodes(ports: set[int]) -> set[int]:
    """Socket inodes of established TCP connections whose local port is one of ``ports``."""
    found: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) in ports:
                found.add(int(fields[9]))
    return found


def _socket_inodes(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        fds = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return found
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def connections_by_process(roots: list[int], ports: set[int]) -> list[int]:
    """How many of the clients' connections each serving process holds, most first (a
    serve's parent only listens, so with workers it is left out)."""
    established = _established_inodes(ports)
    counts: list[int] = []
    for root in roots:
        workers = [p for p in _children(root) if "resource_tracker" not in _cmdline(p)]
        workers = workers or [root]
        counts += [len(_socket_inodes(pid) & established) for pid in workers]
    return sorted(counts, reverse=True)


def all_cpu() -> dict[int, tuple[str, float]]:
    """Every live process's command line (cut short) and CPU seconds."""
    found: dict[int, tuple[str, float]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                found[int(entry.name)] = (_cmdline(int(entry.name))[:80].strip(), _own_cpu(fields))
    return found


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot, from /proc/stat's first line."""
    values = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def postgres_cpu_seconds(postmaster: int) -> float:
    fields = _stat(postmaster)
    if fields is None:
        return 0.0
    return (
        _own_cpu(fields)
        + _reaped_cpu(fields)
        + sum(tree_cpu_seconds(child) for child in _children(postmaster))
    )


@dataclass
class Split:
    """CPU seconds by owner over one window of ``seconds`` wall time on ``cores`` cores."""

    seconds: float
    cores: int
    gateway: float
    load_generator: float
    postgres: float
    postgres_bench_db: float
    redis: float
    machine_busy: float
    # Each gateway process's share (a serve's parent and its workers), largest first: an
    # idle worker beside a busy one shows the load did not reach it.
    gateway_processes: list[float] = field(default_factory=list)
    # The clients' connections each serving process held a second into the window.
    connections: list[int] = field(default_factory=list)
    # The busiest processes over the window that are none of the above (other people's
    # work on a shared machine, or something of the bench's own that is not counted).
    other_top: list[tuple[str, float]] = field(default_factory=list)

    @property
    def other(self) -> float:
        ours = self.gateway + self.load_generator + self.postgres + self.redis
        return max(0.0, self.machine_busy - ours)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "gateway_s": round(self.gateway, 3),
            "load_generator_s": round(self.load_generator, 3),
            "postgres_s": round(self.postgres, 3),
            "postgres_bench_db_s": round(self.postgres_bench_db, 3),
            "redis_s": round(self.redis, 3),
            "other_s": round(self.other, 3),
            "machine_busy_s": round(self.machine_busy, 3),
            "gateway_processes_s": [round(x, 3) for x in self.gateway_processes],
            "connections_by_process": list(self.connections),
            "other_top": [[name, round(cpu, 3)] for name, cpu in self.other_top],
        }


def _sum_sorted(lists: list[list[float]]) -> list[float]:
    width = max((len(x) for x in lists), default=0)
    return [sum(x[i] for x in lists if i < len(x)) for i in range(width)]


def combine(splits: list[Split]) -> Split:
    """Several windows as one (rounds of a measurement): CPU and wall seconds add up; each
    process's share adds up by rank (busiest with busiest), and so do connections."""
    others: dict[str, float] = {}
    for split in splits:
        for name, cpu in split.other_top:
            others[name] = others.get(name, 0.0) + cpu
    return Split(
        seconds=sum(x.seconds for x in splits),
        cores=splits[0].cores,
        gateway=sum(x.gateway for x in splits),
        load_generator=sum(x.load_generator for x in splits),
        postgres=sum(x.postgres for x in splits),
        postgres_bench_db=sum(x.postgres_bench_db for x in splits),
        redis=sum(x.redis for x in splits),
        machine_busy=sum(x.machine_busy for x in splits),
        gateway_processes=_sum_sorted([x.gateway_processes for x in splits]),
        connections=[
            int(c) for c in _sum_sorted([[float(c) for c in x.connections] for x in splits])
        ],
        other_top=sorted(others.items(), key=lambda x: -x[1])[:5],
    )


@dataclass
class Probe:
    """Samples the CPU of the gateway's process trees, PostgreSQL and Redis over a window.

    The bench database's backends are sampled every ``interval`` seconds while the window is
    open, so a backend a pool closes mid-window keeps what it had used until its last sample.
    The load generator's CPU is given to ``stop`` by the caller (wrk's rusage, or the Python
    generator's process time), since only the caller knows which it was.
    """

    gateway_pids: list[int]
    database: str
    ports: set[int] = field(default_factory=set)
    redis_port: int = 6379
    interval: float = 0.2
    _postmaster: int | None = None
    _redis: int | None = None
    _start: dict[str, float] = field(default_factory=dict)
    _backends_first: dict[int, float] = field(default_factory=dict)
    _backends_last: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _wall: float = 0.0
    _gateway_first: dict[int, float] = field(default_factory=dict)
    _connections: list[int] = field(default_factory=list)
    _all_first: dict[int, tuple[str, float]] = field(default_factory=dict)

    def _gateway_by_pid(self) -> dict[int, float]:
        found: dict[int, float] = {}
        for root in self.gateway_pids:
            found.update(tree_cpu_by_pid(root))
        return found

    def _bench_backends(self) -> dict[int, float]:
        if self._postmaster is None:
            return {}
        found: dict[int, float] = {}
        needle = f" {self.database} "
        for pid in _children(self._postmaster):
            if needle in _cmdline(pid):
                fields = _stat(pid)
                if fields is not None:
                    found[pid] = _own_cpu(fields)
        return found

    def _sample(self) -> None:
        for pid, cpu in self._bench_backends().items():
            self._backends_first.setdefault(pid, 0.0)
            self._backends_last[pid] = cpu

    def _loop(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self.interval):
            self._sample()
            if not self._connections and time.monotonic() - started >= 1.0:
                self._connections = connections_by_process(self.gateway_pids, self.ports)

    def _redis_cpu(self) -> float:
        fields = _stat(self._redis) if self._redis is not None else None
        return _own_cpu(fields) if fields is not None else 0.0

    def start(self) -> None:
        self._postmaster = _find("postgres")
        self._redis = _find("redis-server", f":{self.redis_port}")
        self._backends_first = dict(self._bench_backends())
        self._backends_last = dict(self._backends_first)
        busy, _ = machine_busy_seconds()
        self._gateway_first = self._gateway_by_pid()
        self._all_first = all_cpu()
        self._start = {
            "postgres": postgres_cpu_seconds(self._postmaster) if self._postmaster else 0.0,
            "redis": self._redis_cpu(),
            "busy": busy,
        }
        self._wall = time.monotonic()
        self._stop.clear()
        self._connections = []
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self, load_generator: float) -> Split:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        busy, _ = machine_busy_seconds()
        ours = {os.getpid(), self._postmaster, self._redis, *self._gateway_first}
        ours |= set(_children(self._postmaster)) if self._postmaster else set()
        others = [
            (name, cpu - self._all_first.get(pid, (name, 0.0))[1])
            for pid, (name, cpu) in all_cpu().items()
            if pid not in ours
        ]
        gateway = {
            pid: cpu - self._gateway_first.get(pid, 0.0)
            for pid, cpu in self._gateway_by_pid().items()
        }
        return Split(
            seconds=time.monotonic() - self._wall,
            cores=os.cpu_count() or 1,
            gateway=sum(gateway.values()),
            load_generator=load_generator,
            postgres=(postgres_cpu_seconds(self._postmaster) if self._postmaster else 0.0)
            - self._start["postgres"],
            postgres_bench_db=sum(
                last - self._backends_first.get(pid, 0.0)
                for pid, last in self._backends_last.items()
            ),
            redis=self._redis_cpu() - self._start["redis"],
            machine_busy=busy - self._start["busy"],
            gateway_processes=sorted(gateway.values(), reverse=True),
            connections=self._connections,
            other_top=sorted(others, key=lambda x: -x[1])[:5],
        )
