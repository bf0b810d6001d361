"""How much any executor could save on the signed-in listing: its execution replaced by
hand-written code, the rest of the request (HTTP, auth, strawberry, limits, loaders,
guards, the outage check) as served.

``python -m bench.listing_ceiling OVER [bench.listing_instructions' or
bench.listing_opcodes' arguments, after --]``

OVER says what the hand-written code is given:

- ``loaders``: the listing's page (``product_page``, the outage check), then the same
  loaders the batch forms use, in three waves (SKUs and categories; prices, stock and
  promotions), each key asked once, the response built as bench/handwritten.py builds
  it. What is left to an executor is then nothing but this code: the gateway's
  instructions less this run's are the most a compiled plan, or any other executor,
  could save.
- ``batch-forms``: the registered batch forms (gateway/execution/catalog_batches.py)
  called as the executor calls them, the response built by hand from their answers:
  the part of that saving that is the executor's completion of the values (levels,
  slots, writers), not the batch forms' reads.

Only the bench's ``BenchListing`` operation is replaced; on the first one the real
executor runs too and the two responses must be equal byte for byte, or the run stops.
A measuring instrument, never served.
"""

from __future__ import annotations

import asyncio
import sys
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
import strawberry
from graphql import ExecutionResult

import gateway.schema  # noqa: F401 - the schema before the executor (import order)
from gateway.execution import catalog_batches as batches
from gateway.execution import executor as executor_module
from gateway.execution.catalog_records import _product_name, _promotion_name
from gateway.i18n.request import name_in_language
from gateway.resilience.listing import listable_records
from gateway.resolvers.catalog import product_page
from gateway.schema.catalog import Product
from gateway.schema.node import encode_id
from gateway.stock.view import StockView
from sources.common.money import CENT

from .handwritten import page_info

Json = dict[str, Any]
_REAL_RUN = executor_module.BreadthFirstExecutor._run
_STATE: dict[str, Any] = {"over": "loaders", "checked": False}


def _money(amount: Decimal, currency: str) -> Json:
    return {"amount": str(amount.quantize(CENT, rounding=ROUND_HALF_UP)), "currency": currency}


def _category(c: Any) -> Json | None:
    if c is None:
        return None
    return {"id": encode_id("Category", c.id), "name": name_in_language(c.name, c.translations)}


def _promotions(found: Any) -> list[Json]:
    return [
        {"id": encode_id("Promotion", p.id), "name": _promotion_name(p, None), "kind": p.kind.value}
        for p in found
    ]


def _node(p: Any, in_stock: bool, category: Any, price_range: Json, promotions: Any) -> Json:
    return {
        "id": encode_id("Product", p.id),
        "slug": p.slug,
        "name": _product_name(p, None),
        "kind": p.kind.value,
        "inStock": in_stock,
        "category": _category(category),
        "priceRange": price_range,
        "promotions": _promotions(promotions),
    }


def _sku(s: Any, price: Any, available: int, view: StockView) -> Json:
    return {
        "id": encode_id("Sku", s.id),
        "code": s.code,
        "name": s.name,
        "price": {
            "list": _money(price.list_amount, price.currency),
            "sale": _money(price.sale_amount, price.currency),
        },
        "stock": {"available": view.available(available), "inStock": available > 0},
    }


async def _over_loaders(context: Any, products: list[Any]) -> list[Json]:
    catalog, pricing = context.loaders.catalog, context.loaders.pricing
    ids = [p.id for p in products]
    category_ids = [p.category_id for p in products if p.category_id is not None]
    skus, found = await asyncio.gather(
        catalog.skus_by_product.load_all(ids), catalog.category.load_all(category_ids)
    )
    categories = dict(zip(category_ids, found, strict=True))
    sku_ids = [s.id for product_skus in skus for s in product_skus]
    keys = [(p.id, categories[p.category_id].path if p.category_id else ()) for p in products]
    prices, stock, promotions = await asyncio.gather(
        pricing.price.load_all(sku_ids),
        context.loaders.inventory.stock.load_all(sku_ids),
        pricing.promotions.load_all(keys),
    )
    price_of = dict(zip(sku_ids, prices, strict=True))
    available = {i: level.available for i, level in zip(sku_ids, stock, strict=True)}
    currency = context.settings.currency
    view = StockView.for_viewer(context.settings.stock, context.viewer)
    nodes = []
    for p, product_skus, promoted in zip(products, skus, promotions, strict=True):
        active = [s for s in product_skus if s.is_active]
        amounts = [price_of[s.id].sale_amount for s in active] or [Decimal(0)]
        price_range = {"min": _money(min(amounts), currency), "max": _money(max(amounts), currency)}
        in_stock = any(available[s.id] > 0 for s in active)
        category = categories.get(p.category_id) if p.category_id else None
        node = _node(p, in_stock, category, price_range, promoted)
        node["skus"] = [_sku(s, price_of[s.id], available[s.id], view) for s in product_skus]
        nodes.append(node)
    return nodes


