"""A guard around every source call: a timeout, a circuit breaker per source, one retry of
a read whose pooled connection died, and (catalog) the last good answer when the source
fails, from copies every gateway process shares (stale.py). Wraps whatever object
gateway/sources.py built (embedded store or remote client), method by method, like
gateway/metrics.py counts them.

A failure the guard recognises as an outage (gateway/resilience/errors.py) becomes
``SourceUnavailable``; any other exception (a bug, a conflict) passes through untouched
and does not count against the source.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter

from sources.apis import APIS

from ..cache.breaker import CircuitBreaker
from ..cache.entities import stale_answers
from ..cache.shared import SharedCache
from ..metrics import current_request
from .degrade import Degradation, current_degradation, stale_allowed
from .errors import SourceUnavailable, is_disconnect, is_lasting, is_outage
from .settings import ResilienceSettings
from .stale import MISSING, StaleCopies, stale_copies

log = structlog.get_logger("gateway.resilience")

# Read methods by name (every store speaks in these shapes). Anything else is treated as a
# write: the longer timeout, no retry, no stale copy.
READ_METHOD = re.compile(
    r"(_by_|^list_|^all_|^live_|^low_stock$|^regions$|^warehouses$|^coupon_usage$"
    r"|^purchased_|^orders_for_|^products_in_|^promotions_for_)"
)
# Sources whose reads may be answered from the last good copy while they are down:
# browsing data only (checkout never gets stale answers: see degrade.stale_allowed).
STALE_SOURCES = frozenset({"catalog"})


class GuardMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.failures = Counter(
            "gateway_source_failures",
            "Source calls that failed as an outage, by source and reason",
            ["source", "reason"],
            registry=registry,
        )
        self.stale = Counter(
            "gateway_source_stale_answers",
            "Source calls answered from the last good copy, by source",
            ["source"],
            registry=registry,
        )


class SourceGuard:
    def __init__(
        self,
        source: str,
        settings: ResilienceSettings,
        metrics: GuardMetrics,
        *,
        stale: StaleCopies | None,
    ) -> None:
        self.source = source
        self.settings = settings
        self.metrics = metrics
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset)
        self.stale = stale
        # What opened the breaker: a call it refuses is as (un)retryable as that failure.
        self.is_lasting = False
        # The one call let through to see whether an open breaker's source is back.
        self._probe: asyncio.Future[None] | None = None

    def wrap(self, name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        is_read = bool(READ_METHOD.search(name))
        timeout = self.settings.read_timeout if is_read else self.settings.write_timeout
        stale = self.stale if is_read else None

        @functools.wraps(method)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            if self.breaker.opened_at is None:  # closed: nothing to refuse, no probe to run
                return await self._attempt(name, method, args, kwargs, timeout, is_read, stale)
            return await self.call(name, method, args, kwargs, timeout, is_read, stale)

        return guarded

    async def call(
        self,
        name: str,
        method: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        limit_s: float,
        is_read: bool,
        stale: StaleCopies | None,
    ) -> Any:
        probing = self.breaker.is_open
        if not self.breaker.allow():
            if not await self._after_probe(limit_s):
                return await self._unavailable(name, args, kwargs, stale, "circuit open", None)
            probing = False
        elif probing:
            self._probe = asyncio.get_running_loop().create_future()
        try:
            return await self._attempt(name, method, args, kwargs, limit_s, is_read, stale)
        finally:
            if probing and self._probe is not None and not self._probe.done():
                self._probe.set_result(None)

    async def _after_probe(self, limit_s: float) -> bool:
        """A call that finds a probe under way waits for its outcome rather than being
        refused: the request that meets a source just back is whole, not half stale."""
        probe = self._probe
        if probe is None or probe.done():
            return False
        try:
            async with asyncio.timeout(limit_s):
                await asyncio.shield(probe)
        except TimeoutError:
            return False
        return self.breaker.allow()

    async def _attempt(
        self,
        name: str,
        method: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        limit_s: float,
        is_read: bool,
        stale: StaleCopies | None,
    ) -> Any:
        try:
            try:
                async with asyncio.timeout(limit_s):
                    result = await method(*args, **kwargs)
            except Exception as exc:
                if not (is_read and is_disconnect(exc)):
                    raise
                # The pool dropped the dead connection: an idempotent read goes again.
                async with asyncio.timeout(limit_s):
                    result = await method(*args, **kwargs)
        except Exception as exc:
            if not is_outage(exc):
                self.breaker.succeeded()  # it answered: a conflict or a bug, not an outage
                raise
            self.breaker.failed()
            self.is_lasting = is_lasting(exc)
            reason = _reason(exc, self.is_lasting)
            return await self._unavailable(name, args, kwargs, stale, reason, exc)
        self.breaker.succeeded()
        if stale is not None:
            await stale.remember(name, args, kwargs, result)
        return result

    async def _unavailable(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        stale: StaleCopies | None,
        reason: str,
        error: BaseException | None,
    ) -> Any:
        self.metrics.failures.labels(self.source, reason).inc()
        degradation = current_degradation.get()
        if stale is not None and stale_allowed.get():
            copy = await stale.recall(name, args, kwargs)
            if copy is not MISSING:
                self.metrics.stale.labels(self.source).inc()
                if (answers := stale_answers.get()) is not None:
                    answers.seen = True  # shown, never cached as current
                if degradation is not None:
                    degradation.stale.add(self.source)
                return copy
        if degradation is not None:
            degradation.unavailable.add(self.source)
        stats = current_request.get()
        detail = _detail(error)
        log.warning(
            "source unavailable",
            source=self.source,
            method=name,
            reason=reason,
            error=detail,
            request_id=getattr(stats, "request_id", None),
        )
        failure = SourceUnavailable(self.source, reason, retryable=not self.is_lasting)
        failure.detail = detail
        # Not chained: the driver's exception (its text names hosts, databases, roles) is
        # logged here and goes no further; no formatter or client can reach it.
        raise failure from None


def _reason(error: BaseException, lasting: bool) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    return "misconfigured or missing" if lasting else "unreachable"


def _detail(error: BaseException | None) -> str | None:
    """The driver's own words, for the log and development's ``extensions.debug``."""
    if error is None:
        return None
    text = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


def guard_sources(
    sources: Any,
    settings: ResilienceSettings,
    registry: CollectorRegistry,
    *,
    shared: SharedCache | None = None,
    keep_hours: float = 24.0,
) -> None:
    """Wrap every public coroutine method of each source object, in place. The catalog's
    last good answers go to ``shared`` (the process's cache, Redis when configured) for
    ``keep_hours``, or stay in this process when there is no cache."""
    metrics = GuardMetrics(registry)
    for store in sources.stores():
        source = store.source
        stale = (
            stale_copies(
                source,
                APIS[source].interface,
                shared=shared,
                hours=keep_hours,
                max_entries=settings.stale_max_entries,
            )
            if source in STALE_SOURCES
            else None
        )
        guard = SourceGuard(source, settings, metrics, stale=stale)
        for name, method in inspect.getmembers(store, inspect.iscoroutinefunction):
            if not name.startswith("_"):
                setattr(store, name, guard.wrap(name, method))


__all__ = ["Degradation", "SourceGuard", "guard_sources"]
