"""Back-office catalog mutations: read the input into the catalog's field records, hand
them to gateway/backoffice/catalog_manage.py, read the result back for the payload."""

from collections.abc import Sequence
from typing import Annotated, Any

import strawberry

from sources.catalog.records import (
    AttributeFields,
    CategoryFields,
    Dimensions,
    ProductFields,
    ProductOption,
    SelectedOption,
    SkuFields,
    SpecificationValue,
)

from ..backoffice import catalog_manage as manage
from ..errors import Problem, UserErrorCode
from ..schema.backoffice import ProductPayload, SkuPayload
from ..schema.catalog import Category, Product, Sku, Supplier
from ..schema.catalog_details import AttributeDefinition
from ..schema.catalog_manage import (
    AttributeDefineInput,
    AttributePayload,
    CategoryInput,
    CategoryPayload,
    ProductInput,
    SkuInput,
    SupplierPayload,
)
from ..schema.common import Info
from ..schema.errors import user_errors
from ..schema.node import encode_id
from .backoffice import _actor, _pk

# An id that is not one of ours names nothing: the catalog answers "not found" for it.
_NOWHERE = -1


def _given(value: Any) -> bool:
    return value is not strawberry.UNSET


def _ref(value: Any, type_name: str) -> int | None:
    if not _given(value) or value is None:
        return None
    pk = _pk(value, type_name)
    return pk if pk is not None else _NOWHERE


def _product_fields(data: ProductInput, offered: Sequence[str] = ()) -> ProductFields:
    def get(name: str) -> Any:
        value = getattr(data, name)
        return value if _given(value) else None

    clear = tuple(
        field
        for field, value in (
            ("seo_title", data.seo_title),
            ("seo_description", data.seo_description),
            ("weight_grams", data.weight_grams),
            ("dimensions", data.dimensions),
            ("supplier_id", data.supplier_id),
            ("brand", data.brand),
        )
        if _given(value) and value is None
    )
    dims = get("dimensions")
    return ProductFields(
        name=get("name"),
        slug=get("slug"),
        description=get("description"),
        kind=get("kind"),
        fulfillment=get("fulfillment"),
        category_id=_ref(data.category_id, "Category"),
        brand=get("brand"),
        supplier_id=_ref(data.supplier_id, "Supplier"),
        options=tuple(ProductOption(o.name, tuple(o.values)) for o in data.options)
        if _given(data.options) and data.options is not None
        else None,
        tags=tuple(dict.fromkeys(data.tags))
        if _given(data.tags) and data.tags is not None
        else None,
        seo_title=get("seo_title"),
        seo_description=get("seo_description"),
        weight_grams=get("weight_grams"),
        dimensions=Dimensions(dims.length_mm, dims.width_mm, dims.height_mm) if dims else None,
        specifications=tuple(
            SpecificationValue(
                _ref(s.attribute_id, "AttributeDefinition") or _NOWHERE, s.text, s.number, s.boolean
            )
            for s in data.specifications
        )
        if _given(data.specifications) and data.specifications is not None
        else None,
        is_published=get("published"),
        reserve_on_add=get("reserve_on_add"),
        clear=clear,
        translations=_translations(data, offered),
    )


def _translations(data: ProductInput, offered: Sequence[str]) -> dict[str, dict[str, str]] | None:
    """As the catalog stores them; a tag in another case is the shop's own (zh-cn: zh-CN)."""
    if not _given(data.translations):
        return None
    canonical = {language.lower(): language for language in offered}
    stored: dict[str, dict[str, str]] = {}
    for t in data.translations or ():
        text = {"name": t.name}
        if t.description is not None:
            text["description"] = t.description
        stored[canonical.get(t.language.strip().lower(), t.language.strip())] = text
    return stored


def _repeated_languages(data: ProductInput) -> ProductPayload | None:
    """A language given twice: which of the two is meant cannot be guessed."""
    if not _given(data.translations) or not data.translations:
        return None
    seen: set[str] = set()
    for n, t in enumerate(data.translations):
        tag = t.language.strip().lower()
        if tag in seen:
            problem = Problem(
                UserErrorCode.INVALID_INPUT,
                f"the language {t.language!r} is given twice",
                ("input", "translations", str(n), "language"),
            )
            return ProductPayload(product=None, replayed=False, user_errors=user_errors([problem]))
        seen.add(tag)
    return None


