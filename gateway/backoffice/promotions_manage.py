"""Promotions, coupon codes and warehouses from the back office. The pricing source judges
a promotion by the engine's rules; here the targets it names are checked against the
catalog (which owns products and categories), and the cached promotions dropped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sources.common.idempotency import IdempotencyKeyReused
from sources.inventory.records import Warehouse
from sources.pricing.records import PromotionFields, PromotionProblem

from ..cache import invalidation
from ..cache.keys import Kind
from ..errors import Problem, UserErrorCode
from ..sources import Sources
from .catalog_manage import LANGUAGE, batch_key
from .catalog_writes import key_problems

MAX_CODES = 10_000
PREFIX = re.compile(r"^[A-Z0-9]{0,12}-?$")
WAREHOUSE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
REGION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")

_CODES = {
    "NEVER_APPLIES": UserErrorCode.PROMOTION_NEVER_APPLIES,
    "CONTRADICTORY": UserErrorCode.PROMOTION_CONTRADICTORY,
    "INVALID": UserErrorCode.INVALID_INPUT,
    "TAKEN": UserErrorCode.CODE_TAKEN,
    "NOT_FOUND": UserErrorCode.PROMOTION_NOT_FOUND,
    "KEY_REUSED": UserErrorCode.IDEMPOTENCY_KEY_REUSED,
}
_ARGUMENTS = {"promotionId", "idempotencyKey"}  # not in the input: the mutation's own
KEY_REUSED = Problem(
    UserErrorCode.IDEMPOTENCY_KEY_REUSED,
    "this idempotency key was used with other arguments",
    ("idempotencyKey",),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    problems: list[Problem]
    id: int | None = None
    codes: tuple[str, ...] = ()
    replayed: bool = False
    warehouse: Warehouse | None = None


def _problem(p: PromotionProblem, *, in_input: bool = True) -> Problem:
    field = (p.field,) if not in_input or p.field in _ARGUMENTS else ("input", p.field)
    return Problem(_CODES.get(p.code, UserErrorCode.INVALID_INPUT), p.message, field)


def _not_found() -> Outcome:
    return Outcome(
        [Problem(UserErrorCode.PROMOTION_NOT_FOUND, "no such promotion", ("promotionId",))]
    )


def _translation_problems(fields: PromotionFields) -> list[Problem]:
    """Each language once, as a tag; a name of 1 to 200 characters, terms up to 2,000."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for n, t in enumerate(fields.translations or ()):
        at = ("input", "translations", str(n))
        if not LANGUAGE.match(t.language) or t.language.lower() in seen:
            problems.append(
                Problem(UserErrorCode.INVALID_INPUT, "a language tag such as zh-CN, each once",
                        (*at, "language"))
            )  # fmt: skip
        seen.add(t.language.lower())
        if "\x00" in t.name or not 1 <= len(t.name.strip()) <= 200:
            problems.append(
                Problem(UserErrorCode.INVALID_INPUT, "a name of 1 to 200 characters", (*at, "name"))
            )
        if t.description is not None and ("\x00" in t.description or len(t.description) > 2000):
            problems.append(
                Problem(
                    UserErrorCode.INVALID_INPUT, "at most 2000 characters", (*at, "description")
                )
            )
    return problems


async def _target_problems(sources: Sources, fields: PromotionFields) -> list[Problem]:
    """Targets must exist: a promotion on a product that is not there can never apply."""
    problems: list[Problem] = _translation_problems(fields)
    if fields.product_ids:
        found = await sources.catalog.products_by_ids(fields.product_ids)
        if set(fields.product_ids) - set(found):
            problems.append(
                Problem(UserErrorCode.PRODUCT_NOT_FOUND, "no such product", ("input", "productIds"))
            )
    if fields.category_ids:
        found_categories = await sources.catalog.categories_by_ids(fields.category_ids)
        if set(fields.category_ids) - set(found_categories):
            problems.append(
                Problem(
                    UserErrorCode.CATEGORY_NOT_FOUND, "no such category", ("input", "categoryIds")
                )
            )
    return problems


async def promotions_changed(sources: Sources) -> None:
    await invalidation.invalidate(sources, (), (Kind.PROMOTIONS,))


async def create_promotion(
    sources: Sources,
    fields: PromotionFields,
    *,
    idempotency_key: str | None,
    currency: str,
    actor: str,
    now: datetime,
) -> Outcome:
    problems = key_problems(idempotency_key) + await _target_problems(sources, fields)
    if problems:
        return Outcome(problems)
    write = await sources.pricing.create_promotion(
        fields,
        currency=currency,
        actor=actor,
        now=now,
        key=batch_key(idempotency_key, "promotionCreate", fields),
    )
    if write.problems:
        return Outcome([_problem(p) for p in write.problems])
    await promotions_changed(sources)
    return Outcome([], id=write.id, replayed=write.replayed)


