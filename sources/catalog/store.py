"""CatalogStore: the catalog's batch API. Every method takes many keys and costs one
round trip (a listing costs one for the page and one for its count), whatever the number
of keys, so callers above cannot cause an N+1 by accident."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.engine import Row

from sources.common import lean
from sources.common.audit import AuditRecord, read_audit, write_audit
from sources.common.batches import BatchKey
from sources.common.db import Database
from sources.common.import_jobs import ImportJobs
from sources.common.pagination import InvalidCursor, decode_cursor, encode_cursor
from sources.common.translations import translations_from

from . import bulk, counts, manage, search
from . import media as media_writes
from . import models as m
from .product_import import ProductImports
from .records import (
    AttributeCondition,
    AttributeDefinition,
    AttributeFields,
    AttributeKind,
    BundleItem,
    CartCatalog,
    CatalogRefusal,
    CatalogWrite,
    Category,
    CategoryFields,
    Dimensions,
    FulfillmentMode,
    ListingUpdate,
    MediaFields,
    MediaWrite,
    Presale,
    Product,
    ProductFields,
    ProductFilter,
    ProductKind,
    ProductMedia,
    ProductOption,
    ProductPage,
    ProductSort,
    PublishBatch,
    PublishChange,
    SearchFacet,
    SearchPage,
    SearchSort,
    SearchSuggestions,
    SelectedOption,
    Sku,
    SkuFields,
    Specification,
    Supplier,
)
from .search.synonyms import DEFAULT_FILE, SynonymFile

_PRODUCT_COLUMNS = (
    m.Product.id,
    m.Product.slug,
    m.Product.name,
    m.Product.description,
    m.Product.kind,
    m.Product.fulfillment,
    m.Product.is_published,
    m.Product.category_id,
    m.Brand.name.label("brand"),
    m.Product.supplier_id,
    m.Product.created_at,
    m.Product.presale_deposit,
    m.Product.presale_starts_at,
    m.Product.presale_ends_at,
    m.Product.presale_ships_from,
    m.Product.price_min,
    m.Product.price_max,
    m.Product.currency,
    m.Product.in_stock,
    m.Product.options,
    m.Product.tags,
    m.Product.seo_title,
    m.Product.seo_description,
    m.Product.weight_grams,
    m.Product.length_mm,
    m.Product.width_mm,
    m.Product.height_mm,
    m.Product.archived_at,
    m.Product.reserve_on_add,
    m.Product.translations,
    m.Brand.translations.label("brand_translations"),
)


# A product's two enums by their stored value: calling an Enum class is three Python
# frames (about 2,000 instructions), twice a product, 500 times a 250-product page; an
# unknown value still goes through the class and fails as it did.
_KINDS: dict[Any, ProductKind] = {k.value: k for k in ProductKind}
_FULFILLMENTS: dict[Any, FulfillmentMode] = {f.value: f for f in FulfillmentMode}


def _product(row: Row[Any]) -> Product:
    # By name through the row's mapping, not as attributes: a SQLAlchemy Row finds a column
    # attribute only after the generic lookup has failed and formatted an AttributeError,
    # about 0.5 µs a column against 0.1, and a product is some thirty columns (a listing's
    # 50 products: 0.6 ms; bench/RESULTS.md, "Rows read by name").
    c = row._mapping
    presale = None
    if c["presale_deposit"] is not None:
        presale = Presale(
            deposit=c["presale_deposit"],
            currency=c["currency"],
            starts_at=c["presale_starts_at"],
            ends_at=c["presale_ends_at"],
            ships_from=c["presale_ships_from"],
        )
    return Product(
        id=c["id"],
        slug=c["slug"],
        name=c["name"],
        description=c["description"],
        kind=_KINDS.get(c["kind"]) or ProductKind(c["kind"]),
        fulfillment=_FULFILLMENTS.get(c["fulfillment"]) or FulfillmentMode(c["fulfillment"]),
        is_published=c["is_published"],
        category_id=c["category_id"],
        brand=c["brand"],
        supplier_id=c["supplier_id"],
        created_at=c["created_at"],
        presale=presale,
        price_min=c["price_min"],
        price_max=c["price_max"],
        currency=c["currency"],
        in_stock=c["in_stock"],
        options=tuple(ProductOption(o["name"], tuple(o["values"])) for o in c["options"] or ()),
        tags=tuple(c["tags"] or ()),
        seo_title=c["seo_title"],
        seo_description=c["seo_description"],
        weight_grams=c["weight_grams"],
        dimensions=(
            Dimensions(c["length_mm"], c["width_mm"], c["height_mm"])
            if c["length_mm"] is not None
            else None
        ),
        archived_at=c["archived_at"],
        reserve_on_add=bool(c["reserve_on_add"]),
        translations=translations_from(c["translations"]),
        brand_translations=translations_from(c["brand_translations"]),
    )


_CATEGORY_COLUMNS: tuple[Any, ...] = (
    m.Category.id,
    m.Category.slug,
    m.Category.name,
    m.Category.parent_id,
    m.Category.path,
    m.Category.position,
    m.Category.translations,
)


def _category(row: Row[Any]) -> Category:
    return Category(
        id=row.id,
        slug=row.slug,
        name=row.name,
        parent_id=row.parent_id,
        path=tuple(int(part) for part in row.path.split("/") if part),
        translations=translations_from(row.translations),
    )


def _sku(row: Row[Any]) -> Sku:
    return Sku(
        id=row.id,
        product_id=row.product_id,
        code=row.code,
        name=row.name,
        is_active=row.is_active,
        purchase_limit=row.purchase_limit,
        selected_options=tuple(SelectedOption(name, value) for name, value in row.options or ()),
        image_id=row.image_id,
    )


def _labelled_sku(row: Row[Any]) -> Sku:
    """The SKU of a _SKUS_WITH_PRODUCTS_BY_IDS row (its columns prefixed ``sku_``)."""
    return Sku(
        id=row.sku_id,
        product_id=row.sku_product_id,
        code=row.sku_code,
        name=row.sku_name,
        is_active=row.sku_is_active,
        purchase_limit=row.sku_purchase_limit,
        selected_options=tuple(
            SelectedOption(name, value) for name, value in row.sku_options or ()
        ),
        image_id=row.sku_image_id,
    )


def _attribute(row: Row[Any]) -> AttributeDefinition:
    return AttributeDefinition(
        id=row.id,
        category_id=row.category_id,
        code=row.code,
        name=row.name,
        kind=AttributeKind(row.kind),
        unit=row.unit,
        choices=tuple(row.choices or ()),
        position=row.position,
    )


def _number(value: Decimal | None) -> Decimal | None:
    """A stored number as it was written: "6.1", not the column's "6.1000"."""
    if value is None:
        return None
    return value.normalize() if value != value.to_integral_value() else value.quantize(Decimal(1))


