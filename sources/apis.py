"""The four sources' interfaces in one table: each one's Protocol, the exceptions it raises,
and how to build its in-process store. The service (``gateway source serve NAME``) and the
HTTP client are both built from a row of it.

The typed factories below are where mypy proves each store implements its Protocol: a
store whose signature drifts from its interface fails ``make typecheck``. Each imports its
store when called: a process serving one source, or a gateway over remote sources, does
not import the other stores (the catalog's brings its search engine and models).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sources.catalog.api import ERRORS as CATALOG_ERRORS
from sources.catalog.api import CatalogSource
from sources.common.db import Database
from sources.common.wire_errors import ErrorCodec
from sources.inventory.api import ERRORS as INVENTORY_ERRORS
from sources.inventory.api import InventorySource
from sources.orders.api import ERRORS as ORDERS_ERRORS
from sources.orders.api import OrdersSource
from sources.pricing.api import ERRORS as PRICING_ERRORS
from sources.pricing.api import PricingSource

if TYPE_CHECKING:
    from sources.catalog.search.synonyms import SynonymFile


def catalog_store(db: Database, synonyms: SynonymFile | None = None) -> CatalogSource:
    from sources.catalog.store import CatalogStore

    return CatalogStore(db, synonyms)


def inventory_store(db: Database) -> InventorySource:
    from sources.inventory.store import InventoryStore

    return InventoryStore(db)


def pricing_store(db: Database) -> PricingSource:
    from sources.pricing.store import PricingStore

    return PricingStore(db)


def orders_store(db: Database) -> OrdersSource:
    from sources.orders.store import OrdersStore

    return OrdersStore(db)


@dataclass(frozen=True)
class SourceApi:
    name: str
    interface: type
    errors: ErrorCodec
    make_store: Callable[[Database], Any]


APIS: dict[str, SourceApi] = {
    "catalog": SourceApi("catalog", CatalogSource, ErrorCodec(CATALOG_ERRORS), catalog_store),
    "inventory": SourceApi(
        "inventory", InventorySource, ErrorCodec(INVENTORY_ERRORS), inventory_store
    ),
    "pricing": SourceApi("pricing", PricingSource, ErrorCodec(PRICING_ERRORS), pricing_store),
    "orders": SourceApi("orders", OrdersSource, ErrorCodec(ORDERS_ERRORS), orders_store),
}
