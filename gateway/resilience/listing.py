"""A listing never goes blank because one product cannot be priced or its stock read.

``Product.skus[].price``, ``Product.priceRange``, ``Sku.stock`` and ``Product.inStock``
are non-null all the way up to the listing's ``edges`` (the contract's, and keeping it
matters: a client may rely on every shown product having a price and a stock level). A
product whose price or stock cannot be had from anywhere (its source down, no last-known
copy) would null its edge, the edge list and the whole connection. Stock has no honest
stand-in either: "none available" for a product that is in stock is a wrong answer a
buyer acts on. So a listing that shows prices or stock asks for them before its edges are
laid out, and leaves out the products it could not price or stock, with one error each
naming the product (``SOURCE_UNAVAILABLE``, the source, whether a retry may help,
``extensions.productId``); so does predictive search's non-null list of suggestions.
Elsewhere (``product(id)``) the null travels up as the spec says.

The reads are the ones the page's fields make anyway, issued a little earlier: the SKUs
(and, when the page shows ``bundleItems``, the bundles' parts, whose prices and stock are
shown too) with the categories beside them, then prices and stock with the promotions
beside them, so the fields below find them memoised and the page costs no more source
calls, in no more rounds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any

from graphql import GraphQLError

from ..schema.selection import fields, names_under
from .degrade import current_degradation, source_extensions
from .errors import SourceUnavailable

PRICE_FIELDS = frozenset({"price", "priceRange"})
STOCK_FIELDS = frozenset({"stock", "inStock"})
PROMOTION_FIELDS = frozenset({"promotions"})
KINDS = {"price": PRICE_FIELDS, "stock": STOCK_FIELDS}
WHAT = {"pricing": "price", "inventory": "stock"}


def _selected(info: Any, trail: Sequence[str]) -> frozenset[str]:
    """Every field name selected anywhere under the field's ``trail`` (``edges.node`` of
    a connection, ``products`` of a list of suggestions); once per query document."""
    return names_under(info, ("under", *trail), lambda info: _collect(info, trail))


def _collect(info: Any, trail: Sequence[str]) -> frozenset[str]:
    names: set[str] = set()
    todo = list(info.selected_fields)
    for step in trail:
        todo = [
            child for parent in todo for child in fields(parent.selections) if child.name == step
        ]
    while todo:
        for child in fields(todo.pop().selections):
            names.add(child.name)
            todo.append(child)
    return frozenset(names)


async def listable_edges(info: Any, edges: Sequence[Any]) -> list[Any]:
    """``edges`` without the products whose price or stock cannot be had (see the
    module)."""
    failures = await _failures(info, [e.node.record for e in edges], ("edges", "node"))
    return _kept(info, edges, [e.node for e in edges], failures, "edges")


async def listable_records(
    info: Any, edges: Sequence[Any], products: Sequence[Any], build: Any
) -> list[Any]:
    """``listable_edges`` for edges that hold the products' records (the breadth-first
    executor's listing): ``build`` makes a record's strawberry ``Product`` for the
    error of one left out (its id and slug, as ``listable_edges`` reports them)."""
    failures = await _failures(info, products, ("edges", "node"))
    if not any(failures):
        return list(edges)
    return _kept(info, edges, [build(p) for p in products], failures, "edges")


async def listable_products(info: Any, products: Sequence[Any]) -> list[Any]:
    """The same for a plain list of products under ``products`` (predictive search)."""
    failures = await _failures(info, [p.record for p in products], ("products",))
    return _kept(info, products, products, failures, "products")


def _kept(
    info: Any,
    items: Sequence[Any],
    products: Sequence[Any],
    failures: Sequence[SourceUnavailable | None],
    at: str,
) -> list[Any]:
    kept: list[Any] = []
    degradation = current_degradation.get()
    for item, product, failure in zip(items, products, failures, strict=True):
        if failure is None:
            kept.append(item)
            continue
        if degradation is None:
            raise failure
        degradation.errors.append(_left_out(info, product, failure, at))
    return kept


async def _failures(
    info: Any, products: Sequence[Any], trail: Sequence[str]
) -> list[SourceUnavailable | None]:
    """Per product, the outage that leaves it without a price or stock it would show."""
    nothing: list[SourceUnavailable | None] = [None] * len(products)
    if not products:
        return nothing
    names = _selected(info, trail)
    kinds = [kind for kind, fields in KINDS.items() if names & fields]
    if not kinds:
        return nothing
    loaders = info.context.loaders
    catalog = loaders.catalog
    ids = [p.id for p in products]
    promoted = bool(names & PROMOTION_FIELDS)
    # Two waves, as a hand-written page reads: the SKUs (and the bundles' parts) with the
    # categories beside them (the promotions need those, not the SKUs), then prices and
    # stock with the promotions beside them. Every loader of a wave is asked before any
    # is awaited, so its calls go out together with no task per read.
    catalog.skus_by_product.ask(ids)
    if "bundleItems" in names:
        catalog.bundle_items.ask(ids)
    if promoted:
        catalog.category.ask([p.category_id for p in products if p.category_id is not None])
    try:
        skus = await catalog.skus_by_product.load_many(ids)
        parts = await _parts(loaders, ids, names)
    except SourceUnavailable:
        return nothing  # the SKUs' own field reports it (an empty list)
    every_sku = [s.id for own in skus for s in own]
    if "bundleItems" in names:
        every_sku += [i.sku.id for items in parts for i in items]
    sku_ids = list(dict.fromkeys(every_sku))
    price_ids = sku_ids if "price" in kinds else []
    stock_ids = sku_ids if "stock" in kinds else []
    loaders.pricing.price.ask(price_ids)
    loaders.inventory.stock.ask(stock_ids)
    if promoted:
        try:
            await _promotions(loaders, products)
        except Exception:  # the promotions' own field reports it
            pass
    found = [
        await _read(loaders.pricing.price.load_checked(price_ids)),
        await _read(loaders.inventory.stock.load_checked(stock_ids)),
    ]
    if not any(isinstance(read, BaseException) or not read[1] for read in found[:2]):
        return nothing  # every price and stock level read: no product to leave out
    # A failure counts only for the SKUs shown: Sku.price and Sku.stock show them all (a
    # bundle's parts' too, under bundleItems), priceRange and Product.inStock the active
    # ones. All are read, as the fields' batch forms read them.
    shown = [
        [(kind, s.id) for kind in kinds for s in own if kind in names or s.is_active]
        + [(kind, item.sku.id) for kind in kinds if kind in names for item in items]
        for own, items in zip(skus, parts, strict=True)
    ]
    values: dict[tuple[str, int], Any] = {}
    for kind, read in zip(("price", "stock"), found, strict=False):
        if kind in kinds:
            each = [read] * len(sku_ids) if isinstance(read, BaseException) else read[0]
            values.update(((kind, i), v) for i, v in zip(sku_ids, each, strict=True))
    # Only an outage leaves a product out; any other failure is its field's to report.
    return [
        next((values[c] for c in checks if isinstance(values[c], SourceUnavailable)), None)
        for checks in shown
    ]


async def _read(read: Awaitable[tuple[list[Any], bool]]) -> Any:
    """A read's answer, or the exception that failed it as a whole."""
    try:
        return await read
    except Exception as exc:
        return exc


