"""productMediaAdd, productMediaReorder, productMediaRemove: an image is checked by its
content (gateway/media/images.py), stored under a new unguessable key, then attached in
the catalog (audited); a refused or replayed attachment leaves no stray bytes behind, and
a removal drops the original and every copy made of it."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sources.catalog.records import CatalogRefusal, MediaFields, MediaWrite

from ..cache import invalidation
from ..cache.keys import Kind
from ..errors import Problem, UserErrorCode
from ..media.fetch import fetch_image
from ..media.images import UploadRefused, inspect
from ..media.settings import MediaSettings
from ..media.storage import MediaStorage
from ..sources import Sources
from .catalog_manage import batch_key
from .catalog_writes import key_problems

MAX_ALT = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    problems: list[Problem]
    media_id: int | None = None
    replayed: bool = False


def _problem(code: UserErrorCode, message: str, *field: str) -> Outcome:
    return Outcome([Problem(code, message, field)])


def _refusal(write: MediaWrite, field: str) -> Outcome:
    if write.refusal is CatalogRefusal.ARCHIVED:
        return _problem(UserErrorCode.PRODUCT_ARCHIVED, write.detail, "productId")
    if write.refusal is CatalogRefusal.KEY_REUSED:
        return _problem(
            UserErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key was used with other arguments",
            "idempotencyKey",
        )
    if write.detail == "no such product":
        return _problem(UserErrorCode.PRODUCT_NOT_FOUND, write.detail, "productId")
    if "SKU" in write.detail:
        return _problem(UserErrorCode.SKU_NOT_FOUND, write.detail, "skuIds")
    return _problem(UserErrorCode.INVALID_INPUT, write.detail, field)


async def _changed(sources: Sources, product_id: int) -> None:
    # The SKUs' image ids changed too: the product's SKU list is cached with them.
    await invalidation.invalidate(
        sources,
        [(Kind.PRODUCT_MEDIA, product_id), (Kind.PRODUCT_SKUS, product_id)],
        (Kind.SKU,),
    )


async def add_media(
    sources: Sources,
    storage: MediaStorage,
    settings: MediaSettings,
    product_id: int | None,
    *,
    data: bytes | None,
    url: str | None,
    alt: list[tuple[str, str]],
    sku_ids: list[int | None],
    idempotency_key: str | None,
    actor: str,
    now: datetime,
) -> Outcome:
    problems = key_problems(idempotency_key)
    if product_id is None:
        problems.append(Problem(UserErrorCode.PRODUCT_NOT_FOUND, "no such product", ("productId",)))
    if (data is None) == (url is None):
        problems.append(
            Problem(UserErrorCode.INVALID_INPUT, "give exactly one of file or url", ("file",))
        )
    for n, (language, text) in enumerate(alt):
        if not 1 <= len(language) <= 20 or len(text) > MAX_ALT or "\x00" in text:
            problems.append(
                Problem(UserErrorCode.INVALID_INPUT, f"alt: a language tag and at most "
                        f"{MAX_ALT} characters", ("alt", str(n)))
            )  # fmt: skip
    if None in sku_ids:
        problems.append(Problem(UserErrorCode.SKU_NOT_FOUND, "no such SKU", ("skuIds",)))
    if problems:
        return Outcome(problems)
    assert product_id is not None
    try:
        if data is None:
            assert url is not None
            data = await fetch_image(
                url,
                max_bytes=settings.max_upload_bytes,
                timeout_seconds=settings.fetch_timeout_seconds,
                allow_private=settings.fetch_allow_private,
            )
        facts = inspect(data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)
    except UploadRefused as refused:
        return _problem(UserErrorCode.INVALID_INPUT, str(refused), "url" if url else "file")
    key = f"products/{product_id}/{secrets.token_hex(12)}.{facts.extension}"
    await storage.put(key, data, facts.content_type)
    fields = MediaFields(
        storage_key=key,
        content_type=facts.content_type,
        width=facts.width,
        height=facts.height,
        alt=tuple(sorted(dict(alt).items())),
        sku_ids=tuple(sorted({i for i in sku_ids if i is not None})),
    )
    try:
        write = await sources.catalog.add_media(
            product_id,
            fields,
            actor=actor,
            now=now,
            # The key's fingerprint is of what was asked, not of the fresh storage key.
            key=batch_key(
                idempotency_key,
                "productMediaAdd",
                [product_id, url, hashlib.sha256(data).hexdigest(), fields.alt, fields.sku_ids],
            ),
        )
    except Exception:
        await storage.delete_prefix(key)  # the catalog never saw it: no stray bytes
        raise
    if write.refusal is not None or write.replayed:
        await storage.delete_prefix(key)  # nothing points at these bytes
    if write.refusal is not None:
        return _refusal(write, "skuIds")
    await _changed(sources, product_id)
    return Outcome([], media_id=write.id, replayed=write.replayed)


async def reorder_media(
    sources: Sources, product_id: int | None, media_ids: list[int | None], *, actor: str,
    now: datetime,
) -> Outcome:  # fmt: skip
    if product_id is None:
        return _problem(UserErrorCode.PRODUCT_NOT_FOUND, "no such product", "productId")
    if None in media_ids:
        return _problem(UserErrorCode.INVALID_INPUT, "not an image of this product", "mediaIds")
    write = await sources.catalog.reorder_media(
        product_id, [i for i in media_ids if i is not None], actor=actor, now=now
    )
    if write.refusal is not None:
        return _refusal(write, "mediaIds")
    await _changed(sources, product_id)
    return Outcome([])


async def remove_media(
    sources: Sources, storage: MediaStorage, product_id: int | None, media_id: int | None, *,
    actor: str, now: datetime,
) -> Outcome:  # fmt: skip
    if product_id is None:
        return _problem(UserErrorCode.PRODUCT_NOT_FOUND, "no such product", "productId")
    if media_id is None:
        return _problem(UserErrorCode.INVALID_INPUT, "not an image of this product", "mediaId")
    write = await sources.catalog.remove_media(product_id, media_id, actor=actor, now=now)
    if write.refusal is not None:
        return _refusal(write, "mediaId")
    await _changed(sources, product_id)
    if write.storage_key is not None:
        await storage.delete_prefix(write.storage_key)
        await storage.delete_prefix(f"derived/{write.storage_key}/")
    return Outcome([])
