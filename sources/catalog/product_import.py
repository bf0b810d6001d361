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
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import manage
from . import models as m
from .import_records import ImageStatus, ImportedProduct, PendingImage, ProductDraft
from .manage import Refused
from .records import CatalogRefusal, CategoryFields


def _slug(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:120]


async def _category_id(
    conn: AsyncConnection, name: str, known: dict[str, int], actor: str, now: datetime
) -> int:
    slug = _slug(name) or "imported"
    if slug in known:
        return known[slug]
    found = await conn.scalar(select(m.Category.id).where(m.Category.slug == slug))
    if found is None:
        found = await manage.create_category(
            conn, CategoryFields(name=name[:200], slug=slug), actor=actor, now=now
        )
    known[slug] = int(found)
    return known[slug]


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
            select(m.Product.id, m.Product.slug, m.Product.archived_at).where(
                m.Product.slug.in_(handles)
            )
        )
    }
    skus = {
        row.code: row
        for row in await conn.execute(
            select(m.Sku.id, m.Sku.code, m.Sku.product_id).where(m.Sku.code.in_(codes))
        )
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
    categories: dict[str, int] = {}
    results: list[ImportedProduct] = []
    for draft in drafts:
        savepoint = await conn.begin_nested()
        try:
            result = await _one(
                conn, draft, products.get(draft.handle), skus, images, categories,
                currency=currency, actor=actor, now=now,
            )  # fmt: skip
        except Refused as refused:
            await savepoint.rollback()
            categories.clear()  # a category made in the rolled-back savepoint is gone
            line = refused.line if isinstance(refused, _RefusedAt) else draft.line
            results.append(
                ImportedProduct(draft.handle, refusal=refused.refusal, detail=refused.detail,
                                line=line)
            )  # fmt: skip
            continue
        await savepoint.commit()
        if draft.handle not in products and result.product_id is not None:
            products[draft.handle] = _Owned(result.product_id, draft.handle, result.product_id)
        results.append(result)
    return results


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
    categories: dict[str, int],
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
    if fields is not None and draft.category:
        from dataclasses import replace

        category_id = await _category_id(conn, draft.category, categories, actor, now)
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
            insert(m.PendingImage),
            [
                {
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
                for image in new_images
            ],
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
