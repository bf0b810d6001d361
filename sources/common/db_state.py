"""Is a source's database there, reachable, and at the revision this code expects?

One answer serves three callers: ``gateway migrate``/``serve``/every other command (one line
for an operator, never a traceback), the gateway's ``/readyz`` and a source service's
``/readyz`` (never "ok" for a database that cannot be queried). Reading the version table
is the query: a database that answers it is reachable *and* migrated.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from .db import Database
from .revisions import current_revision, head_revision, known_revisions

MIGRATE_HINT = "run `gateway migrate`"
CHECK_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class DatabaseState:
    source: str
    url: str  # password hidden
    current: str | None
    head: str
    problem: str | None  # None when the database is reachable and at head

    @property
    def is_ready(self) -> bool:
        return self.problem is None

    @property
    def readiness(self) -> str:
        """What ``/readyz`` says for this source."""
        return "ok" if self.problem is None else self.problem

    def line(self) -> str:
        """One line naming the source, its (password-free) URL and what is wrong."""
        return f"{self.source} database ({self.url}): {self.problem or 'ok'}"


def database_errors() -> tuple[type[BaseException], ...]:
    """What a database that is missing, unreachable or refusing raises. asyncpg is imported
    here, when a check fails, not with this module: a SQLite shop never loads the driver
    (a fiftieth of a second of every process's start)."""
    import asyncpg

    return (SQLAlchemyError, OSError, TimeoutError, asyncpg.PostgresError)


def shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file_missing(url: str) -> Path | None:
    """The SQLite file a URL names when it does not exist (connecting would create it
    empty, which is how an unmigrated shop used to look "ready")."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database or "")
    return None if path.exists() else path


async def database_state(name: str, db: Database) -> DatabaseState:
    head = head_revision(name)
    url = shown_url(db.url)
    missing = sqlite_file_missing(db.url)
    if missing is not None:
        return DatabaseState(name, url, None, head, f"no database file {missing}; {MIGRATE_HINT}")
    try:
        current = await asyncio.wait_for(current_revision(name, db), CHECK_TIMEOUT_S)
    except database_errors() as exc:
        return DatabaseState(name, url, None, head, describe_database_error(exc))
    return DatabaseState(name, url, current, head, revision_problem(name, current, head))


def revision_problem(name: str, current: str | None, head: str) -> str | None:
    if current == head:
        return None
    if current is None:
        return f"not migrated (no {name} tables); {MIGRATE_HINT}"
    if current in known_revisions(name):
        return f"at {current}, this code expects {head}; {MIGRATE_HINT}"
    return f"at {current}, a revision this code does not know (a newer release's database?)"


def describe_database_error(exc: BaseException) -> str:
    """The cause an operator can act on, in one line, from whatever the driver raised."""
    import asyncpg

    cause = _root(exc)
    if isinstance(cause, asyncpg.InvalidPasswordError):
        return f"wrong password: {_first_line(cause)}"
    if isinstance(cause, asyncpg.InvalidCatalogNameError):
        return f"{_first_line(cause)} (create it, or fix the URL)"
    if isinstance(cause, asyncpg.InvalidAuthorizationSpecificationError):
        return f"refused: {_first_line(cause)}"
    if isinstance(cause, asyncpg.UndefinedTableError):
        return f"not migrated ({_first_line(cause)}); {MIGRATE_HINT}"
    if isinstance(cause, socket.gaierror):
        return f"unknown host ({cause.strerror or cause})"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused (is the database server running, and the port right?)"
    if isinstance(cause, TimeoutError):
        return "no answer (timed out connecting)"
    if isinstance(cause, OSError):
        return f"cannot connect ({cause.strerror or _first_line(cause)})"
    if isinstance(cause, sqlite3.OperationalError):
        message = _first_line(cause)
        if message.startswith("no such table"):
            return f"not migrated ({message}); {MIGRATE_HINT}"
        return message
    return f"{type(cause).__name__}: {_first_line(cause)}"


def _root(exc: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's (and asyncpg's) wrappers."""
    import asyncpg

    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.orig is not None:
            orig: BaseException = current.orig
            # SQLAlchemy's asyncpg adaptor keeps the asyncpg exception as __cause__.
            current = orig.__cause__ if orig.__cause__ is not None else orig
            continue
        if current.__cause__ is not None and not isinstance(
            current, asyncpg.PostgresError | OSError | sqlite3.Error
        ):
            current = current.__cause__
            continue
        break
    return current


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
