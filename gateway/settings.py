"""Configuration, read from the environment once and validated at start.

Every variable is listed in docs/configuration.md. A bad value stops the process with one line that
names the variable, instead of a traceback or a half-configured server.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .cache.settings import CacheSettings
from .checkout.hint_settings import PromotionHintSettings
from .compression import CompressionSettings
from .i18n.settings import LanguageSettings
from .media.settings import MediaSettings
from .payments.settings import PaymentSettings
from .ratelimit.settings import RateLimitSettings
from .remote_settings import RemoteSettings
from .resilience.settings import ResilienceSettings
from .stock.settings import StockVisibilitySettings
from .tracing.settings import TracingSettings

if TYPE_CHECKING:
    from sources.catalog.search.synonyms import SynonymFile

SOURCE_NAMES = ("catalog", "inventory", "pricing", "orders")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
# "SH-01=24,supplier:7=72": handling hours per warehouse code or drop-ship supplier id.
SHIP_BY_RULES = r"^(\s*([A-Za-z0-9_.-]{1,32}|supplier:\d{1,9})\s*=\s*\d{1,4}(\.\d+)?\s*(,|$))*$"
# The door's places for a whole host when GATEWAY_MAX_IN_FLIGHT is unset (Settings.in_flight_limit).
IN_FLIGHT_PER_HOST = 16
DEV_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    environment: Annotated[Environment, Field(validation_alias=_env("GATEWAY_ENV"))] = (
        Environment.DEVELOPMENT
    )
    host: Annotated[str, Field(validation_alias=_env("GATEWAY_HOST"))] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535, validation_alias=_env("GATEWAY_PORT"))] = 8000
    workers: Annotated[int, Field(ge=1, le=64, validation_alias=_env("GATEWAY_WORKERS"))] = 1
    # With workers > 1: each worker accepts one connection per wake-up and leaves a new
    # connection to a sibling holding fewer (gateway/serving.py); false: uvicorn's own
    # accept loop, which can leave a burst of keep-alive connections all on one worker.
    balance_connections: Annotated[
        bool, Field(validation_alias=_env("GATEWAY_BALANCE_CONNECTIONS"))
    ] = True

    catalog_database_url: Annotated[str, Field(validation_alias=_env("CATALOG_DATABASE_URL"))] = (
        "sqlite+aiosqlite:///./data/catalog.db"
    )
    inventory_database_url: Annotated[
        str, Field(validation_alias=_env("INVENTORY_DATABASE_URL"))
    ] = "sqlite+aiosqlite:///./data/inventory.db"
    pricing_database_url: Annotated[str, Field(validation_alias=_env("PRICING_DATABASE_URL"))] = (
        "sqlite+aiosqlite:///./data/pricing.db"
    )
    orders_database_url: Annotated[str, Field(validation_alias=_env("ORDERS_DATABASE_URL"))] = (
        "sqlite+aiosqlite:///./data/orders.db"
    )
    db_pool_size: Annotated[
        int, Field(ge=1, le=200, validation_alias=_env("GATEWAY_DB_POOL_SIZE"))
    ] = 10
    # GraphQL requests one process works on at once; more wait at the door, first come
    # first served (gateway/admission.py). 0: no limit; unset: ``in_flight_limit``.
    max_in_flight: Annotated[
        int | None, Field(ge=0, le=10_000, validation_alias=_env("GATEWAY_MAX_IN_FLIGHT"))
    ] = None
    # A request inside the door longer than this gives its place up: it is waiting on
    # something slow (a payment provider, a remote source), not working the process's core.
    in_flight_hold_seconds: Annotated[
        float, Field(gt=0, le=3600, validation_alias=_env("GATEWAY_IN_FLIGHT_HOLD_SECONDS"))
    ] = 1.0

    redis_url: Annotated[str | None, Field(validation_alias=_env("REDIS_URL"))] = None
    redis_cluster_url: Annotated[str | None, Field(validation_alias=_env("REDIS_CLUSTER_URL"))] = (
        None
    )
    redis_socket_timeout_ms: Annotated[
        float, Field(gt=0, le=10_000, validation_alias=_env("REDIS_SOCKET_TIMEOUT_MS"))
    ] = 100.0
    redis_max_connections: Annotated[
        int, Field(ge=1, le=10_000, validation_alias=_env("REDIS_MAX_CONNECTIONS"))
    ] = 64
    cache: Annotated[CacheSettings, Field(default_factory=CacheSettings)]
    media: Annotated[MediaSettings, Field(default_factory=MediaSettings)]
    remote: Annotated[RemoteSettings, Field(default_factory=RemoteSettings)]
    rate_limit: Annotated[RateLimitSettings, Field(default_factory=RateLimitSettings)]
    resilience: Annotated[ResilienceSettings, Field(default_factory=ResilienceSettings)]
    compression: Annotated[CompressionSettings, Field(default_factory=CompressionSettings)]
    payments: Annotated[PaymentSettings, Field(default_factory=PaymentSettings)]
    tracing: Annotated[TracingSettings, Field(default_factory=TracingSettings)]
    promotion_hints: Annotated[PromotionHintSettings, Field(default_factory=PromotionHintSettings)]
    stock: Annotated[StockVisibilitySettings, Field(default_factory=StockVisibilitySettings)]
    languages: Annotated[LanguageSettings, Field(default_factory=LanguageSettings)]
    admin_secret: Annotated[
        str | None, Field(min_length=16, validation_alias=_env("GATEWAY_ADMIN_SECRET"))
    ] = None
    persisted_queries_only: Annotated[
        bool, Field(validation_alias=_env("PERSISTED_QUERIES_ONLY"))
    ] = False
    persisted_queries_file: Annotated[
        str, Field(validation_alias=_env("PERSISTED_QUERIES_FILE"))
    ] = "./data/persisted-queries.json"

    jwt_secret: Annotated[
        str, Field(min_length=32, validation_alias=_env("GATEWAY_JWT_SECRET"))
    ] = DEV_JWT_SECRET
    jwt_algorithm: Annotated[
        str, Field(pattern=r"^(HS256|RS256|ES256)$", validation_alias=_env("GATEWAY_JWT_ALGORITHM"))
    ] = "HS256"
    jwt_public_key: Annotated[
        str | None, Field(validation_alias=_env("GATEWAY_JWT_PUBLIC_KEY"))
    ] = None
    jwt_jwks_file: Annotated[str | None, Field(validation_alias=_env("GATEWAY_JWT_JWKS_FILE"))] = (
        None
    )
    jwt_jwks_url: Annotated[str | None, Field(validation_alias=_env("GATEWAY_JWT_JWKS_URL"))] = None
    jwt_jwks_cache_seconds: Annotated[
        float, Field(gt=0, le=86_400, validation_alias=_env("GATEWAY_JWT_JWKS_CACHE_SECONDS"))
    ] = 300.0
    jwt_jwks_cooldown_seconds: Annotated[
        float, Field(ge=0, le=3600, validation_alias=_env("GATEWAY_JWT_JWKS_COOLDOWN_SECONDS"))
    ] = 30.0
    # Whose id a customer token's `sub` is: the orders source's customer id (tokens the shop
    # signs itself, the demo's), or the identity provider's own subject, whose customer is
    # found or created on first use from the email and name claims.
    customer_subjects: Annotated[
        Literal["customer-id", "identity-provider"],
        Field(validation_alias=_env("GATEWAY_CUSTOMER_SUBJECTS")),
    ] = "customer-id"
    jwt_email_claim: Annotated[
        str, Field(min_length=1, max_length=200, validation_alias=_env("GATEWAY_JWT_EMAIL_CLAIM"))
    ] = "email"
    jwt_name_claim: Annotated[
        str, Field(min_length=1, max_length=200, validation_alias=_env("GATEWAY_JWT_NAME_CLAIM"))
    ] = "name"
    jwt_audience: Annotated[str | None, Field(validation_alias=_env("GATEWAY_JWT_AUDIENCE"))] = None
    jwt_issuer: Annotated[str | None, Field(validation_alias=_env("GATEWAY_JWT_ISSUER"))] = None
    jwt_leeway_seconds: Annotated[
        int, Field(ge=0, le=300, validation_alias=_env("GATEWAY_JWT_LEEWAY_SECONDS"))
    ] = 30
    token_ttl_seconds: Annotated[
        int, Field(ge=60, validation_alias=_env("GATEWAY_TOKEN_TTL_SECONDS"))
    ] = 86_400

    graphiql: Annotated[bool, Field(validation_alias=_env("GATEWAY_GRAPHIQL"))] = True
    # The reference storefront (/shop), back office (/backoffice) and their development-token
    # endpoint. Unset: on in development, off in production (where it may not be turned on).
    examples_setting: Annotated[bool | None, Field(validation_alias=_env("GATEWAY_EXAMPLES"))] = (
        None
    )
    currency: Annotated[
        str, Field(pattern=r"^[A-Z]{3}$", validation_alias=_env("GATEWAY_CURRENCY"))
    ] = "CNY"
    free_shipping_over: Annotated[
        Decimal, Field(ge=0, validation_alias=_env("GATEWAY_FREE_SHIPPING_OVER"))
    ] = Decimal("199.00")
    reservation_ttl_seconds: Annotated[
        int, Field(ge=10, le=86_400, validation_alias=_env("RESERVATION_TTL"))
    ] = 900
    # A flash-sale item's stock held by a cart line from the moment it is added
    # (gateway/checkout/holds.py); the buyer's next activity on the cart extends it once.
    cart_reservation_ttl_seconds: Annotated[
        int, Field(ge=10, le=86_400, validation_alias=_env("CART_RESERVATION_TTL"))
    ] = 600
    # SIGTERM: how long the requests in flight may take to finish before they are cut
    # (gateway/lifecycle.py); /readyz: how long each dependency may take to answer.
    shutdown_grace_seconds: Annotated[
        int, Field(ge=0, le=3600, validation_alias=_env("GATEWAY_SHUTDOWN_GRACE"))
    ] = 20
    # How long an idle HTTP keep-alive connection stays open (uvicorn's timeout_keep_alive,
    # 5 s by default). A proxy or load balancer in front keeps its idle upstream
    # connections longer (nginx 60 s, AWS ALB 60 s): when the gateway closes one first, a
    # request the proxy sends on it at that moment is lost and answered 502. So longer than
    # theirs.
    keep_alive_seconds: Annotated[
        int, Field(ge=1, le=3600, validation_alias=_env("GATEWAY_KEEP_ALIVE_SECONDS"))
    ] = 75
    readiness_timeout_seconds: Annotated[
        float, Field(gt=0, le=60, validation_alias=_env("GATEWAY_READINESS_TIMEOUT_SECONDS"))
    ] = 5.0
    sweep_interval_seconds: Annotated[
        float, Field(ge=0, le=3600, validation_alias=_env("GATEWAY_SWEEP_INTERVAL_SECONDS"))
    ] = 30.0
    # Search synonyms (sources/catalog/search/synonyms.py): unset, the shipped groups; a
    # path, that file (read again when it changes); empty, none.
    search_synonyms_file: Annotated[
        str | None, Field(validation_alias=_env("SEARCH_SYNONYMS_FILE"))
    ] = None
    max_page_size: Annotated[
        int, Field(ge=1, le=1000, validation_alias=_env("GATEWAY_MAX_PAGE_SIZE"))
    ] = 100
    default_page_size: Annotated[
        int, Field(ge=1, le=1000, validation_alias=_env("GATEWAY_DEFAULT_PAGE_SIZE"))
    ] = 20
    log_level: Annotated[str, Field(validation_alias=_env("GATEWAY_LOG_LEVEL"))] = "INFO"
    log_format: Annotated[str, Field(validation_alias=_env("GATEWAY_LOG_FORMAT"))] = "json"

    # Benchmark knobs: switch off per-request batching (the N+1 baseline) and add a
    # simulated round trip to every source call (sources as remote services).
    batching: Annotated[bool, Field(validation_alias=_env("GATEWAY_BATCHING"))] = True
    source_latency_ms: Annotated[
        float, Field(ge=0, le=10_000, validation_alias=_env("GATEWAY_SOURCE_LATENCY_MS"))
    ] = 0.0

    # How queries execute (gateway/execution): level by level with batch resolvers, or
    # graphql-core's standard field-by-field execution (to compare, or fall back).
    executor: Annotated[
        Literal["breadth-first", "standard"], Field(validation_alias=_env("GATEWAY_EXECUTOR"))
    ] = "breadth-first"

    # After-sales: a request still OPEN after this many hours is flagged `overdue`.
    after_sales_overdue_hours: Annotated[
        float, Field(gt=0, le=24 * 365, validation_alias=_env("GATEWAY_AFTER_SALES_OVERDUE_HOURS"))
    ] = 48.0
    # A refund above this (shop currency) needs a second approval by another staff member.
    refund_second_approval_above: Annotated[
        Decimal,
        Field(ge=0, decimal_places=2, validation_alias=_env("REFUND_SECOND_APPROVAL_ABOVE")),
    ] = Decimal("2000.00")

    # Imports (gateway import, POST /admin/imports/{prices,stock}) and shipping deadlines.
    import_batch_rows: Annotated[
        int, Field(ge=1, le=10_000, validation_alias=_env("GATEWAY_IMPORT_BATCH_ROWS"))
    ] = 1000
    import_max_bytes: Annotated[
        int, Field(ge=1024, le=10**10, validation_alias=_env("GATEWAY_IMPORT_MAX_BYTES"))
    ] = 64 * 1024 * 1024
    ship_by_hours: Annotated[
        float, Field(gt=0, le=24 * 90, validation_alias=_env("GATEWAY_SHIP_BY_HOURS"))
    ] = 48.0
    ship_by_rules: Annotated[
        str, Field(pattern=SHIP_BY_RULES, validation_alias=_env("GATEWAY_SHIP_BY_RULES"))
    ] = ""

    # Query limits (GraphQL Armor's range): a request over one is refused with a code.
    max_depth: Annotated[int, Field(ge=1, le=100, validation_alias=_env("GATEWAY_MAX_DEPTH"))] = 10
    max_aliases: Annotated[
        int, Field(ge=0, le=1000, validation_alias=_env("GATEWAY_MAX_ALIASES"))
    ] = 30
    max_directives: Annotated[
        int, Field(ge=0, le=1000, validation_alias=_env("GATEWAY_MAX_DIRECTIVES"))
    ] = 50
    max_tokens: Annotated[
        int, Field(ge=1, le=100_000, validation_alias=_env("GATEWAY_MAX_TOKENS"))
    ] = 2000
    max_body_bytes: Annotated[
        int, Field(ge=1024, le=100_000_000, validation_alias=_env("GATEWAY_MAX_BODY_BYTES"))
    ] = 100 * 1024
    max_cost: Annotated[
        int, Field(ge=1, le=10_000_000, validation_alias=_env("GATEWAY_MAX_COST"))
    ] = 10_000  # twice the 50-product listing (lists count their realistic size)
    # Unset: on in development, off in production.
    introspection_setting: Annotated[
        bool | None, Field(validation_alias=_env("GATEWAY_INTROSPECTION"))
    ] = None
    field_suggestions_setting: Annotated[
        bool | None, Field(validation_alias=_env("GATEWAY_FIELD_SUGGESTIONS"))
    ] = None

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in {"json", "console"}:
            raise ValueError("must be json or console")
        return value

    @field_validator(
        "catalog_database_url",
        "inventory_database_url",
        "pricing_database_url",
        "orders_database_url",
    )
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// (an async driver)"
            )
        try:
            make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError(
                "is not a database URL (scheme://user:password@host:port/name)"
            ) from None
        return value

    @field_validator("redis_url", "redis_cluster_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(REDIS_SCHEMES):
            raise ValueError("must start with " + ", ".join(REDIS_SCHEMES))
        return value

    @field_validator("jwt_jwks_url")
    @classmethod
    def _jwks_scheme(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// (or http://) URL of the JSON Web Key Set")
        return value

    @field_validator(
        "introspection_setting", "field_suggestions_setting", "examples_setting", mode="before"
    )
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("search_synonyms_file")
    @classmethod
    def _readable_synonyms(cls, value: str | None) -> str | None:
        if value:
            # Imported here: the synonyms module's package is the search engine (and the
            # catalog's models), which a process that never searches need not import.
            from sources.catalog.search.synonyms import SynonymFileError, parse_groups

            try:
                parse_groups(Path(value).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, SynonymFileError) as exc:
                raise ValueError(f"{value}: {exc}") from None
        return value

    def search_synonyms(self) -> SynonymFile:
        """The synonym file a catalog store of this process applies."""
        from sources.catalog.search.synonyms import DEFAULT_FILE, SynonymFile

        if self.search_synonyms_file is None:
            return SynonymFile(DEFAULT_FILE)
        return SynonymFile(Path(self.search_synonyms_file) if self.search_synonyms_file else None)

    @field_validator("admin_secret")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def introspection(self) -> bool:
        if self.introspection_setting is None:
            return not self.is_production
        return self.introspection_setting

    @property
    def field_suggestions(self) -> bool:
        if self.field_suggestions_setting is None:
            return not self.is_production
        return self.field_suggestions_setting

    @property
    def examples(self) -> bool:
        if self.examples_setting is None:
            return not self.is_production
        return self.examples_setting

    @property
    def in_flight_limit(self) -> int:
        """The door's places per worker: ``GATEWAY_MAX_IN_FLIGHT`` if set, else 16 for the
        host shared among its workers (at least 4 each). A hot row's lock is the host's,
        not a worker's: a flash sale on two workers answered its slowest 1 % sooner, and
        took more attempts a second, with 8 places each than with 16 (bench/RESULTS.md,
        "The door with two workers")."""
        if self.max_in_flight is not None:
            return self.max_in_flight
        return max(4, -(-IN_FLIGHT_PER_HOST // self.workers))

    @property
    def uses_redis(self) -> bool:
        return self.cache.enabled and (
            self.redis_url is not None or self.redis_cluster_url is not None
        )

    def database_urls(self) -> dict[str, str]:
        return {name: getattr(self, f"{name}_database_url") for name in SOURCE_NAMES}


def _without_password(value: object) -> object:
    """A URL's password is never printed, even in a URL too broken to parse."""
    if isinstance(value, str):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", value)
    return value


