"""Managing the catalog: the rules of each field (every problem on its own field, all of
them at once), the audited write in the catalog source (which checks what needs its
database: slugs, references, cycles, options), then the cached copies it made stale
are dropped in every gateway process."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sources.catalog.records import (
    AttributeFields,
    AttributeKind,
    CatalogRefusal,
    CatalogWrite,
    CategoryFields,
    ProductFields,
    SkuFields,
)
from sources.common.batches import BatchKey
from sources.common.idempotency import fingerprint

from ..cache import invalidation
from ..cache.keys import LISTING_KINDS, Kind
from ..errors import Problem, UserErrorCode
from ..i18n.settings import LANGUAGE_TAG
from ..sources import Sources
from .catalog_writes import key_problems, price_problems
from .listing import refresh_product_listing

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
MAX_OPTIONS = 3  # as Shopify: a product page stays choosable
MAX_OPTION_VALUES = 100
MAX_TAGS = 50
MAX_SPECIFICATIONS = 100
MAX_GRAMS = 10_000_000
MAX_MM = 100_000
MAX_NUMBER = Decimal("1e14")
MAX_TRANSLATIONS = 20
LANGUAGE = re.compile(LANGUAGE_TAG)


@dataclass(frozen=True, slots=True)
class Outcome:
    problems: list[Problem]
    id: int | None = None
    replayed: bool = False


def _invalid(message: str, *field: str) -> Problem:
    return Problem(UserErrorCode.INVALID_INPUT, message, ("input", *field))


def _text(value: str | None, name: str, *, low: int, high: int) -> list[Problem]:
    if value is None:
        return []
    if "\x00" in value or not low <= len(value.strip()) <= high:
        return [_invalid(f"{name} must be {low} to {high} characters of text", name)]
    return []


def slugify(name: str) -> str:
    return _NOT_SLUG.sub("-", name.lower()).strip("-")[:200]


def product_problems(fields: ProductFields, *, creating: bool) -> list[Problem]:
    """Every rule of a product's fields the gateway can check without the catalog."""
    problems = _text(fields.name, "name", low=1, high=300)
    if creating and fields.name is None:
        problems.append(_invalid("a name is required", "name"))
    if fields.slug is not None and (len(fields.slug) > 200 or not SLUG.match(fields.slug)):
        problems.append(_invalid("slug must be lowercase words joined by hyphens", "slug"))
    problems += _text(fields.description, "description", low=0, high=20_000)
    problems += _text(fields.brand, "brand", low=1, high=200)
    problems += _text(fields.seo_title, "seoTitle", low=1, high=200)
    problems += _text(fields.seo_description, "seoDescription", low=1, high=500)
    problems += _option_problems(fields)
    if fields.tags is not None:
        if len(fields.tags) > MAX_TAGS:
            problems.append(_invalid(f"at most {MAX_TAGS} tags", "tags"))
        for tag in fields.tags:
            problems += _text(tag, "tags", low=1, high=100)
    if fields.weight_grams is not None and not 0 < fields.weight_grams <= MAX_GRAMS:
        problems.append(_invalid(f"weightGrams must be 1 to {MAX_GRAMS}", "weightGrams"))
    d = fields.dimensions
    if d is not None and not all(0 < x <= MAX_MM for x in (d.length_mm, d.width_mm, d.height_mm)):
        problems.append(_invalid(f"each dimension must be 1 to {MAX_MM} mm", "dimensions"))
    for n, spec in enumerate(fields.specifications or ()):
        if spec.number is not None and (
            not spec.number.is_finite()
            or abs(spec.number) >= MAX_NUMBER
            or spec.number.as_tuple().exponent < -4  # type: ignore[operator]
        ):
            problems.append(
                _invalid("a number with at most 4 decimals", "specifications", str(n), "number")
            )
        problems += [
            _invalid(p.message, "specifications", str(n), "text")
            for p in _text(spec.text, "text", low=1, high=500)
        ]
    if len(fields.specifications or ()) > MAX_SPECIFICATIONS:
        problems.append(_invalid(f"at most {MAX_SPECIFICATIONS}", "specifications"))
    return problems + _translation_problems(fields)


def _translation_problems(fields: ProductFields) -> list[Problem]:
    if fields.translations is None:
        return []
    if len(fields.translations) > MAX_TRANSLATIONS:
        return [_invalid(f"at most {MAX_TRANSLATIONS} languages", "translations")]
    problems: list[Problem] = []
    for n, (language, text) in enumerate(fields.translations.items()):
        at = ("translations", str(n))
        if not LANGUAGE.match(language):
            problems.append(_invalid("language must be a tag such as zh-CN or en", *at, "language"))
        problems += [
            _invalid(p.message, *at, "name")
            for p in _text(text.get("name"), "name", low=1, high=300)
        ]
        problems += [
            _invalid(p.message, *at, "description")
            for p in _text(text.get("description"), "description", low=0, high=20_000)
        ]
    return problems


