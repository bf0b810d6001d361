"""Back-office writes of the catalog: products, SKUs, categories, attributes, suppliers.

Each is one transaction: the integrity rules that need the database (a slug not taken, a
category that exists, no cycle, options every SKU can still name) are checked inside it,
the change and its audit entry (before and after) commit together, and a create with an
idempotency key commits the key with it, so a retry replays instead of creating twice.
A refused write changes nothing and says why (``CatalogWrite.refusal``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.audit import write_audit
from sources.common.batches import BatchKey
from sources.common.db import Database
from sources.common.idempotency import IdempotencyKeyReused, remember, replay

from . import models as m
from .records import (
    AttributeFields,
    AttributeKind,
    CatalogRefusal,
    CatalogWrite,
    CategoryFields,
    ProductFields,
    ProductKind,
    SkuFields,
    SpecificationValue,
)
from .search.index import reindex_category, reindex_products


class Refused(Exception):
    def __init__(self, refusal: CatalogRefusal, detail: str = "") -> None:
        super().__init__(detail)
        self.refusal = refusal
        self.detail = detail


Write = Callable[[AsyncConnection], Awaitable[int]]


async def run_write(
    db: Database,
    write: Write,
    *,
    key: BatchKey | None = None,
    now: datetime,
    taken: CatalogRefusal = CatalogRefusal.SLUG_TAKEN,
) -> CatalogWrite:
    """``write`` in one transaction (returning the id it wrote), once per key. ``taken``
    is what a unique value claimed by a concurrent writer means for this write."""
    try:
        async with db.begin() as conn:
            if key is not None:
                stored = await replay(conn, m.IdempotencyKey, key.key, key.fingerprint, now)
                if stored is not None:
                    return CatalogWrite(id=stored["id"], replayed=True)
            written = await write(conn)
            if key is not None:
                await remember(
                    conn, m.IdempotencyKey, key.key, key.fingerprint, {"id": written}, now
                )
            return CatalogWrite(id=written)
    except Refused as refused:
        return CatalogWrite(refusal=refused.refusal, detail=refused.detail)
    except IdempotencyKeyReused:
        return CatalogWrite(refusal=CatalogRefusal.KEY_REUSED)
    except IntegrityError:
        # Two writers raced past the checks above (a slug taken in between): the unique
        # constraint decided; say so as the check would have.
        return CatalogWrite(refusal=taken, detail="taken meanwhile by another request")


async def _audit(
    conn: AsyncConnection,
    *,
    actor: str,
    now: datetime,
    action: str,
    entity_type: str,
    entity_id: int,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> None:
    await write_audit(
        conn,
        m.AuditEntry,
        at=now,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
    )


# ---------------------------------------------------------------------------------------
# Products

_SCALARS = (
    "name", "slug", "description", "category_id", "supplier_id", "seo_title",
    "seo_description", "weight_grams", "is_published", "reserve_on_add",
)  # fmt: skip


def _columns(fields: ProductFields) -> dict[str, Any]:
    """The product table's values for the fields given (None: not given)."""
    values: dict[str, Any] = {
        name: getattr(fields, name) for name in _SCALARS if getattr(fields, name) is not None
    }
    if fields.kind is not None:
        values["kind"] = fields.kind.value
    if fields.fulfillment is not None:
        values["fulfillment"] = fields.fulfillment.value
    if fields.options is not None:
        values["options"] = [{"name": o.name, "values": list(o.values)} for o in fields.options]
    if fields.tags is not None:
        values["tags"] = list(fields.tags)
    if fields.translations is not None:
        values["translations"] = {lang: dict(t) for lang, t in fields.translations.items()}
    if fields.dimensions is not None:
        d = fields.dimensions
        values |= {"length_mm": d.length_mm, "width_mm": d.width_mm, "height_mm": d.height_mm}
    for name in fields.clear:
        if name == "dimensions":
            values |= {"length_mm": None, "width_mm": None, "height_mm": None}
        elif name in ("seo_title", "seo_description", "weight_grams", "supplier_id", "brand"):
            values[name if name != "brand" else "brand_id"] = None
    return values


