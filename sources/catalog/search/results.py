"""A search result page: ranked products, their total and the facet value counts, in three
queries whatever the page size (the page, the count, every facet in one UNION ALL).

Facets count "disjunctively", as shops' filter sidebars do: each facet is counted under
the query and every other filter but its own, so a buyer who picked one brand still sees
how many the other brands have. Specification facets (choice attributes) are counted
under all filters. With no selection in a facet, its counts add up to ``total_count``
(single-valued facets), and picking a value gives exactly that many results.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.pagination import InvalidCursor, decode_cursor, encode_cursor
from sources.common.translations import Translation, translations_from

from .. import models as m
from ..records import ProductFilter, SearchFacet, SearchFacetValue, SearchSort
from .covering import covered

Conditions = Callable[[ProductFilter], Awaitable[list[ColumnElement[bool]] | None]]

# Price bands by lowest price, in the shop's currency: (value, low, high or None).
PRICE_BANDS: tuple[tuple[str, Decimal, Decimal | None], ...] = (
    ("0-100", Decimal(0), Decimal(100)),
    ("100-300", Decimal(100), Decimal(300)),
    ("300-1000", Decimal(300), Decimal(1000)),
    ("1000-3000", Decimal(1000), Decimal(3000)),
    ("3000-10000", Decimal(3000), Decimal(10000)),
    ("10000-", Decimal(10000), None),
)
_BAND_LABELS = {v: (f"¥{lo}-{hi}" if hi is not None else f"¥{lo}+") for v, lo, hi in PRICE_BANDS}
FACET_LABELS = {
    "category": "Category",
    "brand": "Brand",
    "kind": "Kind",
    "price": "Price",
    "availability": "Availability",
}
# The fixed labels in the shop's other language (categories and brands carry their own).
_CHINESE = "zh-CN"
_FACET_LABELS_ZH = {
    "category": "分类", "brand": "品牌", "kind": "类型", "price": "价格", "availability": "库存",
}  # fmt: skip
_VALUE_LABELS_ZH = {
    "PHYSICAL": "实物商品", "SERVICE": "服务", "BUNDLE": "套装",
    "In stock": "有货", "Out of stock": "缺货",
}  # fmt: skip
NO_PRICE_ASC = Decimal("1e12")
_MAX_OFFSET = 10_000  # deeper than any buyer pages; refuses a forged cursor's scan


def price_band_condition(band: str) -> ColumnElement[bool] | None:
    """The condition a price facet value selects; None for a value no facet offers."""
    for value, low, high in PRICE_BANDS:
        if value == band:
            condition = m.Product.price_min >= low
            if high is not None:
                condition = condition & (m.Product.price_min < high)
            return condition
    return None


def _band_expression() -> Any:
    whens = [
        (
            (m.Product.price_min >= low) & (m.Product.price_min < high)
            if high is not None
            else m.Product.price_min >= low,
            value,
        )
        for value, low, high in PRICE_BANDS
    ]
    return case(*whens, else_=None)


def order_for(sort: SearchSort, score: Any) -> tuple[Any, ...]:
    if sort is SearchSort.PRICE_ASC:
        return (func.coalesce(m.Product.price_min, NO_PRICE_ASC).asc(), m.Product.id.asc())
    if sort is SearchSort.PRICE_DESC:
        return (func.coalesce(m.Product.price_min, -1).desc(), m.Product.id.asc())
    if sort is SearchSort.NEWEST:
        return (m.Product.created_at.desc(), m.Product.id.desc())
    return (score.desc(), m.Product.id.asc())


def cursor_sort(sort: SearchSort) -> str:
    return f"SEARCH_{sort.value}"


def offset_after(after: str | None, sort: SearchSort) -> int:
    """Ranked results page by position (a score is no stable key: the next write may
    change it); the cursor names the sort so one from another ordering is refused."""
    if after is None:
        return 0
    key, _ = decode_cursor(after, cursor_sort(sort))
    if key is None or not key.isdigit() or int(key) > _MAX_OFFSET:
        raise InvalidCursor("the cursor is malformed")
    return int(key)


def cursors_for(sort: SearchSort, offset: int, ids: list[int]) -> list[str]:
    return [encode_cursor(cursor_sort(sort), str(offset + n + 1), pid) for n, pid in enumerate(ids)]


async def facets(
    conn: AsyncConnection, matched: Any, flt: ProductFilter, conditions: Conditions
) -> tuple[tuple[SearchFacet, ...], int | None]:
    """Every facet's value counts (see the module docstring). The facets nothing is
    selected in share their conditions: they are counted together, in one pass over the
    matches grouped by all their values at once; a facet with a selection is counted
    apart, under the other facets' selections. Specification facets come with it, in one
    UNION ALL: two queries in all. Also the total, when the shared pass counted it (its
    groups cover every match under the filter once): None when it did not run."""
    band = _band_expression()
    in_stock = case((m.Product.in_stock, "IN_STOCK"), else_="OUT_OF_STOCK")
    in_stock_label = case((m.Product.in_stock, "In stock"), else_="Out of stock")
    facet_defs: list[tuple[str, ProductFilter, Any, Any]] = [
        ("category", replace(flt, category_slugs=()), m.Category.slug, m.Category.name),
        ("brand", replace(flt, brands=()), m.Brand.name, m.Brand.name),
        ("kind", replace(flt, kind=None), m.Product.kind, m.Product.kind),
        ("availability", replace(flt, in_stock=None), in_stock, in_stock_label),
        ("price", replace(flt, price_band=None), band, band),
    ]
    if flt.category_slug is not None:  # a category page: its facet is what lies under it
        facet_defs[0] = ("category", flt, m.Category.slug, m.Category.name)

    def source() -> Any:
        return (
            m.Product.__table__.join(matched, matched.c.product_id == m.Product.id)
            .outerjoin(m.Category, m.Category.id == m.Product.category_id)
            .outerjoin(m.Brand, m.Brand.id == m.Product.brand_id)
        )

    arms: list[Any] = []
    shared = [d for d in facet_defs if d[1] == flt]
    for name, own, expr, shown in facet_defs:
        if own == flt:
            continue
        where = await conditions(own)
        if where is None:
            continue
        arms.append(
            covered(
                select(
                    literal(name, String).label("facet"),
                    cast(expr, Text).label("value"),
                    cast(shown, Text).label("label"),
                    func.count(m.Product.id).label("n"),
                )
                .select_from(source())
                .where(*where, expr.is_not(None))
                .group_by(expr, shown)
            )
        )
    counted: dict[str, dict[tuple[str, str], int]] = {}
    total: int | None = None
    choices: list[int] | None = None  # the choice attributes the matches can have values of
    known = _Named()
    where = await conditions(flt)
    if shared and where is not None:
        total = 0
        # Grouped by the products' own columns (ids, not names): no category or brand row
        # is joined per match; the few ids found are named after, in one read each.
        raw = {"category": m.Product.category_id, "brand": m.Product.brand_id,
               "availability": m.Product.in_stock}  # fmt: skip
        columns = [raw.get(name, expr) for name, _, expr, _ in shared]
        matches = m.Product.__table__.join(matched, matched.c.product_id == m.Product.id)
        combined = (
            await conn.execute(
                covered(select(*columns, func.count(m.Product.id)).select_from(matches)
                        .where(*where).group_by(*columns))
            )
        ).all()  # fmt: skip
        shared_names = [name for name, _, _, _ in shared]
        names = known = await _names(conn, combined, shared_names)
        if "category" in shared_names:
            choices = await _choice_attributes(conn, names.paths)
        for row in combined:
            total += int(row[-1])
            for n, (name, _, _, _) in enumerate(shared):
                key = names.values.get((name, row[n]))
                if key is not None:
                    tally = counted.setdefault(name, {})
                    tally[key] = tally.get(key, 0) + int(row[-1])
    where = await conditions(flt)
    # A product has values only of its category's attributes (or a category above it): when
    # the matches' categories define no choice attribute, there is nothing to count. (Not
    # narrowed to those attributes otherwise: SQLite would then walk each one's values.)
    if where is not None and choices != []:
        value = m.ProductAttributeValue
        arms.append(
            covered(
                select(
                    (literal_column("'spec:'") + m.Attribute.code).label("facet"),
                    cast(value.text_value, Text).label("value"),
                    func.min(m.Attribute.name).label("label"),
                    func.count(func.distinct(m.Product.id)).label("n"),
                )
                # From the matches to their values, then the product: SQLite would otherwise
                # walk every published product's values and look each up in the matches.
                .select_from(matched)
                .join(value, value.product_id == matched.c.product_id)
                .join(m.Product, m.Product.id == value.product_id)
                .join(m.Attribute, m.Attribute.id == value.attribute_id)
                .where(*where, m.Attribute.kind == "CHOICE", value.text_value.is_not(None))
                .group_by(m.Attribute.code, value.text_value)
            )
        )
    rows: list[Any] = list((await conn.execute(union_all(*arms))).all()) if arms else []
    rows += [
        (name, v, shown, n) for name, tally in counted.items() for (v, shown), n in tally.items()
    ]
    return await assembled(conn, rows, known.translations), total


async def counted_facets(
    conn: AsyncConnection,
    rows: list[Any],
    translated: dict[tuple[str, str], tuple[Translation, ...]],
    specs: dict[tuple[str, str], int],
    spec_labels: dict[str, str],
) -> tuple[SearchFacet, ...]:
    """The facets from counts made in process (facet_table.py), named there: no read."""
    rows = rows + [(f"spec:{code}", value, spec_labels.get(code, code), n)
                   for (code, value), n in specs.items()]  # fmt: skip
    return await assembled(conn, rows, translated)


async def assembled(
    conn: AsyncConnection,
    rows: list[Any],
    known: dict[tuple[str, str], tuple[Translation, ...]],
) -> tuple[SearchFacet, ...]:
    """Counted rows (facet, value, label, count) as the facets a page shows, in order,
    their labels in the shop's other language beside them."""
    grouped: dict[str, list[SearchFacetValue]] = {}
    labels: dict[str, str] = dict(FACET_LABELS)
    named = await _translated_labels(conn, rows, known)
    for facet, value, label, count in rows:
        if facet.startswith("spec:"):
            labels[facet] = label  # the attribute's name; its values label themselves
            label = value
        elif facet == "price":
            label = _BAND_LABELS.get(value, value)
        grouped.setdefault(facet, []).append(
            SearchFacetValue(value, label, int(count), named.get((facet, value), ()))
        )
    ordered = ["category", "brand", "price", "kind", "availability"]
    ordered += sorted(name for name in grouped if name not in ordered)
    band_order = {v: n for n, (v, _, _) in enumerate(PRICE_BANDS)}
    result = []
    for name in ordered:
        values = grouped.get(name)
        if not values:
            continue
        if name == "price":
            values.sort(key=lambda v: band_order.get(v.value, 99))
        else:
            values.sort(key=lambda v: (-v.count, v.label))
        label = labels.get(name, name)
        in_chinese: tuple[Translation, ...] = ()
        if name in _FACET_LABELS_ZH:
            in_chinese = (Translation(_CHINESE, _FACET_LABELS_ZH[name]),)
        result.append(SearchFacet(name, label, tuple(values), in_chinese))
    return tuple(result)