def _attribute_condition(condition: AttributeCondition) -> ColumnElement[bool]:
    """The product has a value of an attribute with this code that meets the condition
    (the code, not the id: a facet spans the categories that define the same code)."""
    value = m.ProductAttributeValue
    checks: list[ColumnElement[bool]] = [
        value.product_id == m.Product.id,
        m.Attribute.code == condition.code,
    ]
    if condition.values:
        checks.append(value.text_value.in_(condition.values))
    if condition.min is not None:
        checks.append(value.number_value >= condition.min)
    if condition.max is not None:
        checks.append(value.number_value <= condition.max)
    if condition.boolean is not None:
        checks.append(value.bool_value.is_(condition.boolean))
    return (
        select(value.product_id)
        .join(m.Attribute, m.Attribute.id == value.attribute_id)
        .where(*checks)
        .exists()
    )


def _in_process(flt: ProductFilter) -> bool:
    """Whether a search page with this filter can be counted in process (facet_table.py):
    a specification condition by values only (a facet's selection), not a range."""
    return all(
        c.values and c.min is None and c.max is None and c.boolean is None for c in flt.attributes
    )


def _product_select() -> Any:
    return select(*_PRODUCT_COLUMNS).outerjoin(m.Brand, m.Brand.id == m.Product.brand_id)


# A product without an active priced SKU cannot be bought: it sorts last by price in
# either direction (the sentinel is part of the cursor key too).
_NO_PRICE_ASC = Decimal("1e12")
_NO_PRICE_DESC = Decimal(-1)
_SORTS: dict[ProductSort, tuple[Any, bool]] = {
    ProductSort.NEWEST: (m.Product.created_at, True),
    # The sentinels are written into the SQL (not bound): the expression then matches the
    # price indexes' (models.PRICE_SORT_ASC/DESC), so a price-sorted page is an index walk.
    ProductSort.PRICE_ASC: (m.PRICE_SORT_ASC, False),
    ProductSort.PRICE_DESC: (m.PRICE_SORT_DESC, True),
    ProductSort.NAME: (m.Product.name, False),
}


# The storefront's and the checkout's batch reads, built once (Database.read): a statement
# object kept between calls keeps its SQLAlchemy cache key, so each call pays neither the
# building nor the key; one statement per method, the keys an expanding bound list.
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_PRODUCTS_BY_IDS = _product_select().where(m.Product.id.in_(_IDS))
_SKUS_BY_IDS = select(m.Sku).where(m.Sku.id.in_(_IDS))
# A cart's SKUs with their products in one statement (cart_catalog): the SKU's columns
# labelled so they do not collide with the product's; an outer join, so a SKU whose
# product is gone still comes back without it, as the two reads answered.
_SKU_LABELLED = tuple(column.label(f"sku_{column.key}") for column in m.Sku.__table__.c)
_SKUS_WITH_PRODUCTS_BY_IDS: Any = (
    select(*_SKU_LABELLED, *_PRODUCT_COLUMNS)
    .select_from(m.Sku)
    .outerjoin(m.Product, m.Product.id == m.Sku.product_id)
    .outerjoin(m.Brand, m.Brand.id == m.Product.brand_id)
    .where(m.Sku.id.in_(_IDS))
)
_SKUS_BY_PRODUCT_IDS = (
    select(m.Sku)
    .where(m.Sku.product_id.in_(_IDS))
    .order_by(m.Sku.product_id, m.Sku.position, m.Sku.id)
)
_WANTED = m.Category.__table__.alias("wanted")
_ANCESTOR = m.Category.__table__.alias("ancestor")
_CATEGORIES_WITH_ANCESTORS = select(*_CATEGORY_COLUMNS).where(
    # A subquery, not DISTINCT over the row: PostgreSQL cannot compare json (translations).
    m.Category.id.in_(
        select(_ANCESTOR.c.id)
        .join(_WANTED, _WANTED.c.path.like(_ANCESTOR.c.path.concat("%")))
        .where(_WANTED.c.id.in_(_IDS))
    )
)

# cart_catalog's SKUs, products and categories in one statement (one round trip): the
# joined SKU rows (part 0) then, UNION ALL, the categories with their ancestors of those
# SKUs' products (part 1), each part's columns NULL in the other's rows (typed NULLs, so
# every column keeps its type's result processor). The categories are chosen in SQL from
# the same SKU ids, so they are those the second read was asked for, bundle parts' aside
# (cart_catalog reads any of those it lacks after).
_CATEGORY_LABELLED = tuple(column.label(f"cat_{column.key}") for column in _CATEGORY_COLUMNS)
_SKU_PART_COLUMNS = (*_SKU_LABELLED, *_PRODUCT_COLUMNS)


def _nulls(columns: Sequence[Any]) -> list[Any]:
    return [cast(null(), column.type).label(column.key) for column in columns]