async def _check_references(conn: AsyncConnection, values: Mapping[str, Any], own: int) -> None:
    if "slug" in values:
        taken = await conn.scalar(
            select(m.Product.id).where(m.Product.slug == values["slug"], m.Product.id != own)
        )
        if taken is not None:
            raise Refused(CatalogRefusal.SLUG_TAKEN, f"slug {values['slug']!r} is taken")
    if values.get("category_id") is not None:
        found = await conn.scalar(
            select(m.Category.id).where(m.Category.id == values["category_id"])
        )
        if found is None:
            raise Refused(CatalogRefusal.CATEGORY_NOT_FOUND, "no such category")
    if values.get("supplier_id") is not None:
        found = await conn.scalar(
            select(m.Supplier.id).where(m.Supplier.id == values["supplier_id"])
        )
        if found is None:
            raise Refused(CatalogRefusal.SUPPLIER_NOT_FOUND, "no such supplier")


async def _brand_id(conn: AsyncConnection, name: str) -> int:
    found = await conn.scalar(select(m.Brand.id).where(m.Brand.name == name))
    if found is not None:
        return int(found)
    return await _insert(conn, m.Brand, name=name)


async def _write_specifications(
    conn: AsyncConnection,
    product_id: int,
    category_id: int | None,
    values: Sequence[SpecificationValue],
) -> list[dict[str, Any]]:
    """Replace the product's attribute values; each must be of an attribute of its category
    (or a category above it) and typed as that attribute says. Returns them for the audit."""
    applicable: dict[int, Any] = {}
    if category_id is not None:
        path = await conn.scalar(select(m.Category.path).where(m.Category.id == category_id))
        ancestors = [int(part) for part in (path or "").split("/") if part]
        rows = await conn.execute(select(m.Attribute).where(m.Attribute.category_id.in_(ancestors)))
        applicable = {row.id: row for row in rows}
    if len({v.attribute_id for v in values}) != len(values):
        raise Refused(CatalogRefusal.ATTRIBUTE_INVALID, "an attribute is given twice")
    rows_out: list[dict[str, Any]] = []
    for value in values:
        attribute = applicable.get(value.attribute_id)
        if attribute is None:
            raise Refused(
                CatalogRefusal.ATTRIBUTE_INVALID,
                f"attribute {value.attribute_id} is not one of the product's category",
            )
        rows_out.append(_typed_value(product_id, attribute, value))
    await conn.execute(
        delete(m.ProductAttributeValue).where(m.ProductAttributeValue.product_id == product_id)
    )
    if rows_out:
        await conn.execute(insert(m.ProductAttributeValue), rows_out)
    return rows_out


def _typed_value(product_id: int, attribute: Any, value: SpecificationValue) -> dict[str, Any]:
    kind = AttributeKind(attribute.kind)
    given = {
        "text": value.text is not None,
        "number": value.number is not None,
        "boolean": value.boolean is not None,
    }
    wanted = {
        AttributeKind.TEXT: "text",
        AttributeKind.CHOICE: "text",
        AttributeKind.NUMBER: "number",
        AttributeKind.BOOLEAN: "boolean",
    }[kind]
    if [k for k, is_given in given.items() if is_given] != [wanted]:
        raise Refused(
            CatalogRefusal.ATTRIBUTE_INVALID,
            f"{attribute.code} is a {kind.value} attribute: give its value as {wanted}",
        )
    if kind is AttributeKind.CHOICE and value.text not in (attribute.choices or []):
        raise Refused(
            CatalogRefusal.ATTRIBUTE_INVALID,
            f"{attribute.code} must be one of {', '.join(attribute.choices or [])}",
        )
    return {
        "product_id": product_id,
        "attribute_id": attribute.id,
        "text_value": value.text,
        "number_value": value.number,
        "bool_value": value.boolean,
    }


async def _insert(conn: AsyncConnection, model: Any, values: Any = None, **kw: Any) -> int:
    """Insert one row; its new id."""
    row = dict(values or {}, **kw)
    return int((await conn.execute(insert(model).values(**row).returning(model.id))).scalar_one())


