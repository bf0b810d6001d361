"""Back-office promotion, coupon and warehouse mutations: the input into the sources'
records, gateway/backoffice/promotions_manage.py, the result back for the payload."""

from collections.abc import Sequence
from typing import Annotated, Any

import strawberry

from sources.common.translations import Translation
from sources.pricing.records import PromotionFields

from ..backoffice import promotions_manage as manage
from ..schema.common import Info
from ..schema.errors import user_errors
from ..schema.node import encode_id
from ..schema.pricing import Promotion
from ..schema.promotions_manage import (
    CouponCodesPayload,
    PromotionInput,
    PromotionPayload,
    Warehouse,
    WarehouseInput,
    WarehousePayload,
)
from .backoffice import _actor, _pk

_NOWHERE = -1  # an id that is not ours names nothing: "not found" from the source

_RENAMED = {"exclusive": "is_exclusive", "active": "is_active"}
_NULLABLE = (
    "description", "starts_at", "ends_at", "coupon_code", "usage_limit", "per_customer_limit",
    "percent", "amount", "threshold", "buy_quantity", "get_quantity",
)  # fmt: skip


def _fields(data: PromotionInput, languages: Sequence[str] = ()) -> PromotionFields:
    values: dict[str, Any] = {}
    clear: list[str] = []
    for name in (
        "name", "kind", "description", "scope", "starts_at", "ends_at", "coupon_code",
        "usage_limit", "per_customer_limit", "priority", "exclusive", "active", "percent",
        "amount", "threshold", "buy_quantity", "get_quantity",
    ):  # fmt: skip
        value = getattr(data, name)
        if value is strawberry.UNSET:
            continue
        if value is None:
            if name in _NULLABLE:
                clear.append(name)
            continue
        values[_RENAMED.get(name, name)] = value
    for name, type_name in (("product_ids", "Product"), ("category_ids", "Category")):
        ids = getattr(data, name)
        if ids is not strawberry.UNSET:
            values[name] = tuple((_pk(i, type_name) or _NOWHERE) for i in ids or ())
    if data.translations is not strawberry.UNSET:
        offered = {language.lower(): language for language in languages}
        values["translations"] = tuple(
            Translation(offered.get(t.language.strip().lower(), t.language.strip()), t.name,
                        t.description)
            for t in data.translations or ()
        )  # fmt: skip
    return PromotionFields(**values, clear=tuple(clear))


async def _payload(info: Info, outcome: manage.Outcome, replayed: bool = False) -> PromotionPayload:
    promotion = None
    if outcome.id is not None:
        found = await info.context.sources.pricing.promotions_by_ids([outcome.id])
        record = found.get(outcome.id)
        promotion = Promotion.from_record(record) if record else None
    return PromotionPayload(
        promotion=promotion, replayed=replayed, user_errors=user_errors(outcome.problems)
    )


async def promotion_create(
    info: Info,
    input: Annotated[PromotionInput, strawberry.argument(description="The promotion's terms.")],
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description=("A key the client makes up; a retry with it returns the same promotion.")
        ),
    ] = None,
) -> PromotionPayload:
    ctx = info.context
    outcome = await manage.create_promotion(
        ctx.sources,
        _fields(input, ctx.settings.languages.offered),
        idempotency_key=idempotency_key,
        currency=ctx.settings.currency,
        actor=_actor(info),
        now=ctx.now,
    )
    return await _payload(info, outcome, outcome.replayed)


async def promotion_update(
    info: Info,
    promotion_id: Annotated[
        strawberry.ID, strawberry.argument(description="The promotion's id (Promotion.id).")
    ],
    input: Annotated[PromotionInput, strawberry.argument(description="The promotion's new terms.")],
) -> PromotionPayload:
    ctx = info.context
    outcome = await manage.update_promotion(
        ctx.sources,
        _pk(promotion_id, "Promotion"),
        _fields(input, ctx.settings.languages.offered),
        actor=_actor(info),
        now=ctx.now,
    )
    return await _payload(info, outcome)


async def promotion_end(
    info: Info,
    promotion_id: Annotated[
        strawberry.ID, strawberry.argument(description="The promotion's id (Promotion.id).")
    ],
) -> PromotionPayload:
    ctx = info.context
    outcome = await manage.end_promotion(
        ctx.sources, _pk(promotion_id, "Promotion"), actor=_actor(info), now=ctx.now
    )
    return await _payload(info, outcome)


async def coupon_codes_generate(
    info: Info,
    promotion_id: Annotated[
        strawberry.ID, strawberry.argument(description="The coupon promotion's id (Promotion.id).")
    ],
    count: Annotated[int, strawberry.argument(description="How many codes (1 to 10,000).")],
    usage_limit: Annotated[
        int,
        strawberry.argument(description="How many orders each code may be used on (at least 1)."),
    ] = 1,
    prefix: Annotated[
        str, strawberry.argument(description="Letters every code starts with, e.g. SPRING.")
    ] = "",
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description="A key the client makes up; a retry with it returns the same codes."
        ),
    ] = None,
) -> CouponCodesPayload:
    ctx = info.context
    outcome = await manage.generate_codes(
        ctx.sources,
        _pk(promotion_id, "Promotion"),
        count=count,
        usage_limit=usage_limit,
        prefix=prefix,
        idempotency_key=idempotency_key,
        actor=_actor(info),
        now=ctx.now,
    )
    shown = await _payload(info, outcome)
    return CouponCodesPayload(
        promotion=shown.promotion,
        codes=list(outcome.codes) if not outcome.problems else None,
        replayed=outcome.replayed,
        user_errors=shown.user_errors,
    )


async def warehouse_create(
    info: Info,
    input: Annotated[
        WarehouseInput, strawberry.argument(description="The warehouse's code, name and region.")
    ],
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description="A key the client makes up; a retry with it returns the same warehouse."
        ),
    ] = None,
) -> WarehousePayload:
    ctx = info.context
    outcome = await manage.create_warehouse(
        ctx.sources,
        code=input.code,
        name=input.name,
        region_code=input.region_code,
        priority=input.priority,
        idempotency_key=idempotency_key,
        actor=_actor(info),
        now=ctx.now,
    )
    w = outcome.warehouse
    return WarehousePayload(
        warehouse=Warehouse(
            id=encode_id("Warehouse", w.id), code=w.code, name=w.name, region_code=w.region_code
        )
        if w
        else None,
        replayed=outcome.replayed,
        user_errors=user_errors(outcome.problems),
    )
