"""A product's images: attach, reorder, remove. One transaction each, audited; the bytes
are the gateway's media storage's (a removal hands back the key it may now drop)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.audit import write_audit

from . import models as m
from .manage import Refused
from .records import CatalogRefusal, MediaFields, ProductMedia


def media_record(row: Any) -> ProductMedia:
    return ProductMedia(
        id=row.id,
        product_id=row.product_id,
        position=row.position,
        storage_key=row.storage_key,
        content_type=row.content_type,
        width=row.width,
        height=row.height,
        alt=tuple(sorted((row.alt or {}).items())),
    )


async def media_by_product_ids(
    conn: AsyncConnection, product_ids: Sequence[int]
) -> dict[int, list[ProductMedia]]:
    result: dict[int, list[ProductMedia]] = defaultdict(list)
    rows = await conn.execute(
        select(m.ProductMedia)
        .where(m.ProductMedia.product_id.in_(set(product_ids)))
        .order_by(m.ProductMedia.product_id, m.ProductMedia.position, m.ProductMedia.id)
    )
    for row in rows:
        result[row.product_id].append(media_record(row))
    return {pid: result.get(pid, []) for pid in product_ids}


async def _audit(conn: AsyncConnection, action: str, product_id: int, before: Any, after: Any,
                 actor: str, now: datetime) -> None:  # fmt: skip
    await write_audit(conn, m.AuditEntry, at=now, actor=actor, action=action,
                      entity_type="product", entity_id=product_id, before=before,
                      after=after)  # fmt: skip


async def _product(conn: AsyncConnection, product_id: int) -> None:
    archived = (
        await conn.execute(select(m.Product.archived_at).where(m.Product.id == product_id))
    ).first()
    if archived is None:
        raise Refused(CatalogRefusal.NOT_FOUND, "no such product")
    if archived[0] is not None:
        raise Refused(CatalogRefusal.ARCHIVED, "the product is archived")


async def add_media(
    conn: AsyncConnection, product_id: int, fields: MediaFields, *, actor: str, now: datetime
) -> int:
    await _product(conn, product_id)
    if fields.sku_ids:
        owners = set(
            await conn.scalars(select(m.Sku.product_id).where(m.Sku.id.in_(fields.sku_ids)))
        )
        found = await conn.scalar(select(func.count()).where(m.Sku.id.in_(fields.sku_ids)))
        if owners - {product_id} or found != len(set(fields.sku_ids)):
            raise Refused(CatalogRefusal.NOT_FOUND, "a SKU named is not one of this product's")
    position = await conn.scalar(
        select(func.coalesce(func.max(m.ProductMedia.position), -1) + 1).where(
            m.ProductMedia.product_id == product_id
        )
    )
    row = {
        "product_id": product_id,
        "position": position,
        "storage_key": fields.storage_key,
        "content_type": fields.content_type,
        "width": fields.width,
        "height": fields.height,
        "alt": dict(fields.alt),
    }
    media_id = int(
        (
            await conn.execute(insert(m.ProductMedia).values(**row).returning(m.ProductMedia.id))
        ).scalar_one()
    )
    if fields.sku_ids:
        await conn.execute(
            update(m.Sku).where(m.Sku.id.in_(fields.sku_ids)).values(image_id=media_id)
        )
    after = row | {"id": media_id, "sku_ids": sorted(fields.sku_ids)}
    await _audit(conn, "media.add", product_id, {}, after, actor, now)
    return media_id


async def reorder_media(
    conn: AsyncConnection, product_id: int, media_ids: Sequence[int], *, actor: str, now: datetime
) -> int:
    """``media_ids`` must be exactly the product's media, in their new order."""
    await _product(conn, product_id)
    current = list(
        await conn.scalars(
            select(m.ProductMedia.id)
            .where(m.ProductMedia.product_id == product_id)
            .order_by(m.ProductMedia.position, m.ProductMedia.id)
        )
    )
    if sorted(current) != sorted(media_ids) or len(set(media_ids)) != len(media_ids):
        raise Refused(CatalogRefusal.NOT_FOUND, "name every image of the product, once each")
    for position, media_id in enumerate(media_ids):
        await conn.execute(
            update(m.ProductMedia).where(m.ProductMedia.id == media_id).values(position=position)
        )
    if current != list(media_ids):
        await _audit(conn, "media.reorder", product_id, {"order": current},
                     {"order": list(media_ids)}, actor, now)  # fmt: skip
    return product_id


async def remove_media(
    conn: AsyncConnection, product_id: int, media_id: int, *, actor: str, now: datetime
) -> str:
    """The removed image's storage key; SKUs it pictured have none afterwards."""
    row = (
        await conn.execute(
            select(m.ProductMedia).where(
                m.ProductMedia.id == media_id, m.ProductMedia.product_id == product_id
            )
        )
    ).first()
    if row is None:
        raise Refused(CatalogRefusal.NOT_FOUND, "no such image of this product")
    await conn.execute(update(m.Sku).where(m.Sku.image_id == media_id).values(image_id=None))
    await conn.execute(delete(m.ProductMedia).where(m.ProductMedia.id == media_id))
    await _audit(conn, "media.remove", product_id,
                 {"id": media_id, "storage_key": row.storage_key}, {}, actor, now)  # fmt: skip
    return str(row.storage_key)
