"""Opaque keyset cursors shared by every source's listings.

A cursor names the sort it belongs to, so a cursor from one sort used with another is
rejected instead of silently skipping rows.
"""

from __future__ import annotations

import base64
import binascii

import orjson

# Row ids are 32-bit on PostgreSQL; a forged cursor must not reach the driver with more.
MAX_ROW_ID = 2**31


class InvalidCursor(ValueError):
    """The client sent a cursor this listing did not produce."""


def encode_cursor(sort: str, key: str | None, row_id: int) -> str:
    raw = orjson.dumps([sort, key, row_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[str | None, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise InvalidCursor("the cursor is malformed") from exc
    if (
        not isinstance(value, list)
        or len(value) != 3
        or value[0] != sort
        or not (value[1] is None or isinstance(value[1], str))
        or not isinstance(value[2], int)
        or isinstance(value[2], bool)
        or not 0 <= value[2] < MAX_ROW_ID
        or (isinstance(value[1], str) and ("\x00" in value[1] or len(value[1]) > 500))
    ):
        raise InvalidCursor(f"the cursor does not belong to a {sort} listing")
    return value[1], value[2]
