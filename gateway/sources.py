"""The gateway's handle on the four sources: per source, the in-process store over its own
database (the default) or the HTTP client of its service when its URL is set
(``CATALOG_URL``, ``INVENTORY_URL``, ``PRICING_URL``, ``ORDERS_URL``). Both implement the
source's Protocol (sources/<name>/api.py), so nothing above this module knows which.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from sources.apis import APIS, catalog_store
from sources.catalog.api import CatalogSource
from sources.common.db import Database, close_left_behind
from sources.common.db_state import database_state
from sources.inventory.api import InventorySource
from sources.inventory.sold_out import SoldOutMarks
from sources.orders.api import OrdersSource
from sources.pricing.api import PricingSource

from .metrics import current_request
from .settings import SOURCE_NAMES, Settings

if TYPE_CHECKING:
    from sources.common.client import RemoteSource


def _request_id() -> str | None:
    stats = current_request.get()
    return getattr(stats, "request_id", None)


def build_source(name: str, settings: Settings) -> Database | RemoteSource:
    """The source's own database when it is embedded, or its remote client."""
    url = settings.remote.url_for(name)
    if url is None:
        return Database(
            settings.database_urls()[name],
            latency_s=settings.source_latency_ms / 1000,
            pool_size=settings.db_pool_size,
        )
    # Imported here: the HTTP client (and httptools) is for remote sources only; the
    # commands over embedded databases (init, import, sweep) skip it.
    from sources.common.client import RemoteSource

    api = APIS[name]
    return RemoteSource(
        name,
        api.interface,
        api.errors,
        url,
        secret=settings.remote.service_secret or "",
        timeout_s=settings.remote.timeout_seconds,
        retries=settings.remote.retries,
        concurrency=settings.remote.concurrency,
        request_id=_request_id,
    )


def store_factory(name: str, settings: Settings) -> Callable[[Database], Any]:
    """How this process builds the source's in-process store (embedded, or served by
    ``gateway source serve``): the catalog with the search synonyms configured."""
    if name == "catalog":
        return partial(catalog_store, synonyms=settings.search_synonyms())
    return APIS[name].make_store


class Afterwork:
    """Work a request started and does not wait for (a placement whose outcome is settled
    after the buyer was answered, gateway/checkout/outcome.py): held here so that no task
    is collected while it runs, and cancelled before the pools close."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def __len__(self) -> int:
        return len(self._tasks)

    async def cancel(self) -> int:
        """Cancels what still runs; how many there were."""
        running = list(self._tasks)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        return len(running)


@dataclass
class Sources:
    databases: dict[str, Database]  # the embedded sources' databases
    catalog: CatalogSource
    inventory: InventorySource
    pricing: PricingSource
    orders: OrdersSource
    remotes: dict[str, RemoteSource] = field(default_factory=dict)
    # Sold-out marks the checkout consults before reading anything (sold_out.py): the
    # embedded inventory store's own, cleared by its stock increases. A remote inventory
    # keeps its marks in its own process (its reservations answer from them); the gateway
    # keeps none, since it could not see every stock increase to clear them.
    sold_out: SoldOutMarks | None = None
    afterwork: Afterwork = field(default_factory=Afterwork)

    @classmethod
    def from_settings(cls, settings: Settings) -> Sources:
        dbs: dict[str, Database] = {}
        remotes: dict[str, RemoteSource] = {}
        handles: dict[str, Any] = {}
        for name in SOURCE_NAMES:
            built = build_source(name, settings)
            if isinstance(built, Database):
                dbs[name] = built
                handles[name] = store_factory(name, settings)(built)
            else:
                remotes[name] = handles[name] = built
        marks = getattr(handles["inventory"], "sold_out", None)
        return cls(
            databases=dbs,
            remotes=remotes,
            sold_out=marks if isinstance(marks, SoldOutMarks) else None,
            **handles,
        )

    def stores(self) -> tuple[CatalogSource, InventorySource, PricingSource, OrdersSource]:
        return (self.catalog, self.inventory, self.pricing, self.orders)

    async def readiness(self, timeout_s: float = 2.0) -> dict[str, str]:
        """Each source's database answers for its migration revision, which must be the one
        this code expects (a remote source's service answers its /readyz), or says why not:
        a database that is empty, behind or unreachable is never "ok". The sources are asked
        at once, each within ``timeout_s`` of its own: one hung database makes its own
        answer "timeout", not every probe of the process late."""
        names = list(SOURCE_NAMES)
        answers = await asyncio.gather(*(self._ready(name, timeout_s) for name in names))
        return dict(zip(names, answers, strict=True))

    async def _ready(self, name: str, timeout_s: float) -> str:
        try:
            async with asyncio.timeout(timeout_s):
                if name in self.remotes:
                    return await self.remotes[name].service.readiness()
                return (await database_state(name, self.databases[name])).readiness
        except TimeoutError:
            return f"error: no answer within {timeout_s:g} s"
        except Exception as exc:
            return f"error: {type(exc).__name__}"

    async def close(self, *, left_behind: bool = False) -> int:
        """At shutdown, after the background work was stopped: every pool disposed, and
        with ``left_behind`` (a process about to exit) what of SQLite cancelled calls had
        left open closed too (close_left_behind). How many such objects there were: 0
        unless a cancelled call had left one."""
        await self.afterwork.cancel()
        for db in self.databases.values():
            await db.dispose()
        left = 0
        if left_behind and any(db.is_sqlite for db in self.databases.values()):
            left = await close_left_behind()
        for remote in self.remotes.values():
            await remote.service.close()
        return left
