"""Shared fixtures: real databases seeded with the demo shop, and a real HTTP server.

Seeding 240 products takes a few seconds, so read-only tests share one seeded shop per
backend per session; tests that write make their own.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from gateway.settings import SOURCE_NAMES, Settings
from sources.common.db import Database
from sources.common.migrate import upgrade_source
from sources.demo.seed import seed_demo_shop
from tests.ordering import long_modules_first
from tests.pg import clone_database, create_temp_database, drop_database, postgres_available

SEED_TIME = datetime.now(UTC)
# `pytest --sources=remote`: every gateway served by `serve()` reaches its four sources
# through their HTTP services (tests/remote.py), not in process.
REMOTE_SOURCES = False
# Starts the message of an assertion about stock, orders or money in a load-sensitive test:
# such a failure is never run again (see pytest_collection_modifyitems).
INVARIANT = "INVARIANT BROKEN:"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sources",
        choices=("embedded", "remote"),
        default="embedded",
        help="remote: the gateway tests reach every source over HTTP",
    )


def pytest_configure(config: pytest.Config) -> None:
    global REMOTE_SOURCES
    REMOTE_SOURCES = config.getoption("--sources") == "remote"
    config.addinivalue_line(
        "markers",
        "load_sensitive: a fault test whose outcome rests on wall-clock timeouts; run again "
        "(up to twice) when it fails, since a loaded machine can miss a healthy read's timeout",
    )
    config.addinivalue_line(
        "markers",
        "long(seconds): a module that runs for most of a minute or more; started first on a "
        "worker of its own (tests/ordering.py) so it does not end the run alone",
    )


@pytest.hookimpl(trylast=True)  # after pytest-randomly has shuffled
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A fault test waits on real timeouts (a silent proxy, a killed server, a SIGTERM's
    grace): on a machine busy with other jobs a healthy call can miss its own timeout too
    and the test fails for the machine, not the code. Those tests, and only those, are run
    again (pytest-rerunfailures); a failure that repeats still fails the suite. Races about
    stock, money and orders are never marked, and a marked test's own checks of them say
    INVARIANT: a rare oversell must not pass on a re-run."""
    for item in items:
        if item.get_closest_marker("load_sensitive"):
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=1, rerun_except=INVARIANT))
    long_modules_first(items)


def sqlite_urls(directory: Path) -> dict[str, str]:
    return {name: f"sqlite+aiosqlite:///{directory}/{name}.db" for name in SOURCE_NAMES}


async def _migrate_and_seed(urls: dict[str, str], products: int) -> None:
    """Migrate and seed the demo shop at ``urls``. The first shop of a size in this worker
    is built for real and kept as a template; later ones are copies of it (SQLite files
    copied, PostgreSQL ``CREATE DATABASE ... TEMPLATE``): the same rows, since the seed is
    deterministic and SEED_TIME is fixed per worker, for a fraction of the time."""
    layout = _layout(urls)
    if layout is None:
        await _build_shop(urls, products)
        return
    key = (layout, products)
    template = _TEMPLATES.get(key)
    if template is None:
        template = await _make_template(layout, products)
        _TEMPLATES[key] = template
    if layout == "sqlite":
        for name, url in urls.items():
            _copy_sqlite(template[name], url)
    else:
        await clone_database(template["all"], next(iter(urls.values())))


# (layout, products) -> the template's URLs: per source for SQLite, "all" for PostgreSQL.
_TEMPLATES: dict[tuple[str, int], dict[str, str]] = {}


def _layout(urls: dict[str, str]) -> str | None:
    """ "sqlite" (a file per source) or "postgresql" (every source in one database) when
    a template can stand in for seeding; None for any other arrangement."""
    values = list(urls.values())
    if set(urls) != set(SOURCE_NAMES):
        return None
    if all(u.startswith("sqlite+aiosqlite:///") for u in values) and len(set(values)) == 4:
        return "sqlite"
    if len(set(values)) == 1 and values[0].startswith("postgresql+asyncpg://"):
        return "postgresql"
    return None


async def _make_template(layout: str, products: int) -> dict[str, str]:
    if layout == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"shop-template-{products}-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # 42 were left in one day
        urls = sqlite_urls(folder)
    else:
        url = await create_temp_database()
        atexit.register(lambda: asyncio.run(drop_database(url)))
        urls = dict.fromkeys(SOURCE_NAMES, url)
    await _build_shop(urls, products)
    return urls if layout == "sqlite" else {"all": urls[SOURCE_NAMES[0]]}


def _copy_sqlite(template_url: str, url: str) -> None:
    source = Path(template_url.removeprefix("sqlite+aiosqlite:///"))
    target = Path(url.removeprefix("sqlite+aiosqlite:///"))
    for suffix in ("", "-wal", "-shm"):  # a closed database has no WAL left, but be exact
        extra = source.with_name(source.name + suffix)
        if extra.exists():
            shutil.copyfile(extra, target.with_name(target.name + suffix))