def audit_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A row's values as its audit entry keeps them (an import's batch writes the same)."""
    return _snapshot(values)


def _snapshot(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal | datetime) else v) for k, v in values.items()}


def new_product_values(fields: ProductFields, *, currency: str, now: datetime) -> dict[str, Any]:
    """A new product's row (brand and references apart): what productCreate writes, and
    what an import's batch of new products writes in one statement."""
    values = _columns(fields)
    values.setdefault("kind", ProductKind.PHYSICAL.value)
    values.setdefault("fulfillment", "WAREHOUSE")
    values.setdefault("is_published", False)
    values.setdefault("description", "")
    values |= {"created_at": now, "currency": currency, "in_stock": False}
    return values


async def create_product(
    conn: AsyncConnection, fields: ProductFields, *, currency: str, actor: str, now: datetime
) -> int:
    values = new_product_values(fields, currency=currency, now=now)
    await _check_references(conn, values, own=0)
    if fields.brand:
        values["brand_id"] = await _brand_id(conn, fields.brand)
    product_id = await _insert(conn, m.Product, **values)
    after = _snapshot(values)
    if fields.specifications:
        after["specifications"] = _snapshot_specs(
            await _write_specifications(
                conn, product_id, values.get("category_id"), fields.specifications
            )
        )
    await _audit(conn, actor=actor, now=now, action="product.create", entity_type="product",
                 entity_id=product_id, before={}, after=after)  # fmt: skip
    await reindex_products(conn, [product_id])
    return product_id


