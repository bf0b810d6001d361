"""Writes applied once per idempotency key.

The key row is inserted in the same transaction as the write it guards: either both
commit or neither does, so a crash can never leave a key that claims a write that did not
happen. A concurrent second request with the same key blocks on the key's primary key
until the first commits, then replays the stored result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .models import IdempotencyColumns

KEY_RETENTION = timedelta(hours=24)


class IdempotencyKeyReused(Exception):
    """The key was used before with other arguments."""


def fingerprint(arguments: Mapping[str, Any]) -> str:
    raw = orjson.dumps(arguments, default=str, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()


async def replay(
    conn: AsyncConnection, model: Any, key: str, print_: str, now: datetime
) -> dict[str, Any] | None:
    """The stored result for ``key`` if it ran with these arguments within retention."""
    row = (await conn.execute(select(model).where(model.key == key))).first()
    if row is None:
        return None
    if row.created_at < now - KEY_RETENTION:
        await conn.execute(delete(model).where(model.key == key))
        return None
    if row.fingerprint != print_:
        raise IdempotencyKeyReused(key)
    stored: dict[str, Any] = orjson.loads(row.result)
    return stored


async def remember(
    conn: AsyncConnection,
    model: type[IdempotencyColumns],
    key: str,
    print_: str,
    result: Mapping[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        insert(model),
        {
            "key": key,
            "fingerprint": print_,
            "result": orjson.dumps(result, default=str).decode(),
            "created_at": now,
        },
    )


async def forget_expired(conn: AsyncConnection, model: Any, now: datetime) -> None:
    await conn.execute(delete(model).where(model.created_at < now - KEY_RETENTION))
