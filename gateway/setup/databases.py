"""``gateway migrate`` and the check every other command makes before it touches a database.

Both speak to an operator in one line per source; a driver's traceback never reaches them.
A remote source (its URL configured) is migrated where its service runs, by the same command
with that host's environment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from sources.common.db import Database
from sources.common.db_state import (
    DatabaseState,
    database_errors,
    database_state,
    describe_database_error,
    shown_url,
)
from sources.common.revisions import current_revision

from ..settings import SOURCE_NAMES, Settings


class DatabasesNotReady(Exception):
    """What stops a command: one line per database that is missing, behind or unreachable."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def embedded_sources(settings: Settings, names: Iterable[str] = SOURCE_NAMES) -> list[str]:
    return [name for name in names if settings.remote.url_for(name) is None]


async def database_states(
    settings: Settings, names: Iterable[str] = SOURCE_NAMES
) -> list[DatabaseState]:
    """The state of each embedded source's database among ``names``."""
    urls = settings.database_urls()
    states = []
    for name in embedded_sources(settings, names):
        db = Database(urls[name], pool_size=1)
        try:
            states.append(await database_state(name, db))
        finally:
            await db.dispose()
    return states


async def require_ready(settings: Settings, names: Iterable[str] = SOURCE_NAMES) -> None:
    """Raise DatabasesNotReady unless every embedded source among ``names`` is at head."""
    problems = [
        state.line() for state in await database_states(settings, names) if not state.is_ready
    ]
    if problems:
        raise DatabasesNotReady(problems)


async def migrate_sources(settings: Settings) -> list[str]:
    """Every embedded source to its latest revision; idempotent, safe on every deploy (on
    PostgreSQL an advisory lock per source keeps processes started together apart).
    One line per source: from which revision to which."""
    # Imported here: alembic is for migrating; the check every other command makes
    # (require_ready) reads the revisions without it (sources/common/revisions.py).
    from alembic.util.exc import CommandError

    from sources.common.migrate import upgrade_source

    urls = settings.database_urls()
    lines = []
    for name in SOURCE_NAMES:
        remote = settings.remote.url_for(name)
        if remote is not None:
            lines.append(f"{name}: remote ({remote}); run `gateway migrate` where it is served")
            continue
        db = Database(urls[name], pool_size=1)
        try:
            try:
                before = await asyncio.wait_for(current_revision(name, db), 30)
                await upgrade_source(name, db)
                after = await current_revision(name, db)
            except database_errors() as exc:
                raise DatabasesNotReady(
                    [f"{name} database ({shown_url(urls[name])}): {describe_database_error(exc)}"]
                ) from None
            except CommandError as exc:  # e.g. a revision this code does not know
                raise DatabasesNotReady(
                    [f"{name} database ({shown_url(urls[name])}): {exc}"]
                ) from None
        finally:
            await db.dispose()
        if before == after:
            lines.append(f"{name}: already at {after}")
        else:
            lines.append(f"{name}: from {before or 'an empty database'} to {after}")
    return lines