async def update_promotion(
    sources: Sources,
    promotion_id: int | None,
    fields: PromotionFields,
    *,
    actor: str,
    now: datetime,
) -> Outcome:
    if promotion_id is None:
        return _not_found()
    problems = await _target_problems(sources, fields)
    if problems:
        return Outcome(problems)
    write = await sources.pricing.update_promotion(promotion_id, fields, actor=actor, now=now)
    if write.problems:
        return Outcome([_problem(p) for p in write.problems])
    await promotions_changed(sources)
    return Outcome([], id=write.id)


async def end_promotion(
    sources: Sources, promotion_id: int | None, *, actor: str, now: datetime
) -> Outcome:
    if promotion_id is None:
        return _not_found()
    write = await sources.pricing.end_promotion(promotion_id, actor=actor, now=now)
    if write.problems:
        return Outcome([_problem(p, in_input=False) for p in write.problems])
    await promotions_changed(sources)
    return Outcome([], id=write.id)


async def generate_codes(
    sources: Sources,
    promotion_id: int | None,
    *,
    count: int,
    usage_limit: int,
    prefix: str,
    idempotency_key: str | None,
    actor: str,
    now: datetime,
) -> Outcome:
    problems = key_problems(idempotency_key)
    if not 1 <= count <= MAX_CODES:
        problems.append(
            Problem(UserErrorCode.INVALID_INPUT, f"count must be 1 to {MAX_CODES}", ("count",))
        )
    if not 1 <= usage_limit <= 1_000_000:
        problems.append(
            Problem(UserErrorCode.INVALID_INPUT, "usageLimit must be at least 1", ("usageLimit",))
        )
    if not PREFIX.match(prefix):
        problems.append(
            Problem(
                UserErrorCode.INVALID_INPUT,
                "prefix is up to 12 capital letters or digits, then an optional '-'",
                ("prefix",),
            )
        )
    if promotion_id is None:
        return Outcome([*_not_found().problems, *problems])
    if problems:
        return Outcome(problems)
    batch = await sources.pricing.generate_coupon_codes(
        promotion_id,
        count=count,
        usage_limit=usage_limit,
        prefix=prefix,
        actor=actor,
        now=now,
        key=batch_key(
            idempotency_key, "couponCodesGenerate", [promotion_id, count, usage_limit, prefix]
        ),
    )
    if batch.problems:
        return Outcome([_problem(p, in_input=False) for p in batch.problems])
    return Outcome([], id=promotion_id, codes=batch.codes, replayed=batch.replayed)


async def create_warehouse(
    sources: Sources,
    *,
    code: str,
    name: str,
    region_code: str,
    priority: int | None,
    idempotency_key: str | None,
    actor: str,
    now: datetime,
) -> Outcome:
    problems: list[Problem] = key_problems(idempotency_key)
    if not WAREHOUSE_CODE.match(code):
        problems.append(
            Problem(
                UserErrorCode.INVALID_INPUT,
                "code is 2 to 32 capital letters, digits or '-'",
                ("input", "code"),
            )
        )
    if not 1 <= len(name.strip()) <= 200 or "\x00" in name:
        problems.append(
            Problem(UserErrorCode.INVALID_INPUT, "name is 1 to 200 characters", ("input", "name"))
        )
    if not REGION.match(region_code):
        problems.append(
            Problem(
                UserErrorCode.INVALID_INPUT,
                "regionCode is an ISO 3166-2 code such as CN-SH",
                ("input", "regionCode"),
            )
        )
    if priority is not None and not 0 <= priority <= 10_000:
        problems.append(
            Problem(UserErrorCode.INVALID_INPUT, "priority is 0 to 10000", ("input", "priority"))
        )
    if problems:
        return Outcome(problems)
    key = batch_key(idempotency_key, "warehouseCreate", [code, name, region_code, priority])
    try:
        created = await sources.inventory.create_warehouse(
            code=code, name=name.strip(), region_code=region_code, priority=priority,
            actor=actor, now=now, key=key,
        )  # fmt: skip
    except IdempotencyKeyReused:
        return Outcome([KEY_REUSED])
    warehouse = created.warehouse
    if warehouse is None:
        return Outcome(
            [Problem(UserErrorCode.CODE_TAKEN, f"code {code!r} is taken", ("input", "code"))]
        )
    return Outcome([], id=warehouse.id, warehouse=warehouse, replayed=created.replayed)
