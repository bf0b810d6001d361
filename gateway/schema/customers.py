"""A customer's address book, and customers as support staff find and block them."""

from __future__ import annotations

import strawberry

from sources.orders.records import CustomerAddress as CustomerAddressRecord
from sources.orders.records import CustomerPage

from .cart import Address
from .common import PageInfo
from .errors import UserError
from .node import Node, encode_id
from .orders import Customer


@strawberry.type(description="An entry in the signed-in customer's address book.")
class CustomerAddress(Node):
    address: Address = strawberry.field(description="Where to deliver.")
    is_default: bool = strawberry.field(
        description="The address a new cart ships to; exactly one per non-empty book."
    )

    @classmethod
    def from_record(cls, record: CustomerAddressRecord) -> CustomerAddress:
        address = Address.from_record(record.address)
        assert address is not None
        return cls(
            id=encode_id("CustomerAddress", record.id),
            address=address,
            is_default=record.is_default,
        )


@strawberry.type(description="The result of an address-book change.")
class CustomerAddressPayload:
    address: CustomerAddress | None = strawberry.field(
        default=None, description="The entry as saved; null when nothing was saved."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "What could not be done, on the field at fault: LOGIN_REQUIRED, "
            "ADDRESS_NOT_FOUND, ADDRESS_BOOK_FULL, INVALID_INPUT, "
            "REGION_NOT_DELIVERABLE."
        ),
    )


@strawberry.type(description="The result of deleting an address-book entry.")
class CustomerAddressDeletePayload:
    deleted_address_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of the entry deleted; null when none was."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="What could not be done: LOGIN_REQUIRED, ADDRESS_NOT_FOUND.",
    )


@strawberry.type(description="The result of blocking or unblocking a customer.")
class CustomerPayload:
    customer: Customer | None = strawberry.field(
        default=None, description="The customer after the change."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "What could not be done: CUSTOMER_NOT_FOUND, INVALID_INPUT, PERMISSION_DENIED."
        ),
    )


@strawberry.type(description="One customer and its cursor.")
class CustomerEdge:
    cursor: str = strawberry.field(
        description="Pass as `after` to get the customers after this one."
    )
    node: Customer = strawberry.field(description="The customer.")


@strawberry.type(description="Customers for support staff, newest first.")
class CustomerConnection:
    edges: list[CustomerEdge] = strawberry.field(
        description="The customers on this page, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages, and the cursors to reach them."
    )
    total_count: int = strawberry.field(description="How many customers match, across all pages.")

    @classmethod
    def from_page(cls, page: CustomerPage, *, after: str | None) -> CustomerConnection:
        return cls(
            edges=[
                CustomerEdge(cursor=cursor, node=Customer.from_record(customer))
                for customer, cursor in zip(page.customers, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page.cursors, has_next_page=page.has_next_page, after=after),
            total_count=page.total_count,
        )

    @classmethod
    def empty(cls) -> CustomerConnection:
        return cls.from_page(
            CustomerPage(customers=[], cursors=[], has_next_page=False, total_count=0), after=None
        )