def _option_problems(fields: ProductFields) -> list[Problem]:
    if fields.options is None:
        return []
    problems: list[Problem] = []
    if len(fields.options) > MAX_OPTIONS:
        problems.append(_invalid(f"at most {MAX_OPTIONS} options", "options"))
    if len({o.name for o in fields.options}) != len(fields.options):
        problems.append(_invalid("option names must differ", "options"))
    for n, option in enumerate(fields.options):
        if _text(option.name, "name", low=1, high=100):
            problems.append(_invalid("an option's name is 1 to 100 characters", "options", str(n)))
        values = option.values
        if not 0 < len(values) <= MAX_OPTION_VALUES or len(set(values)) != len(values):
            problems.append(
                _invalid(
                    f"an option has 1 to {MAX_OPTION_VALUES} different values",
                    "options",
                    str(n),
                    "values",
                )
            )
        elif any(_text(v, "value", low=1, high=100) for v in values):
            problems.append(_invalid("a value is 1 to 100 characters", "options", str(n), "values"))
    return problems


def sku_problems(
    fields: SkuFields, *, creating: bool, price: tuple[Decimal, Decimal] | None
) -> list[Problem]:
    problems = _text(fields.name, "name", low=1, high=300)
    if creating and fields.name is None:
        problems.append(_invalid("a name is required", "name"))
    if fields.code is not None and (len(fields.code) > 64 or not CODE.match(fields.code)):
        problems.append(_invalid("code is up to 64 letters, digits, '.', '_' or '-'", "code"))
    if creating and fields.code is None:
        problems.append(_invalid("a code is required", "code"))
    if fields.purchase_limit is not None and not 0 < fields.purchase_limit <= 10_000:
        problems.append(_invalid("purchaseLimit must be 1 to 10000", "purchaseLimit"))
    if creating:
        if price is None:
            problems.append(_invalid("a new SKU needs its price", "price"))
        else:
            problems += [
                Problem(p.code, p.message, ("input", "price", *(p.field or ())))
                for p in price_problems(*price)
            ]
    return problems


_REFUSALS: dict[CatalogRefusal, tuple[UserErrorCode, tuple[str, ...]]] = {
    CatalogRefusal.SLUG_TAKEN: (UserErrorCode.SLUG_TAKEN, ("input", "slug")),
    CatalogRefusal.CODE_TAKEN: (UserErrorCode.CODE_TAKEN, ("input", "code")),
    CatalogRefusal.NAME_TAKEN: (UserErrorCode.NAME_TAKEN, ("input", "name")),
    CatalogRefusal.CATEGORY_NOT_FOUND: (UserErrorCode.CATEGORY_NOT_FOUND, ("input", "categoryId")),
    CatalogRefusal.SUPPLIER_NOT_FOUND: (UserErrorCode.SUPPLIER_NOT_FOUND, ("input", "supplierId")),
    CatalogRefusal.CATEGORY_CYCLE: (UserErrorCode.CATEGORY_CYCLE, ("parentId",)),
    CatalogRefusal.OPTIONS_INVALID: (UserErrorCode.OPTIONS_INVALID, ("input", "selectedOptions")),
    CatalogRefusal.OPTIONS_TAKEN: (UserErrorCode.OPTIONS_TAKEN, ("input", "selectedOptions")),
    CatalogRefusal.OPTIONS_IN_USE: (UserErrorCode.OPTIONS_IN_USE, ("input", "options")),
    CatalogRefusal.ATTRIBUTE_INVALID: (
        UserErrorCode.ATTRIBUTE_INVALID,
        ("input", "specifications"),
    ),
    CatalogRefusal.ARCHIVED: (UserErrorCode.PRODUCT_ARCHIVED, ("productId",)),
    CatalogRefusal.KEY_REUSED: (UserErrorCode.IDEMPOTENCY_KEY_REUSED, ("idempotencyKey",)),
}


def _refusal_problem(
    write: CatalogWrite, not_found: tuple[UserErrorCode, tuple[str, ...]]
) -> Problem:
    assert write.refusal is not None
    code, field = (
        not_found if write.refusal is CatalogRefusal.NOT_FOUND else _REFUSALS[write.refusal]
    )
    if write.refusal is CatalogRefusal.KEY_REUSED:
        return Problem(code, "this idempotency key was used with other arguments", field)
    return Problem(code, write.detail or write.refusal.value.lower().replace("_", " "), field)