def _sku_fields(data: SkuInput) -> SkuFields:
    def get(name: str) -> Any:
        value = getattr(data, name)
        return value if _given(value) else None

    picks = get("selected_options")
    return SkuFields(
        name=get("name"),
        code=get("code"),
        is_active=get("active"),
        purchase_limit=get("purchase_limit"),
        selected_options=tuple(SelectedOption(p.name, p.value) for p in picks)
        if picks is not None
        else None,
        clear=("purchase_limit",)
        if _given(data.purchase_limit) and data.purchase_limit is None
        else (),
    )


async def _product_payload(info: Info, outcome: manage.Outcome) -> ProductPayload:
    product = None
    if outcome.id is not None:
        loader = info.context.loaders.catalog.product
        loader.clear(outcome.id)
        record = await loader.load(outcome.id)
        product = Product.from_record(record) if record else None
    return ProductPayload(
        product=product, replayed=outcome.replayed, user_errors=user_errors(outcome.problems)
    )


async def product_create(
    info: Info,
    input: Annotated[ProductInput, strawberry.argument(description="The new product's fields.")],
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description="A key the client makes up; a retry with it returns the same product."
        ),
    ] = None,
) -> ProductPayload:
    ctx = info.context
    repeated = _repeated_languages(input)
    if repeated is not None:
        return repeated
    outcome = await manage.create_product(
        ctx.sources,
        _product_fields(input, ctx.settings.languages.offered),
        idempotency_key=idempotency_key,
        currency=ctx.settings.currency,
        actor=_actor(info),
        now=ctx.now,
    )
    return await _product_payload(info, outcome)


async def product_update(
    info: Info,
    product_id: Annotated[
        strawberry.ID, strawberry.argument(description="The product's id (Product.id).")
    ],
    input: Annotated[
        ProductInput,
        strawberry.argument(description="The fields to change; those left out stay as they are."),
    ],
) -> ProductPayload:
    ctx = info.context
    repeated = _repeated_languages(input)
    if repeated is not None:
        return repeated
    outcome = await manage.update_product(
        ctx.sources,
        _pk(product_id, "Product"),
        _product_fields(input, ctx.settings.languages.offered),
        actor=_actor(info),
        now=ctx.now,
    )
    ctx.loaders.catalog.specifications.clear(outcome.id or 0)
    return await _product_payload(info, outcome)


async def product_archive(
    info: Info,
    product_id: Annotated[
        strawberry.ID, strawberry.argument(description="The product's id (Product.id).")
    ],
) -> ProductPayload:
    ctx = info.context
    outcome = await manage.archive_product(
        ctx.sources, _pk(product_id, "Product"), actor=_actor(info), now=ctx.now
    )
    return await _product_payload(info, outcome)


async def _sku_payload(info: Info, outcome: manage.Outcome) -> SkuPayload:
    sku = None
    if outcome.id is not None:
        loaders = info.context.loaders
        for loader in (loaders.catalog.sku, loaders.pricing.price, loaders.inventory.stock):
            loader.clear(outcome.id)
        record = await loaders.catalog.sku.load(outcome.id)
        if record is not None:
            loaders.catalog.product.clear(record.product_id)
            loaders.catalog.skus_by_product.clear(record.product_id)
            sku = Sku.from_record(record)
    return SkuPayload(sku=sku, replayed=outcome.replayed, user_errors=user_errors(outcome.problems))


async def sku_create(
    info: Info,
    product_id: Annotated[
        strawberry.ID,
        strawberry.argument(description="The product the SKU belongs to (Product.id)."),
    ],
    input: Annotated[SkuInput, strawberry.argument(description="The new SKU's fields.")],
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description="A key the client makes up; a retry with it returns the same SKU."
        ),
    ] = None,
) -> SkuPayload:
    ctx = info.context
    price = input.price if _given(input.price) and input.price is not None else None
    outcome = await manage.create_sku(
        ctx.sources,
        _pk(product_id, "Product"),
        _sku_fields(input),
        (price.list, price.sale) if price else None,
        idempotency_key=idempotency_key,
        currency=ctx.settings.currency,
        actor=_actor(info),
        now=ctx.now,
    )
    return await _sku_payload(info, outcome)


async def sku_update(
    info: Info,
    sku_id: Annotated[strawberry.ID, strawberry.argument(description="The SKU's id (Sku.id).")],
    input: Annotated[
        SkuInput,
        strawberry.argument(description="The fields to change; those left out stay as they are."),
    ],
) -> SkuPayload:
    ctx = info.context
    outcome = await manage.update_sku(
        ctx.sources,
        _pk(sku_id, "Sku"),
        _sku_fields(input),
        currency=ctx.settings.currency,
        actor=_actor(info),
        now=ctx.now,
    )
    return await _sku_payload(info, outcome)


