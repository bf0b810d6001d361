"""Relay global ids: opaque, type-checked. A SKU's id where a product is expected reads
as not found; a string that is no id of ours is a clear client error."""

import base64
import binascii
import functools

import strawberry

from ..ids import row_id
from .common import BadUserInput


@strawberry.interface(description="An object with a global ID.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="A global id (Relay): opaque, stable, and accepted by `node(id:)`."
    )


@functools.lru_cache(maxsize=16384)
def encode_id(type_name: str, pk: int | str) -> strawberry.ID:
    """Kept: a listing encodes ~380 ids a request (products, SKUs, promotions, categories),
    the same ones request after request; the base64 round was ~3% of its CPU."""
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode())


def decode_id(global_id: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(global_id.encode("ascii") + b"=" * (-len(global_id) % 4))
        type_name, _, pk = raw.decode("utf-8").partition(":")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput(f"{global_id!r} is not a valid ID", code="INVALID_ID") from None
    if not type_name or not pk:
        raise BadUserInput(f"{global_id!r} is not a valid ID", code="INVALID_ID")
    return type_name, pk


def decode_int_id(global_id: str, expected: str) -> int | None:
    """The primary key when ``global_id`` is a well-formed id of type ``expected``; None
    when it is a valid id of another type (the object reads as not found)."""
    type_name, pk = decode_id(global_id)
    key = row_id(pk)
    if key is None:
        raise BadUserInput(f"{global_id!r} is not a valid ID", code="INVALID_ID")
    return key if type_name == expected else None