async def _choice_attributes(conn: AsyncConnection, paths: list[str]) -> list[int]:
    """The choice attributes of the categories on these paths (a category and those above)."""
    above = {int(part) for path in paths for part in path.split("/") if part}
    if not above:
        return []
    return list(
        await conn.scalars(
            select(m.Attribute.id)
            .where(m.Attribute.kind == "CHOICE", m.Attribute.category_id.in_(above))
            .order_by(m.Attribute.id)
        )
    )


@dataclass
class _Named:
    """What the shared pass's raw values are called: (facet, raw) -> (value, label); the
    categories' and brands' other-language names by (facet, value); the categories' paths."""

    values: dict[tuple[str, Any], tuple[str, str]] = field(default_factory=dict)
    translations: dict[tuple[str, str], tuple[Translation, ...]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)


async def _names(conn: AsyncConnection, rows: Sequence[Any], facets: list[str]) -> _Named:
    """Each raw grouped value's facet value and label: a category id its slug and name, a
    brand id its name, in-stock its state; kind and price band are their own. One read of
    the categories and one of the brands found, their translations and paths with them."""
    named = _Named()
    for n, facet in enumerate(facets):
        values = {row[n] for row in rows if row[n] is not None}
        if facet == "category" and values:
            for id_, slug, name, path, stored in await conn.execute(
                select(
                    m.Category.id, m.Category.slug, m.Category.name, m.Category.path,
                    m.Category.translations,
                ).where(m.Category.id.in_(values))
            ):  # fmt: skip
                named.values[(facet, id_)] = (str(slug), str(name))
                named.translations[(facet, str(slug))] = translations_from(stored)
                named.paths.append(str(path))
        elif facet == "brand" and values:
            for id_, name, stored in await conn.execute(
                select(m.Brand.id, m.Brand.name, m.Brand.translations).where(m.Brand.id.in_(values))
            ):
                named.values[(facet, id_)] = (str(name), str(name))
                named.translations[(facet, str(name))] = translations_from(stored)
        elif facet == "availability":
            for value in values:
                named.values[(facet, value)] = (
                    ("IN_STOCK", "In stock") if value else ("OUT_OF_STOCK", "Out of stock")
                )
        else:
            named.values.update({(facet, value): (str(value), str(value)) for value in values})
    return named