async def _parts(loaders: Any, ids: list[int], names: frozenset[str]) -> list[list[Any]]:
    """Each product's bundle parts when the page shows them (every product's, as the
    field reads them: one batch either way); none when it cannot read them (the field
    then reports it)."""
    if "bundleItems" not in names:
        return [[] for _ in ids]
    found = await loaders.catalog.bundle_items.load_each(ids)
    return [[] if isinstance(items, Exception) else items for items in found]


async def _promotions(loaders: Any, products: Sequence[Any]) -> None:
    ids = [p.category_id for p in products if p.category_id is not None]
    categories = dict(zip(ids, await loaders.catalog.category.load_each(ids), strict=True))
    keys = []
    for product in products:
        category = categories.get(product.category_id)
        path = category.path if category is not None and not isinstance(category, Exception) else ()
        keys.append((product.id, path))
    await loaders.pricing.promotions.load_each(keys)


def _left_out(info: Any, product: Any, failure: SourceUnavailable, at: str) -> GraphQLError:
    extensions = source_extensions(failure)
    extensions["productId"] = product.id
    what = WHAT.get(failure.source, failure.source)
    return GraphQLError(
        f"product {product.slug!r} is left out of this page, its {what} unknown: {failure}",
        path=[*info.path.as_list(), at],
        extensions=extensions,
    )
