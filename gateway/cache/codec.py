"""Compact, exact encodings of the sources' frozen records (orjson, positional arrays).

Decimals travel as strings and datetimes as ISO 8601 with their offset, so both come back
exactly equal; never pickle (a cache must not be able to run code in the gateway).
A ``Codec`` turns a value of one record type into bytes and back; ``None`` (the entity does
not exist) has its own encoding so "missing" can be cached too.

``Codec.shared`` remembers what it decoded, by the bytes: a cache hit hands back the same bytes
(the in-process cache, the very same object) or equal ones (Redis), and equal bytes always
decode to equal values, so the memo never goes stale and needs no invalidation; a rewritten
entry is new bytes, decoded afresh. A remembered value is shared by every request of the
process, so only its immutable parts are: records are frozen, and their fields tuples,
frozensets and scalars (tests/cache/test_decoded_memo.py walks every codec's record type);
the lists around them (a list codec's value, a page's products) are copied on the way out.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson

from sources.catalog.records import (
    AttributeDefinition,
    AttributeKind,
    BundleItem,
    Category,
    Dimensions,
    FulfillmentMode,
    Presale,
    Product,
    ProductKind,
    ProductMedia,
    ProductOption,
    ProductPage,
    SelectedOption,
    Sku,
    Specification,
)
from sources.common.translations import Translation
from sources.inventory.records import StockLevel, WarehouseStock
from sources.pricing.records import Price, Promotion, PromotionKind, PromotionScope

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
Raw = Any  # what orjson reads back: lists, strings, numbers, None


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _undt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _tr(translations: tuple[Translation, ...]) -> Raw:
    return [[t.language, t.name, t.description] for t in translations]


def _untr(r: Raw) -> tuple[Translation, ...]:
    return tuple(Translation(language, name, description) for language, name, description in r)


def _presale(p: Presale | None) -> Raw:
    if p is None:
        return None
    return [str(p.deposit), p.currency, _dt(p.starts_at), _dt(p.ends_at), _dt(p.ships_from)]


def _unpresale(r: Raw) -> Presale | None:
    if r is None:
        return None
    starts, ends, ships = (datetime.fromisoformat(x) for x in r[2:5])
    return Presale(Decimal(r[0]), r[1], starts, ends, ships)


def product_raw(p: Product) -> Raw:
    return [
        p.id, p.slug, p.name, p.description, p.kind.value, p.fulfillment.value,
        p.is_published, p.category_id, p.brand, p.supplier_id, _dt(p.created_at),
        _presale(p.presale), _dec(p.price_min), _dec(p.price_max), p.currency, p.in_stock,
        [[o.name, list(o.values)] for o in p.options], list(p.tags), p.seo_title,
        p.seo_description, p.weight_grams,
        None if p.dimensions is None else [
            p.dimensions.length_mm, p.dimensions.width_mm, p.dimensions.height_mm],
        _dt(p.archived_at), p.reserve_on_add, _tr(p.translations), _tr(p.brand_translations),
    ]  # fmt: skip


def product_unraw(r: Raw) -> Product:
    return Product(
        r[0], r[1], r[2], r[3], ProductKind(r[4]), FulfillmentMode(r[5]), r[6], r[7], r[8],
        r[9], datetime.fromisoformat(r[10]), _unpresale(r[11]), _undec(r[12]), _undec(r[13]),
        r[14], r[15], tuple(ProductOption(o[0], tuple(o[1])) for o in r[16]), tuple(r[17]),
        r[18], r[19], r[20], None if r[21] is None else Dimensions(*r[21]), _undt(r[22]),
        bool(r[23]) if len(r) > 23 else False,  # an entry cached before the field existed
        _untr(r[24]) if len(r) > 24 else (), _untr(r[25]) if len(r) > 25 else (),
    )  # fmt: skip


def sku_raw(s: Sku) -> Raw:
    return [
        s.id, s.product_id, s.code, s.name, s.is_active, s.purchase_limit,
        [[o.name, o.value] for o in s.selected_options], s.image_id,
    ]  # fmt: skip


def sku_unraw(r: Raw) -> Sku:
    return Sku(
        r[0], r[1], r[2], r[3], r[4], r[5], tuple(SelectedOption(*o) for o in r[6]), r[7]
    )  # fmt: skip


def media_raw(m: ProductMedia) -> Raw:
    return [m.id, m.product_id, m.position, m.storage_key, m.content_type, m.width, m.height,
            [list(pair) for pair in m.alt]]  # fmt: skip


def media_unraw(r: Raw) -> ProductMedia:
    return ProductMedia(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple((a, b) for a, b in r[7]))


def attribute_raw(a: AttributeDefinition) -> Raw:
    return [a.id, a.category_id, a.code, a.name, a.kind.value, a.unit, list(a.choices), a.position]


def attribute_unraw(r: Raw) -> AttributeDefinition:
    return AttributeDefinition(r[0], r[1], r[2], r[3], AttributeKind(r[4]), r[5], tuple(r[6]), r[7])


def specification_raw(s: Specification) -> Raw:
    return [attribute_raw(s.attribute), s.text, _dec(s.number), s.boolean]


def specification_unraw(r: Raw) -> Specification:
    return Specification(attribute_unraw(r[0]), r[1], _undec(r[2]), r[3])


def category_raw(c: Category) -> Raw:
    return [c.id, c.slug, c.name, c.parent_id, list(c.path), _tr(c.translations)]


def category_unraw(r: Raw) -> Category:
    return Category(r[0], r[1], r[2], r[3], tuple(r[4]), _untr(r[5]) if len(r) > 5 else ())


def bundle_item_raw(b: BundleItem) -> Raw:
    return [b.bundle_product_id, b.quantity, sku_raw(b.sku), product_raw(b.product)]


def bundle_item_unraw(r: Raw) -> BundleItem:
    return BundleItem(r[0], r[1], sku_unraw(r[2]), product_unraw(r[3]))


def price_raw(p: Price) -> Raw:
    return [p.sku_id, p.currency, str(p.list_amount), str(p.sale_amount)]


def price_unraw(r: Raw) -> Price:
    return Price(r[0], r[1], Decimal(r[2]), Decimal(r[3]))


def promotion_raw(p: Promotion) -> Raw:
    return [
        p.id, p.name, p.kind.value, p.description, p.scope.value, _dt(p.starts_at),
        _dt(p.ends_at), p.coupon_code, p.priority, p.is_exclusive, _dec(p.percent),
        _dec(p.amount), _dec(p.threshold), p.buy_quantity, p.get_quantity, p.currency,
        sorted(p.product_ids), sorted(p.category_ids), p.usage_limit, p.per_customer_limit,
        p.is_active, _tr(p.translations),
    ]  # fmt: skip


def promotion_unraw(r: Raw) -> Promotion:
    return Promotion(
        r[0], r[1], PromotionKind(r[2]), r[3], PromotionScope(r[4]), _undt(r[5]), _undt(r[6]),
        r[7], r[8], r[9], _undec(r[10]), _undec(r[11]), _undec(r[12]), r[13], r[14], r[15],
        frozenset(r[16]), frozenset(r[17]), r[18], r[19], r[20],
        _untr(r[21]) if len(r) > 21 else (),
    )  # fmt: skip


def stock_raw(s: StockLevel) -> Raw:
    return [s.sku_id, [[w.warehouse_code, w.on_hand, w.reserved] for w in s.warehouses],
            s.supplier_available]  # fmt: skip


def stock_unraw(r: Raw) -> StockLevel:
    return StockLevel(r[0], tuple(WarehouseStock(w[0], w[1], w[2]) for w in r[1]), r[2])


def page_raw(p: ProductPage) -> Raw:
    return [[product_raw(x) for x in p.products], p.cursors, p.has_next_page, p.total_count]


def page_unraw(r: Raw) -> ProductPage:
    return ProductPage([product_unraw(x) for x in r[0]], list(r[1]), r[2], r[3])


def _page_out(p: ProductPage) -> ProductPage:
    return ProductPage(list(p.products), list(p.cursors), p.has_next_page, p.total_count)


_MISSING = b"null"


# Entries a codec remembers before it starts over (a clear costs less per hit than an LRU's
# bookkeeping, ~45 against ~85 ns, and the bound sits well above a shop's hot set). A full
# memo of products is ~9 MB (2.2 KB a decoded product), plus the bytes it keys on.
MEMO_ENTRIES = 4096


def _itself(value: T) -> T:
    return value


_UNSEEN: Any = object()  # not in a codec's memo (None there is a cached "does not exist")


@dataclass(frozen=True)
class Codec(Generic[T]):
    """Bytes for one record type; ``decode`` gives None back for a cached "does not exist".

    ``hand_out`` gives a remembered value to one caller: the value itself when it is
    immutable through and through, else a copy of its mutable containers (never of the
    frozen records inside them)."""

    to_raw: Callable[[T], Raw]
    from_raw: Callable[[Raw], T]
    hand_out: Callable[[T], T] = _itself
    memo_entries: int = MEMO_ENTRIES
    _memo: dict[bytes, T | None] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def encode(self, value: T | None) -> bytes:
        return _MISSING if value is None else orjson.dumps(self.to_raw(value))

    def decode(self, data: bytes) -> T | None:
        """A value of its own: nothing else holds it (a last-known copy is marked stale by
        its identity, so it must never be an object a fresh read also hands out)."""
        raw = orjson.loads(data)
        return None if raw is None else self.from_raw(raw)

    def shared(self, data: bytes) -> T | None:
        """``decode``, remembered by the bytes (bytes keep their hash: a hit is one lookup)."""
        memo = self._memo
        try:
            value = memo[data]
        except KeyError:
            if len(memo) >= self.memo_entries:
                memo.clear()
            value = memo[data] = self.decode(data)
        return None if value is None else self.hand_out(value)

    def shared_all(self, raw: Mapping[K, bytes]) -> dict[K, T]:
        """``shared`` of each value, the "does not exist" ones left out: one loop with the
        memo's hits inline (a screen's batch is hundreds of keys, nearly all hits)."""
        memo, hand_out, values = self._memo, self.hand_out, {}
        for key, data in raw.items():
            value = memo.get(data, _UNSEEN)
            if value is _UNSEEN:
                value = self.shared(data)
            elif value is not None and hand_out is not _itself:
                value = hand_out(value)
            if value is not None:
                values[key] = value
        return values


def list_codec(to_raw: Callable[[T], Raw], from_raw: Callable[[Raw], T]) -> Codec[list[T]]:
    return Codec(
        lambda xs: [to_raw(x) for x in xs],
        lambda r: [from_raw(x) for x in r],
        hand_out=list,  # a list of its own around the shared records
    )


def _ident(value: Any) -> Any:
    return value


PRODUCT = Codec(product_raw, product_unraw)
SKU = Codec(sku_raw, sku_unraw)
SKUS = list_codec(sku_raw, sku_unraw)
CATEGORY = Codec(category_raw, category_unraw)
CATEGORIES = list_codec(category_raw, category_unraw)
BUNDLE_ITEMS = list_codec(bundle_item_raw, bundle_item_unraw)
SPECIFICATIONS = list_codec(specification_raw, specification_unraw)
MEDIA = list_codec(media_raw, media_unraw)
ATTRIBUTES = list_codec(attribute_raw, attribute_unraw)
PRICE = Codec(price_raw, price_unraw)
PROMOTIONS = list_codec(promotion_raw, promotion_unraw)
STOCK = Codec(stock_raw, stock_unraw)
PAGE = Codec(page_raw, page_unraw, _page_out, memo_entries=64)  # ~50 products a page: ~7 MB
PRODUCT_ID: Codec[int] = Codec(_ident, int)
