"""Who pays for a request, and what: the viewer's key (customer or staff id, else the client
address) and two budgets, query cost for everything and a tighter count for checkouts.

Runs in the gateway's operation extension (gateway/operation.py) after the cost limit (it
needs the computed cost; a refused query costs its viewer nothing) and before execution, so
a limited request calls no source.
A refusal is HTTP 429 with ``Retry-After`` and a GraphQL error ``RATE_LIMITED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType
from prometheus_client import CollectorRegistry, Counter
from strawberry.types import ExecutionResult

from ..auth import Viewer, ViewerKind
from ..cache.breaker import CircuitBreaker
from ..settings import Settings
from .buckets import (
    Bucket,
    Buckets,
    Decision,
    InProcessBuckets,
    RedisBuckets,
    retry_after_header,
)

if TYPE_CHECKING:
    from strawberry.types import ExecutionContext

RATE_LIMITED = "RATE_LIMITED"
# The mutations that place orders: each costs one token of the checkout budget.
CHECKOUT_MUTATIONS = frozenset({"checkoutComplete"})


@dataclass(frozen=True, slots=True)
class ThrottleStatus:
    """The viewer's query budget after this request, as Shopify's throttleStatus says it."""

    maximum_available: float  # the burst
    currently_available: float
    restore_rate: float  # points per second


class RateLimiter:
    def __init__(self, buckets: Buckets, cost: Bucket, checkout: Bucket, registry: Any) -> None:
        self.buckets = buckets
        self.cost = cost
        self.checkout = checkout
        self.limited = Counter(
            "gateway_rate_limited",
            "Requests refused by a rate limit, by bucket",
            ["bucket"],
            registry=registry,
        )

    async def check(self, key: str, cost: int, checkouts: int) -> Decision | None:
        """The refusal, or None to go ahead."""
        refusal, _ = await self.admit(key, cost, checkouts)
        return refusal

    async def admit(
        self, key: str, cost: int, checkouts: int
    ) -> tuple[Decision | None, ThrottleStatus | None]:
        """The refusal (or None to go ahead) and what is left of the viewer's query budget
        (None when the store could not say). The checkout budget is asked first: a refused
        checkout does not also spend the viewer's query budget."""
        if checkouts:
            decision = await self.buckets.acquire(key, self.checkout, checkouts)
            if decision is not None and not decision.allowed:
                self.limited.labels(self.checkout.name).inc()
                return decision, None
        decision = await self.buckets.acquire(key, self.cost, max(cost, 1))
        status = None
        if decision is not None:
            left = max(decision.remaining, 0.0)
            status = ThrottleStatus(self.cost.capacity, left, self.cost.rate)
        if decision is not None and not decision.allowed:
            self.limited.labels(self.cost.name).inc()
            return decision, status
        return None, status

    async def close(self) -> None:
        await self.buckets.close()


def is_enabled(settings: Settings) -> bool:
    enabled = settings.rate_limit.enabled
    return settings.is_production if enabled is None else enabled


def build_rate_limiter(settings: Settings, registry: CollectorRegistry) -> RateLimiter | None:
    if not is_enabled(settings):
        return None
    config = settings.rate_limit
    errors = Counter(
        "gateway_rate_limit_errors",
        "Rate-limit store failures (the request went through)",
        registry=registry,
    )
    buckets: Buckets
    url = settings.redis_cluster_url or settings.redis_url
    if url is None:
        buckets = InProcessBuckets(config.in_process_max_keys)
    else:
        buckets = RedisBuckets(
            url,
            prefix=settings.cache.key_prefix,
            cluster=settings.redis_cluster_url is not None or "+cluster://" in url,
            timeout=settings.redis_socket_timeout_ms / 1000,
            max_connections=settings.redis_max_connections,
            breaker=CircuitBreaker(settings.cache.breaker_failures, settings.cache.breaker_reset),
            on_error=errors.inc,
        )
    cost = Bucket("cost", config.cost_burst, config.cost_per_minute / 60)
    checkout = Bucket("checkout", config.checkout_burst, config.checkouts_per_minute / 60)
    return RateLimiter(buckets, cost, checkout, registry)


def viewer_key(viewer: Viewer, client_host: str | None) -> str:
    if viewer.kind is not ViewerKind.ANONYMOUS and viewer.subject:
        return f"{viewer.kind.value}:{viewer.subject}"
    return f"ip:{client_host or 'unknown'}"


def operation_named(definitions: Any, operation_name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return operations[0] if len(operations) == 1 else None


def checkout_count(operation: OperationDefinitionNode | None) -> int:
    """Checkout mutations at the root (each alias is one more order attempt)."""
    if operation is None or operation.operation is not OperationType.MUTATION:
        return 0
    return sum(
        1
        for selection in operation.selection_set.selections
        if isinstance(selection, FieldNode) and selection.name.value in CHECKOUT_MUTATIONS
    )


async def admit_operation(
    limiter: RateLimiter, ctx: ExecutionContext, operation: OperationDefinitionNode | None
) -> None:
    """Charges the viewer's budgets for the operation about to run (its computed cost, and
    one checkout per checkout mutation at its root); over budget, the operation's result is
    RATE_LIMITED (HTTP 429 with Retry-After) and nothing runs. Called after the cost limit
    (gateway/operation.py): it charges the computed cost."""
    context = ctx.context
    request = context.request
    client = request.scope.get("client")
    key = viewer_key(context.viewer, client[0] if client else None)
    refused, status = await limiter.admit(
        key, getattr(context, "query_cost", 1), checkout_count(operation)
    )
    if hasattr(context, "throttle"):
        context.throttle = status  # extensions.cost shows it (gateway/limits.py)
    if refused is not None:
        retry = retry_after_header(refused.retry_after)
        response = getattr(context, "response", None)
        if response is not None:
            response.status_code = 429
            response.headers["Retry-After"] = retry
        ctx.result = ExecutionResult(
            data=None,
            errors=[
                GraphQLError(
                    f"too many requests: retry in {retry} s",
                    extensions={"code": RATE_LIMITED, "retryAfter": int(retry)},
                )
            ],
        )