_CATALOG_WANTED = m.Category.__table__.alias("catalog_wanted")
_CATALOG_ANCESTOR = m.Category.__table__.alias("catalog_ancestor")
_CART_CATALOG_ONE_STATEMENT: Any = union_all(
    _SKUS_WITH_PRODUCTS_BY_IDS.with_only_columns(
        literal(0).label("part"), *_SKU_PART_COLUMNS, *_nulls(_CATEGORY_LABELLED)
    ),
    select(literal(1).label("part"), *_nulls(_SKU_PART_COLUMNS), *_CATEGORY_LABELLED).where(
        m.Category.id.in_(
            select(_CATALOG_ANCESTOR.c.id)
            .join(
                _CATALOG_WANTED,
                _CATALOG_WANTED.c.path.like(_CATALOG_ANCESTOR.c.path.concat("%")),
            )
            .where(
                _CATALOG_WANTED.c.id.in_(
                    select(m.Product.category_id)
                    .join(m.Sku, m.Sku.product_id == m.Product.id)
                    .where(m.Sku.id.in_(_IDS))
                )
            )
        )
    ),
)


def _labelled_category(row: Row[Any]) -> Category:
    """The category of a _CART_CATALOG_ONE_STATEMENT row (its columns prefixed ``cat_``)."""
    return Category(
        id=row.cat_id,
        slug=row.cat_slug,
        name=row.cat_name,
        parent_id=row.cat_parent_id,
        path=tuple(int(part) for part in row.cat_path.split("/") if part),
        translations=translations_from(row.cat_translations),
    )


def _sort_key(product: Product, sort: ProductSort) -> str:
    if sort is ProductSort.NEWEST:
        return product.created_at.isoformat()
    if sort is ProductSort.NAME:
        return product.name
    if product.price_min is not None:
        return str(product.price_min)
    return str(_NO_PRICE_ASC if sort is ProductSort.PRICE_ASC else _NO_PRICE_DESC)


def _parse_key(sort: ProductSort, key: str | None) -> Any:
    if key is None:
        raise InvalidCursor("the cursor is malformed")
    try:
        if sort is ProductSort.NEWEST:
            moment = datetime.fromisoformat(key)
            if moment.tzinfo is None:
                raise ValueError("naive datetime")
            return moment
        if sort is ProductSort.NAME:
            return key
        amount = Decimal(key)
        if not amount.is_finite() or abs(amount) > _NO_PRICE_ASC:
            raise ValueError("amount out of range")
        return amount
    except (ValueError, InvalidOperation) as exc:
        raise InvalidCursor("the cursor is malformed") from exc


def parse_newest_cursor(cursor: str) -> tuple[datetime, int]:
    """A NEWEST-listing cursor's key, or InvalidCursor; callers check before batching."""
    key, last_id = decode_cursor(cursor, ProductSort.NEWEST.value)
    value: datetime = _parse_key(ProductSort.NEWEST, key)
    return value, last_id


async def _bundle_items(conn: Any, product_ids: Sequence[int]) -> dict[int, list[BundleItem]]:
    result: dict[int, list[BundleItem]] = defaultdict(list)
    rows = (
        await conn.execute(
            select(
                m.BundleItem.bundle_product_id,
                m.BundleItem.quantity.label("bundle_quantity"),
                *m.Sku.__table__.c,
            )
            .join(m.Sku, m.Sku.id == m.BundleItem.sku_id)
            .where(m.BundleItem.bundle_product_id.in_(set(product_ids)))
            .order_by(m.BundleItem.bundle_product_id, m.BundleItem.sku_id)
        )
    ).all()
    part_ids = {row.product_id for row in rows}
    parts = {
        row.id: _product(row)
        for row in await conn.execute(_product_select().where(m.Product.id.in_(part_ids)))
    }
    for row in rows:
        result[row.bundle_product_id].append(
            BundleItem(row.bundle_product_id, row.bundle_quantity, _sku(row), parts[row.product_id])
        )
    return {pid: result.get(pid, []) for pid in product_ids}