def _snapshot_specs(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [_snapshot({k: v for k, v in r.items() if k != "product_id"}) for r in rows]


async def update_product(
    conn: AsyncConnection, product_id: int, fields: ProductFields, *, actor: str, now: datetime
) -> int:
    current = (
        await conn.execute(select(m.Product).where(m.Product.id == product_id).with_for_update())
    ).first()
    if current is None:
        raise Refused(CatalogRefusal.NOT_FOUND, "no such product")
    if current.archived_at is not None:
        raise Refused(CatalogRefusal.ARCHIVED, "the product is archived")
    values = _columns(fields)
    await _check_references(conn, values, own=product_id)
    if fields.brand:
        values["brand_id"] = await _brand_id(conn, fields.brand)
    if fields.options is not None:
        await _check_skus_fit(conn, product_id, values["options"])
    before = {k: getattr(current, k) for k in values}
    changed = {k: v for k, v in values.items() if before[k] != v}
    if changed:
        await conn.execute(update(m.Product).where(m.Product.id == product_id).values(**changed))
    spec_before: list[dict[str, Any]] = []
    spec_after: list[dict[str, Any]] = []
    category_changed = "category_id" in changed
    if fields.specifications is not None or category_changed:
        old = await conn.execute(
            select(m.ProductAttributeValue).where(m.ProductAttributeValue.product_id == product_id)
        )
        spec_before = _snapshot_specs([dict(r._mapping) for r in old])
        if fields.specifications is not None:
            given = fields.specifications
        else:  # a new category keeps only the values its attributes still define
            given = tuple(
                SpecificationValue(
                    s["attribute_id"], s["text_value"], _dec(s["number_value"]), s["bool_value"]
                )
                for s in spec_before
            )
            given = await _still_applicable(conn, changed["category_id"], given)
        category_id = changed.get("category_id", current.category_id)
        spec_after = _snapshot_specs(
            await _write_specifications(conn, product_id, category_id, given)
        )
    audit_before, audit_after = _snapshot({k: before[k] for k in changed}), _snapshot(changed)
    if spec_before != spec_after:
        audit_before["specifications"], audit_after["specifications"] = spec_before, spec_after
    if audit_after or audit_before:
        await _audit(conn, actor=actor, now=now, action="product.update", entity_type="product",
                     entity_id=product_id, before=audit_before, after=audit_after)  # fmt: skip
        await reindex_products(conn, [product_id])
    return product_id


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


async def _still_applicable(
    conn: AsyncConnection, category_id: int | None, values: tuple[SpecificationValue, ...]
) -> tuple[SpecificationValue, ...]:
    if category_id is None:
        return ()
    path = await conn.scalar(select(m.Category.path).where(m.Category.id == category_id))
    ancestors = [int(part) for part in (path or "").split("/") if part]
    ids = set(
        await conn.scalars(select(m.Attribute.id).where(m.Attribute.category_id.in_(ancestors)))
    )
    return tuple(v for v in values if v.attribute_id in ids)


async def _check_skus_fit(
    conn: AsyncConnection, product_id: int, options: list[dict[str, Any]]
) -> None:
    rows = await conn.execute(
        select(m.Sku.code, m.Sku.options).where(m.Sku.product_id == product_id)
    )
    for code, picks in rows:
        if picks and _picks_problem(options, [(p[0], p[1]) for p in picks]) is not None:
            raise Refused(
                CatalogRefusal.OPTIONS_IN_USE,
                f"SKU {code} picks {picks}, which the new options do not offer",
            )


def _picks_problem(options: list[dict[str, Any]], picks: Sequence[tuple[str, str]]) -> str | None:
    offered = {o["name"]: o["values"] for o in options}
    names = [name for name, _ in picks]
    if sorted(names) != sorted(offered):
        return f"pick exactly one value of each option: {', '.join(offered) or 'none'}"
    for name, value in picks:
        if value not in offered[name]:
            return f"{value!r} is not a value of {name}"
    return None


async def archive_product(
    conn: AsyncConnection, product_id: int, *, actor: str, now: datetime
) -> int:
    current = (
        await conn.execute(
            select(m.Product.is_published, m.Product.archived_at)
            .where(m.Product.id == product_id)
            .with_for_update()
        )
    ).first()
    if current is None:
        raise Refused(CatalogRefusal.NOT_FOUND, "no such product")
    if current.archived_at is not None:  # archiving twice is archiving once
        return product_id
    await conn.execute(
        update(m.Product)
        .where(m.Product.id == product_id)
        .values(archived_at=now, is_published=False)
    )
    await _audit(conn, actor=actor, now=now, action="product.archive", entity_type="product",
                 entity_id=product_id,
                 before={"published": current.is_published, "archived": False},
                 after={"published": False, "archived": True})  # fmt: skip
    return product_id


# ---------------------------------------------------------------------------------------
# SKUs


async def _product_options(conn: AsyncConnection, product_id: int) -> Any:
    row = (
        await conn.execute(
            select(m.Product.options, m.Product.archived_at).where(m.Product.id == product_id)
        )
    ).first()
    if row is None:
        raise Refused(CatalogRefusal.NOT_FOUND, "no such product")
    if row.archived_at is not None:
        raise Refused(CatalogRefusal.ARCHIVED, "the product is archived")
    return row.options or []


async def _check_picks(
    conn: AsyncConnection, product_id: int, own: int, picks: list[list[str]]
) -> None:
    options = await _product_options(conn, product_id)
    if not options and not picks:
        return
    problem = _picks_problem(options, [(pick[0], pick[1]) for pick in picks])
    if problem is not None:
        raise Refused(CatalogRefusal.OPTIONS_INVALID, problem)
    siblings = await conn.execute(
        select(m.Sku.code, m.Sku.options).where(m.Sku.product_id == product_id, m.Sku.id != own)
    )
    for code, other in siblings:
        if sorted(map(tuple, other or [])) == sorted(map(tuple, picks)):
            raise Refused(CatalogRefusal.OPTIONS_TAKEN, f"SKU {code} already has these picks")


async def _check_code(conn: AsyncConnection, code: str, own: int) -> None:
    taken = await conn.scalar(select(m.Sku.id).where(m.Sku.code == code, m.Sku.id != own))
    if taken is not None:
        raise Refused(CatalogRefusal.CODE_TAKEN, f"code {code!r} is taken")


def sku_columns(fields: SkuFields) -> dict[str, Any]:
    """The SKU table's values for the fields given (an import compares and writes them)."""
    return _sku_columns(fields)


def picks_problem(options: list[dict[str, Any]], picks: Sequence[tuple[str, str]]) -> str | None:
    """Why these picks are not one value of each option (None: they are)."""
    return _picks_problem(options, picks)


def product_columns(fields: ProductFields) -> dict[str, Any]:
    """The product table's values for the fields given (an import compares them)."""
    return _columns(fields)


def _sku_columns(fields: SkuFields) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: getattr(fields, name)
        for name in ("name", "code", "is_active", "purchase_limit")
        if getattr(fields, name) is not None
    }
    if fields.selected_options is not None:
        values["options"] = [[o.name, o.value] for o in fields.selected_options]
    if "purchase_limit" in fields.clear:
        values["purchase_limit"] = None
    return values


