"""Types every domain module shares: Money, PageInfo, the Info alias and input errors."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TypeAlias

import strawberry
from graphql import GraphQLError

from sources.common.money import quantize

from ..context import GatewayContext

Info: TypeAlias = strawberry.Info[GatewayContext, None]


@strawberry.type
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        return cls(amount=quantize(amount), currency=currency)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, cursors: Sequence[str], *, has_next_page: bool, after: str | None) -> PageInfo:
        """A keyset page's info: a page reached with a cursor has one before it."""
        return cls(
            has_next_page=has_next_page,
            has_previous_page=after is not None,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


class BadUserInput(GraphQLError):
    """A malformed argument (bad id, cursor, range): a GraphQL error with a stable code,
    because it is a client bug, not a buyer's mistake to show in a form."""

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message, extensions={"code": code})


def page_size(info: Info, first: int | None) -> int:
    settings = info.context.settings
    if first is None:
        return settings.default_page_size
    if first < 0 or first > settings.max_page_size:
        raise BadUserInput(
            f"first must be between 0 and {settings.max_page_size}, got {first}",
            code="PAGE_SIZE_OUT_OF_RANGE",
        )
    return first
