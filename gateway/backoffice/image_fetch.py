"""Fetching the images a product import named by URL: each through productMediaAdd's own
path (media_manage.add_media: the URL rules, the content checks, storage, the audited
attachment), once per pending image (its id is the idempotency key, so a fetch that
stopped between storing and marking is not attached twice). A failed fetch is kept with
why; the next run tries it again, up to MAX_ATTEMPTS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..media.settings import MediaSettings
from ..media.storage import MediaStorage
from ..sources import Sources
from .media_manage import add_media

MAX_ATTEMPTS = 3
PAGE = 100


@dataclass(frozen=True, slots=True)
class FetchSummary:
    fetched: int
    failed: int
    first_failures: tuple[str, ...]  # "url: why", the first few


async def fetch_pending_images(
    sources: Sources,
    storage: MediaStorage,
    settings: MediaSettings,
    *,
    actor: str,
    language: str,
    on_image: Callable[[], object] | None = None,
) -> FetchSummary:
    fetched = failed = 0
    failures: list[str] = []
    after = 0
    while page := await sources.catalog.pending_images(after, PAGE, MAX_ATTEMPTS):
        after = page[-1].id
        codes = sorted({code for image in page for code in image.sku_codes})
        skus = await sources.catalog.skus_by_codes(codes) if codes else {}
        for image in page:
            outcome = await add_media(
                sources,
                storage,
                settings,
                image.product_id,
                data=None,
                url=image.url,
                alt=[(language, image.alt)] if image.alt else [],
                sku_ids=[skus[c].id if c in skus else None for c in image.sku_codes],
                idempotency_key=f"pending-image-{image.id}",
                actor=actor,
                now=datetime.now(UTC),
            )
            if outcome.media_id is not None:
                fetched += 1
                await sources.catalog.record_image_fetch(image.id, outcome.media_id, "")
            else:
                failed += 1
                why = "; ".join(p.message for p in outcome.problems)
                if len(failures) < 10:
                    failures.append(f"{image.url[:200]}: {why}")
                await sources.catalog.record_image_fetch(image.id, None, why)
            if on_image:
                on_image()
    return FetchSummary(fetched, failed, tuple(failures))
