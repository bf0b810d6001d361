"""Both executors show each viewer the same stock figures in a shop that hides its counts:
the breadth-first batch form of ``Sku.stock`` and its per-object resolver apply the same
per-viewer view (a capped figure for buyers, the exact one for MANAGE_STOCK staff)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.auth import ANONYMOUS, Permission, Viewer, ViewerKind
from gateway.execution.inprocess import InProcess
from gateway.stock.settings import StockVisibilitySettings

from .test_differential_gateway import Harness

SKU_STOCK = """
query StockBothWays {
  products(first: 30) {
    edges { node { inStock skus { id stock { available inStock status onHand } } } }
  }
}
"""
VIEWERS = {
    "anonymous": ANONYMOUS,
    "customer": Viewer(ViewerKind.CUSTOMER, "1"),
    "orders staff": Viewer(ViewerKind.STAFF, "orders", frozenset({Permission.MANAGE_ORDERS})),
    "stock staff": Viewer(ViewerKind.STAFF, "stock", frozenset({Permission.MANAGE_STOCK})),
}


@pytest.fixture(scope="module", params=["capped", "status"])
def harness(request: pytest.FixtureRequest, sqlite_shop: dict[str, str]) -> Iterator[Harness]:
    harness = Harness(sqlite_shop)
    stock = StockVisibilitySettings(visibility=request.param, cap=3, low_threshold=2)
    harness.settings = harness.settings.model_copy(update={"stock": stock})
    harness.in_process = InProcess(harness.settings, harness.sources, harness.metrics)
    yield harness
    harness.close()


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_both_executors_show_a_viewer_the_same_stock_figures(harness: Harness, viewer: str) -> None:
    response = harness.compare(SKU_STOCK, {}, VIEWERS[viewer])
    shown = [
        sku["stock"]
        for edge in response["data"]["products"]["edges"]
        for sku in edge["node"]["skus"]
    ]
    ceiling = 3 if harness.settings.stock.visibility == "capped" else 1
    if viewer == "stock staff":
        assert any(level["available"] > ceiling for level in shown)
    else:
        assert max(level["available"] for level in shown) == ceiling
        assert all(level["onHand"] is None for level in shown)
