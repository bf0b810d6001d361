"""A listing never goes blank because one product cannot be priced or its stock read.

``Product.skus[].price``, ``Product.priceRange``, ``Sku.stock`` and ``Product.inStock``
are non-null all the way up to the listing's ``edges`` (the contract's, and keeping it
matters: a client may rely on every shown product having a price and a stock level). A
product whose price or stock cannot be had from anywhere (its source down, no last-known
copy) would null its edge, the edge list and the whole connection. Stock has no honest
stand-in either: "none available" for a product that is in stock is a wrong answer a
buyer acts on. So a listing that shows prices or stock asks for them before its edges are
laid out, and leaves out the products it could not price or stock, with one error each
naming the product (``SOURCE_UNAVAILABLE``, the source, retryable,
``extensions.productId``). Elsewhere (``product(id)``) the null travels up as the spec
says.

The reads are the ones the page's fields make anyway, issued a little earlier: the SKUs,
then prices and stock with promotions beside them, so the fields below find them memoised
and the page costs the same source calls, in the same number of rounds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from graphql import GraphQLError
from strawberry.types.nodes import SelectedField

from .degrade import current_degradation, source_extensions
from .errors import SourceUnavailable

PRICE_FIELDS = frozenset({"price", "priceRange"})
STOCK_FIELDS = frozenset({"stock", "inStock"})
PROMOTION_FIELDS = frozenset({"promotions"})
WHAT = {"pricing": "price", "inventory": "stock"}


def _fields(selections: Iterable[Any]) -> Iterator[Any]:
    """The fields of a selection, fragments spread in place."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:  # a fragment spread or an inline fragment
            yield from _fields(selection.selections)


def _selected(info: Any) -> set[str]:
    """Every field name selected anywhere under the connection's ``edges.node``."""
    names: set[str] = set()
    todo = [
        node
        for connection in info.selected_fields
        for edges in _fields(connection.selections)
        if edges.name == "edges"
        for node in _fields(edges.selections)
        if node.name == "node"
    ]
    while todo:
        for child in _fields(todo.pop().selections):
            names.add(child.name)
            todo.append(child)
    return names


async def listable_edges(info: Any, edges: Sequence[Any]) -> list[Any]:
    """``edges`` without the products whose price or stock cannot be had (see the
    module)."""
    if not edges:
        return list(edges)
    names = _selected(info)
    if not names & (PRICE_FIELDS | STOCK_FIELDS):
        return list(edges)
    loaders = info.context.loaders
    products = [edge.node.record for edge in edges]
    try:
        skus = await loaders.catalog.skus_by_product.load_many([p.id for p in products])
    except SourceUnavailable:
        return list(edges)  # the SKUs' own field reports it (an empty list)
    # Every SKU's, as the fields' batch forms read them; a failure counts only for the SKUs
    # shown: Sku.price and Sku.stock show them all, priceRange and Product.inStock the active.
    every_sku = [s for product_skus in skus for s in product_skus]
    sku_ids = [s.id for s in every_sku]
    reads: list[Any] = [
        loaders.pricing.price.load_each(sku_ids if names & PRICE_FIELDS else []),
        loaders.inventory.stock.load_each(sku_ids if names & STOCK_FIELDS else []),
    ]
    if names & PROMOTION_FIELDS:
        reads.append(_promotions(loaders, products))
    found = await asyncio.gather(*reads, return_exceptions=True)
    failures: dict[tuple[str, int], Any] = {}
    for kind, fields, values in (
        ("price", PRICE_FIELDS, found[0]),
        ("stock", STOCK_FIELDS, found[1]),
    ):
        if not names & fields:
            continue
        if isinstance(values, BaseException):
            values = [values] * len(sku_ids)
        every = kind in names  # "price" / "stock": the SKUs' own fields
        failures.update(
            ((kind, sku.id), value)
            for sku, value in zip(every_sku, values, strict=True)
            if every or sku.is_active
        )
    kept: list[Any] = []
    degradation = current_degradation.get()
    for edge, product_skus in zip(edges, skus, strict=True):
        failure = next(
            (
                failures[(kind, s.id)]
                for kind in ("price", "stock")
                for s in product_skus
                if isinstance(failures.get((kind, s.id)), Exception)
            ),
            None,
        )
        if not isinstance(failure, SourceUnavailable):
            kept.append(edge)  # shown, or a failure that is not an outage: the field says
            continue
        if degradation is None:
            raise failure
        degradation.errors.append(_left_out(info, edge.node, failure))
    return kept


async def _promotions(loaders: Any, products: Sequence[Any]) -> None:
    ids = [p.category_id for p in products if p.category_id is not None]
    categories = dict(zip(ids, await loaders.catalog.category.load_each(ids), strict=True))
    keys = []
    for product in products:
        category = categories.get(product.category_id)
        path = category.path if category is not None and not isinstance(category, Exception) else ()
        keys.append((product.id, path))
    await loaders.pricing.promotions.load_each(keys)


def _left_out(info: Any, product: Any, failure: SourceUnavailable) -> GraphQLError:
    extensions = source_extensions(failure)
    extensions["productId"] = product.id
    what = WHAT.get(failure.source, failure.source)
    return GraphQLError(
        f"product {product.slug!r} is left out of this page, its {what} unknown: {failure}",
        path=[*info.path.as_list(), "edges"],
        extensions=extensions,
    )