async def _build_shop(urls: dict[str, str], products: int) -> None:
    dbs = {name: Database(url) for name, url in urls.items()}
    try:
        for name in SOURCE_NAMES:
            await upgrade_source(name, dbs[name])
        await seed_demo_shop(dbs, products=products, now=SEED_TIME)
    finally:
        for db in dbs.values():
            await db.dispose()


def settings_for(urls: dict[str, str], **overrides: Any) -> Settings:
    return Settings(
        **{f"{name}_database_url": url for name, url in urls.items()},
        log_format="console",
        log_level="WARNING",
        **overrides,
    )


def require_postgres() -> None:
    reason = postgres_available()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(f"PostgreSQL not reachable: {reason}")


def seeded_shop_urls(backend: str, directory: Path, products: int) -> Iterator[dict[str, str]]:
    """A demo shop of ``products`` on ``backend`` for a fixture to yield: SQLite files in
    ``directory``, or a throwaway PostgreSQL database dropped when the fixture ends."""
    if backend == "sqlite":
        urls = sqlite_urls(directory)
        asyncio.run(_migrate_and_seed(urls, products=products))
        yield urls
        return
    require_postgres()
    url = asyncio.run(create_temp_database())
    try:
        urls = dict.fromkeys(SOURCE_NAMES, url)
        asyncio.run(_migrate_and_seed(urls, products=products))
        yield urls
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(scope="session")
def sqlite_shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The default demo shop in SQLite files, seeded once per session (read-only)."""
    urls = sqlite_urls(tmp_path_factory.mktemp("shop"))
    asyncio.run(_migrate_and_seed(urls, products=240))
    return urls


@pytest.fixture(scope="session")
def postgres_shop() -> Iterator[dict[str, str]]:
    """The default demo shop in a throwaway PostgreSQL database (read-only)."""
    require_postgres()
    url = asyncio.run(create_temp_database())
    urls = dict.fromkeys(SOURCE_NAMES, url)
    try:
        asyncio.run(_migrate_and_seed(urls, products=240))
        yield urls
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest) -> dict[str, str]:
    """The seeded shop on each backend in turn."""
    name = "sqlite_shop" if request.param == "sqlite" else "postgres_shop"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveGateway:
    """A gateway served by uvicorn on a real port, in a thread of its own."""

    url: str
    settings: Settings
    client: httpx.Client

    def query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        response = self.client.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def source_calls(self) -> dict[tuple[str, str], float]:
        """gateway_source_calls_total by (source, method), read from /metrics."""
        from prometheus_client.parser import text_string_to_metric_families

        counts: dict[tuple[str, str], float] = {}
        for family in text_string_to_metric_families(self.client.get("/metrics").text):
            if family.name == "gateway_source_calls":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        counts[(sample.labels["source"], sample.labels["method"])] = sample.value
        return counts

    def calls_during(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[dict[str, Any], dict[str, int]]:
        """Run a query; return its JSON and the source calls it made, by 'source.method'."""
        before = self.source_calls()
        result = self.query(query, variables, **kw)
        after = self.source_calls()
        calls = {
            f"{s}.{m}": int(n - before.get((s, m), 0))
            for (s, m), n in after.items()
            if n - before.get((s, m), 0) > 0
        }
        return result, calls


def serve(settings: Settings) -> Iterator[LiveGateway]:
    with ExitStack() as services:
        if REMOTE_SOURCES and not settings.remote.remote_sources:
            settings = with_remote_sources(settings, services)
        yield from _serve(settings)


def with_remote_sources(settings: Settings, services: ExitStack) -> Settings:
    """``settings`` with every source reached through its own service over its database."""
    from gateway.remote_settings import RemoteSettings
    from tests.remote import SECRET, source_service

    urls = {
        f"{name}_url": services.enter_context(source_service(name, url))
        for name, url in settings.database_urls().items()
    }
    # As patient as an embedded store (which has no timeout): the suite's races queue dozens
    # of writers on one SQLite file, on a machine busy with other jobs.
    remote = RemoteSettings(**urls, service_secret=SECRET, timeout_seconds=60)
    return settings.model_copy(update={"remote": remote})


def _serve(settings: Settings) -> Iterator[LiveGateway]:
    port = _free_port()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # Stopped in ``finally``: a caller that closes the generator, an assertion failing in
    # its body or a start that times out would otherwise leave the server (and its
    # sweeper) running until the worker exits, long after its test's database is dropped.
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test gateway did not start")
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=30) as client:
            yield LiveGateway(url, settings, client)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def gateway(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    """The gateway over the SQLite demo shop, on a real port."""
    yield from serve(settings_for(sqlite_shop))


@pytest.fixture(scope="session")
def gateway_on(shop: dict[str, str]) -> Iterator[LiveGateway]:
    """The gateway over each backend's demo shop in turn."""
    yield from serve(settings_for(shop))
