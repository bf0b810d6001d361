"""Writes over HTTP answered once per request key, so a client may retry them.

A remote write carries an ``Idempotency-Key`` header. The service claims the key in the
source's own database before running the write and stores the answer (status and body,
domain errors included) after it, so a retry of a write whose answer was lost replays the
stored answer instead of writing twice; a retry that arrives while the first attempt still
runs is told to wait (409, retryable), and the same key with another body is refused.

The table (``service_requests_<source>``) belongs to the transport, not to the domain: the
service creates it when it starts, outside the source's migrations (which ignore it). A claim
whose attempt died without an answer (the process crashed mid-write) is taken over after
``LEASE``; the stores' own idempotency (reservations by order_ref, orders by key, coupon
uses by order_ref, restock by return_ref) keeps that rare second run harmless.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from .db import Database
from .types import UTCDateTime, utcnow

LEASE = timedelta(seconds=60)
RETENTION = timedelta(hours=24)
TABLE_PREFIX = "service_requests_"


class Claim(enum.Enum):
    RUN = "run"  # this attempt owns the key: run the write, then remember its answer
    REPLAY = "replay"  # answered before: send the stored answer
    BUSY = "busy"  # another attempt is running it now
    REUSED = "reused"  # the key was used with another body


@dataclass(frozen=True, slots=True)
class Claimed:
    claim: Claim
    status: int = 0
    body: bytes = b""


def fingerprint(method: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b"\0" + body).hexdigest()


class RequestKeys:
    def __init__(self, source: str, db: Database) -> None:
        self.db = db
        self.table = Table(
            f"{TABLE_PREFIX}{source}",
            MetaData(),
            Column("key", String(128), primary_key=True),
            Column("fingerprint", String(64), nullable=False),
            Column("status", Integer, nullable=True),  # None while the write runs
            Column("body", Text, nullable=True),
            Column("created_at", UTCDateTime(), nullable=False),
        )

    async def create(self) -> None:
        async with self.db.engine.begin() as conn:
            await conn.run_sync(self.table.create, checkfirst=True)

    async def claim(self, key: str, print_: str) -> Claimed:
        now = utcnow()
        t = self.table
        try:
            async with self.db.begin() as conn:
                await conn.execute(
                    insert(t).values(key=key, fingerprint=print_, status=None, created_at=now)
                )
            return Claimed(Claim.RUN)
        except IntegrityError:
            pass
        async with self.db.begin() as conn:
            row = (await conn.execute(select(t).where(t.c.key == key))).first()
            if row is None:  # forgotten in between: ours now
                await conn.execute(
                    insert(t).values(key=key, fingerprint=print_, status=None, created_at=now)
                )
                return Claimed(Claim.RUN)
            if row.fingerprint != print_:
                return Claimed(Claim.REUSED)
            if row.status is not None:
                return Claimed(Claim.REPLAY, row.status, row.body.encode())
            if row.created_at > now - LEASE:
                return Claimed(Claim.BUSY)
            taken = await conn.execute(
                update(t)
                .where(t.c.key == key, t.c.status.is_(None), t.c.created_at == row.created_at)
                .values(created_at=now)
            )
            return Claimed(Claim.RUN if taken.rowcount == 1 else Claim.BUSY)

    async def remember(self, key: str, status: int, body: bytes) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                update(self.table)
                .where(self.table.c.key == key)
                .values(status=status, body=body.decode())
            )

    async def release(self, key: str) -> None:
        """The write failed unexpectedly (nothing to replay): a retry runs it again."""
        async with self.db.begin() as conn:
            await conn.execute(delete(self.table).where(self.table.c.key == key))

    async def forget_expired(self, now: datetime) -> None:
        async with self.db.begin() as conn:
            await conn.execute(delete(self.table).where(self.table.c.created_at < now - RETENTION))
