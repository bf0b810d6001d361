"""What a failing source looks like to the rest of the gateway: one exception type with
the source's name, whatever the transport (SQLite, PostgreSQL, HTTP). Plain Python (no
GraphQL), so the checkout can catch it and answer a retryable userError."""

from __future__ import annotations

import asyncio

from sqlalchemy import exc as sa

SOURCE_UNAVAILABLE = "SOURCE_UNAVAILABLE"

# Words in a driver's message that mean "the database is not there", not "your query is
# wrong" (SQLite reports a vanished or unreadable file as a plain OperationalError).
_OUTAGE_WORDS = (
    "unable to open database",
    "disk i/o error",
    "file is not a database",
    "connection",
    "terminat",
    "server closed",
    "shutdown",
)


class SourceUnavailable(Exception):
    """A source did not answer in time, or is down, or its breaker is open. Retryable."""

    code = SOURCE_UNAVAILABLE

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"the {source} system is unavailable ({reason}); try again shortly")
        self.source = source
        self.reason = reason


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen) or len(seen) > 10:
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    return seen


def is_disconnect(error: BaseException) -> bool:
    """The connection died under the call (a terminated backend, a restarted server): the
    pool has dropped it, so an idempotent read may simply be tried again."""
    return any(isinstance(e, sa.DBAPIError) and e.connection_invalidated for e in _chain(error))


def is_outage(error: BaseException) -> bool:
    """The source is down or unreachable, as opposed to a bug or a conflict (a locked
    SQLite file or a unique violation is the source working as designed)."""
    for e in _chain(error):
        if isinstance(e, SourceUnavailable | OSError | asyncio.TimeoutError | sa.TimeoutError):
            return True
        if isinstance(e, sa.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, sa.InterfaceError | sa.DisconnectionError):
            return True
        if isinstance(e, sa.OperationalError):
            message = str(e).lower()
            if "locked" in message or "busy" in message:
                return False
            if any(word in message for word in _OUTAGE_WORDS):
                return True
        if type(e).__module__.startswith("asyncpg") and "Connection" in type(e).__name__:
            return True
        if type(e).__module__.startswith(("httpx", "httpcore")) and (
            "Connect" in type(e).__name__
            or "Timeout" in type(e).__name__
            or "Network" in type(e).__name__
        ):
            return True
    return False


def is_ambiguous(error: BaseException) -> bool:
    """A write that may or may not have happened: an outage met mid-call. A call the
    breaker refused never reached the source: that one is known not to have happened."""
    if isinstance(error, SourceUnavailable) and error.reason == "circuit open":
        return False
    return is_outage(error)
