"""Back-office writes of promotions: create, update, end, and coupon codes made in bulk.

Each is one transaction, audited with before and after. A promotion is judged by the
engine's rules (rules.py) as it would be saved (on update: its current terms with the
changes applied), so nothing the engine could never apply, or that contradicts itself,
is ever stored. Generated codes are coupon promotions of their own under the promotion
they copy (see models.Promotion.parent_id): the engine and coupon accounting stay as
they are, and each code carries its own usage limit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.audit import write_audit
from sources.common.batches import BatchKey
from sources.common.db import Database
from sources.common.idempotency import IdempotencyKeyReused, remember, replay
from sources.common.translations import stored_translations

from . import models as m
from .engine import coupon_key
from .records import (
    CouponBatch,
    Promotion,
    PromotionFields,
    PromotionKind,
    PromotionProblem,
    PromotionScope,
    PromotionWrite,
)
from .rules import promotion_problems

# Unambiguous when read aloud or typed from a receipt: no 0/O, 1/I/L.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12  # 31**12, about 2**59: unguessable by trying
MAX_CODES = 10_000

_COLUMNS = (
    "name", "kind", "description", "scope", "starts_at", "ends_at", "coupon_code",
    "usage_limit", "per_customer_limit", "priority", "is_exclusive", "is_active", "percent",
    "amount", "threshold", "buy_quantity", "get_quantity",
)  # fmt: skip
# Terms a generated code copies from its parent (its own: code, usage limit).
_SHARED = (*(c for c in _COLUMNS if c not in ("coupon_code", "usage_limit")), "translations")


class _Refused(Exception):
    def __init__(self, *problems: PromotionProblem) -> None:
        super().__init__(problems)
        self.problems = problems


def _merged(current: Promotion | None, fields: PromotionFields, currency: str) -> Promotion:
    """The promotion as it would be saved."""
    base = current or Promotion(
        id=0, name="", kind=fields.kind or PromotionKind.PERCENTAGE, description="",
        scope=PromotionScope.ORDER, starts_at=None, ends_at=None, coupon_code=None, priority=0,
        is_exclusive=False, percent=None, amount=None, threshold=None, buy_quantity=None,
        get_quantity=None, currency=currency, product_ids=frozenset(), category_ids=frozenset(),
    )  # fmt: skip
    changes: dict[str, Any] = {
        name: getattr(fields, name)
        for name in (*_COLUMNS, "product_ids", "category_ids", "translations")
        if getattr(fields, name) is not None
    }
    for name in ("product_ids", "category_ids"):
        if name in changes:
            changes[name] = frozenset(changes[name])
    for name in fields.clear:
        changes[name] = None
    return replace(base, **changes)


def _row(p: Promotion) -> dict[str, Any]:
    row = {name: getattr(p, name) for name in _COLUMNS}
    row["kind"], row["scope"] = p.kind.value, p.scope.value
    row["translations"] = stored_translations(p.translations)
    return row


def _json(p: Promotion) -> dict[str, Any]:
    out = {k: (str(v) if isinstance(v, Decimal | datetime) else v) for k, v in _row(p).items()}
    out["product_ids"], out["category_ids"] = sorted(p.product_ids), sorted(p.category_ids)
    return out


async def _check_code(conn: AsyncConnection, code: str | None, own: int) -> None:
    if code is None:
        return
    taken = await conn.scalar(
        select(m.Promotion.id).where(
            func.lower(m.Promotion.coupon_code) == coupon_key(code), m.Promotion.id != own
        )
    )
    if taken is not None:
        raise _Refused(PromotionProblem("TAKEN", "couponCode", f"{code!r} is another's code"))


async def _write_targets(conn: AsyncConnection, promotion_ids: Sequence[int], p: Promotion) -> None:
    await conn.execute(
        delete(m.PromotionTarget).where(m.PromotionTarget.promotion_id.in_(promotion_ids))
    )
    rows = [
        {"promotion_id": pid, "product_id": product_id, "category_id": None}
        for pid in promotion_ids
        for product_id in sorted(p.product_ids)
    ] + [
        {"promotion_id": pid, "product_id": None, "category_id": category_id}
        for pid in promotion_ids
        for category_id in sorted(p.category_ids)
    ]
    if rows:
        await conn.execute(insert(m.PromotionTarget), rows)


async def _audit(
    conn: AsyncConnection,
    *,
    actor: str,
    now: datetime,
    action: str,
    promotion_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    await write_audit(conn, m.AuditEntry, at=now, actor=actor, action=action,
                      entity_type="promotion", entity_id=promotion_id, before=before,
                      after=after)  # fmt: skip


async def _keyed(
    db: Database, key: BatchKey | None, now: datetime, write: Any
) -> tuple[dict[str, Any] | None, bool]:
    """Run ``write(conn)`` (returning the result to remember) once per key."""
    async with db.begin() as conn:
        if key is not None:
            stored = await replay(conn, m.IdempotencyKey, key.key, key.fingerprint, now)
            if stored is not None:
                return stored, True
        result: dict[str, Any] = await write(conn)
        if key is not None:
            await remember(conn, m.IdempotencyKey, key.key, key.fingerprint, result, now)
        return result, False


def _key_reused() -> tuple[PromotionProblem, ...]:
    return (
        PromotionProblem("KEY_REUSED", "idempotencyKey", "this key was used with other arguments"),
    )


async def create_promotion(
    db: Database,
    fields: PromotionFields,
    *,
    currency: str,
    actor: str,
    now: datetime,
    key: BatchKey | None,
) -> PromotionWrite:
    promotion = _merged(None, fields, currency)
    problems = promotion_problems(promotion, now=now)
    if fields.name is None:
        problems.insert(0, PromotionProblem("INVALID", "name", "a name is required"))
    if fields.kind is None:
        problems.insert(0, PromotionProblem("INVALID", "kind", "a kind is required"))
    if problems:
        return PromotionWrite(problems=tuple(problems))

    async def write(conn: AsyncConnection) -> dict[str, Any]:
        await _check_code(conn, promotion.coupon_code, 0)
        row = _row(promotion) | {"currency": currency}
        pid = int(
            (
                await conn.execute(insert(m.Promotion).values(**row).returning(m.Promotion.id))
            ).scalar_one()
        )
        await _write_targets(conn, [pid], promotion)
        await _audit(conn, actor=actor, now=now, action="promotion.create", promotion_id=pid,
                     before={}, after=_json(promotion))  # fmt: skip
        return {"id": pid}

    try:
        result, replayed = await _keyed(db, key, now, write)
    except _Refused as refused:
        return PromotionWrite(problems=refused.problems)
    except IdempotencyKeyReused:
        return PromotionWrite(problems=_key_reused())
    assert result is not None
    return PromotionWrite(id=result["id"], replayed=replayed)


async def _current(conn: AsyncConnection, load: Any, promotion_id: int) -> Any:
    row = (
        await conn.execute(
            select(m.Promotion.id, m.Promotion.parent_id)
            .where(m.Promotion.id == promotion_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise _Refused(PromotionProblem("NOT_FOUND", "promotionId", "no such promotion"))
    if row.parent_id is not None:
        raise _Refused(
            PromotionProblem(
                "CONTRADICTORY",
                "promotionId",
                "a generated code follows its promotion: change that",
            )
        )
    return (await load([promotion_id]))[promotion_id]


async def _children(conn: AsyncConnection, promotion_id: int) -> list[int]:
    rows = await conn.scalars(select(m.Promotion.id).where(m.Promotion.parent_id == promotion_id))
    return list(rows)


async def update_promotion(
    db: Database,
    promotion_id: int,
    fields: PromotionFields,
    *,
    load: Any,
    actor: str,
    now: datetime,
) -> PromotionWrite:
    """``load(ids)`` reads promotions as the store shows them."""
    try:
        async with db.begin() as conn:
            current: Promotion = await _current(conn, load, promotion_id)
            promotion = _merged(current, fields, current.currency)
            children = await _children(conn, promotion_id)
            if children and promotion.coupon_code is None:
                raise _Refused(
                    PromotionProblem("CONTRADICTORY", "couponCode", "its generated codes need one")
                )
            problems = promotion_problems(promotion, now=now)
            if problems:
                raise _Refused(*problems)
            await _check_code(conn, promotion.coupon_code, promotion_id)
            before, after = _json(current), _json(promotion)
            changed = {k for k in after if before[k] != after[k]}
            if not changed:
                return PromotionWrite(id=promotion_id)
            await conn.execute(
                update(m.Promotion).where(m.Promotion.id == promotion_id).values(**_row(promotion))
            )
            if children:
                shared = {k: v for k, v in _row(promotion).items() if k in _SHARED}
                await conn.execute(
                    update(m.Promotion).where(m.Promotion.id.in_(children)).values(**shared)
                )
            if changed & {"product_ids", "category_ids", "scope"}:
                await _write_targets(conn, [promotion_id, *children], promotion)
            await _audit(conn, actor=actor, now=now, action="promotion.update",
                         promotion_id=promotion_id, before={k: before[k] for k in changed},
                         after={k: after[k] for k in changed})  # fmt: skip
            return PromotionWrite(id=promotion_id)
    except _Refused as refused:
        return PromotionWrite(problems=refused.problems)


async def end_promotion(
    db: Database, promotion_id: int, *, load: Any, actor: str, now: datetime
) -> PromotionWrite:
    """Its window closes now (with its generated codes); one already over stays as it is."""
    try:
        async with db.begin() as conn:
            current: Promotion = await _current(conn, load, promotion_id)
            if current.ends_at is not None and current.ends_at <= now:
                return PromotionWrite(id=promotion_id)
            ends = max(now, current.starts_at) if current.starts_at else now
            await conn.execute(
                update(m.Promotion)
                .where(or_(m.Promotion.id == promotion_id, m.Promotion.parent_id == promotion_id))
                .values(ends_at=ends)
            )
            await _audit(conn, actor=actor, now=now, action="promotion.end",
                         promotion_id=promotion_id,
                         before={"ends_at": current.ends_at and current.ends_at.isoformat()},
                         after={"ends_at": ends.isoformat()})  # fmt: skip
            return PromotionWrite(id=promotion_id)
    except _Refused as refused:
        return PromotionWrite(problems=refused.problems)


def _code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


async def generate_codes(
    db: Database,
    promotion_id: int,
    *,
    count: int,
    usage_limit: int,
    prefix: str,
    load: Any,
    actor: str,
    now: datetime,
    key: BatchKey | None,
) -> CouponBatch:
    """``count`` unique codes, each usable ``usage_limit`` times, for a coupon promotion."""

    async def write(conn: AsyncConnection) -> dict[str, Any]:
        parent: Promotion = await _current(conn, load, promotion_id)
        if parent.coupon_code is None:
            raise _Refused(
                PromotionProblem(
                    "CONTRADICTORY", "promotionId", "an automatic promotion needs no codes"
                )
            )
        if parent.ends_at is not None and parent.ends_at <= now:
            raise _Refused(PromotionProblem("NEVER_APPLIES", "promotionId", "it has ended"))
        codes: set[str] = set()
        while len(codes) < count:  # a clash is astronomically rare; draw again if so
            fresh = {_code(prefix) for _ in range(count - len(codes))}
            clash = set(
                await conn.scalars(
                    select(func.upper(m.Promotion.coupon_code)).where(
                        func.upper(m.Promotion.coupon_code).in_(fresh)
                    )
                )
            )
            codes |= fresh - clash
        shared = {k: v for k, v in _row(parent).items() if k in _SHARED}
        rows = [
            shared
            | {
                "coupon_code": code,
                "usage_limit": usage_limit,
                "per_customer_limit": min(parent.per_customer_limit or usage_limit, usage_limit),
                "currency": parent.currency,
                "parent_id": promotion_id,
            }
            for code in sorted(codes)
        ]
        ids = list(await conn.scalars(insert(m.Promotion).returning(m.Promotion.id), rows))
        await _write_targets(conn, ids, parent)
        await _audit(conn, actor=actor, now=now, action="coupon.generate",
                     promotion_id=promotion_id, before={},
                     after={"count": count, "usage_limit": usage_limit,
                            "prefix": prefix})  # fmt: skip
        return {"codes": sorted(codes)}

    try:
        result, replayed = await _keyed(db, key, now, write)
    except _Refused as refused:
        return CouponBatch(problems=refused.problems)
    except IdempotencyKeyReused:
        return CouponBatch(problems=_key_reused())
    assert result is not None
    return CouponBatch(promotion_id, tuple(result["codes"]), replayed=replayed)
