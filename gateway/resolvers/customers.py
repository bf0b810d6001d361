"""The signed-in customer's address book, and customers for support staff (find, block,
unblock). Every address write names the viewer's own customer id, so another customer's
entry reads as not found, whatever id is sent."""

from typing import Annotated

import strawberry

from sources.common.pagination import InvalidCursor

from ..checkout.address_book import checked_entry, entry_problems
from ..errors import Problem, UserErrorCode
from ..schema.audit import AuditEntry
from ..schema.cart import AddressInput
from ..schema.common import BadUserInput, Info, page_size
from ..schema.customers import (
    CustomerAddress,
    CustomerAddressDeletePayload,
    CustomerAddressPayload,
    CustomerConnection,
    CustomerPayload,
)
from ..schema.errors import user_errors
from ..schema.node import decode_int_id
from ..schema.orders import Customer

ADDRESS_ID = "The CustomerAddress id (one of the viewer's own)."
CUSTOMER_ID = "The Customer id."
REASON = "Why (kept in the customer's audit log); 1 to 500 characters."
MAX_SEARCH_LENGTH = 200
MAX_REASON_LENGTH = 500


def _pk(global_id: str, type_name: str) -> int | None:
    try:
        return decode_int_id(global_id, type_name)
    except BadUserInput:
        return None


def _refused(code: UserErrorCode, message: str, *field: str) -> list[Problem]:
    return [Problem(code, message, field or None)]


def _login_required() -> list[Problem]:
    return _refused(UserErrorCode.LOGIN_REQUIRED, "sign in to keep an address book")


def _not_found() -> list[Problem]:
    return _refused(UserErrorCode.ADDRESS_NOT_FOUND, "no such address", "addressId")


async def customer_address_create(
    info: Info,
    address: Annotated[AddressInput, strawberry.argument(description="The address to add.")],
    is_default: Annotated[
        bool, strawberry.argument(description="Make it the default (new carts ship to it).")
    ] = False,
) -> CustomerAddressPayload:
    ctx = info.context
    customer_id = ctx.viewer.customer_id
    if customer_id is None:
        return CustomerAddressPayload(user_errors=user_errors(_login_required()))
    record = address.to_record()
    problems = entry_problems(record)
    if not problems:
        record, problems = await checked_entry(ctx.sources, record)
    if problems:
        return CustomerAddressPayload(user_errors=user_errors(problems))
    saved = await ctx.sources.orders.create_address(customer_id, record, is_default=is_default)
    if saved is None:
        problems = _refused(UserErrorCode.ADDRESS_BOOK_FULL, "the address book is full")
        return CustomerAddressPayload(user_errors=user_errors(problems))
    ctx.loaders.orders.addresses.clear(customer_id)
    return CustomerAddressPayload(address=CustomerAddress.from_record(saved))


async def customer_address_update(
    info: Info,
    address_id: Annotated[strawberry.ID, strawberry.argument(description=ADDRESS_ID)],
    address: Annotated[
        AddressInput | None,
        strawberry.argument(description="The whole new address; omit to keep it."),
    ] = None,
    is_default: Annotated[
        bool | None,
        strawberry.argument(
            description="true makes it the default; the default moves only to another address."
        ),
    ] = None,
) -> CustomerAddressPayload:
    ctx = info.context
    customer_id = ctx.viewer.customer_id
    if customer_id is None:
        return CustomerAddressPayload(user_errors=user_errors(_login_required()))
    pk = _pk(address_id, "CustomerAddress")
    if pk is None:
        return CustomerAddressPayload(user_errors=user_errors(_not_found()))
    record = address.to_record() if address is not None else None
    problems = entry_problems(record) if record is not None else []
    if record is not None and not problems:
        record, problems = await checked_entry(ctx.sources, record)
    if problems:
        return CustomerAddressPayload(user_errors=user_errors(problems))
    saved = await ctx.sources.orders.update_address(customer_id, pk, record, is_default=is_default)
    if saved is None:
        return CustomerAddressPayload(user_errors=user_errors(_not_found()))
    ctx.loaders.orders.addresses.clear(customer_id)
    return CustomerAddressPayload(address=CustomerAddress.from_record(saved))


