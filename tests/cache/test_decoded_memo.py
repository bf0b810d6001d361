"""Decoded records kept by their bytes (``Codec.shared``): a cache hit does not decode
again, a rewritten entry is decoded afresh, the memo stays bounded, and what it shares
between requests cannot be changed by any of them."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import types
import typing
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from gateway.cache import codec
from gateway.cache.codec import Codec, Raw
from gateway.cache.keys import Kind
from sources.catalog.records import (
    AttributeDefinition,
    BundleItem,
    Category,
    Product,
    ProductMedia,
    ProductPage,
    Sku,
    Specification,
)
from sources.inventory.records import StockLevel
from sources.pricing.records import Price, Promotion

from .test_read_through import a_product, read_through

# Every codec: the type of its values, and the mutable containers in it (by path), which
# its ``hand_out`` must copy. A record that gains a list, dict or set (or anything not
# known to be immutable) changes its paths and fails here: make the field a tuple or
# frozenset, or copy it in ``hand_out`` and list it.
CODECS: dict[str, tuple[Any, set[str]]] = {
    "PRODUCT": (Product, set()),
    "SKU": (Sku, set()),
    "SKUS": (list[Sku], {"value"}),
    "CATEGORY": (Category, set()),
    "CATEGORIES": (list[Category], {"value"}),
    "BUNDLE_ITEMS": (list[BundleItem], {"value"}),
    "SPECIFICATIONS": (list[Specification], {"value"}),
    "MEDIA": (list[ProductMedia], {"value"}),
    "ATTRIBUTES": (list[AttributeDefinition], {"value"}),
    "PRICE": (Price, set()),
    "PROMOTIONS": (list[Promotion], {"value"}),
    "STOCK": (StockLevel, set()),
    "PAGE": (ProductPage, {"value.products", "value.cursors"}),
    "PRODUCT_ID": (int, set()),
}
IMMUTABLE = (type(None), int, str, bool, float, Decimal, datetime, bytes, enum.Enum)


def mutable_paths(tp: Any, path: str = "value", seen: frozenset[Any] = frozenset()) -> set[str]:
    if tp in seen:  # a record holding its own kind: already walked
        return set()
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not Ellipsis]
    if origin in (typing.Union, types.UnionType):
        return set().union(*(mutable_paths(a, path, seen) for a in args))
    if origin in (tuple, frozenset):
        return set().union(set(), *(mutable_paths(a, f"{path}[]", seen) for a in args))
    if origin is not None:  # list[X], dict[K, V], Mapping[K, V], ...
        return {path}.union(*(mutable_paths(a, f"{path}[]", seen) for a in args))
    if isinstance(tp, type) and issubclass(tp, IMMUTABLE):
        return set()
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not tp.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return {f"{path} (not frozen)"}
        hints = typing.get_type_hints(tp)
        return set().union(
            *(
                mutable_paths(hints[f.name], f"{path}.{f.name}", seen | {tp})
                for f in dataclasses.fields(tp)
            )
        )
    return {f"{path} ({tp!r})"}  # not known to be immutable: treated as mutable


def test_every_codec_shares_only_immutable_parts_and_copies_the_rest() -> None:
    codecs = {name: value for name, value in vars(codec).items() if isinstance(value, Codec)}
    assert set(codecs) == set(CODECS), "a new codec: say what its values are in CODECS"
    for name, (tp, copied) in CODECS.items():
        assert mutable_paths(tp) == copied, name
        assert (codecs[name].hand_out is codec._itself) == (not copied), name


def test_handed_out_lists_are_the_callers_own() -> None:
    page = ProductPage([a_product(1), a_product(2)], ["c1", "c2"], True, 2)
    data = codec.PAGE.encode(page)
    first, second = codec.PAGE.shared(data), codec.PAGE.shared(bytes(bytearray(data)))
    assert first == second == page
    assert first is not None and second is not None
    assert first.products is not second.products and first.cursors is not second.cursors
    assert first.products[0] is second.products[0]  # the frozen records themselves shared
    first.products.clear()
    first.cursors.append("mine")
    assert codec.PAGE.shared(data) == page

    skus = codec.SKUS.encode([Sku(1, 7, "K-1", "Kettle", True, None)])
    mine = codec.SKUS.shared(skus)
    assert mine is not None
    mine.append(Sku(2, 7, "K-2", "Kettle", True, None))
    assert codec.SKUS.shared(skus) == [Sku(1, 7, "K-1", "Kettle", True, None)]


def test_a_batch_is_handed_out_as_each_value_alone() -> None:
    """``shared_all`` (a batch of hits, as ReadThrough.load decodes them): the same values
    as ``shared`` one by one, "does not exist" left out, lists still the caller's own."""
    skus = codec.SKUS.encode([Sku(1, 7, "K-1", "Kettle", True, None)])
    gone = codec.SKUS.encode(None)
    raw = {"a": skus, "b": gone, "c": bytes(bytearray(skus))}
    for _ in range(2):  # first decoded, then from the memo
        batch = codec.SKUS.shared_all(raw)
        assert batch == {"a": codec.SKUS.shared(skus), "c": codec.SKUS.shared(skus)}
        assert batch["a"] is not batch["c"]
        batch["a"].clear()
    assert codec.SKUS.shared(skus) == [Sku(1, 7, "K-1", "Kettle", True, None)]
    prices = codec.PRICE.shared_all({1: codec.PRICE.encode(None)})
    assert prices == {}


def counting(calls: list[Raw]) -> Codec[Product]:
    def from_raw(raw: Raw) -> Product:
        calls.append(raw)
        return codec.product_unraw(raw)

    return Codec(codec.product_raw, from_raw)


def test_a_cache_hit_does_not_decode_again() -> None:
    decoded: list[Raw] = []
    products = counting(decoded)

    async def fetch(ids: Sequence[int]) -> dict[int, Product]:
        return {i: a_product(i) for i in ids}

    async def scenario() -> None:
        cache = read_through()
        for _ in range(3):
            assert await cache.load(Kind.PRODUCT, products, [7], fetch) == {7: a_product(7)}
        # Redis hands back equal bytes, not the same object: still no decode.
        assert products.shared(bytes(bytearray(products.encode(a_product(7))))) == a_product(7)

    asyncio.run(scenario())
    assert len(decoded) == 1


def test_a_rewritten_entry_is_decoded_afresh() -> None:
    decoded: list[Raw] = []
    products = counting(decoded)
    names = ["Kettle"]

    async def fetch(ids: Sequence[int]) -> dict[int, Product]:
        return {i: dataclasses.replace(a_product(i), name=names[-1]) for i in ids}

    async def scenario() -> None:
        cache = read_through()
        assert (await cache.load(Kind.PRODUCT, products, [7], fetch))[7].name == "Kettle"
        names.append("Tea kettle")
        await cache.cache.invalidate([(Kind.PRODUCT, 7)])
        assert (await cache.load(Kind.PRODUCT, products, [7], fetch))[7].name == "Tea kettle"
        assert (await cache.load(Kind.PRODUCT, products, [7], fetch))[7].name == "Tea kettle"

    asyncio.run(scenario())
    assert len(decoded) == 2


def test_the_memo_stays_within_its_bound() -> None:
    decoded: list[Raw] = []
    products = dataclasses.replace(counting(decoded), memo_entries=3)
    for pid in range(10):
        assert products.shared(products.encode(a_product(pid))) == a_product(pid)
        assert len(products._memo) <= 3
    assert products.shared(products.encode(a_product(9))) == a_product(9)
    assert len(decoded) == 10
