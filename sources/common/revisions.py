"""Each source's migration history as its revision files state it, and the revision a
database is at, without alembic.

Every process that checks a database before it serves or answers (``gateway serve``,
``gateway token``, ``source serve``, ``/readyz``) asks two things: the revision this code
expects (the head of ``sources/<name>/migrations/versions``) and the one the database's
version table holds. Alembic answers both, but its import and its script directory (which
executes every revision module) cost a fifth of a second of CPU in each such process; the
two ``revision``/``down_revision`` lines of each file and one SELECT are the same answer.
Migrating itself stays alembic's (sources/common/migrate.py), and
tests/sources/test_revisions.py holds these answers equal to alembic's.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from .db import Database

SOURCES: tuple[str, ...] = ("catalog", "inventory", "pricing", "orders")

_SOURCES_DIR = Path(__file__).resolve().parent.parent
# A revision file's module-level assignments, annotated or not: `revision: str = "..."`.
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


def version_table(name: str) -> str:
    return f"alembic_version_{name}"


def _known_source(name: str) -> None:
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; expected one of {', '.join(SOURCES)}")


@functools.cache
def _history(name: str) -> dict[str, tuple[str, ...]]:
    """Each revision of a source and the revisions it follows (none for the first)."""
    _known_source(name)
    history: dict[str, tuple[str, ...]] = {}
    for path in sorted((_SOURCES_DIR / name / "migrations" / "versions").glob("*.py")):
        fields = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        if "revision" not in fields:
            continue
        revision = ast.literal_eval(fields["revision"])
        down = ast.literal_eval(fields.get("down_revision", "None"))
        history[revision] = () if down is None else (down,) if isinstance(down, str) else down
    return history


def head_revision(name: str) -> str:
    """The revision this code expects a source's database to be at."""
    history = _history(name)
    followed = {down for downs in history.values() for down in downs}
    heads = [revision for revision in history if revision not in followed]
    assert len(heads) == 1, f"{name} has {len(heads)} heads in its migrations, not one"
    return heads[0]


def previous_revision(name: str) -> str:
    """The revision before head (what a database is at when new code was not migrated)."""
    downs = _history(name)[head_revision(name)]
    assert len(downs) == 1, f"{name}'s head has no single previous revision"
    return downs[0]


def known_revisions(name: str) -> frozenset[str]:
    return frozenset(_history(name))


async def current_revision(name: str, db: Database) -> str | None:
    """The revision a source's database is at, or None before its first upgrade."""
    _known_source(name)
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current_revision, name)


def _current_revision(connection: Connection, name: str) -> str | None:
    table = version_table(name)
    if not inspect(connection).has_table(table):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {table}")).scalars().all()
    if len(rows) > 1:  # a branched history, which alembic refuses as this does
        from alembic.util.exc import CommandError

        raise CommandError(
            f"Version table '{table}' has more than one head present; please use "
            "get_current_heads()"
        )
    return rows[0] if rows else None
