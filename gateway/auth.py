"""Who is asking: bearer JWTs issued by the shop's identity provider, verified here.

The algorithm is pinned (never taken from the token), ``exp`` is required, and a bad token
is refused outright: a request with a broken token must not quietly become anonymous.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
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
    MANAGE_CUSTOMERS = "MANAGE_CUSTOMERS"


class ViewerKind(StrEnum):
    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class SignUpClaims:
    """What an identity provider's token says about a customer the shop may not know yet."""

    email: str | None
    name: str | None
    email_verified: bool


@dataclass(frozen=True, slots=True)
class Viewer:
    kind: ViewerKind = ViewerKind.ANONYMOUS
    subject: str | None = None
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    # The customer's id once known. Unset with GATEWAY_CUSTOMER_SUBJECTS=customer-id, where
    # the subject is the id; set by gateway/accounts.py for an identity provider's subject
    # (never read from such a subject: "5" there is not customer 5).
    customer_pk: int | None = None
    subject_is_customer_id: bool = True
    sign_up: SignUpClaims | None = None

    @property
    def customer_id(self) -> int | None:
        if self.kind is not ViewerKind.CUSTOMER:
            return None
        if self.customer_pk is not None:
            return self.customer_pk
        if self.subject and self.subject_is_customer_id:
            return row_id(self.subject)
        return None

    @property
    def needs_account(self) -> bool:
        """An identity provider's customer whose shop account is still to be found."""
        return (
            self.kind is ViewerKind.CUSTOMER
            and not self.subject_is_customer_id
            and self.customer_pk is None
        )

    def has(self, permission: Permission) -> bool:
        return self.kind is ViewerKind.STAFF and permission in self.permissions


ANONYMOUS = Viewer()


def is_buyer(viewer: Viewer) -> bool:
    """Anonymous or a customer: whoever sees the public catalog (staff see unpublished
    products and staff-only fields), so a browsing answer is the same for every buyer."""
    return viewer.kind in (ViewerKind.ANONYMOUS, ViewerKind.CUSTOMER) and not viewer.permissions


MAX_SUBJECT_LENGTH = 255  # customers.subject
MAX_HEADER_LENGTH = 4096


