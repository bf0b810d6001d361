"""Who is asking: bearer JWTs issued by the shop's identity provider, verified here.

The algorithm is pinned (never taken from the token), ``exp`` is required, and a bad token
is refused outright: a request with a broken token must not quietly become anonymous.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

import jwt

from .settings import Settings


class Permission(StrEnum):
    MANAGE_PRODUCTS = "MANAGE_PRODUCTS"
    MANAGE_PRICES = "MANAGE_PRICES"
    MANAGE_STOCK = "MANAGE_STOCK"
    MANAGE_ORDERS = "MANAGE_ORDERS"
    MANAGE_AFTER_SALES = "MANAGE_AFTER_SALES"
    VIEW_FINANCE = "VIEW_FINANCE"


class ViewerKind(StrEnum):
    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Viewer:
    kind: ViewerKind = ViewerKind.ANONYMOUS
    subject: str | None = None
    permissions: frozenset[Permission] = field(default_factory=frozenset)

    @property
    def customer_id(self) -> int | None:
        if self.kind is ViewerKind.CUSTOMER and self.subject and self.subject.isdigit():
            return int(self.subject)
        return None

    def has(self, permission: Permission) -> bool:
        return self.kind is ViewerKind.STAFF and permission in self.permissions


ANONYMOUS = Viewer()


class TokenError(Exception):
    """A token the gateway refuses; ``code`` goes to the client in ``extensions.code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def issue_token(
    settings: Settings,
    *,
    kind: ViewerKind,
    subject: str,
    permissions: list[str] | None = None,
    ttl_seconds: int | None = None,
) -> str:
    """A development token signed with GATEWAY_JWT_SECRET (HS256)."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "kind": kind.value,
        "iat": now,
        "exp": now + (ttl_seconds or settings.token_ttl_seconds),
    }
    if kind is ViewerKind.STAFF:
        claims["permissions"] = sorted(permissions or [])
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def verify_token(settings: Settings, token: str) -> Viewer:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],
            options={"require": ["exp", "sub"]},
            leeway=30,
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("TOKEN_EXPIRED", "the bearer token has expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenError("TOKEN_INVALID", "the bearer token's signature is not valid") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise TokenError("TOKEN_INVALID", "the bearer token uses a refused algorithm") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError(
            "TOKEN_INVALID", f"the bearer token lacks the {exc.claim!r} claim"
        ) from exc
    except jwt.PyJWTError as exc:
        raise TokenError("TOKEN_INVALID", "the bearer token is malformed") from exc
    kind = claims.get("kind")
    if kind == ViewerKind.CUSTOMER.value:
        return Viewer(ViewerKind.CUSTOMER, str(claims["sub"]))
    if kind == ViewerKind.STAFF.value:
        raw = claims.get("permissions", [])
        if not isinstance(raw, list):
            raise TokenError("TOKEN_INVALID", "the token's permissions must be a list")
        known = {p.value for p in Permission}
        return Viewer(
            ViewerKind.STAFF,
            str(claims["sub"]),
            frozenset(Permission(p) for p in raw if p in known),
        )
    raise TokenError("TOKEN_INVALID", "the token's kind must be customer or staff")
