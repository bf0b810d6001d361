"""A batch of imported products in one transaction, each through the very writes
productCreate, productUpdate and skuCreate use (sources/catalog/manage.py), so an import
and the back office never disagree on a rule.

Products are matched by handle (their slug) and SKUs by code: the first import creates,
a later one changes what differs and nothing else (an unchanged product writes no row and
no audit entry), so importing a file again is safe. Each product is a savepoint: one that
is refused (a SKU code another product owns, picks its options do not offer) leaves the
others of its batch applied and itself untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.audit import audit_row, write_audits

from . import manage
from . import models as m
from .import_records import ImageStatus, ImportedProduct, PendingImage, ProductDraft
from .manage import Refused
from .records import CatalogRefusal, CategoryFields
from .search.index import reindex_products


def _slug(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:120]


async def _categories(
    conn: AsyncConnection, drafts: Sequence[ProductDraft], actor: str, now: datetime
) -> dict[str, int]:
    """Category ids by name for the batch: found by slug, or made (categoryCreate's write)."""
    names = {d.category for d in drafts if d.category and d.fields is not None}
    slugs = {name: _slug(name) or "imported" for name in names}
    found = {
        row.slug: int(row.id)
        for row in await conn.execute(
            select(m.Category.id, m.Category.slug).where(m.Category.slug.in_(set(slugs.values())))
        )
    }
    for name, slug in sorted(slugs.items()):
        if slug not in found:
            found[slug] = await manage.create_category(
                conn, CategoryFields(name=name[:200], slug=slug), actor=actor, now=now
            )
    return {name: found[slug] for name, slug in slugs.items()}


async def _brands(conn: AsyncConnection, names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    known = {
        row.name: int(row.id)
        for row in await conn.execute(
            select(m.Brand.id, m.Brand.name).where(m.Brand.name.in_(names))
        )
    }
    missing = sorted(names - set(known))
    if missing:
        await conn.execute(insert(m.Brand), [{"name": name} for name in missing])
        rows = await conn.execute(select(m.Brand.id, m.Brand.name).where(m.Brand.name.in_(missing)))
        known |= {row.name: int(row.id) for row in rows}
    return known


def _fresh(
    draft: ProductDraft, products: dict[str, Any], skus: dict[str, Any], taken: set[str]
) -> bool:
    """A new product whose every rule needing the database is answered by the batch's
    reads: its handle and codes are nobody's, its picks fit its own options."""
    fields = draft.fields
    if fields is None or draft.archived or draft.handle in products or draft.handle in taken:
        return False
    codes = [v.fields.code for v in draft.variants]
    if len(set(codes)) != len(codes) or any(c in skus or c in taken for c in codes):
        return False
    options = manage.product_columns(fields).get("options", [])
    seen: set[tuple[tuple[str, str], ...]] = set()
    for variant in draft.variants:
        picks = tuple(sorted((o.name, o.value) for o in variant.fields.selected_options or ()))
        if (options or picks) and manage.picks_problem(options, picks) is not None:
            return False  # the single write says why
        if picks in seen:
            return False
        seen.add(picks)
    return True


async def _create_fresh(
    conn: AsyncConnection,
    drafts: Sequence[ProductDraft],
    categories: dict[str, int],
    *,
    currency: str,
    actor: str,
    now: datetime,
) -> list[ImportedProduct]:
    """New products, their SKUs, images and audit entries: one statement each for the
    whole batch, with the values productCreate and skuCreate write."""
    brands = await _brands(conn, {d.fields.brand for d in drafts if d.fields and d.fields.brand})
    rows = []
    for draft in drafts:
        assert draft.fields is not None
        values = manage.new_product_values(draft.fields, currency=currency, now=now)
        values["category_id"] = categories.get(draft.category or "")
        values["brand_id"] = brands.get(draft.fields.brand or "")
        rows.append(values)
    columns = sorted({k for r in rows for k in r})
    product_rows = [{k: r.get(k) for k in columns} for r in rows]
    # Ids found again by their unique slug and code: an INSERT ... RETURNING in parameter
    # order is one statement per row on SQLite.
    await conn.execute(insert(m.Product), product_rows)
    by_slug = {
        row.slug: int(row.id)
        for row in await conn.execute(
            select(m.Product.id, m.Product.slug).where(
                m.Product.slug.in_([r["slug"] for r in product_rows])
            )
        )
    }
    ids = [by_slug[r["slug"]] for r in product_rows]
    audits = [
        audit_row(at=now, actor=actor, action="product.create", entity_type="product",
                  entity_id=pid, before={}, after=manage.audit_values(values))
        for pid, values in zip(ids, rows, strict=True)
    ]  # fmt: skip
    sku_rows = []
    for pid, draft in zip(ids, drafts, strict=True):
        for position, variant in enumerate(draft.variants):
            values = manage.sku_columns(variant.fields)
            values.setdefault("options", [])
            values.setdefault("is_active", True)
            values |= {"product_id": pid, "position": position}
            sku_rows.append(
                {k: values.get(k) for k in ("product_id", "code", "name", "is_active",
                                            "purchase_limit", "options", "position")}
            )  # fmt: skip
    sku_ids: list[int] = []
    if sku_rows:
        await conn.execute(insert(m.Sku), sku_rows)
        by_code = {
            row.code: int(row.id)
            for row in await conn.execute(
                select(m.Sku.id, m.Sku.code).where(m.Sku.code.in_([r["code"] for r in sku_rows]))
            )
        }
        sku_ids = [by_code[r["code"]] for r in sku_rows]
    for sid, row in zip(sku_ids, sku_rows, strict=True):
        after = manage.audit_values({k: v for k, v in row.items() if v is not None})
        audits.append(
            audit_row(at=now, actor=actor, action="sku.create", entity_type="sku",
                      entity_id=sid, before={}, after=after)
        )  # fmt: skip
    await write_audits(conn, m.AuditEntry, audits)
    await reindex_products(conn, ids)  # searchable in the same transaction, as productCreate
    images = [
        _image_row(pid, image, now)
        for pid, draft in zip(ids, drafts, strict=True)
        for image in draft.images
    ]
    if images:
        await conn.execute(insert(m.PendingImage), images)
    results = []
    codes = iter(zip(sku_ids, sku_rows, strict=True))
    for pid, draft in zip(ids, drafts, strict=True):
        own = {str(row["code"]): sid for sid, row in (next(codes) for _ in draft.variants)}
        results.append(ImportedProduct(draft.handle, pid, own))
    return results


def _image_row(product_id: int, image: Any, now: datetime) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "url": image.url,
        "position": image.position,
        "alt": image.alt,
        "sku_codes": list(image.sku_codes),
        "status": ImageStatus.PENDING,
        "attempts": 0,
        "message": "",
        "created_at": now,
    }


def _unchanged(
    draft: ProductDraft,
    product: Any,
    category_id: int | None,
    skus: dict[str, Any],
    images: set[tuple[int, str]],
) -> bool:
    """The product, its SKUs and images are already as the draft says (nothing to write:
    a second import of a catalog costs reads only)."""
    if draft.fields is not None:
        if (
            product.archived_at is not None
        ) != draft.archived or product.brand != draft.fields.brand:
            return False
        wanted = manage.product_columns(draft.fields)
        if draft.category:
            wanted["category_id"] = category_id
        if any(getattr(product, k) != v for k, v in wanted.items()):
            return False
    for variant in draft.variants:
        sku = skus.get(variant.fields.code or "")
        if sku is None or sku.product_id != product.id:
            return False
        if any(getattr(sku, k) != v for k, v in manage.sku_columns(variant.fields).items()):
            return False
    return all((product.id, i.url) in images for i in draft.images)


async def import_products(
    conn: AsyncConnection,
    drafts: Sequence[ProductDraft],
    *,
    currency: str,
    actor: str,
    now: datetime,
) -> list[ImportedProduct]:
    handles = {d.handle for d in drafts}
    codes = {v.fields.code for d in drafts for v in d.variants if v.fields.code}
    products: dict[str, Any] = {
        row.slug: row
        for row in await conn.execute(
            select(m.Product, m.Brand.name.label("brand"))
            .outerjoin(m.Brand, m.Brand.id == m.Product.brand_id)
            .where(m.Product.slug.in_(handles))
        )
    }
    skus: dict[str, Any] = {
        row.code: row for row in await conn.execute(select(m.Sku).where(m.Sku.code.in_(codes)))
    }
    images: set[tuple[int, str]] = set()
    if products:
        ids = [p.id for p in products.values()]
        images = {
            (r.product_id, r.url)
            for r in await conn.execute(
                select(m.PendingImage.product_id, m.PendingImage.url).where(
                    m.PendingImage.product_id.in_(ids)
                )
            )
        }
    categories = await _categories(conn, drafts, actor, now)
    results: dict[int, ImportedProduct] = {}
    fresh: list[int] = []
    taken: set[str] = set()
    for n, draft in enumerate(drafts):
        if _fresh(draft, products, skus, taken):
            fresh.append(n)
            taken |= {draft.handle, *(v.fields.code or "" for v in draft.variants)}
    if fresh:
        savepoint = await conn.begin_nested()
        try:
            made = await _create_fresh(conn, [drafts[n] for n in fresh], categories,
                                       currency=currency, actor=actor, now=now)  # fmt: skip
        except IntegrityError:  # a concurrent writer took a slug or code: one by one
            await savepoint.rollback()
            fresh = []
        else:
            await savepoint.commit()
            for n, result in zip(fresh, made, strict=True):
                results[n] = result
                products[drafts[n].handle] = _Owned(result.product_id or 0, drafts[n].handle, 0)
                for code, sku_id in (result.sku_ids or {}).items():
                    skus[code] = _Owned(sku_id, code, result.product_id or 0)
    for n, draft in enumerate(drafts):
        if n in results:
            continue
        existing = products.get(draft.handle)
        category_id = categories.get(draft.category or "")
        if (
            existing is not None
            and not isinstance(existing, _Owned)
            and _unchanged(draft, existing, category_id, skus, images)
        ):
            own = {v.fields.code or "": int(skus[v.fields.code or ""].id) for v in draft.variants}
            results[n] = ImportedProduct(draft.handle, int(existing.id), own)
            continue
        savepoint = await conn.begin_nested()
        try:
            result = await _one(
                conn, draft, existing, skus, images, category_id,
                currency=currency, actor=actor, now=now,
            )  # fmt: skip
        except Refused as refused:
            await savepoint.rollback()
            line = refused.line if isinstance(refused, _RefusedAt) else draft.line
            results[n] = ImportedProduct(
                draft.handle, refusal=refused.refusal, detail=refused.detail, line=line
            )
            continue
        await savepoint.commit()
        if draft.handle not in products and result.product_id is not None:
            products[draft.handle] = _Owned(result.product_id, draft.handle, result.product_id)
        results[n] = result
    return [results[n] for n in range(len(drafts))]


class _RefusedAt(Refused):
    def __init__(self, refused: Refused, line: int) -> None:
        super().__init__(refused.refusal, refused.detail)
        self.line = line


async def _one(
    conn: AsyncConnection,
    draft: ProductDraft,
    existing: Any,
    skus: dict[str, Any],
    images: set[tuple[int, str]],
    category_id: int | None,
    *,
    currency: str,
    actor: str,
    now: datetime,
) -> ImportedProduct:
    if draft.fields is None and existing is None:
        raise Refused(
            CatalogRefusal.NOT_FOUND,
            f"no product with handle {draft.handle!r}: its first row needs a Title",
        )
    fields = draft.fields
    if fields is not None and category_id is not None:
        fields = replace(fields, category_id=category_id)
    if existing is None:
        assert fields is not None
        product_id = await manage.create_product(
            conn, fields, currency=currency, actor=actor, now=now
        )
    else:
        product_id = int(existing.id)
        archived_already = existing.archived_at is not None
        if archived_already and draft.archived:
            return ImportedProduct(draft.handle, product_id, {})  # withdrawn: nothing to do
        if fields is not None:
            await manage.update_product(conn, product_id, fields, actor=actor, now=now)
    sku_ids: dict[str, int] = {}
    for variant in draft.variants:
        code = variant.fields.code
        assert code is not None
        try:
            owned = skus.get(code)
            if owned is not None and owned.product_id != product_id:
                raise Refused(CatalogRefusal.CODE_TAKEN, f"SKU {code!r} belongs to another product")
            if owned is None:
                sku_ids[code] = await manage.create_sku(
                    conn, product_id, variant.fields, actor=actor, now=now
                )
            else:
                sku_ids[code] = await manage.update_sku(
                    conn, int(owned.id), variant.fields, actor=actor, now=now
                )
        except Refused as refused:
            raise _RefusedAt(refused, variant.line) from None
    new_images = [i for i in draft.images if (product_id, i.url) not in images]
    if new_images:
        await conn.execute(
            insert(m.PendingImage), [_image_row(product_id, image, now) for image in new_images]
        )
    if draft.archived:
        await manage.archive_product(conn, product_id, actor=actor, now=now)
    for code, sku_id in sku_ids.items():  # later drafts of this batch see them
        skus[code] = _Owned(sku_id, code, product_id)
    images.update((product_id, i.url) for i in new_images)
    return ImportedProduct(draft.handle, product_id, sku_ids)


class _Owned:
    """A row this batch wrote, standing in for one read at its start."""

    __slots__ = ("archived_at", "code", "id", "product_id")

    def __init__(self, id: int, code: str, product_id: int) -> None:
        self.id, self.code, self.product_id = id, code, product_id
        self.archived_at = None


def _pending(row: Any) -> PendingImage:
    return PendingImage(
        id=row.id,
        product_id=row.product_id,
        url=row.url,
        position=row.position,
        alt=row.alt,
        sku_codes=tuple(row.sku_codes or ()),
        attempts=row.attempts,
        created_at=row.created_at,
    )


async def pending_images(
    conn: AsyncConnection, *, after_id: int, limit: int, max_attempts: int
) -> list[PendingImage]:
    """Images still to fetch (new ones, and failed ones with attempts left), by id."""
    rows = await conn.execute(
        select(m.PendingImage)
        .where(
            m.PendingImage.id > after_id,
            m.PendingImage.status != ImageStatus.FETCHED,
            m.PendingImage.attempts < max_attempts,
        )
        .order_by(m.PendingImage.id)
        .limit(limit)
    )
    return [_pending(row) for row in rows]


async def record_image_fetch(
    conn: AsyncConnection, image_id: int, *, media_id: int | None, message: str
) -> None:
    from sqlalchemy import update

    values: dict[str, Any] = {"attempts": m.PendingImage.attempts + 1, "message": message[:2000]}
    if media_id is not None:
        values |= {"status": ImageStatus.FETCHED, "media_id": media_id}
    else:
        values["status"] = ImageStatus.FAILED
    await conn.execute(update(m.PendingImage).where(m.PendingImage.id == image_id).values(**values))


class ProductImports:
    """The import methods of CatalogStore (a mixin: the store sets ``db``)."""

    db: Any

    async def import_products(
        self, drafts: Sequence[ProductDraft], *, currency: str, actor: str, now: datetime
    ) -> list[ImportedProduct]:
        async with self.db.begin() as conn:
            return await import_products(conn, drafts, currency=currency, actor=actor, now=now)

    async def pending_images(
        self, after_id: int, limit: int, max_attempts: int
    ) -> list[PendingImage]:
        async with self.db.connect() as conn:
            return await pending_images(
                conn, after_id=after_id, limit=limit, max_attempts=max_attempts
            )

    async def record_image_fetch(self, image_id: int, media_id: int | None, message: str) -> None:
        async with self.db.begin() as conn:
            await record_image_fetch(conn, image_id, media_id=media_id, message=message)