def refusal_problem(write: CatalogWrite) -> Problem:
    """What a catalog refusal of a product write means to staff (an import reports it on
    the row at fault)."""
    return _refusal_problem(write, PRODUCT_NOT_FOUND)


def _outcome(write: CatalogWrite, not_found: tuple[UserErrorCode, tuple[str, ...]]) -> Outcome:
    if write.refusal is not None:
        return Outcome([_refusal_problem(write, not_found)])
    return Outcome([], id=write.id, replayed=write.replayed)


def batch_key(idempotency_key: str | None, action: str, arguments: object) -> BatchKey | None:
    if idempotency_key is None:
        return None
    return BatchKey(
        f"{action}:{idempotency_key}", fingerprint({"action": action, "arguments": arguments})
    )


PRODUCT_NOT_FOUND = (UserErrorCode.PRODUCT_NOT_FOUND, ("productId",))
SKU_NOT_FOUND = (UserErrorCode.SKU_NOT_FOUND, ("skuId",))
CATEGORY_NOT_FOUND = (UserErrorCode.CATEGORY_NOT_FOUND, ("categoryId",))


async def product_changed(sources: Sources, product_id: int, *slugs: str | None) -> None:
    entities: list[tuple[Kind, object]] = [
        (Kind.PRODUCT, product_id),
        (Kind.PRODUCT_SKUS, product_id),
        (Kind.SPECIFICATIONS, product_id),
        *((Kind.PRODUCT_SLUG, s) for s in slugs if s),
    ]
    await invalidation.invalidate(sources, entities, LISTING_KINDS)


async def create_product(
    sources: Sources,
    fields: ProductFields,
    *,
    idempotency_key: str | None,
    currency: str,
    actor: str,
    now: datetime,
) -> Outcome:
    problems = product_problems(fields, creating=True) + key_problems(idempotency_key)
    if not problems and fields.slug is None and not slugify(fields.name or ""):
        problems.append(_invalid("this name makes no slug: give one", "slug"))
    if problems:
        return Outcome(problems)
    assert fields.name is not None
    if fields.slug is None:
        fields = _with_slug(fields, slugify(fields.name))
    write = await sources.catalog.create_product(
        fields,
        currency=currency,
        actor=actor,
        now=now,
        key=batch_key(idempotency_key, "productCreate", fields),
    )
    outcome = _outcome(write, PRODUCT_NOT_FOUND)
    if outcome.id is not None:
        await product_changed(sources, outcome.id, fields.slug)
    return outcome


def _with_slug(fields: ProductFields, slug: str) -> ProductFields:
    return replace(fields, slug=slug)


async def update_product(
    sources: Sources, product_id: int | None, fields: ProductFields, *, actor: str, now: datetime
) -> Outcome:
    problems = product_problems(fields, creating=False)
    if product_id is None:
        problems.insert(0, Problem(*PRODUCT_NOT_FOUND[:1], "no such product", PRODUCT_NOT_FOUND[1]))
    if problems:
        return Outcome(problems)
    assert product_id is not None
    before = (await sources.catalog.products_by_ids([product_id])).get(product_id)
    outcome = _outcome(
        await sources.catalog.update_product(product_id, fields, actor=actor, now=now),
        PRODUCT_NOT_FOUND,
    )
    if outcome.id is not None:
        await product_changed(sources, product_id, before.slug if before else None, fields.slug)
    return outcome


async def archive_product(
    sources: Sources, product_id: int | None, *, actor: str, now: datetime
) -> Outcome:
    if product_id is None:
        return Outcome([Problem(PRODUCT_NOT_FOUND[0], "no such product", PRODUCT_NOT_FOUND[1])])
    outcome = _outcome(
        await sources.catalog.archive_product(product_id, actor=actor, now=now), PRODUCT_NOT_FOUND
    )
    if outcome.id is not None:
        product = (await sources.catalog.products_by_ids([product_id])).get(product_id)
        await product_changed(sources, product_id, product.slug if product else None)
    return outcome


async def sku_changed(sources: Sources, sku_id: int, product_id: int) -> None:
    await invalidation.invalidate(
        sources,
        [(Kind.SKU, sku_id), (Kind.PRODUCT_SKUS, product_id), (Kind.PRODUCT, product_id)],
        LISTING_KINDS,
    )