def _category_fields(data: CategoryInput) -> CategoryFields:
    def get(name: str) -> Any:
        value = getattr(data, name)
        return value if _given(value) else None

    return CategoryFields(
        name=get("name"),
        slug=get("slug"),
        parent_id=_ref(data.parent_id, "Category"),
        position=get("position"),
    )


async def _category_payload(info: Info, outcome: manage.Outcome) -> CategoryPayload:
    category = None
    if outcome.id is not None:
        found = (await info.context.sources.catalog.categories_by_ids([outcome.id])).get(outcome.id)
        category = Category.from_record(found) if found else None
    return CategoryPayload(
        category=category, replayed=outcome.replayed, user_errors=user_errors(outcome.problems)
    )


async def category_create(
    info: Info,
    input: Annotated[CategoryInput, strawberry.argument(description="The new category's fields.")],
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description=("A key the client makes up; a retry with it returns the same category.")
        ),
    ] = None,
) -> CategoryPayload:
    ctx = info.context
    outcome = await manage.create_category(
        ctx.sources,
        _category_fields(input),
        idempotency_key=idempotency_key,
        actor=_actor(info),
        now=ctx.now,
    )
    return await _category_payload(info, outcome)


async def category_update(
    info: Info,
    category_id: Annotated[
        strawberry.ID, strawberry.argument(description="The category's id (Category.id).")
    ],
    input: Annotated[CategoryInput, strawberry.argument(description="The fields to change.")],
) -> CategoryPayload:
    ctx = info.context
    outcome = await manage.update_category(
        ctx.sources,
        _pk(category_id, "Category"),
        _category_fields(input),
        actor=_actor(info),
        now=ctx.now,
    )
    return await _category_payload(info, outcome)


async def category_move(
    info: Info,
    category_id: Annotated[
        strawberry.ID, strawberry.argument(description="The category to move (Category.id).")
    ],
    parent_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(description="Its new parent (Category.id); null moves it to the top."),
    ] = None,
    position: Annotated[
        int | None,
        strawberry.argument(
            description="Its place among its new siblings, from 0; last when omitted."
        ),
    ] = None,
) -> CategoryPayload:
    ctx = info.context
    outcome = await manage.move_category(
        ctx.sources,
        _pk(category_id, "Category"),
        _pk(parent_id, "Category") if parent_id is not None else None,
        parent_id is not None,
        position,
        actor=_actor(info),
        now=ctx.now,
    )
    return await _category_payload(info, outcome)


async def attribute_define(
    info: Info,
    input: Annotated[
        AttributeDefineInput,
        strawberry.argument(description="The attribute: its category, code, kind and names."),
    ],
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description=(
                "A key the client makes up; a retry with it returns the same attribute and"
                " writes nothing again."
            )
        ),
    ] = None,
) -> AttributePayload:
    ctx = info.context
    category_id = _pk(input.category_id, "Category")
    fields = (
        AttributeFields(
            category_id=category_id,
            code=input.code,
            name=input.name,
            kind=input.kind,
            unit=input.unit,
            choices=tuple(input.choices or ()),
            position=input.position,
        )
        if category_id is not None
        else None
    )
    outcome = await manage.define_attribute(
        ctx.sources, fields, idempotency_key=idempotency_key, actor=_actor(info), now=ctx.now
    )
    attribute = None
    if outcome.id is not None and category_id is not None:
        found = await ctx.sources.catalog.attributes_by_category_ids([category_id])
        record = next((a for a in found[category_id] if a.id == outcome.id), None)
        attribute = AttributeDefinition.from_record(record) if record else None
    return AttributePayload(
        attribute=attribute, replayed=outcome.replayed, user_errors=user_errors(outcome.problems)
    )


async def supplier_create(
    info: Info,
    name: Annotated[
        str,
        strawberry.argument(
            description="The supplier's name, unique in the shop (else NAME_TAKEN)."
        ),
    ],
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description=("A key the client makes up; a retry with it returns the same supplier.")
        ),
    ] = None,
) -> SupplierPayload:
    ctx = info.context
    outcome = await manage.create_supplier(
        ctx.sources, name, idempotency_key=idempotency_key, actor=_actor(info), now=ctx.now
    )
    supplier = None
    if outcome.id is not None:
        found = (await ctx.sources.catalog.suppliers_by_ids([outcome.id])).get(outcome.id)
        if found is not None:
            supplier = Supplier(id=encode_id("Supplier", found.id), name=found.name)
    return SupplierPayload(
        supplier=supplier, replayed=outcome.replayed, user_errors=user_errors(outcome.problems)
    )
