"""The shop's own facts in the orders source: its profile (one row) and its delivery
regions with their rates, both written idempotently by ``gateway init`` (by key: a second
run with the same file changes nothing and says so)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update

from sources.common.db import Database

from . import models as m
from .records import Region, SetupChanges, ShopProfile

PROFILE_ID = 1


async def shop_profile(db: Database) -> ShopProfile | None:
    async with db.connect() as conn:
        row = (
            await conn.execute(select(m.ShopProfile).where(m.ShopProfile.id == PROFILE_ID))
        ).first()
    if row is None:
        return None
    r = row
    return ShopProfile(
        r.name, r.currency, tuple(x for x in r.languages.split(",") if x), r.free_shipping_over
    )


async def save_shop_profile(db: Database, profile: ShopProfile, now: datetime) -> bool:
    """True when it changed (or was created)."""
    values = {
        "name": profile.name,
        "currency": profile.currency,
        "languages": ",".join(profile.languages),
        "free_shipping_over": profile.free_shipping_over,
    }
    current = await shop_profile(db)
    if current == profile:
        return False
    async with db.begin() as conn:
        if current is None:
            await conn.execute(
                insert(m.ShopProfile).values(id=PROFILE_ID, updated_at=now, **values)
            )
        else:
            await conn.execute(
                update(m.ShopProfile)
                .where(m.ShopProfile.id == PROFILE_ID)
                .values(updated_at=now, **values)
            )
    return True


async def save_regions(db: Database, regions: Sequence[Region]) -> SetupChanges:
    """Regions by code: new ones added, changed ones updated, others (and regions not in
    the list) left as they are: a region that orders were delivered to is never deleted."""
    added = changed = unchanged = 0
    async with db.begin() as conn:
        rows = await conn.execute(
            select(m.Region).where(m.Region.code.in_({r.code for r in regions}))
        )
        existing = {
            r.code: Region(r.code, r.country, r.name, r.is_deliverable, r.shipping_rate)
            for r in rows
        }
        for region in regions:
            values = {
                "country": region.country,
                "name": region.name,
                "is_deliverable": region.is_deliverable,
                "shipping_rate": region.shipping_rate,
            }
            old = existing.get(region.code)
            if old is None:
                await conn.execute(insert(m.Region).values(code=region.code, **values))
                added += 1
            elif old != region:
                await conn.execute(
                    update(m.Region).where(m.Region.code == region.code).values(**values)
                )
                changed += 1
            else:
                unchanged += 1
    return SetupChanges(added, changed, unchanged)
