"""The gateway's handle on the four sources: one store per source, built from settings.

Sources are embedded (imported packages over their own databases) in this version; the
stores are the seam where a remote adapter slots in later.
"""

from __future__ import annotations

from dataclasses import dataclass

from sources.catalog.store import CatalogStore
from sources.common.db import Database
from sources.inventory.store import InventoryStore
from sources.orders.store import OrdersStore
from sources.pricing.store import PricingStore

from .settings import SOURCE_NAMES, Settings


@dataclass
class Sources:
    databases: dict[str, Database]
    catalog: CatalogStore
    inventory: InventoryStore
    pricing: PricingStore
    orders: OrdersStore

    @classmethod
    def from_settings(cls, settings: Settings) -> Sources:
        latency = settings.source_latency_ms / 1000
        dbs = {
            name: Database(url, latency_s=latency, pool_size=settings.db_pool_size)
            for name, url in settings.database_urls().items()
        }
        return cls(
            databases=dbs,
            catalog=CatalogStore(dbs["catalog"]),
            inventory=InventoryStore(dbs["inventory"]),
            pricing=PricingStore(dbs["pricing"]),
            orders=OrdersStore(dbs["orders"]),
        )

    def stores(self) -> tuple[CatalogStore, InventoryStore, PricingStore, OrdersStore]:
        return (self.catalog, self.inventory, self.pricing, self.orders)

    async def readiness(self) -> dict[str, str]:
        """Each source's database answers a trivial query, or says why not."""
        status: dict[str, str] = {}
        for name in SOURCE_NAMES:
            try:
                await self.databases[name].ping()
                status[name] = "ok"
            except Exception as exc:
                status[name] = f"error: {type(exc).__name__}"
        return status

    async def close(self) -> None:
        for db in self.databases.values():
            await db.dispose()