async def create_sku(
    conn: AsyncConnection, product_id: int, fields: SkuFields, *, actor: str, now: datetime
) -> int:
    values = _sku_columns(fields)
    values.setdefault("options", [])
    await _check_picks(conn, product_id, 0, values["options"])
    await _check_code(conn, values["code"], 0)
    position = await conn.scalar(
        select(func.coalesce(func.max(m.Sku.position), -1) + 1).where(
            m.Sku.product_id == product_id
        )
    )
    values |= {"product_id": product_id, "position": position}
    values.setdefault("is_active", True)
    sku_id = await _insert(conn, m.Sku, **values)
    await _audit(conn, actor=actor, now=now, action="sku.create", entity_type="sku",
                 entity_id=sku_id, before={}, after=_snapshot(values))  # fmt: skip
    return sku_id


async def update_sku(
    conn: AsyncConnection, sku_id: int, fields: SkuFields, *, actor: str, now: datetime
) -> int:
    current = (
        await conn.execute(select(m.Sku).where(m.Sku.id == sku_id).with_for_update())
    ).first()
    if current is None:
        raise Refused(CatalogRefusal.NOT_FOUND, "no such SKU")
    values = _sku_columns(fields)
    if "options" in values:
        await _check_picks(conn, current.product_id, sku_id, values["options"])
    else:
        await _product_options(conn, current.product_id)  # refuses an archived product's
    if "code" in values:
        await _check_code(conn, values["code"], sku_id)
    before = {k: getattr(current, k) for k in values}
    changed = {k: v for k, v in values.items() if before[k] != v}
    if changed:
        await conn.execute(update(m.Sku).where(m.Sku.id == sku_id).values(**changed))
        await _audit(conn, actor=actor, now=now, action="sku.update", entity_type="sku",
                     entity_id=sku_id, before=_snapshot({k: before[k] for k in changed}),
                     after=_snapshot(changed))  # fmt: skip
    return sku_id


# ---------------------------------------------------------------------------------------
# Categories, attributes, suppliers


async def _category(conn: AsyncConnection, category_id: int) -> Any:
    row = (await conn.execute(select(m.Category).where(m.Category.id == category_id))).first()
    if row is None:
        raise Refused(CatalogRefusal.CATEGORY_NOT_FOUND, "no such category")
    return row


async def _check_category_slug(conn: AsyncConnection, slug: str, own: int) -> None:
    taken = await conn.scalar(
        select(m.Category.id).where(m.Category.slug == slug, m.Category.id != own)
    )
    if taken is not None:
        raise Refused(CatalogRefusal.SLUG_TAKEN, f"slug {slug!r} is taken")


async def create_category(
    conn: AsyncConnection, fields: CategoryFields, *, actor: str, now: datetime
) -> int:
    assert fields.slug is not None and fields.name is not None
    await _check_category_slug(conn, fields.slug, 0)
    parent_path = ""
    if fields.parent_id is not None:
        parent_path = (await _category(conn, fields.parent_id)).path
    values = {
        "slug": fields.slug,
        "name": fields.name,
        "parent_id": fields.parent_id,
        "position": fields.position or 0,
        "path": "",
    }
    category_id = await _insert(conn, m.Category, **values)
    path = f"{parent_path}{category_id}/"
    await conn.execute(update(m.Category).where(m.Category.id == category_id).values(path=path))
    await _audit(conn, actor=actor, now=now, action="category.create", entity_type="category",
                 entity_id=category_id, before={}, after=values | {"path": path})  # fmt: skip
    return category_id


async def update_category(
    conn: AsyncConnection, category_id: int, fields: CategoryFields, *, actor: str, now: datetime
) -> int:
    current = await _category(conn, category_id)
    values = {
        k: getattr(fields, k)
        for k in ("name", "slug", "position")
        if getattr(fields, k) is not None
    }
    if "slug" in values:
        await _check_category_slug(conn, values["slug"], category_id)
    changed = {k: v for k, v in values.items() if getattr(current, k) != v}
    if changed:
        await conn.execute(update(m.Category).where(m.Category.id == category_id).values(**changed))
        await _audit(conn, actor=actor, now=now, action="category.update",
                     entity_type="category", entity_id=category_id,
                     before={k: getattr(current, k) for k in changed}, after=changed)  # fmt: skip
        if "name" in changed:
            await reindex_category(conn, category_id)
    return category_id


