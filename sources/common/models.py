"""Shared naming rules and column sets, so every source's tables follow the same shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from .types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class AuditColumns:
    """Who changed what, when, why: one row per back-office write, in the source it
    changed. ``before``/``after`` are JSON snapshots of the fields the write touched."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    before: Mapped[str] = mapped_column(Text, default="{}")
    after: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str] = mapped_column(Text, default="")


class IdempotencyColumns:
    """A write applied once per key: the fingerprint of its arguments and the result it
    returned, so a retry gets the same answer and other arguments under the same key are
    refused. Kept at least 24 hours."""

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def table_of(model: type[Any]) -> Table:
    """A model's Core table, typed as one (mypy sees ``__table__`` as a FromClause): for
    statements built once against tables rather than the ORM classes (no ORM DML plugin,
    and the statement's cache key kept between calls)."""
    return cast(Table, model.__table__)