async def _over_batch_forms(context: Any, info: Any, products: list[Any]) -> list[Json]:
    categories, skus, ranges, in_stock, promotions = await asyncio.gather(
        batches.product_category(products, info, {}),
        batches.product_skus(products, info, {}),
        batches.product_price_range(products, info, {}),
        batches.product_in_stock(products, info, {}),
        batches.product_promotions(products, info, {}),
    )
    every = [sku for product_skus in skus for sku in product_skus]
    prices, stock = await asyncio.gather(
        batches.sku_price(every, info, {}), batches.sku_stock(every, info, {})
    )
    price_of = dict(zip(map(id, every), prices, strict=True))
    stock_of = dict(zip(map(id, every), stock, strict=True))
    view = StockView.for_viewer(context.settings.stock, context.viewer)
    nodes = []
    for p, c, product_skus, r, i, promoted in zip(
        products, categories, skus, ranges, in_stock, promotions, strict=True
    ):
        node = _node(p, i, c, {"min": _money(*r[0]), "max": _money(*r[1])}, promoted)
        node["skus"] = [_sku(v[0], price_of[id(v)], stock_of[id(v)][1], view) for v in product_skus]
        nodes.append(node)
    return nodes


async def _run(self: Any, plan: Any) -> ExecutionResult:
    name = self.operation.name
    if name is None or name.value != "BenchListing":
        return await _REAL_RUN(self, plan)
    expected = None
    if not _STATE["checked"]:
        _STATE["checked"] = True
        expected = orjson.dumps((await _REAL_RUN(self, plan)).data)
    try:
        field = plan.root.fields[0]
        path = executor_module._graphql_path(None, field)
        resolve_info = self.build_resolve_info(
            field.field_def, field.nodes, field.parent_type, path
        )
        info = strawberry.Info(resolve_info, field.field_def.extensions["strawberry-definition"])
        context = self.context_value
        page = await product_page(info, 50, None, None, None)
        edges = [(c, p) for p, c in zip(page.products, page.cursors, strict=True)]
        kept = await listable_records(info, edges, page.products, Product.from_record)
        products = [edge[1] for edge in kept]
        if _STATE["over"] == "loaders":
            nodes = await _over_loaders(context, products)
        else:
            nodes = await _over_batch_forms(context, info, products)
        cursors = page.cursors
        data = {
            "products": {
                "totalCount": page.total_count,
                "pageInfo": page_info(page.has_next_page, cursors),
                "edges": [
                    {"cursor": edge[0], "node": node}
                    for edge, node in zip(kept, nodes, strict=True)
                ],
            }
        }
    finally:
        self.async_helpers = None  # as the real _run: no cycle around the request
    if expected is not None and orjson.dumps(data) != expected:
        raise SystemExit("listing_ceiling: the hand-written response differs from the executor's")
    return ExecutionResult(data, None)


def main() -> int:
    args = sys.argv[1:]
    if not args or args[0] not in ("loaders", "batch-forms"):
        raise SystemExit(__doc__)
    _STATE["over"] = args[0]
    executor_module.BreadthFirstExecutor._run = _run  # type: ignore[method-assign]
    rest = args[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    tool = "opcodes" if "--opcodes" in rest else "instructions"
    rest = [a for a in rest if a != "--opcodes"]
    sys.argv = [f"bench.listing_{tool}", "gateway", *rest]
    if tool == "opcodes":
        from . import listing_opcodes

        return listing_opcodes.main()
    from . import listing_instructions

    return listing_instructions.main()


if __name__ == "__main__":
    raise SystemExit(main())
