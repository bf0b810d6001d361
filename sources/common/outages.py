"""What a database failure means: the source cannot serve now (an outage), and whether a
retry in a moment may help or someone must act first (a lasting one).

Here, beside the databases, so a source's service can tell its caller the cause it sees
(a 503 that says whether it is lasting) instead of a bare 500; the gateway's own
classification (gateway/resilience/errors.py) adds the transports (HTTP, breakers) on top.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import exc as sa

# Words in a driver's message that mean "the database is not there", not "your query is
# wrong" (SQLite reports a vanished or unreadable file as a plain OperationalError).
_OUTAGE_WORDS = (
    "unable to open database",
    "disk i/o error",
    "file is not a database",
    "no such table",
    "connection",
    "terminat",
    "server closed",
    "shutdown",
)
# PostgreSQL SQLSTATEs (classes, or exact codes) of a source that cannot serve at all, as
# opposed to a statement that is wrong: connection exceptions, refused credentials, a
# missing database or table, exhausted resources, an administrator's shutdown.
_OUTAGE_STATES = ("08", "28", "3D000", "42P01", "53", "57P", "58")
# Of those, the ones a retry in a moment will not fix (someone must act first).
_LASTING_STATES = ("28", "3D000", "42P01")
_LASTING_WORDS = ("no such table", "file is not a database")


def chain(error: BaseException) -> list[BaseException]:
    """``error`` and what caused it (causes, contexts, a DBAPI error's original)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen) or len(seen) > 10:
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    return seen


def _sqlstate(error: BaseException) -> str:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state if isinstance(state, str) else ""


def is_database_outage(e: BaseException) -> bool:
    """This one exception (not its chain) says the database cannot serve now."""
    if isinstance(e, OSError | asyncio.TimeoutError | sa.TimeoutError):
        return True
    if isinstance(e, sa.DBAPIError) and e.connection_invalidated:
        return True
    if isinstance(e, sa.InterfaceError | sa.DisconnectionError):
        return True
    if _sqlstate(e).startswith(_OUTAGE_STATES):
        return True
    if isinstance(e, sa.OperationalError):
        message = str(e).lower()
        if "locked" in message or "busy" in message:
            return False
        if any(word in message for word in _OUTAGE_WORDS):
            return True
    module = type(e).__module__
    name = type(e).__name__
    return module.startswith("asyncpg") and (
        "Connection" in name or "Password" in name or "Authorization" in name
    )


def is_database_lasting(e: BaseException) -> bool:
    """This one exception says the database or a table is missing or the credentials are
    refused: the statement never ran, and running it again soon will not help."""
    if _sqlstate(e).startswith(_LASTING_STATES):
        return True
    if isinstance(e, sa.OperationalError | sa.ProgrammingError):
        message = str(e).lower()
        return any(word in message for word in _LASTING_WORDS)
    return False


def database_outage(error: BaseException) -> tuple[bool, bool]:
    """(is an outage, is lasting) for ``error`` and its chain."""
    links = chain(error)
    outage = any(is_database_outage(e) for e in links)
    return outage, outage and any(is_database_lasting(e) for e in links)