async def create_sku(
    sources: Sources,
    product_id: int | None,
    fields: SkuFields,
    price: tuple[Decimal, Decimal] | None,
    *,
    idempotency_key: str | None,
    currency: str,
    actor: str,
    now: datetime,
) -> Outcome:
    """A SKU is created with its price: a SKU without one could be listed but not sold."""
    problems = sku_problems(fields, creating=True, price=price) + key_problems(idempotency_key)
    if product_id is None:
        problems.insert(0, Problem(PRODUCT_NOT_FOUND[0], "no such product", PRODUCT_NOT_FOUND[1]))
    if problems:
        return Outcome(problems)
    assert product_id is not None and price is not None
    write = await sources.catalog.create_sku(
        product_id,
        fields,
        actor=actor,
        now=now,
        key=batch_key(idempotency_key, "skuCreate", [product_id, fields, price]),
    )
    outcome = _outcome(write, PRODUCT_NOT_FOUND)
    if outcome.id is None:
        return outcome
    has_price = (await sources.pricing.prices_by_sku_ids([outcome.id], currency)).get(outcome.id)
    if has_price is None:  # also on a replay whose first attempt stopped before the price
        await sources.pricing.set_price(
            sku_id=outcome.id,
            currency=currency,
            list_amount=price[0],
            sale_amount=price[1],
            actor=actor,
            now=now,
        )
        await invalidation.price_changed(
            sources, sku_id=outcome.id, product_id=product_id, currency=currency
        )
    await refresh_product_listing(sources, product_id, currency)
    await sku_changed(sources, outcome.id, product_id)
    return outcome


async def update_sku(
    sources: Sources,
    sku_id: int | None,
    fields: SkuFields,
    *,
    currency: str,
    actor: str,
    now: datetime,
) -> Outcome:
    problems = sku_problems(fields, creating=False, price=None)
    if sku_id is None:
        problems.insert(0, Problem(SKU_NOT_FOUND[0], "no such SKU", SKU_NOT_FOUND[1]))
    if problems:
        return Outcome(problems)
    assert sku_id is not None
    outcome = _outcome(
        await sources.catalog.update_sku(sku_id, fields, actor=actor, now=now), SKU_NOT_FOUND
    )
    if outcome.id is not None:
        sku = (await sources.catalog.skus_by_ids([sku_id]))[sku_id]
        if fields.is_active is not None:  # the price range and "in stock" count active SKUs
            await refresh_product_listing(sources, sku.product_id, currency)
        await sku_changed(sources, sku_id, sku.product_id)
    return outcome


def category_problems(fields: CategoryFields, *, creating: bool) -> list[Problem]:
    problems = _text(fields.name, "name", low=1, high=200)
    if creating and fields.name is None:
        problems.append(_invalid("a name is required", "name"))
    if fields.slug is not None and (len(fields.slug) > 120 or not SLUG.match(fields.slug)):
        problems.append(_invalid("slug must be lowercase words joined by hyphens", "slug"))
    if fields.position is not None and not 0 <= fields.position <= 100_000:
        problems.append(_invalid("position must be 0 to 100000", "position"))
    return problems


async def categories_changed(sources: Sources) -> None:
    """A category's name, place or path shows in every page of the tree and in promotion
    targeting (by path): all of them go."""
    await invalidation.invalidate(
        sources,
        (),
        (
            Kind.CATEGORY,
            Kind.CATEGORY_TREE,
            Kind.CATEGORY_ATTRIBUTES,
            Kind.SPECIFICATIONS,
            Kind.PROMOTIONS,
            *LISTING_KINDS,
        ),
    )


async def create_category(
    sources: Sources,
    fields: CategoryFields,
    *,
    idempotency_key: str | None,
    actor: str,
    now: datetime,
) -> Outcome:
    problems = category_problems(fields, creating=True) + key_problems(idempotency_key)
    if not problems and fields.slug is None and not slugify(fields.name or ""):
        problems.append(_invalid("this name makes no slug: give one", "slug"))
    if problems:
        return Outcome(problems)
    if fields.slug is None and fields.name is not None:
        fields = replace(fields, slug=slugify(fields.name)[:120])
    write = await sources.catalog.create_category(
        fields, actor=actor, now=now, key=batch_key(idempotency_key, "categoryCreate", fields)
    )
    outcome = _outcome(write, (UserErrorCode.CATEGORY_NOT_FOUND, ("input", "parentId")))
    if outcome.id is not None:
        await categories_changed(sources)
    return outcome