class TokenError(Exception):
    """A token the gateway refuses; ``code`` goes to the client in ``extensions.code``.
    ``status`` is 401 for a token to replace, 409 for an account conflict, 503 when the
    identity provider's keys cannot be fetched (try again, not sign in again)."""

    def __init__(self, code: str, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def issue_token(
    settings: Settings,
    *,
    kind: ViewerKind,
    subject: str,
    permissions: list[str] | None = None,
    ttl_seconds: int | None = None,
    extra_claims: dict[str, object] | None = None,
) -> str:
    """A development token signed with GATEWAY_JWT_SECRET (HS256), with the configured
    audience and issuer so the gateway accepts it."""
    now = int(time.time())
    claims: dict[str, object] = {
        **(extra_claims or {}),
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


def _kid(token: str) -> object:
    """The key id a token's header names: only a hint for choosing the key (``jwt.decode``
    then checks everything), read without PyJWT's whole-token decode, which costs as much
    as the RS256 verification itself."""
    head = token.split(".", 1)[0]
    if len(head) > MAX_HEADER_LENGTH:
        return None
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, binascii.Error):
        return None
    return header.get("kid") if isinstance(header, dict) else None


VERIFIED_KEPT = 4096  # verified tokens kept per process (see TokenVerifier.verify)


class TokenVerifier:
    """Verifies bearer tokens with the configured key; built once per app, not per request.

    HS256 uses GATEWAY_JWT_SECRET; RS256/ES256 use the identity provider's JWKS URL (keys
    fetched and cached, a token with an unknown ``kid`` refetching them at most once per
    cooldown, so a rotated key is picked up and a flood of made-up ids costs no fetches),
    a JWKS file, or GATEWAY_JWT_PUBLIC_KEY (PEM text or a file path).
    """

    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        self.leeway = settings.jwt_leeway_seconds
        self.customer_subjects = settings.customer_subjects
        self.email_claim = settings.jwt_email_claim
        self.name_claim = settings.jwt_name_claim
        self.key: Any = settings.jwt_secret
        self.jwks: jwt.PyJWKSet | None = None
        self.jwks_client: jwt.PyJWKClient | None = None
        self._indexed_set: jwt.PyJWKSet | None = None
        self._keys_by_kid: dict[str, Any] = {}
        if self.algorithm != "HS256":
            if settings.jwt_jwks_url:
                self.jwks_client = jwt.PyJWKClient(
                    settings.jwt_jwks_url,
                    cache_jwk_set=True,
                    lifespan=settings.jwt_jwks_cache_seconds,
                    timeout=5,
                    cooldown_duration=settings.jwt_jwks_cooldown_seconds,
                )
            elif settings.jwt_jwks_file:
                self.jwks = jwt.PyJWKSet.from_json(Path(settings.jwt_jwks_file).read_text())
            elif settings.jwt_public_key:
                pem = settings.jwt_public_key
                self.key = Path(pem).read_text() if not pem.lstrip().startswith("-----") else pem
        # Tokens verified with a key that cannot change while the process runs (the secret,
        # a key file, a PEM): their viewer, until their exp (see verify). Not with a JWKS
        # URL, whose keys rotate: there every token is verified against the current set.
        self._verified: dict[str, tuple[Viewer, float]] | None = (
            {} if self.jwks_client is None else None
        )

    def _cached_key(self, kid: object) -> Any | None:
        """The key for ``kid`` from the fetched set still in its cache, without a fetch;
        indexed once per fetched set (the client's own lookup rebuilds its list per call)."""
        assert self.jwks_client is not None
        cache = self.jwks_client.jwk_set_cache
        current = cache.get() if cache is not None else None
        if current is None:
            return None
        if current is not self._indexed_set:
            self._keys_by_kid = {k.key_id: k.key for k in current.keys if k.key_id}
            self._indexed_set = current
        return self._keys_by_kid.get(kid) if isinstance(kid, str) else None

    def _key_for(self, token: str) -> Any:
        if self.jwks_client is not None:
            key = self._cached_key(_kid(token))
            if key is not None:
                return key
            try:
                return self.jwks_client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientConnectionError as exc:
                raise TokenError(
                    "IDENTITY_PROVIDER_UNAVAILABLE",
                    "the identity provider's keys cannot be fetched; try again shortly",
                    status=503,
                ) from exc
            except jwt.PyJWKClientError as exc:
                raise TokenError("TOKEN_INVALID", "the bearer token's key id is not known") from exc
        if self.jwks is None:
            return self.key
        kid = jwt.get_unverified_header(token).get("kid")
        for candidate in self.jwks.keys:
            if candidate.key_id == kid:
                return candidate.key
        raise TokenError("TOKEN_INVALID", "the bearer token's key id is not known")

    def _may_fetch(self, token: str) -> bool:
        """Whether verifying ``token`` may fetch the key set (blocking I/O)."""
        if self.jwks_client is None:
            return False
        return self._cached_key(_kid(token)) is None

    async def verify_async(self, token: str) -> Viewer:
        """``verify``, off the event loop when it would fetch the identity provider's keys."""
        if self._may_fetch(token):
            return await asyncio.to_thread(self.verify, token)
        return self.verify(token)

    def verify(self, token: str) -> Viewer:
        """The token's viewer, or TokenError.

        A token that verified with a fixed key verifies again, with the same viewer, until
        its ``exp`` (plus the leeway) passes: the signature, audience and issuer do not
        change, ``nbf`` and ``iat`` once passed stay passed, and the key cannot change
        without a restart. So such a token's viewer is kept until then (at most
        ``VERIFIED_KEPT`` tokens) and a repeated token costs a dict look-up instead of
        PyJWT's decode (about 370 Python calls, 40-200 µs of CPU: the largest fixed cost
        of a signed-in request after the executor's; docs/checkout-performance.md). Once
        expired it is verified again, and refused as expired in the same words."""
        verified = self._verified
        if verified is not None:
            kept = verified.get(token)
            if kept is not None:
                if time.time() < kept[1]:
                    return kept[0]
                del verified[token]
        viewer, claims = self._verify(token)
        if verified is not None:
            if len(verified) >= VERIFIED_KEPT:
                del verified[next(iter(verified))]  # the oldest out
            verified[token] = (viewer, int(claims["exp"]) + self.leeway)
        return viewer

    def _verify(self, token: str) -> tuple[Viewer, dict[str, Any]]:
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
        return self._viewer_from_claims(claims), claims

    def _viewer_from_claims(self, claims: dict[str, Any]) -> Viewer:
        from_provider = self.customer_subjects == "identity-provider"
        # An identity provider's sign-up yields plain tokens: no `kind` means a customer's.
        kind = claims.get("kind", ViewerKind.CUSTOMER.value if from_provider else None)
        subject = str(claims["sub"])
        if kind == ViewerKind.CUSTOMER.value:
            if from_provider:
                return self._provider_customer(subject, claims)
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

    def _provider_customer(self, subject: str, claims: dict[str, Any]) -> Viewer:
        if not subject or len(subject) > MAX_SUBJECT_LENGTH:
            raise TokenError(
                "TOKEN_INVALID",
                f"a customer token's sub must be 1 to {MAX_SUBJECT_LENGTH} characters",
            )
        email = claims.get(self.email_claim)
        name = claims.get(self.name_claim)
        return Viewer(
            ViewerKind.CUSTOMER,
            subject,
            subject_is_customer_id=False,
            sign_up=SignUpClaims(
                email=email if isinstance(email, str) else None,
                name=name if isinstance(name, str) else None,
                email_verified=claims.get("email_verified") is True,
            ),
        )
