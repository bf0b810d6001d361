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


@strawberry.type(
    description=(
        "An amount of money: a Decimal string, exact, quantized to the "
        "currency's minor unit (two decimals for CNY), with its currency."
    )
)
class Money:
    amount: Decimal = strawberry.field(
        description='The amount as a Decimal string, e.g. "199.00"; never a float.'
    )
    currency: str = strawberry.field(description="The currency, an ISO 4217 code (CNY).")

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        return cls(amount=quantize(amount), currency=currency)


@strawberry.type(description="Where a page sits in a cursor-paged list (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="True when another page follows; fetch it with `after: endCursor`."
    )
    has_previous_page: bool = strawberry.field(
        description="True when this page was reached with a cursor."
    )
    start_cursor: str | None = strawberry.field(
        description="The first edge's cursor; null on an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor; null on an empty page."
    )

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
