"""What the orders source refuses. A buyer can cause each of these (an old cart id, a
second checkout of one cart), so the gateway turns them into userErrors; ``CartError``
catches every cart refusal at once."""

from __future__ import annotations

from collections.abc import Collection


class CartError(Exception):
    """A cart write that cannot be applied; nothing was changed."""

    def __init__(self, cart_id: str, message: str) -> None:
        super().__init__(message)
        self.cart_id = cart_id


class CartNotFound(CartError):
    """No such cart, or it belongs to another customer (which must read as not found)."""

    def __init__(self, cart_id: str) -> None:
        super().__init__(cart_id, f"cart {cart_id!r} does not exist")


class CartClosed(CartError):
    """The cart was checked out (COMPLETED) and can no longer change."""

    def __init__(self, cart_id: str) -> None:
        super().__init__(cart_id, f"cart {cart_id!r} is completed and can no longer change")


class CartLineNotFound(CartError):
    """Some of the given line ids are not lines of this cart."""

    def __init__(self, cart_id: str, line_ids: Collection[int]) -> None:
        self.line_ids = tuple(sorted(line_ids))
        super().__init__(cart_id, f"cart {cart_id!r} has no lines {list(self.line_ids)}")


class CheckoutAttemptLost(Exception):
    """``create_order`` found no open checkout attempt for its key and order_ref: it was
    abandoned, swept as stale (its reservation released) or already has an order. The
    order is not created, so the saga must undo its steps."""

    def __init__(self, order_ref: str) -> None:
        super().__init__(f"checkout attempt {order_ref!r} is no longer open")
        self.order_ref = order_ref


class QuantityAlreadyRequested(Exception):
    """An after-sales request asks for more units of some order lines than remain: the
    line's quantity minus the units already in requests that were not rejected. Nothing
    was written; ``line_ids`` are the order lines over the limit."""

    def __init__(self, line_ids: Collection[int]) -> None:
        self.line_ids = tuple(sorted(set(line_ids)))
        super().__init__(f"order lines {list(self.line_ids)} have no more units left to request")


class SameApprover(Exception):
    """The staff member who gave a request its first approval tried to give the second:
    four eyes means two people. Nothing was written."""

    def __init__(self, request_id: int, actor: str) -> None:
        super().__init__(f"{actor} already approved after-sales request {request_id} once")
        self.request_id = request_id
        self.actor = actor


class PurchaseLimitReached(Exception):
    """``create_order`` found that these SKUs would exceed the customer's purchase limit,
    counting their other orders placed meanwhile. Nothing was written."""

    def __init__(self, sku_ids: list[int]) -> None:
        super().__init__(f"purchase limit reached for SKUs {sku_ids}")
        self.sku_ids = sku_ids


class CustomerEmailTaken(Exception):
    """A new identity-provider subject's email already belongs to another customer (one the
    shop made itself, or another subject's). Nothing was written: linking the two is only
    done when the token vouches for the email (``email_verified``) and the existing
    customer has no subject yet."""

    def __init__(self, email: str) -> None:
        super().__init__(f"the email {email!r} belongs to another customer")
        self.email = email