async def update_category(
    sources: Sources,
    category_id: int | None,
    fields: CategoryFields,
    *,
    actor: str,
    now: datetime,
) -> Outcome:
    problems = category_problems(fields, creating=False)
    if category_id is None:
        problems.insert(
            0, Problem(CATEGORY_NOT_FOUND[0], "no such category", CATEGORY_NOT_FOUND[1])
        )
    if problems:
        return Outcome(problems)
    assert category_id is not None
    write = await sources.catalog.update_category(category_id, fields, actor=actor, now=now)
    outcome = _outcome(write, CATEGORY_NOT_FOUND)
    if outcome.id is not None:
        await categories_changed(sources)
    return outcome


async def move_category(
    sources: Sources,
    category_id: int | None,
    parent_id: int | None,
    parent_given: bool,
    position: int | None,
    *,
    actor: str,
    now: datetime,
) -> Outcome:
    problems: list[Problem] = []
    if category_id is None:
        problems.append(Problem(CATEGORY_NOT_FOUND[0], "no such category", CATEGORY_NOT_FOUND[1]))
    if parent_given and parent_id is None:
        problems.append(
            Problem(UserErrorCode.CATEGORY_NOT_FOUND, "no such category", ("parentId",))
        )
    if position is not None and not 0 <= position <= 100_000:
        problems.append(
            Problem(UserErrorCode.INVALID_INPUT, "position: 0 to 100000", ("position",))
        )
    if problems:
        return Outcome(problems)
    assert category_id is not None
    write = await sources.catalog.move_category(
        category_id, parent_id, position, actor=actor, now=now
    )
    if write.refusal is CatalogRefusal.CATEGORY_NOT_FOUND:  # the parent (the category: NOT_FOUND)
        return Outcome([Problem(UserErrorCode.CATEGORY_NOT_FOUND, write.detail, ("parentId",))])
    outcome = _outcome(write, CATEGORY_NOT_FOUND)
    if outcome.id is not None:
        await categories_changed(sources)
    return outcome


def attribute_problems(fields: AttributeFields) -> list[Problem]:
    problems = _text(fields.name, "name", low=1, high=200)
    if not re.match(r"^[a-z][a-z0-9_]{0,63}$", fields.code):
        problems.append(_invalid("code is lowercase letters, digits and '_'", "code"))
    problems += _text(fields.unit, "unit", low=1, high=32)
    if fields.unit is not None and fields.kind is not AttributeKind.NUMBER:
        problems.append(_invalid("only NUMBER attributes have a unit", "unit"))
    if fields.kind is AttributeKind.CHOICE:
        choices = fields.choices
        if not 0 < len(choices) <= 200 or len(set(choices)) != len(choices):
            problems.append(
                _invalid("a CHOICE attribute has 1 to 200 different choices", "choices")
            )
        elif any(_text(c, "choice", low=1, high=200) for c in choices):
            problems.append(_invalid("a choice is 1 to 200 characters", "choices"))
    elif fields.choices:
        problems.append(_invalid("only CHOICE attributes have choices", "choices"))
    if not 0 <= fields.position <= 10_000:
        problems.append(_invalid("position must be 0 to 10000", "position"))
    return problems


async def define_attribute(
    sources: Sources,
    fields: AttributeFields | None,
    *,
    idempotency_key: str | None,
    actor: str,
    now: datetime,
) -> Outcome:
    if fields is None:
        missing = Problem(
            UserErrorCode.CATEGORY_NOT_FOUND, "no such category", ("input", "categoryId")
        )
        return Outcome([missing, *key_problems(idempotency_key)])
    problems = attribute_problems(fields) + key_problems(idempotency_key)
    if problems:
        return Outcome(problems)
    write = await sources.catalog.define_attribute(
        fields, actor=actor, now=now, key=batch_key(idempotency_key, "attributeDefine", fields)
    )
    outcome = _outcome(write, (UserErrorCode.CATEGORY_NOT_FOUND, ("input", "categoryId")))
    if outcome.id is not None:
        await invalidation.invalidate(sources, (), (Kind.CATEGORY_ATTRIBUTES, Kind.SPECIFICATIONS))
    return outcome


async def create_supplier(
    sources: Sources, name: str, *, idempotency_key: str | None, actor: str, now: datetime
) -> Outcome:
    problems = _text(name, "name", low=1, high=200) + key_problems(idempotency_key)
    if problems:
        return Outcome(problems)
    write = await sources.catalog.create_supplier(
        name.strip(), actor=actor, now=now, key=batch_key(idempotency_key, "supplierCreate", name)
    )
    return _outcome(write, (UserErrorCode.INVALID_INPUT, ("input",)))
