"""``POST /admin/invalidate``: systems that change data behind the gateway's back say so.

Authenticated by the shared secret (``X-Gateway-Admin-Secret``, GATEWAY_ADMIN_SECRET) or a
staff bearer token with MANAGE_PRODUCTS. No credential, or a bad one: 401; a valid token
without the permission: 403. Body: ``{"ids": ["<global id>", ...]}`` and/or
``{"types": ["Product", ...]}``.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..auth import Permission, TokenError, TokenVerifier
from ..schema.common import BadUserInput
from ..schema.node import decode_id
from ..settings import Settings
from ..sources import Sources
from .entities import ReadThrough
from .keys import LISTING_KINDS, Kind

MAX_IDS = 1000
SECRET_HEADER = "x-gateway-admin-secret"
TYPE_NAMES = {"Promotion": Kind.PROMOTIONS, **{k.value: k for k in Kind}}
ENTITY_KINDS = set(Kind) - {Kind.DOCUMENT, Kind.RESPONSE, Kind.TAG}


class AdminError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def authorize(request: Request, settings: Settings, verifier: TokenVerifier) -> None:
    secret = request.headers.get(SECRET_HEADER)
    header = request.headers.get("authorization")
    if secret is not None:
        expected = settings.admin_secret
        if expected is None or not hmac.compare_digest(secret.encode(), expected.encode()):
            raise AdminError(401, "UNAUTHENTICATED", "wrong admin secret")
        return
    if header is None:
        raise AdminError(401, "UNAUTHENTICATED", "an admin secret or a staff token is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AdminError(401, "TOKEN_INVALID", "the Authorization header must be 'Bearer <token>'")
    try:
        viewer = verifier.verify(token.strip())
    except TokenError as exc:
        raise AdminError(401, exc.code, exc.message) from None
    if not viewer.has(Permission.MANAGE_PRODUCTS):
        raise AdminError(403, "FORBIDDEN", "invalidation needs the MANAGE_PRODUCTS permission")


async def _targets(
    body: Any, sources: Sources, currency: str
) -> tuple[list[tuple[Kind, object]], set[Kind]]:
    if not isinstance(body, dict) or not (body.get("ids") or body.get("types")):
        raise AdminError(400, "BAD_REQUEST", 'send {"ids": [...]} and/or {"types": [...]}')
    ids, types = body.get("ids") or [], body.get("types") or []
    if not isinstance(ids, list) or not isinstance(types, list) or len(ids) > MAX_IDS:
        raise AdminError(400, "BAD_REQUEST", f"ids and types are lists (at most {MAX_IDS} ids)")
    kinds: set[Kind] = set()
    for name in types:
        kind = TYPE_NAMES.get(str(name))
        if kind is None or kind not in ENTITY_KINDS:
            raise AdminError(400, "UNKNOWN_TYPE", f"unknown type {name!r}")
        kinds.add(kind)
    entities: list[tuple[Kind, object]] = []
    sku_ids: list[int] = []
    for global_id in ids:
        try:
            type_name, pk = decode_id(str(global_id))
        except BadUserInput as exc:
            raise AdminError(400, "INVALID_ID", str(exc)) from None
        if type_name == "Product" and pk.isdigit():
            pid = int(pk)
            entities += [(Kind.PRODUCT, pid), (Kind.PRODUCT_SKUS, pid), (Kind.BUNDLE_ITEMS, pid)]
            kinds.update(LISTING_KINDS)
        elif type_name == "Sku" and pk.isdigit():
            sku_ids.append(int(pk))
            entities += [(Kind.SKU, pk), (Kind.STOCK, pk), (Kind.PRICE, f"{currency}:{pk}")]
            kinds.update(LISTING_KINDS)
        elif type_name == "Category" and pk.isdigit():
            entities.append((Kind.CATEGORY, pk))
            kinds.update((Kind.CATEGORY_TREE, Kind.CATEGORY_PAGE))
        elif type_name == "Promotion" and pk.isdigit():
            kinds.add(Kind.PROMOTIONS)
        else:
            raise AdminError(400, "UNKNOWN_TYPE", f"{global_id!r} is not a cached type")
    if sku_ids:  # a SKU's product shows it (price range, stock flag, its SKU list)
        for sku in (await sources.catalog.skus_by_ids(sku_ids)).values():
            entities += [(Kind.PRODUCT, sku.product_id), (Kind.PRODUCT_SKUS, sku.product_id)]
    return entities, kinds


async def invalidate_endpoint(
    request: Request,
    *,
    settings: Settings,
    verifier: TokenVerifier,
    sources: Sources,
    cache: ReadThrough | None,
) -> Response:
    try:
        authorize(request, settings, verifier)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise AdminError(400, "BAD_REQUEST", "the body must be JSON") from None
        entities, kinds = await _targets(body, sources, settings.currency)
    except AdminError as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(
            {"error": {"code": exc.code, "message": exc.message}},
            status_code=exc.status,
            headers=headers,
        )
    if cache is not None:
        await cache.cache.invalidate(entities, kinds)
    return JSONResponse(
        {"invalidated": {"keys": len(entities), "types": sorted(k.value for k in kinds)}}
    )
