"""A shop whose four sources can each be taken down, the way they really go down, and
brought back without restarting anything.

Each source has a PostgreSQL database of its own, owned by a role of its own, reached
through a TCP proxy (tcp_fault.py); remote, each source's service sits behind a second
proxy. A fault is made on the real thing: the proxy goes silent (a timeout) or refuses
connections, the database is renamed away (missing), its main table is renamed away, the
role may no longer log in (refused credentials), or (remote) the service's address answers
502 or garbage. ``recover()`` undoes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from gateway.remote_settings import RemoteSettings
from gateway.settings import SOURCE_NAMES
from tests.conftest import LiveGateway, _migrate_and_seed, require_postgres, serve, settings_for
from tests.gateway.checkout_helpers import run
from tests.pg import HOST, PORT, create_temp_database
from tests.remote import SECRET, source_service
from tests.resilience.tcp_fault import FaultyProxy, faulty_proxy

PRODUCTS = 60
# The table each source cannot do without (orders: carts, read first by every checkout).
MAIN_TABLE = {
    "catalog": "products",
    "inventory": "stock_items",
    "pricing": "prices",
    "orders": "carts",
}
DATABASE_FAULTS = ("timeout", "refused", "missing_database", "missing_table", "auth")
HTTP_FAULTS = ("bad_gateway", "garbage")
BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
GARBAGE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n"
    b"connection: close\r\n\r\n<html>oops!"
)
RESILIENCE = {
    "read_timeout": 1.5,  # a healthy read on a loaded 2-core machine stays well under it
    "write_timeout": 3.0,
    "breaker_failures": 3,
    "breaker_reset": 0.3,
}


async def _admin(database: str = "test") -> asyncpg.Connection:
    return await asyncpg.connect(host=HOST, port=PORT, user="postgres", database=database)


async def _sql(statement: str, database: str = "test") -> list[Any]:
    conn = await _admin(database)
    try:
        return list(await conn.fetch(statement))
    finally:
        await conn.close()


def _admin_sql(statement: str) -> list[Any]:
    """One statement on the server's admin database, as the superuser."""
    return run(lambda: _sql(statement))


@dataclass
class SourceDb:
    """One source's database, its role, and the proxy the gateway (or service) uses."""

    source: str
    database: str
    role: str
    proxy: FaultyProxy
    http: FaultyProxy | None = None  # in front of its service, when remote

    @property
    def direct_url(self) -> str:
        return f"postgresql+asyncpg://{self.role}@{HOST}:{PORT}/{self.database}"

    @property
    def proxied_url(self) -> str:
        return self.proxy.url_for(self.direct_url)

    def sql(self, statement: str) -> list[Any]:
        return run(lambda: _sql(statement, self.database))


@dataclass
class OutageShop:
    sources: dict[str, SourceDb]
    live: LiveGateway
    remote: bool
    broken: list[tuple[str, str]] = field(default_factory=list)

    def fault_kinds(self) -> tuple[str, ...]:
        return DATABASE_FAULTS + (HTTP_FAULTS if self.remote else ())

    def break_(self, source: str, kind: str) -> None:
        db = self.sources[source]
        if kind == "timeout":
            db.proxy.go_silent()
        elif kind == "refused":
            db.proxy.refuse()
        elif kind == "missing_database":
            db.proxy.refuse()
            _admin_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                f" WHERE datname = '{db.database}'"
            )
            _admin_sql(f'ALTER DATABASE "{db.database}" RENAME TO "{db.database}_away"')
            db.proxy.recover()
        elif kind == "missing_table":
            table = MAIN_TABLE[source]
            db.sql(f'ALTER TABLE "{table}" RENAME TO "{table}_away"')
        elif kind == "auth":
            _admin_sql(f'ALTER ROLE "{db.role}" NOLOGIN')
            db.proxy.cut()
        elif kind in HTTP_FAULTS:
            assert db.http is not None
            db.http.answer(BAD_GATEWAY if kind == "bad_gateway" else GARBAGE)
        else:  # pragma: no cover
            raise ValueError(kind)
        self.broken.append((source, kind))

    def recover(self) -> None:
        while self.broken:
            source, kind = self.broken.pop()
            db = self.sources[source]
            if kind in ("timeout", "refused"):
                db.proxy.recover()
            elif kind == "missing_database":
                _admin_sql(f'ALTER DATABASE "{db.database}_away" RENAME TO "{db.database}"')
            elif kind == "missing_table":
                table = MAIN_TABLE[source]
                db.sql(f'ALTER TABLE "{table}_away" RENAME TO "{table}"')
            elif kind == "auth":
                _admin_sql(f'ALTER ROLE "{db.role}" LOGIN')
            elif db.http is not None:
                db.http.recover()

    def scalar(self, source: str, statement: str) -> Any:
        rows = self.sources[source].sql(statement)
        return rows[0][0] if rows else None


async def _create_source_database(source: str, tag: str) -> tuple[str, str]:
    url = await create_temp_database()
    database = url.rsplit("/", 1)[1]
    role = f"gw_outage_{tag}_{source}"
    await _sql(f'CREATE ROLE "{role}" LOGIN')
    await _sql(f'ALTER DATABASE "{database}" OWNER TO "{role}"')
    await _sql(f'ALTER SCHEMA public OWNER TO "{role}"', database)
    return database, role


async def _drop(database: str, role: str) -> None:
    await _sql(
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname LIKE '{database}%'"
    )
    await _sql(f'DROP DATABASE IF EXISTS "{database}_away" WITH (FORCE)')
    # Now, not later on the janitor's thread (tests/pg.py): the role owns the database.
    await _sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    await _sql(f'DROP ROLE IF EXISTS "{role}"')


@contextmanager
def outage_shop(*, remote: bool, **overrides: Any) -> Iterator[OutageShop]:
    require_postgres()
    tag = uuid.uuid4().hex[:8]
    made: list[tuple[str, str]] = []
    with ExitStack() as stack:
        try:
            dbs: dict[str, SourceDb] = {}
            for source in SOURCE_NAMES:
                database, role = run(lambda s=source: _create_source_database(s, tag))
                made.append((database, role))
                direct = f"postgresql+asyncpg://{role}@{HOST}:{PORT}/{database}"
                proxy = stack.enter_context(faulty_proxy(direct))
                dbs[source] = SourceDb(source, database, role, proxy)
            run(lambda: _migrate_and_seed({s: d.direct_url for s, d in dbs.items()}, PRODUCTS))
            urls = {s: d.proxied_url for s, d in dbs.items()}
            options: dict[str, Any] = {
                "environment": "production",
                "cache": {"enabled": False},
                "resilience": RESILIENCE,
                "db_pool_size": 2,
                "sweep_interval_seconds": 0,
                "rate_limit": {"enabled": False},  # one buyer asks a great deal here
                **overrides,
            }
            settings = settings_for(urls, **options)
            if remote:
                services = {}
                for source, db in dbs.items():
                    service = stack.enter_context(source_service(source, db.proxied_url))
                    db.http = stack.enter_context(faulty_proxy(service))
                    services[f"{source}_url"] = db.http.url_for(service)
                settings = settings.model_copy(
                    update={
                        "remote": RemoteSettings(
                            **services, service_secret=SECRET, timeout_seconds=2, retries=1
                        )
                    }
                )
            for live in serve(settings):
                shop = OutageShop(dbs, live, remote)
                try:
                    yield shop
                finally:
                    shop.recover()
        finally:
            stack.close()
            for database, role in made:
                run(lambda d=database, r=role: _drop(d, r))