async def _service_areas(conn: Any, product_ids: Sequence[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = defaultdict(list)
    rows = await conn.execute(
        select(m.ServiceArea)
        .where(m.ServiceArea.product_id.in_(set(product_ids)))
        .order_by(m.ServiceArea.region_code)
    )
    for row in rows:
        result[row.product_id].append(row.region_code)
    return {pid: result.get(pid, []) for pid in product_ids}


@dataclass(frozen=True, slots=True)
class _Where:
    """A filter in SQL: its category's subtree apart, so a listing can page each
    category of it by its own index (``_category_page_ids``)."""

    rest: list[ColumnElement[bool]]
    category_ids: list[int] | None  # the named category and everything under it

    @property
    def conditions(self) -> list[ColumnElement[bool]]:
        if self.category_ids is None:
            return self.rest
        return [*self.rest, m.Product.category_id.in_(self.category_ids)]


def _subtree_ids(named: ColumnElement[bool]) -> Any:
    # A materialised path is ids and slashes only ("1/7/"): no LIKE wildcard to escape.
    wanted = select(m.Category.path).where(named).scalar_subquery()
    return select(m.Category.id).where(m.Category.path.like(wanted.concat("%")))


# A category page with more subcategories than this pages them with one IN list.
_MERGED_CATEGORIES = 64


def _category_page_ids(
    category_ids: Sequence[int],
    conditions: Sequence[ColumnElement[bool]],
    sort: ProductSort,
    limit: int,
) -> Any:
    """The ids of a category page: the first ``limit`` of each category in the subtree,
    each read in order from the category's own listing index (id and sort key only), the
    first ``limit`` of those by the sort; the caller reads just those rows. One ``IN``
    over the subtree leaves the database two bad plans: walk the whole catalog's sort
    index for the category's rows (a category at the far end of a sort, services by
    price, read 95,000 rows for 50), or read the whole subtree and sort it."""
    sort_expr, descending = _SORTS[sort]
    order = _order(sort_expr, m.Product.id, descending)
    if len(category_ids) > _MERGED_CATEGORIES:
        return (
            select(m.Product.id)
            .where(*conditions, m.Product.category_id.in_(category_ids))
            .order_by(*order)
            .limit(limit)
        )
    parts = [
        select(m.Product.id.label("id"), sort_expr.label("sort_key"))
        .where(*conditions, m.Product.category_id == category_id)
        .order_by(*order)
        .limit(limit)
        .subquery()
        for category_id in category_ids
    ]
    if len(parts) == 1:
        return select(parts[0].c.id)
    merged = union_all(*(select(part.c.id, part.c.sort_key) for part in parts)).subquery()
    return (
        select(merged.c.id)
        .order_by(*_order(merged.c.sort_key, merged.c.id, descending))
        .limit(limit)
    )


def _order(key: Any, last: Any, descending: bool) -> tuple[Any, Any]:
    return (key.desc(), last.desc()) if descending else (key.asc(), last.asc())


class CatalogStore(ImportJobs, ProductImports):
    """Batch reads (and, later, writes) over the catalog database."""

    source = "catalog"
    import_job_model = m.ImportJob
    import_row_error_model = m.ImportRowError

    def __init__(self, db: Database, synonyms: SynonymFile | None = None) -> None:
        self.db = db
        # Applied to every query (search/synonyms.py); the shop's shipped groups unless the
        # process names another file (SEARCH_SYNONYMS_FILE).
        self.synonyms = synonyms if synonyms is not None else SynonymFile(DEFAULT_FILE)
        # Every product's search columns, for result pages counted in process.
        self.facet_tables = search.FacetTables(db)

    async def products_by_ids(self, ids: Sequence[int]) -> dict[int, Product]:
        rows = await self.db.read(_PRODUCTS_BY_IDS, {"ids": sorted(set(ids))})
        return {row.id: _product(row) for row in rows}

    async def products_by_slugs(self, slugs: Sequence[str]) -> dict[str, Product]:
        async with self.db.connect() as conn:
            rows = await conn.execute(_product_select().where(m.Product.slug.in_(set(slugs))))
            return {row.slug: _product(row) for row in rows}

    async def skus_by_ids(self, ids: Sequence[int]) -> dict[int, Sku]:
        rows = await self.db.read(_SKUS_BY_IDS, {"ids": sorted(set(ids))})
        return {row.id: _sku(row) for row in rows}

    async def skus_by_codes(self, codes: Sequence[str]) -> dict[str, Sku]:
        """SKUs by their code (what warehouse and price files name them by)."""
        async with self.db.connect() as conn:
            rows = await conn.execute(select(m.Sku).where(m.Sku.code.in_(set(codes))))
            return {row.code: _sku(row) for row in rows}

    async def skus_by_product_ids(self, product_ids: Sequence[int]) -> dict[int, list[Sku]]:
        result: dict[int, list[Sku]] = defaultdict(list)
        for row in await self.db.read(_SKUS_BY_PRODUCT_IDS, {"ids": sorted(set(product_ids))}):
            result[row.product_id].append(_sku(row))
        return {pid: result.get(pid, []) for pid in product_ids}

    async def categories_by_ids(self, ids: Sequence[int]) -> dict[int, Category]:
        """The categories asked for and all their ancestors (a page showing a category
        usually shows its parents; they come in the same round trip)."""
        rows = await self.db.read(_CATEGORIES_WITH_ANCESTORS, {"ids": sorted(set(ids))})
        return {row.id: _category(row) for row in rows}

    async def all_categories(self) -> list[Category]:
        """Every category in tree order: each parent, then its children by position."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(m.Category))).all()
        order = {row.id: (row.position, row.id) for row in rows}
        categories = [_category(row) for row in rows]
        categories.sort(key=lambda c: [order[i] for i in c.path])
        return categories

    async def attributes_by_category_ids(
        self, category_ids: Sequence[int]
    ) -> dict[int, list[AttributeDefinition]]:
        """The attributes that apply to each category: its own and its ancestors', the
        nearest category's first, each category's by position."""
        wanted = m.Category.__table__.alias("wanted")
        owner = m.Category.__table__.alias("owner")
        result: dict[int, list[AttributeDefinition]] = defaultdict(list)
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(wanted.c.id.label("wanted_id"), *m.Attribute.__table__.c)
                .select_from(wanted)
                .join(owner, wanted.c.path.like(owner.c.path.concat("%")))
                .join(m.Attribute, m.Attribute.category_id == owner.c.id)
                .where(wanted.c.id.in_(set(category_ids)))
                .order_by(wanted.c.id, func.length(owner.c.path).desc(), m.Attribute.position)
            )
            for row in rows:
                result[row.wanted_id].append(_attribute(row))
        return {cid: result.get(cid, []) for cid in category_ids}

    async def specifications_by_product_ids(
        self, product_ids: Sequence[int]
    ) -> dict[int, list[Specification]]:
        """Each product's attribute values, in the order its category lists them."""
        result: dict[int, list[Specification]] = defaultdict(list)
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(
                    m.ProductAttributeValue.product_id.label("owner_id"),
                    m.ProductAttributeValue.text_value,
                    m.ProductAttributeValue.number_value,
                    m.ProductAttributeValue.bool_value,
                    *m.Attribute.__table__.c,
                )
                .join(m.Attribute, m.Attribute.id == m.ProductAttributeValue.attribute_id)
                .join(m.Category, m.Category.id == m.Attribute.category_id)
                .where(m.ProductAttributeValue.product_id.in_(set(product_ids)))
                .order_by(  # as the category lists its attributes: the nearest first
                    m.ProductAttributeValue.product_id,
                    func.length(m.Category.path).desc(),
                    m.Attribute.position,
                    m.Attribute.id,
                )
            )
            for row in rows:
                result[row.owner_id].append(
                    Specification(
                        _attribute(row),
                        text=row.text_value,
                        number=_number(row.number_value),
                        boolean=row.bool_value,
                    )
                )
        return {pid: result.get(pid, []) for pid in product_ids}

    async def media_by_product_ids(
        self, product_ids: Sequence[int]
    ) -> dict[int, list[ProductMedia]]:
        """Each product's images in order (one query for a whole listing)."""
        async with self.db.connect() as conn:
            return await media_writes.media_by_product_ids(conn, product_ids)

    async def bundle_items_by_product_ids(
        self, product_ids: Sequence[int]
    ) -> dict[int, list[BundleItem]]:
        async with self.db.connect() as conn:
            return await _bundle_items(conn, product_ids)

    async def suppliers_by_ids(self, ids: Sequence[int]) -> dict[int, Supplier]:
        async with self.db.connect() as conn:
            rows = await conn.execute(select(m.Supplier).where(m.Supplier.id.in_(set(ids))))
            return {row.id: Supplier(row.id, row.name) for row in rows}

    async def service_areas_by_product_ids(
        self, product_ids: Sequence[int]
    ) -> dict[int, list[str]]:
        async with self.db.connect() as conn:
            return await _service_areas(conn, product_ids)

    async def cart_catalog(self, sku_ids: Sequence[int]) -> CartCatalog:
        """One call and one connection for a cart's whole catalog side (see CartCatalog):
        the SKUs with their products and those products' categories (with their ancestors)
        in one statement (_CART_CATALOG_ONE_STATEMENT), then only the reads a product asks
        for (bundle parts when one is a bundle, service areas when one is a service, the
        categories of bundle parts the first statement did not bring). Each statement sees
        what was committed when it ran, as separate calls did; the records are those the
        single-purpose reads make."""
        async with self.db.connect() as conn:
            skus: dict[int, Sku] = {}
            products: dict[int, Product] = {}
            categories: dict[int, Category] = {}
            if sku_ids:
                ids = {"ids": sorted(set(sku_ids))}
                for r in await lean.execute(conn, _CART_CATALOG_ONE_STATEMENT, ids):
                    if r.part:
                        categories[r.cat_id] = _labelled_category(r)
                        continue
                    skus[r.sku_id] = _labelled_sku(r)
                    if r.id is not None and r.id not in products:
                        products[r.id] = _product(r)
            bundle_ids = [p.id for p in products.values() if p.kind is ProductKind.BUNDLE]
            bundles = await _bundle_items(conn, bundle_ids) if bundle_ids else {}
            every = {item.product.id: item.product for items in bundles.values() for item in items}
            every.update(products)
            service_ids = [p.id for p in every.values() if p.kind is ProductKind.SERVICE]
            areas = await _service_areas(conn, service_ids) if service_ids else {}
            # A bundle part's category (or one gone since: it reads as nothing, as before).
            missing = sorted(
                {p.category_id for p in every.values() if p.category_id} - categories.keys()
            )
            if missing:
                for r in await lean.execute(conn, _CATEGORIES_WITH_ANCESTORS, {"ids": missing}):
                    categories[r.id] = _category(r)
        return CartCatalog(skus, products, bundles, areas, categories)

    async def set_published(
        self, *, product_id: int, published: bool, actor: str, now: datetime
    ) -> Product | None:
        """Publish or unpublish; None when the product does not exist. Audited."""
        async with self.db.begin() as conn:
            before = (
                await conn.execute(select(m.Product.is_published).where(m.Product.id == product_id))
            ).scalar_one_or_none()
            if before is None:
                return None
            await conn.execute(
                update(m.Product).where(m.Product.id == product_id).values(is_published=published)
            )
            await write_audit(
                conn,
                m.AuditEntry,
                at=now,
                actor=actor,
                action="product.publish",
                entity_type="product",
                entity_id=product_id,
                before={"published": before},
                after={"published": published},
            )
            row = (await conn.execute(_product_select().where(m.Product.id == product_id))).one()
        return _product(row)

    async def set_published_many(
        self,
        changes: Sequence[PublishChange],
        *,
        actor: str,
        now: datetime,
        atomic: bool = False,
        key: BatchKey | None = None,
    ) -> PublishBatch:
        """Publish or unpublish many products in one transaction (audited, one entry
        each); unknown products are skipped, or with ``atomic`` refuse the whole batch."""

        async def load(conn: Any, ids: Sequence[int]) -> dict[int, Product]:
            rows = await conn.execute(_PRODUCTS_BY_IDS, {"ids": list(set(ids))})
            return {row.id: _product(row) for row in rows}

        return await bulk.set_published_many(
            self.db, changes, actor=actor, now=now, atomic=atomic, key=key, load=load
        )

    async def update_listings(self, updates: Sequence[ListingUpdate]) -> None:
        """Refresh many listing projections at once (see update_listing)."""
        await bulk.update_listings(self.db, updates)

    async def update_listing(
        self,
        product_id: int,
        *,
        price_range: tuple[Decimal, Decimal] | None = None,
        in_stock: bool | None = None,
    ) -> None:
        """Refresh the listing projection after a price or stock change made elsewhere."""
        values: dict[str, Any] = {}
        if price_range is not None:
            values["price_min"], values["price_max"] = price_range
        if in_stock is not None:
            values["in_stock"] = in_stock
        if not values:
            return
        async with self.db.begin() as conn:
            await conn.execute(update(m.Product).where(m.Product.id == product_id).values(**values))

    async def audit_by_product_ids(
        self, product_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]:
        async with self.db.connect() as conn:
            return await read_audit(conn, m.AuditEntry, self.source, "product", product_ids, limit)

    async def list_products(
        self,
        *,
        first: int,
        after: str | None = None,
        filter: ProductFilter = ProductFilter(),
        sort: ProductSort = ProductSort.NEWEST,
        with_total: bool = True,
    ) -> ProductPage:
        """One page of a filtered, sorted listing, in SQL (keyset paging); the total is
        read only when asked for, from the count table when it keys the filter
        (sources/catalog/counts.py) and counted otherwise."""
        sort_expr, descending = _SORTS[sort]
        async with self.db.connect() as conn:
            where = await self._filter_conditions(conn, filter)
            if where is None:
                return ProductPage([], [], False, 0)
            page_conditions = list(where.rest)
            if after is not None:
                key, last_id = decode_cursor(after, sort.value)
                value = _parse_key(sort, key)
                # A row value: the index's range starts at the cursor (an OR of the two
                # cases made the database walk the index from the first page).
                here = tuple_(sort_expr, m.Product.id)
                cursor = tuple_(literal(value, sort_expr.type), literal(last_id))
                page_conditions.append(here < cursor if descending else here > cursor)
            order = _order(sort_expr, m.Product.id, descending)
            page = _product_select().order_by(*order).limit(first + 1)
            if where.category_ids is None:
                page = page.where(*page_conditions)
            else:
                ids = _category_page_ids(where.category_ids, page_conditions, sort, first + 1)
                page = page.where(m.Product.id.in_(ids))
            counted = with_total and counts.answers(filter)
            if counted:
                # The total rides on the page's statement (one round trip, one snapshot);
                # an empty page has no row to carry it and asks for it alone.
                total_column = counts.total_select(filter, where.category_ids).scalar_subquery()
                page = page.add_columns(total_column.label("listing_total"))
            rows = (await conn.execute(page)).all()
            total: int | None = None
            if counted:
                total = (
                    int(rows[0].listing_total)
                    if rows
                    else await counts.total(conn, filter, where.category_ids)
                )
            elif with_total:
                total = (
                    await conn.execute(
                        select(func.count()).select_from(m.Product).where(*where.conditions)
                    )
                ).scalar_one()
        products = [_product(row) for row in rows[:first]]
        cursors = [encode_cursor(sort.value, _sort_key(p, sort), p.id) for p in products]
        return ProductPage(
            products, cursors, len(rows) > first, int(total) if total is not None else None
        )

    async def compact_listing_counts(self) -> int:
        """Fold the count table's rows, one per key (see sources/catalog/counts.py)."""
        async with self.db.begin() as conn:
            folded = await counts.compact(conn)
        if not self.db.is_sqlite:
            # Every count change leaves a dead row version; a server with autovacuum off
            # (or behind) would otherwise have a sum of 55 rows read thousands of them.
            async with self.db.engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.exec_driver_sql("VACUUM product_counts")
        return folded

    async def _filter_conditions(self, conn: Any, flt: ProductFilter) -> _Where | None:
        """SQL conditions for a filter; None when nothing can match (an unknown category)."""
        conditions: list[ColumnElement[bool]] = []
        category_ids: list[int] | None = None
        if not flt.include_unpublished:
            conditions.append(m.Product.is_published.is_(True))
        if flt.category_slug is not None or flt.category_id is not None:
            named = (
                m.Category.slug == flt.category_slug
                if flt.category_slug is not None
                else m.Category.id == flt.category_id
            )
            category_ids = list((await conn.execute(_subtree_ids(named))).scalars())
            if not category_ids:
                return None
        if flt.kind is not None:
            conditions.append(m.Product.kind == flt.kind.value)
        if flt.in_stock is not None:
            conditions.append(m.Product.in_stock.is_(flt.in_stock))
        if flt.search and flt.search.strip():  # blank: no search, as before the engine
            found, _ = await search.match(conn, flt.search, synonyms=self.synonyms.current())
            if found is None:
                return None
            conditions.append(m.Product.id.in_(select(found.unranked.c.product_id)))
        if flt.category_slugs:
            chosen = m.Category.__table__.alias("chosen")
            conditions.append(
                m.Product.category_id.in_(
                    select(m.Category.id)
                    .join(chosen, m.Category.path.like(chosen.c.path.concat("%")))
                    .where(chosen.c.slug.in_(flt.category_slugs))
                )
            )
        if flt.brands:
            conditions.append(
                m.Product.brand_id.in_(select(m.Brand.id).where(m.Brand.name.in_(flt.brands)))
            )
        if flt.price_band is not None:
            band = search.price_band_condition(flt.price_band)
            if band is None:
                return None
            conditions.append(band)
        for condition in flt.attributes:
            conditions.append(_attribute_condition(condition))
        # A product matches a price range when any of its prices falls inside it.
        if flt.min_price is not None:
            conditions.append(m.Product.price_max >= flt.min_price)
        if flt.max_price is not None:
            conditions.append(m.Product.price_min <= flt.max_price)
        return _Where(conditions, category_ids)

    async def search_products(
        self,
        query: str,
        *,
        first: int,
        after: str | None = None,
        filter: ProductFilter = ProductFilter(),
        sort: SearchSort = SearchSort.RELEVANCE,
        with_facets: bool = True,
    ) -> SearchPage:
        """Ranked products matching the query and the filter, with facet counts."""
        offset = search.offset_after(after, sort)
        # "headphones under 300", "便宜 耳机": the price words filter, the rest is matched
        # (a query of price words alone is matched as it is).
        price = search.price_words(query)
        rest = replace(filter, search=None)
        if price.found and search.has_words(price.text):
            query, rest = price.text, search.with_price_bounds(rest, price)
        async with self.db.connect() as conn:
            found, parsed = await search.match(conn, query, synonyms=self.synonyms.current())
            if found is None:
                return SearchPage([], [], False, 0)

            async def conditions(flt: ProductFilter) -> list[ColumnElement[bool]] | None:
                where = await self._filter_conditions(conn, flt)
                return None if where is None else where.conditions

            table = await self.facet_tables.current(conn) if _in_process(rest) else None
            if table is not None:
                page = await self._search_in_process(
                    conn, table, parsed, rest, cheap=price.cheap and price.text == query,
                    first=first, offset=offset, sort=sort, with_facets=with_facets,
                )  # fmt: skip
                if page is not None:
                    return page
            where = await conditions(rest)
            if where is None:
                return SearchPage([], [], False, 0, corrected_query=parsed.corrected_text())
            matched = await search.materialize(conn, parsed, scored=sort is SearchSort.RELEVANCE)
            joined = m.Product.__table__.join(matched, matched.c.product_id == m.Product.id)
            if price.cheap and price.text == query:
                rest = await search.cheaper_half(conn, joined, where, rest)
                where = await conditions(rest)
                if where is None:
                    return SearchPage([], [], False, 0, corrected_query=parsed.corrected_text())
            # Limit first: the page's ids are ranked on the narrow columns, and only its
            # rows are read whole (not every match's description and translations).
            ids = list(
                await conn.scalars(
                    search.covered(
                        select(m.Product.id)
                        .select_from(joined)
                        .where(*where)
                        .order_by(*search.order_for(sort, matched.c.score))
                        .offset(offset)
                        .limit(first + 1)
                    )
                )
            )
            found_rows = (
                (await conn.execute(_product_select().where(m.Product.id.in_(ids)))).all()
                if ids
                else []
            )
            by_id = {row.id: row for row in found_rows}
            rows = [by_id[i] for i in ids if i in by_id]
            facets: tuple[SearchFacet, ...] = ()
            total: int | None = None
            if with_facets:
                facets, total = await search.facets(conn, matched, rest, conditions)
            if total is None:
                total = await conn.scalar(
                    search.covered(select(func.count()).select_from(joined).where(*where))
                )
        products = [_product(row) for row in rows[:first]]
        return SearchPage(
            products,
            search.cursors_for(sort, offset, [p.id for p in products]),
            len(rows) > first,
            int(total or 0),
            facets,
            parsed.corrected_text(),
        )

    async def _search_in_process(
        self,
        conn: Any,
        table: search.FacetTable,
        parsed: Any,
        rest: ProductFilter,
        *,
        cheap: bool,
        first: int,
        offset: int,
        sort: SearchSort,
        with_facets: bool,
    ) -> SearchPage | None:
        """A result page counted and ranked in process over the facet table: one statement
        for the matches and one for the page's rows (after the version's). None when the
        table is behind what the database says (the caller answers from SQL)."""
        corrected = parsed.corrected_text()
        chosen = self._selection(table, rest)
        if chosen is None:
            return SearchPage([], [], False, 0, corrected_query=corrected)
        if chosen is False:
            return None
        ids = await search.matched_ids(conn, parsed, ranked=sort is SearchSort.RELEVANCE)
        try:
            if cheap:
                ceiling = table.cheap_ceiling(ids, chosen)
                if ceiling is not None:
                    rest = search.with_price_bounds(
                        rest, search.PriceWords("", high=Decimal(str(ceiling)))
                    )
                    chosen = replace(chosen, max_price=rest.max_price)
            counted = table.count(
                ids, chosen, sort=sort, limit=offset + first + 1, with_facets=with_facets
            )
        except search.TableBehind:
            return None
        page_ids = counted.ids[offset:]
        rows = (
            (await conn.execute(_product_select().where(m.Product.id.in_(page_ids)))).all()
            if page_ids
            else []
        )
        by_id = {row.id: row for row in rows}
        # The database is the truth for what is published: a row missing, or unpublished
        # where the table said published, means the table is behind (a write since).
        if len(by_id) != len(page_ids) or (
            chosen.published_only and not all(row.is_published for row in rows)
        ):
            return None
        facets: tuple[SearchFacet, ...] = ()
        if with_facets:
            rows, translated = table.named(counted.facets)
            facets = await search.counted_facets(
                conn, rows, translated, counted.specs, table.spec_labels
            )
        products = [_product(by_id[i]) for i in page_ids[:first]]
        self.facet_tables.answered += 1
        return SearchPage(
            products,
            search.cursors_for(sort, offset, [p.id for p in products]),
            len(page_ids) > first,
            counted.total,
            facets,
            corrected,
        )

    def _selection(
        self, table: search.FacetTable, flt: ProductFilter
    ) -> search.Selection | Literal[False] | None:
        """The filter in the facet table's terms: None when nothing can match (an unknown
        category or price band), False when the table cannot answer it (a condition on a
        specification that is not a choice)."""
        subtree: frozenset[int] | None = None
        if flt.category_slug is not None or flt.category_id is not None:
            subtree = (
                table.subtree(slug=flt.category_slug)
                if flt.category_slug is not None
                else table.subtree(id_=flt.category_id)
            )
            if not subtree:
                return None
        categories: frozenset[int] | None = None
        if flt.category_slugs:
            categories = frozenset().union(*(table.subtree(slug=s) for s in flt.category_slugs))
        brands: frozenset[int] | None = None
        if flt.brands:
            brands = frozenset(table.brand_ids[b] for b in flt.brands if b in table.brand_ids)
        if flt.price_band is not None and search.price_band_condition(flt.price_band) is None:
            return None
        if any(c.code not in table.choice_codes for c in flt.attributes):
            return False
        return search.Selection(
            published_only=not flt.include_unpublished,
            subtree=subtree,
            categories=categories,
            brands=brands,
            kind=flt.kind.value if flt.kind is not None else None,
            in_stock=flt.in_stock,
            band=flt.price_band,
            min_price=flt.min_price,
            max_price=flt.max_price,
            attributes=tuple((c.code, frozenset(c.values)) for c in flt.attributes),
            category_facet_selected=flt.category_slug is not None,
        )

    async def predictive_search(self, query: str, *, limit: int) -> SearchSuggestions:
        """Products, categories and words for what the buyer has typed so far (the
        last word may be unfinished: it matches as a prefix)."""
        async with self.db.connect() as conn:
            return await search.suggest(conn, query, limit=limit, product_select=_product_select,
                                        to_product=_product,
                                        synonyms=self.synonyms.current())  # fmt: skip

    async def products_in_categories(
        self, category_ids: Sequence[int], *, first: int, after: str | None = None
    ) -> dict[int, ProductPage]:
        """The newest published products under each category (subcategories included),
        one page per category, for all categories in one query (a window per category)."""
        ids = sorted(set(category_ids))
        parent = m.Category.__table__.alias("parent")
        child = m.Category.__table__.alias("child")
        base = (
            select(parent.c.id.label("owner_id"), *_PRODUCT_COLUMNS)
            .select_from(parent)
            .join(child, child.c.path.like(parent.c.path.concat("%")))
            .join(m.Product, m.Product.category_id == child.c.id)
            .outerjoin(m.Brand, m.Brand.id == m.Product.brand_id)
            .where(parent.c.id.in_(ids), m.Product.is_published.is_(True))
        )
        if after is not None:
            value, last_id = parse_newest_cursor(after)
            base = base.where(
                or_(
                    m.Product.created_at < value,
                    and_(m.Product.created_at == value, m.Product.id < last_id),
                )
            )
        ranked = base.add_columns(
            func.row_number()
            .over(
                partition_by=parent.c.id,
                order_by=(m.Product.created_at.desc(), m.Product.id.desc()),
            )
            .label("rank")
        ).subquery()
        page_query = (
            select(ranked)
            .where(ranked.c.rank <= first + 1)
            .order_by(ranked.c.owner_id, ranked.c.rank)
        )
        count_query = (
            select(parent.c.id, func.count(m.Product.id))
            .select_from(parent)
            .join(child, child.c.path.like(parent.c.path.concat("%")))
            .join(m.Product, m.Product.category_id == child.c.id)
            .where(parent.c.id.in_(ids), m.Product.is_published.is_(True))
            .group_by(parent.c.id)
        )
        grouped: dict[int, list[Product]] = defaultdict(list)
        async with self.db.connect() as conn:
            for row in await conn.execute(page_query):
                grouped[row.owner_id].append(_product(row))
            totals = {cid: int(n) for cid, n in await conn.execute(count_query)}
        pages: dict[int, ProductPage] = {}
        for cid in category_ids:
            rows = grouped.get(cid, [])
            products = rows[:first]
            pages[cid] = ProductPage(
                products=products,
                cursors=[
                    encode_cursor(ProductSort.NEWEST.value, p.created_at.isoformat(), p.id)
                    for p in products
                ],
                has_next_page=len(rows) > first,
                total_count=totals.get(cid, 0),
            )
        return pages

    # -----------------------------------------------------------------------------------
    # Back-office writes (sources/catalog/manage.py): one transaction each, audited.

    async def create_product(
        self,
        fields: ProductFields,
        *,
        currency: str,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> CatalogWrite:
        """A new product (unpublished unless asked); once per idempotency key."""
        return await manage.run_write(
            self.db,
            lambda conn: manage.create_product(
                conn, fields, currency=currency, actor=actor, now=now
            ),
            key=key,
            now=now,
        )

    async def update_product(
        self, product_id: int, fields: ProductFields, *, actor: str, now: datetime
    ) -> CatalogWrite:
        return await manage.run_write(
            self.db,
            lambda conn: manage.update_product(conn, product_id, fields, actor=actor, now=now),
            now=now,
        )

    async def archive_product(self, product_id: int, *, actor: str, now: datetime) -> CatalogWrite:
        """Unpublished for good; never deleted (orders, carts and after-sales name it)."""
        return await manage.run_write(
            self.db,
            lambda conn: manage.archive_product(conn, product_id, actor=actor, now=now),
            now=now,
        )

    async def create_sku(
        self,
        product_id: int,
        fields: SkuFields,
        *,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> CatalogWrite:
        return await manage.run_write(
            self.db,
            lambda conn: manage.create_sku(conn, product_id, fields, actor=actor, now=now),
            key=key,
            now=now,
            taken=CatalogRefusal.CODE_TAKEN,
        )

    async def update_sku(
        self, sku_id: int, fields: SkuFields, *, actor: str, now: datetime
    ) -> CatalogWrite:
        return await manage.run_write(
            self.db,
            lambda conn: manage.update_sku(conn, sku_id, fields, actor=actor, now=now),
            now=now,
            taken=CatalogRefusal.CODE_TAKEN,
        )

    async def create_category(
        self,
        fields: CategoryFields,
        *,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> CatalogWrite:
        return await manage.run_write(
            self.db,
            lambda conn: manage.create_category(conn, fields, actor=actor, now=now),
            key=key,
            now=now,
        )

    async def update_category(
        self, category_id: int, fields: CategoryFields, *, actor: str, now: datetime
    ) -> CatalogWrite:
        return await manage.run_write(
            self.db,
            lambda conn: manage.update_category(conn, category_id, fields, actor=actor, now=now),
            now=now,
        )

    async def move_category(
        self,
        category_id: int,
        parent_id: int | None,
        position: int | None,
        *,
        actor: str,
        now: datetime,
    ) -> CatalogWrite:
        """Under another parent with its subtree; never under itself or a descendant."""
        return await manage.run_write(
            self.db,
            lambda conn: manage.move_category(
                conn, category_id, parent_id, position, actor=actor, now=now
            ),
            now=now,
        )

    async def define_attribute(
        self, fields: AttributeFields, *, actor: str, now: datetime, key: BatchKey | None = None
    ) -> CatalogWrite:
        """Create or change a category's attribute (by its code), once per key."""
        return await manage.run_write(
            self.db,
            lambda conn: manage.define_attribute(conn, fields, actor=actor, now=now),
            key=key,
            now=now,
            taken=CatalogRefusal.CODE_TAKEN,
        )

    async def create_supplier(
        self, name: str, *, actor: str, now: datetime, key: BatchKey | None = None
    ) -> CatalogWrite:
        return await manage.run_write(
            self.db,
            lambda conn: manage.create_supplier(conn, name, actor=actor, now=now),
            key=key,
            now=now,
            taken=CatalogRefusal.NAME_TAKEN,
        )

    async def add_media(
        self,
        product_id: int,
        fields: MediaFields,
        *,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> MediaWrite:
        """Attach a stored image (last in order); once per idempotency key."""
        write = await manage.run_write(
            self.db,
            lambda conn: media_writes.add_media(conn, product_id, fields, actor=actor, now=now),
            key=key,
            now=now,
        )
        return MediaWrite(write.id, write.refusal, write.detail, write.replayed)

    async def reorder_media(
        self, product_id: int, media_ids: Sequence[int], *, actor: str, now: datetime
    ) -> MediaWrite:
        """Put the product's images in this order (every one named once)."""
        write = await manage.run_write(
            self.db,
            lambda conn: media_writes.reorder_media(
                conn, product_id, media_ids, actor=actor, now=now
            ),
            now=now,
        )
        return MediaWrite(write.id, write.refusal, write.detail)

    async def remove_media(
        self, product_id: int, media_id: int, *, actor: str, now: datetime
    ) -> MediaWrite:
        """Detach an image; ``storage_key`` says which bytes storage may drop."""
        removed: list[str] = []

        async def remove(conn: Any) -> int:
            removed.append(
                await media_writes.remove_media(conn, product_id, media_id, actor=actor, now=now)
            )
            return media_id

        write = await manage.run_write(self.db, remove, now=now)
        return MediaWrite(
            write.id, write.refusal, write.detail, storage_key=removed[0] if removed else None
        )
