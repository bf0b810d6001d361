"""The servers under test, each a real uvicorn process on a free port.

Five variants over the same shop and the same simulated source latency:
``gateway`` (the app with its caches off, so every screen really reaches the sources; the
breadth-first executor), ``standard`` (the same with GATEWAY_EXECUTOR=standard),
``n+1`` (the same with GATEWAY_BATCHING=false: one source call per field), ``floor``
(bench.handwritten: the same JSON straight from the stores), ``memory`` (the floor's
endpoints over records read once and kept in memory: the web stack's physical limit) and
``cached`` (the gateway as
``make run`` starts it: entity and response caches on, in-process, no Redis). One worker
each, uvloop/httptools when installed, no access log. ``remote`` is ``gateway`` with its
four sources as ``gateway source serve`` processes of their own, reached over HTTP on
loopback (its CPU per request adds up all five processes).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from .queries import Scenario
from .shop import ROOT, Shop

VARIANTS = ("gateway", "standard", "remote", "n+1", "floor", "memory", "cached")
HANDWRITTEN = {"floor": "create_app", "memory": "create_memory_app"}
# Settings each variant runs with (on top of the shop's database URLs and the latency).
_CACHES_OFF = {"CACHE_ENABLED": "false", "RESPONSE_CACHE_ENABLED": "false"}
_CACHES_ON = {"CACHE_ENABLED": "true", "RESPONSE_CACHE_ENABLED": "true"}
# The large screen asks for 250 products: above the default page size and cost limits.
_LIMITS = {"GATEWAY_MAX_PAGE_SIZE": "250", "GATEWAY_MAX_COST": "100000"}
# The hand-written endpoints answer the catalog's base names (English); the demo shop's
# default language is Simplified Chinese (issue 18), so a request without Accept-Language
# got translated names from the gateway and the bench refused to compare the two.
_LANGUAGE = {"GATEWAY_DEFAULT_LANGUAGE": "en"}
VARIANT_ENV = {
    "gateway": {"GATEWAY_BATCHING": "true", "GATEWAY_EXECUTOR": "breadth-first", **_CACHES_OFF},
    "standard": {"GATEWAY_BATCHING": "true", "GATEWAY_EXECUTOR": "standard", **_CACHES_OFF},
    "remote": {"GATEWAY_BATCHING": "true", "GATEWAY_EXECUTOR": "breadth-first", **_CACHES_OFF},
    "n+1": {"GATEWAY_BATCHING": "false", "GATEWAY_EXECUTOR": "standard", **_CACHES_OFF},
    "floor": _CACHES_OFF,
    "memory": _CACHES_OFF,
    "cached": {"GATEWAY_BATCHING": "true", **_CACHES_ON},
}
# Inherited settings that would make runs differ from one shell to the next.
SCRUBBED_PREFIXES = (
    "GATEWAY_",
    "CACHE_",
    "RESPONSE_CACHE_",
    "REDIS_",
    "PERSISTED_QUERIES",
    "SOURCE_",
    "BENCH_FLOOR_GC_TUNED",  # only --floor-gc-tuned sets it
    *(f"{name}_URL" for name in ("CATALOG", "INVENTORY", "PRICING", "ORDERS")),
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Every server signs and verifies with this, so a scenario can send a staff token.
BENCH_JWT_SECRET = "bench-only-secret-never-used-in-production-0123456789"


def auth_headers(scenario: Scenario) -> dict[str, str]:
    """A staff bearer token for a back-office screen, a customer's for a signed-in screen
    (the hand-written apps are sent them too, and ignore them); none for an anonymous one."""
    if not scenario.staff and not scenario.signed_in:
        return {}
    from gateway.auth import ViewerKind, issue_token
    from gateway.settings import Settings

    settings = Settings(jwt_secret=BENCH_JWT_SECRET, jwt_audience=None, jwt_issuer=None)
    if scenario.staff:
        token = issue_token(
            settings, kind=ViewerKind.STAFF, subject="1", permissions=list(scenario.staff)
        )
    else:  # customer 1 of the seed (GATEWAY_CUSTOMER_SUBJECTS=customer-id: no lookup)
        token = issue_token(settings, kind=ViewerKind.CUSTOMER, subject="1")
    return {"Authorization": f"Bearer {token}"}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


LOOP = "uvloop" if _installed("uvloop") else "asyncio"
HTTP = "httptools" if _installed("httptools") else "h11"


def log_name(variant: str) -> str:
    return variant.replace("+", "p")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    variant: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    companions: list[subprocess.Popen[bytes]] = field(default_factory=list)
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=f"http://{self.host}:{self.port}", timeout=60)

    # What one screen's request is, for this variant.
    def request(self, scenario: Scenario, detail_slug: str) -> tuple[str, str, bytes | None]:
        if self.variant in HANDWRITTEN:
            return "GET", scenario.path(detail_slug), None
        import orjson

        body = {"query": scenario.query, "variables": scenario.variables(detail_slug)}
        return "POST", "/graphql", orjson.dumps(body)

    def fetch(self, scenario: Scenario, detail_slug: str) -> Any:
        method, path, body = self.request(scenario, detail_slug)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        headers.update(auth_headers(scenario))
        response = self.client.request(method, path, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(
                f"{self.variant} {scenario.name}: HTTP {response.status_code}: "
                f"{response.text[:500]}"
            )
        payload = response.json()
        if "errors" in payload:
            raise RuntimeError(f"{self.variant} {scenario.name}: {payload['errors']}")
        return payload

    def source_calls(self) -> dict[str, float]:
        """gateway_source_calls_total by 'source.method', from /metrics."""
        counts: dict[str, float] = {}
        for family in text_string_to_metric_families(self.client.get("/metrics").text):
            if family.name == "gateway_source_calls":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        key = f"{sample.labels['source']}.{sample.labels['method']}"
                        counts[key] = sample.value
        return counts

    def calls_per_query(self, scenario: Scenario, detail_slug: str) -> dict[str, int]:
        """Source calls one request makes, by 'source.method' (the server is otherwise idle)."""
        before = self.source_calls()
        self.fetch(scenario, detail_slug)
        after = self.source_calls()
        return {
            key: int(n - before.get(key, 0)) for key, n in after.items() if n > before.get(key, 0)
        }

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        return sum(process_cpu_seconds(p.pid) for p in (self.process, *self.companions))

    def stop(self) -> None:
        self.client.close()
        for companion in self.companions:
            companion.terminate()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def launch(
    variant: str,
    shop: Shop,
    latency_ms: float,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """Start a server process; it is ready once ``wait_ready`` returns."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    env = {
        **inherited,
        **shop.env(),
        **_LIMITS,
        **_LANGUAGE,
        **VARIANT_ENV[variant],
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_JWT_SECRET": BENCH_JWT_SECRET,
        "GATEWAY_SOURCE_LATENCY_MS": str(latency_ms),
        # No sweeper: the shop's unpaid orders (bench/orders_seed.py) expire past
        # ORDER_PAYMENT_TTL, and a server's sweeper cancelling them mid-run put their stock
        # back between two servers' checked answers (the order view's `available` 560 != 562).
        "GATEWAY_SWEEP_INTERVAL_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{log_name(variant)}-{shop.backend}-{latency_ms:g}ms.log"
    companions: list[subprocess.Popen[bytes]] = []
    if variant == "remote":
        from gateway.source_service import start_sources

        ports = {name: free_port() for name in ("catalog", "inventory", "pricing", "orders")}
        with log_path.open("ab") as log:
            spawned = start_sources(env, ports, output=log)
        companions = spawned.processes
        env.update(spawned.env)
    factory = HANDWRITTEN.get(variant)
    target = ["--factory", f"bench.handwritten:{factory}"] if factory else []
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        *(target or ["gateway.asgi:app"]),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        LOOP,
        "--http",
        HTTP,
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Server(variant, "127.0.0.1", port, process, log_path, companions)


def wait_ready(server: Server, timeout: float = 300) -> Server:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the {server.variant} server exited with {server.process.returncode}:\n"
                + server.log_path.read_text()[-3000:]
            )
        try:
            if server.client.get("/healthz").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"the {server.variant} server did not start in {timeout:g} s ({server.log_path})"
            )
        time.sleep(0.05)


def start(
    variant: str,
    shop: Shop,
    latency_ms: float,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> Server:
    return wait_ready(launch(variant, shop, latency_ms, log_dir, extra_env))


def start_all(
    variants: list[str],
    shop: Shop,
    latency_ms: float,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Server]:
    """Start every variant at once (start-up is the slow part of a small run) and wait
    until all answer; they idle until measured, one at a time."""
    launched = {v: launch(v, shop, latency_ms, log_dir, extra_env) for v in variants}
    try:
        for server in launched.values():
            wait_ready(server)
    except BaseException:
        for server in launched.values():
            server.stop()
        raise
    return launched