async def customer_address_delete(
    info: Info, address_id: Annotated[strawberry.ID, strawberry.argument(description=ADDRESS_ID)]
) -> CustomerAddressDeletePayload:
    ctx = info.context
    customer_id = ctx.viewer.customer_id
    if customer_id is None:
        return CustomerAddressDeletePayload(user_errors=user_errors(_login_required()))
    pk = _pk(address_id, "CustomerAddress")
    if pk is None or not await ctx.sources.orders.delete_address(customer_id, pk):
        return CustomerAddressDeletePayload(user_errors=user_errors(_not_found()))
    ctx.loaders.orders.addresses.clear(customer_id)
    return CustomerAddressDeletePayload(deleted_address_id=address_id)


async def customer_address_node(info: Info, pk: int) -> CustomerAddress | None:
    """An address by its global id: its owner's alone (staff read books through Customer)."""
    customer_id = info.context.viewer.customer_id
    if customer_id is None:
        return None
    book = await info.context.loaders.orders.addresses.load(customer_id)
    return next((CustomerAddress.from_record(e) for e in book if e.id == pk), None)


async def customer_audit_log(
    info: Info,
    customer_id: Annotated[strawberry.ID, strawberry.argument(description=CUSTOMER_ID)],
    first: Annotated[int, strawberry.argument(description="How many, newest first.")] = 20,
) -> list[AuditEntry] | None:
    pk = _pk(customer_id, "Customer")
    if pk is None:
        return []
    entries = await info.context.loaders.orders.customer_audit.load((pk, page_size(info, first)))
    return [AuditEntry.from_record(e) for e in entries]


async def customers(
    info: Info,
    first: Annotated[int | None, strawberry.argument(description="Page size.")] = None,
    after: Annotated[
        str | None, strawberry.argument(description="The endCursor of the page before.")
    ] = None,
    search: Annotated[
        str | None,
        strawberry.argument(description="Part of an email or a name, any case (200 at most)."),
    ] = None,
) -> CustomerConnection:
    """Newest first; ``search`` matches part of an email or a name, any case."""
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise BadUserInput(f"search is at most {MAX_SEARCH_LENGTH} characters")
    try:
        page = await info.context.sources.orders.list_customers(
            first=page_size(info, first), after=after, search=search
        )
    except InvalidCursor as exc:
        raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
    for customer in page.customers:
        info.context.loaders.orders.customer.prime(customer.id, customer)
    return CustomerConnection.from_page(page, after=after)


async def _set_blocked(
    info: Info, customer_id: strawberry.ID, reason: str, *, blocked: bool
) -> CustomerPayload:
    ctx = info.context
    if not reason.strip() or len(reason) > MAX_REASON_LENGTH:
        problems = _refused(
            UserErrorCode.INVALID_INPUT,
            f"reason is required, at most {MAX_REASON_LENGTH} characters",
            "reason",
        )
        return CustomerPayload(user_errors=user_errors(problems))
    pk = _pk(customer_id, "Customer")
    viewer = ctx.viewer
    record = (
        await ctx.sources.orders.set_customer_blocked(
            pk,
            blocked=blocked,
            actor=f"{viewer.kind.value}:{viewer.subject}",
            reason=reason.strip(),
            now=ctx.now,
        )
        if pk is not None
        else None
    )
    if record is None:
        problems = _refused(UserErrorCode.CUSTOMER_NOT_FOUND, "no such customer", "customerId")
        return CustomerPayload(user_errors=user_errors(problems))
    ctx.loaders.orders.customer.clear(record.id)
    ctx.loaders.orders.customer.prime(record.id, record)
    return CustomerPayload(customer=Customer.from_record(record))


async def customer_block(
    info: Info,
    customer_id: Annotated[strawberry.ID, strawberry.argument(description=CUSTOMER_ID)],
    reason: Annotated[str, strawberry.argument(description=REASON)],
) -> CustomerPayload:
    return await _set_blocked(info, customer_id, reason, blocked=True)


async def customer_unblock(
    info: Info,
    customer_id: Annotated[strawberry.ID, strawberry.argument(description=CUSTOMER_ID)],
    reason: Annotated[str, strawberry.argument(description=REASON)],
) -> CustomerPayload:
    return await _set_blocked(info, customer_id, reason, blocked=False)
