"""userErrors: what a mutation could not do, as data the client can show."""

from __future__ import annotations

import strawberry

from ..errors import Problem, UserErrorCode
from .enums import describe_values

strawberry.enum(
    UserErrorCode,
    name="UserErrorCode",
    description="Why a mutation could not do something; stable, so a client can branch on it.",
)
describe_values(
    UserErrorCode,
    {
        "CART_NOT_FOUND": "No such cart, or not yours (a customer's cart is theirs only).",
        "CART_EMPTY": "The cart has no lines to order.",
        "CART_COMPLETED": "The cart was already ordered; start a new one.",
        "SKU_NOT_FOUND": "No such SKU.",
        "PRODUCT_UNAVAILABLE": "The SKU's product is not published (or archived).",
        "SKU_INACTIVE": "The SKU is not for sale now.",
        "INVALID_QUANTITY": "A quantity below 1 (or below 0 where 0 removes), or too large.",
        "PURCHASE_LIMIT_EXCEEDED": "More units than the SKU's per-customer purchase limit.",
        "INSUFFICIENT_STOCK": "Fewer units available than asked for; the message says how many.",
        "PRESALE_NOT_STARTED": "The presale opens later (Presale.startsAt).",
        "PRESALE_ENDED": "The presale has closed (Presale.endsAt).",
        "PRESALE_BALANCE_OVERDUE": "The presale's balance deadline (Presale.balanceDueAt) has "
        "passed: the balance can no longer be paid; the order is cancelled and its deposit "
        "kept, as the presale's terms say.",
        "BUNDLE_INCOMPLETE": "One of the bundle's SKUs cannot be sold now.",
        "SHIPPING_ADDRESS_REQUIRED": "Set a shipping address before checking out.",
        "REGION_NOT_DELIVERABLE": "A known region the shop does not deliver to (shop.regions).",
        "SERVICE_AREA_UNAVAILABLE": "A service in the cart is not offered at that address.",
        "COUPON_NOT_FOUND": "No such coupon code.",
        "COUPON_EXPIRED": "The coupon's promotion has ended (or not started).",
        "COUPON_NOT_APPLICABLE": "The cart does not meet the coupon's terms.",
        "COUPON_USAGE_LIMIT_REACHED": "The code, or this customer, has used it up.",
        "COUPON_NOT_COMBINABLE": "The coupon cannot be combined with another applied.",
        "PRICE_CHANGED": "The total now differs from expectedTotal; show it and ask again.",
        "LOGIN_REQUIRED": "Sign in first (a customer token).",
        "CUSTOMER_BLOCKED": "The shop has blocked this customer from ordering.",
        "PERMISSION_DENIED": "The token lacks the permission this needs.",
        "IDEMPOTENCY_KEY_REUSED": "The idempotencyKey was used before for a different request.",
        "ORDER_NOT_FOUND": "No such order, or not yours.",
        "INVALID_STATUS_TRANSITION": "Not possible in the status it is in now.",
        "INVALID_INPUT": "A value is malformed or out of range; `field` names it.",
        "PRODUCT_NOT_FOUND": "No such product.",
        "WAREHOUSE_NOT_FOUND": "No warehouse with that code.",
        "SHIPMENT_NOT_FOUND": "No such parcel.",
        "AFTER_SALES_REQUEST_NOT_FOUND": "No such after-sales request, or not yours.",
        "APPOINTMENT_NOT_FOUND": "No such service appointment.",
        "ADDRESS_NOT_FOUND": "No such address in your book (or no default address).",
        "ADDRESS_BOOK_FULL": "The address book holds as many addresses as it may.",
        "CUSTOMER_NOT_FOUND": "No such customer.",
        "PAYMENT_PROVIDER_UNAVAILABLE": "The payment provider is not configured or not answering.",
        "SLUG_TAKEN": "Another product or category has this slug.",
        "CODE_TAKEN": "Another SKU, warehouse or attribute has this code.",
        "NAME_TAKEN": "Another supplier has this name.",
        "CATEGORY_NOT_FOUND": "No such category.",
        "SUPPLIER_NOT_FOUND": "No such supplier.",
        "CATEGORY_CYCLE": "A category cannot move under itself or one of its subcategories.",
        "OPTIONS_INVALID": "The option values do not match the product's options.",
        "OPTIONS_TAKEN": "Another SKU of the product has these option values.",
        "OPTIONS_IN_USE": "An option or value still used by a SKU cannot be removed.",
        "ATTRIBUTE_INVALID": "A specification's value does not fit its attribute.",
        "PRODUCT_ARCHIVED": "The product is archived and takes no changes.",
        "PROMOTION_NOT_FOUND": "No such promotion.",
        "PROMOTION_NEVER_APPLIES": "The terms could never discount anything (e.g. an empty scope).",
        "PROMOTION_CONTRADICTORY": "The terms contradict each other (e.g. ends before it starts).",
    },
)


@strawberry.type(
    description=(
        "Something a mutation could not do because of its input or the shop's "
        "rules, to show to the buyer; the rest of the mutation's answer still "
        "holds."
    )
)
class UserError:
    code: UserErrorCode = strawberry.field(
        description="A stable code to branch on; the message may change."
    )
    message: str = strawberry.field(description="What went wrong, for a person (English).")
    field: list[str] | None = strawberry.field(
        default=None,
        description=(
            'The path to the input at fault, e.g. ["address", "region"]; null when no one field is.'
        ),
    )
    line_id: strawberry.ID | None = strawberry.field(
        default=None, description="The cart line at fault (CartLine.id), when one is."
    )

    @classmethod
    def from_problem(cls, problem: Problem) -> UserError:
        return cls(
            code=problem.code,
            message=problem.message,
            field=list(problem.field) if problem.field else None,
            line_id=strawberry.ID(problem.line_id) if problem.line_id else None,
        )


def user_errors(problems: list[Problem]) -> list[UserError]:
    return [UserError.from_problem(p) for p in problems]
