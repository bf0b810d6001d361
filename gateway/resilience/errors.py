"""What a failing source looks like to the rest of the gateway: one exception type with
the source's name, whatever the transport (SQLite, PostgreSQL, HTTP). Plain Python (no
GraphQL), so the checkout can catch it and answer a retryable userError.

Every way a source can be unreachable is an outage: a timeout, a refused or dropped
connection, a missing database or table, refused credentials, a remote source answering
5xx or something unreadable. The driver's own words never reach a client (they name hosts,
databases and roles): they go to the log with the request id, and in development to the
error's ``extensions.debug``.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import exc as sa

from sources.common.outages import chain, is_database_lasting, is_database_outage
from sources.common.wire_errors import RemoteSourceError

SOURCE_UNAVAILABLE = "SOURCE_UNAVAILABLE"

# A remote source's HTTP statuses that say "it cannot serve now" (not "you asked wrong").
_REMOTE_OUTAGE = frozenset({401, 403, 404, 429})


class SourceUnavailable(Exception):
    """A source did not answer in time, or is down, or its breaker is open. ``retryable``
    says whether the same request may succeed in a moment (a timeout, a dropped connection)
    or needs someone to act first (a missing database, refused credentials)."""

    code = SOURCE_UNAVAILABLE

    def __init__(self, source: str, reason: str, *, retryable: bool = True) -> None:
        advice = "try again shortly" if retryable else "the shop has been told"
        super().__init__(f"the {source} system is unavailable ({reason}); {advice}")
        self.source = source
        self.reason = reason
        self.retryable = retryable
        self.detail: str | None = None  # the driver's words: logs and development only


class OutcomeUnknown(SourceUnavailable):
    """A write was sent to a source and its answer lost, and the source could not be asked
    since whether it happened: the client must not be told "failed" (it might write again
    under a new key), only that the outcome is unknown and which retry learns it
    (``extensions.outcome``: ``UNKNOWN``, ``extensions.retryWithSameKey``: true)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(source, "outcome unknown", retryable=True)
        self.args = (message,)


def is_disconnect(error: BaseException) -> bool:
    """The connection died under the call (a terminated backend, a restarted server): the
    pool has dropped it, so an idempotent read may simply be tried again."""
    return any(isinstance(e, sa.DBAPIError) and e.connection_invalidated for e in chain(error))


def _is_outage_one(e: BaseException) -> bool:
    if isinstance(e, SourceUnavailable) or is_database_outage(e):
        return True
    if isinstance(e, RemoteSourceError):
        status = e.status
        return status is None or status >= 500 or status in _REMOTE_OUTAGE
    if isinstance(e, msgspec.DecodeError | msgspec.ValidationError):
        return True  # an answer that does not parse: whatever sent it is not our source
    module = type(e).__module__
    name = type(e).__name__
    return module.startswith(("httpx", "httpcore")) and (
        "Connect" in name or "Timeout" in name or "Network" in name or "Protocol" in name
    )


def is_outage(error: BaseException) -> bool:
    """The source is down or unreachable, as opposed to a bug or a conflict (a locked
    SQLite file or a unique violation is the source working as designed)."""
    return any(_is_outage_one(e) for e in chain(error))


def is_lasting(error: BaseException) -> bool:
    """An outage a retry in a moment will not fix: the database or a table is missing, the
    credentials are refused (a remote source's 401/403 included, and a remote source's 503
    that says its own database is in that state)."""
    for e in chain(error):
        if isinstance(e, SourceUnavailable):
            return not e.retryable
        if isinstance(e, RemoteSourceError) and (e.lasting or e.status in (401, 403, 404)):
            return True  # the service saw a lasting cause, or refused our credentials
        if is_database_lasting(e):
            return True
    return False


def is_ambiguous(error: BaseException) -> bool:
    """A write that may or may not have happened: an outage met mid-call. A call the
    breaker refused never reached the source: that one is known not to have happened."""
    if isinstance(error, SourceUnavailable) and error.reason == "circuit open":
        return False
    # Refused credentials, a missing database or table: the statement never ran.
    return is_outage(error) and not is_lasting(error)