class ConfigurationError(SystemExit):
    """A bad environment value; its message is the one line an operator needs."""


def load_settings() -> Settings:
    """Settings from the environment, or one clear line naming the bad variable."""
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a rule across variables: its message names them, no values
            message = str(first["msg"]).removeprefix("Value error, ")
            raise ConfigurationError(f"configuration error: {message}") from None
        field = str(first["loc"][0])
        fields = {
            **CacheSettings.model_fields,
            **MediaSettings.model_fields,
            **RemoteSettings.model_fields,
            **ResilienceSettings.model_fields,
            **RateLimitSettings.model_fields,
            **CompressionSettings.model_fields,
            **PaymentSettings.model_fields,
            **TracingSettings.model_fields,
            **PromotionHintSettings.model_fields,
            **StockVisibilitySettings.model_fields,
            **LanguageSettings.model_fields,
            **Settings.model_fields,
        }
        alias = fields[field].validation_alias if field in fields else None
        name = alias.choices[0] if isinstance(alias, AliasChoices) else field.upper()
        hidden = any(word in str(name) for word in ("SECRET", "PRIVATE_KEY", "APIV3_KEY"))
        shown = (
            "<hidden>"
            if hidden or field == "payments"
            else repr(_without_password(first.get("input")))
        )
        raise ConfigurationError(f"configuration error: {name}={shown}: {first['msg']}") from None
    if settings.remote.remote_sources and settings.remote.service_secret is None:
        raise ConfigurationError(
            "configuration error: GATEWAY_SERVICE_SECRET must be set when a source is remote "
            f"({', '.join(settings.remote.remote_sources)})"
        )
    if settings.media.storage == "s3" and not settings.media.s3_bucket:
        raise ConfigurationError(
            "configuration error: MEDIA_S3_BUCKET must be set when MEDIA_STORAGE=s3"
        )
    if settings.is_production and settings.examples:
        raise ConfigurationError(
            "configuration error: GATEWAY_EXAMPLES=true in production: the examples' "
            "development-token endpoint would let anyone sign in as staff"
        )
    if settings.jwt_algorithm == "HS256":
        if settings.jwt_jwks_url:
            raise ConfigurationError(
                "configuration error: GATEWAY_JWT_JWKS_URL needs GATEWAY_JWT_ALGORITHM=RS256 "
                "(or ES256): an identity provider's keys are public keys"
            )
        if settings.is_production and settings.jwt_secret == DEV_JWT_SECRET:
            raise ConfigurationError(
                "configuration error: GATEWAY_JWT_SECRET must be set in production"
            )
    elif not (settings.jwt_public_key or settings.jwt_jwks_file or settings.jwt_jwks_url):
        raise ConfigurationError(
            f"configuration error: GATEWAY_JWT_ALGORITHM={settings.jwt_algorithm} needs "
            "GATEWAY_JWT_JWKS_URL, GATEWAY_JWT_PUBLIC_KEY or GATEWAY_JWT_JWKS_FILE"
        )
    return settings