async def move_category(
    conn: AsyncConnection,
    category_id: int,
    parent_id: int | None,
    position: int | None,
    *,
    actor: str,
    now: datetime,
) -> int:
    """Under another parent (None: to the top), with its whole subtree: every path under
    it is rewritten in one statement. Under itself or its own descendant is a cycle."""
    current = await _category(conn, category_id)
    new_parent_path = ""
    if parent_id is not None:
        parent = await _category(conn, parent_id)
        if parent.path.startswith(current.path):
            raise Refused(
                CatalogRefusal.CATEGORY_CYCLE,
                "a category cannot move under itself or one of its subcategories",
            )
        new_parent_path = parent.path
    old_path = current.path
    new_path = f"{new_parent_path}{category_id}/"
    subtree = await conn.execute(
        select(m.Category.id, m.Category.path).where(m.Category.path.like(f"{old_path}%"))
    )
    for sub_id, sub_path in subtree.all():
        await conn.execute(
            update(m.Category)
            .where(m.Category.id == sub_id)
            .values(path=new_path + sub_path[len(old_path) :])
        )
    values: dict[str, Any] = {"parent_id": parent_id}
    if position is not None:
        values["position"] = position
    await conn.execute(update(m.Category).where(m.Category.id == category_id).values(**values))
    await _audit(conn, actor=actor, now=now, action="category.move", entity_type="category",
                 entity_id=category_id,
                 before={"parent_id": current.parent_id, "path": old_path,
                         "position": current.position},
                 after={"parent_id": parent_id, "path": new_path,
                        "position": values.get("position", current.position)})  # fmt: skip
    return category_id


async def define_attribute(
    conn: AsyncConnection, fields: AttributeFields, *, actor: str, now: datetime
) -> int:
    """Create the category's attribute with this code, or change it. A changed kind or a
    dropped choice must not strand values already given: refused while products use them."""
    await _category(conn, fields.category_id)
    values = {
        "name": fields.name,
        "kind": fields.kind.value,
        "unit": fields.unit,
        "choices": list(fields.choices),
        "position": fields.position,
    }
    current = (
        await conn.execute(
            select(m.Attribute).where(
                m.Attribute.category_id == fields.category_id, m.Attribute.code == fields.code
            )
        )
    ).first()
    if current is None:
        row = values | {"category_id": fields.category_id, "code": fields.code}
        attribute_id = await _insert(conn, m.Attribute, **row)
        await _audit(conn, actor=actor, now=now, action="attribute.define",
                     entity_type="attribute", entity_id=attribute_id, before={},
                     after=row)  # fmt: skip
        return attribute_id
    used = select(m.ProductAttributeValue).where(m.ProductAttributeValue.attribute_id == current.id)
    if current.kind != values["kind"] and await conn.scalar(select(used.exists())):
        raise Refused(CatalogRefusal.ATTRIBUTE_INVALID, "products have values of the old kind")
    dropped = set(current.choices or []) - set(fields.choices)
    if dropped and await conn.scalar(
        select(used.where(m.ProductAttributeValue.text_value.in_(dropped)).exists())
    ):
        raise Refused(
            CatalogRefusal.ATTRIBUTE_INVALID, "products use a choice that would be dropped"
        )
    changed = {k: v for k, v in values.items() if getattr(current, k) != v}
    if changed:
        await conn.execute(
            update(m.Attribute).where(m.Attribute.id == current.id).values(**changed)
        )
        await _audit(conn, actor=actor, now=now, action="attribute.define",
                     entity_type="attribute", entity_id=current.id,
                     before={k: getattr(current, k) for k in changed}, after=changed)  # fmt: skip
    return int(current.id)


async def create_supplier(conn: AsyncConnection, name: str, *, actor: str, now: datetime) -> int:
    taken = await conn.scalar(select(m.Supplier.id).where(m.Supplier.name == name))
    if taken is not None:
        raise Refused(CatalogRefusal.NAME_TAKEN, f"a supplier named {name!r} exists")
    supplier_id = await _insert(conn, m.Supplier, name=name)
    await _audit(conn, actor=actor, now=now, action="supplier.create", entity_type="supplier",
                 entity_id=supplier_id, before={}, after={"name": name})  # fmt: skip
    return supplier_id