async def _translated_labels(
    conn: AsyncConnection, rows: list[Any], known: dict[tuple[str, str], tuple[Translation, ...]]
) -> dict[tuple[str, str], tuple[Translation, ...]]:
    """The category and brand values' names in other languages (``known``: read with the
    shared pass's names; the others in two small reads by key, in the same call: a result
    page stays one call to the catalog), and the fixed ones."""
    found = dict(known)
    slugs = {str(v) for facet, v, _, _ in rows if facet == "category"} - {
        v for f, v in found if f == "category"
    }
    brands = {str(v) for facet, v, _, _ in rows if facet == "brand"} - {
        v for f, v in found if f == "brand"
    }
    if slugs:
        for slug, stored in await conn.execute(
            select(m.Category.slug, m.Category.translations).where(m.Category.slug.in_(slugs))
        ):
            found[("category", slug)] = translations_from(stored)
    if brands:
        for name, stored in await conn.execute(
            select(m.Brand.name, m.Brand.translations).where(m.Brand.name.in_(brands))
        ):
            found[("brand", name)] = translations_from(stored)
    for facet, value, label, _ in rows:
        if facet in ("kind", "availability") and label in _VALUE_LABELS_ZH:
            found[(facet, str(value))] = (Translation(_CHINESE, _VALUE_LABELS_ZH[label]),)
    return found
