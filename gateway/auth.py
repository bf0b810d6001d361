"""Who is asking: bearer JWTs issued by the shop's identity provider, verified here.

The algorithm is pinned (never taken from the token), ``exp`` is required, and a bad token
is refused outright: a request with a broken token must not quietly become anonymous.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt

from .ids import row_id
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
        if self.kind is ViewerKind.CUSTOMER and self.subject:
            return row_id(self.subject)
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
    """A development token signed with GATEWAY_JWT_SECRET (HS256), with the configured
    audience and issuer so the gateway accepts it."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "kind": kind.value,
        "iat": now,
        "exp": now + (ttl_seconds or settings.token_ttl_seconds),
    }
    if kind is ViewerKind.STAFF:
        claims["permissions"] = sorted(permissions or [])
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


class TokenVerifier:
    """Verifies bearer tokens with the configured key; built once per app, not per request.

    HS256 uses GATEWAY_JWT_SECRET; RS256/ES256 use GATEWAY_JWT_PUBLIC_KEY (PEM text or a
    file path) or a JWKS file whose key is chosen by the token's ``kid``.
    """

    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        self.leeway = settings.jwt_leeway_seconds
        self.key: Any = settings.jwt_secret
        self.jwks: jwt.PyJWKSet | None = None
        if self.algorithm != "HS256":
            if settings.jwt_jwks_file:
                self.jwks = jwt.PyJWKSet.from_json(Path(settings.jwt_jwks_file).read_text())
            elif settings.jwt_public_key:
                pem = settings.jwt_public_key
                self.key = Path(pem).read_text() if not pem.lstrip().startswith("-----") else pem

    def _key_for(self, token: str) -> Any:
        if self.jwks is None:
            return self.key
        kid = jwt.get_unverified_header(token).get("kid")
        for candidate in self.jwks.keys:
            if candidate.key_id == kid:
                return candidate.key
        raise TokenError("TOKEN_INVALID", "the bearer token's key id is not known")

    def verify(self, token: str) -> Viewer:
        required = (
            ["exp", "sub"] + (["aud"] if self.audience else []) + (["iss"] if self.issuer else [])
        )
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": required},
                leeway=self.leeway,
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
        except jwt.InvalidAudienceError as exc:
            raise TokenError("TOKEN_INVALID", "the bearer token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise TokenError("TOKEN_INVALID", "the bearer token has an unknown issuer") from exc
        except jwt.ImmatureSignatureError as exc:
            raise TokenError("TOKEN_INVALID", "the bearer token is not valid yet") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("TOKEN_INVALID", "the bearer token is malformed") from exc
        return _viewer_from_claims(claims)


def _viewer_from_claims(claims: dict[str, Any]) -> Viewer:
    kind = claims.get("kind")
    subject = str(claims["sub"])
    if kind == ViewerKind.CUSTOMER.value:
        if row_id(subject) is None:
            raise TokenError("TOKEN_INVALID", "a customer token's sub must be a customer id")
        return Viewer(ViewerKind.CUSTOMER, subject)
    if kind == ViewerKind.STAFF.value:
        raw = claims.get("permissions", [])
        if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
            raise TokenError("TOKEN_INVALID", "the token's permissions must be a list of names")
        known = {p.value for p in Permission}
        # Unknown names are ignored, not fatal: the identity provider may know newer ones.
        return Viewer(
            ViewerKind.STAFF, subject, frozenset(Permission(p) for p in raw if p in known)
        )
    raise TokenError("TOKEN_INVALID", "the token's kind must be customer or staff")
