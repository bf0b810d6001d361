"""The Schema: every domain's types under one Query and Mutation. Exported to
schema.graphql, which clients generate code from."""

from collections.abc import Sequence
from typing import Any

import strawberry
from graphql.execution import Executor as GraphQLExecutionContext
from strawberry.extensions import SchemaExtension

from ..auth import Permission
from ..resolvers import aftersales as aftersales_resolvers
from ..resolvers import backoffice as backoffice_resolvers
from ..resolvers import bulk as bulk_resolvers
from ..resolvers import cart as cart_resolvers
from ..resolvers import catalog as catalog_resolvers
from ..resolvers import catalog_manage as manage_resolvers
from ..resolvers import customers as customer_resolvers
from ..resolvers import deadlines as deadlines_resolvers
from ..resolvers import imports as imports_resolvers
from ..resolvers import media_manage as media_resolvers
from ..resolvers import node as node_resolvers
from ..resolvers import orders as orders_resolvers
from ..resolvers import payments as payments_resolvers
from ..resolvers import promotions_manage as promotion_resolvers
from ..resolvers import search as search_resolvers
from ..resolvers import shipments as shipments_resolvers
from ..resolvers import shop as shop_resolvers
from .aftersales import AfterSalesPayload, AfterSalesRequest, AfterSalesRequestConnection
from .arguments import install as install_argument_conversion
from .audit import AuditEntry
from .backoffice import LowStockConnection, ProductPayload, SkuPayload
from .bulk import ProductBulkPayload, SkuBulkPayload
from .cart import Cart, CartPayload
from .catalog import Category, Product, ProductConnection, Sku
from .catalog_manage import AttributePayload, CategoryPayload, SupplierPayload
from .cost import declare_costs
from .customers import (
    CustomerAddressDeletePayload,
    CustomerAddressPayload,
    CustomerConnection,
    CustomerPayload,
)
from .deadlines import ShipmentDueConnection
from .imports import ImportJob
from .media_manage import ProductMediaPayload
from .node import Node
from .orders import CheckoutCompletePayload, Customer, Order, OrderConnection, OrderPayload
from .payments import OrderPaymentPayload
from .permissions import requires_permission, staff_list, staff_only
from .pricing import Promotion
from .promotions_manage import CouponCodesPayload, PromotionPayload, WarehousePayload
from .scalars import SCALAR_OVERRIDES
from .search import PredictiveSearchResult, ProductSearchResult
from .settlement import Settlement
from .shipments import ServiceAppointmentPayload, ShipmentPayload
from .shop import Shop, ShopRegion


@strawberry.type
class Query:
    node: Node | None = strawberry.field(
        resolver=node_resolvers.node,
        description=(
            "Any object by its global id (Relay); null when it does not exist or is"
            " not yours to see."
        ),
    )
    nodes: list[Node | None] = strawberry.field(
        resolver=node_resolvers.nodes,
        description=(
            "Objects by their global ids, in the order asked (null where one is not found)."
        ),
    )
    product: Product | None = strawberry.field(
        resolver=catalog_resolvers.product, description="A product by id or slug (exactly one)."
    )
    products: ProductConnection = strawberry.field(
        resolver=catalog_resolvers.products,
        description="Published products, filtered and sorted, paged by cursor.",
    )
    categories: list[Category] = strawberry.field(
        resolver=catalog_resolvers.categories,
        description="Every category, parents before children.",
    )
    search: ProductSearchResult = strawberry.field(
        resolver=search_resolvers.search,
        description="Products for a buyer's typing, ranked (name over brand and category over "
        "description): Chinese words, pinyin in full or by initials (erji, ej), English with a "
        "typo (headst); with facet counts. A blank query has no results; over 200 characters "
        "or a NUL is BAD_USER_INPUT.",
    )
    predictive_search: PredictiveSearchResult = strawberry.field(
        resolver=search_resolvers.predictive_search,
        description="Suggestions while the buyer types: the last word matches as a prefix.",
    )
    shop: Shop | None = strawberry.field(
        resolver=shop_resolvers.shop,
        description="The shop's name, currency, languages and the regions an address form "
        "offers; null until `gateway init`.",
    )
    shipping_regions: list[ShopRegion] = strawberry.field(
        resolver=shop_resolvers.shipping_regions,
        description="The regions an address form offers (as shop.regions), also before "
        "`gateway init`: names in the shop's languages, else English and Chinese.",
    )
    cart: Cart | None = strawberry.field(
        resolver=cart_resolvers.cart,
        description="A cart by id: its owner's, or an anonymous cart for whoever holds its id.",
    )
    order: Order | None = strawberry.field(
        resolver=orders_resolvers.order, description="The owner's, or any for MANAGE_ORDERS."
    )
    viewer: Customer | None = strawberry.field(
        resolver=orders_resolvers.viewer, description="The signed-in customer; null otherwise."
    )
    customers: CustomerConnection = strawberry.field(
        resolver=customer_resolvers.customers,
        extensions=staff_list(Permission.MANAGE_CUSTOMERS),
        description="Customers, newest first; `search` matches part of an email or a name. "
        "Empty without MANAGE_CUSTOMERS.",
    )
    customer_audit_log: list[AuditEntry] | None = strawberry.field(
        resolver=customer_resolvers.customer_audit_log,
        extensions=staff_only(Permission.MANAGE_CUSTOMERS),
        description="A customer's blocking and unblocking, newest first, with who and why.",
    )
    after_sales_audit_log: list[AuditEntry] | None = strawberry.field(
        resolver=aftersales_resolvers.after_sales_audit_log,
        extensions=staff_only(Permission.MANAGE_AFTER_SALES),
        description="Staff's moves of one after-sales request, newest first: each approval "
        "(both of a four-eyes refund), rejection and completion, with who, when and why.",
    )
    orders: OrderConnection = strawberry.field(
        resolver=orders_resolvers.orders,
        extensions=staff_list(Permission.MANAGE_ORDERS),
        description="Every customer's orders, newest first (empty without MANAGE_ORDERS).",
    )
    low_stock: LowStockConnection | None = strawberry.field(
        resolver=backoffice_resolvers.low_stock,
        extensions=staff_only(Permission.MANAGE_STOCK),
        description="SKUs whose warehouse stock available is under `threshold`, lowest first.",
    )
    after_sales_requests: AfterSalesRequestConnection = strawberry.field(
        resolver=aftersales_resolvers.after_sales_requests,
        extensions=staff_list(Permission.MANAGE_AFTER_SALES),
        description="Every after-sales request, oldest first (pass status: OPEN for the "
        "queue still to resolve); empty without MANAGE_AFTER_SALES.",
    )
    shipments_due: ShipmentDueConnection = strawberry.field(
        resolver=deadlines_resolvers.shipments_due,
        extensions=staff_list(Permission.MANAGE_ORDERS),
        description="Parcels not yet shipped whose ship-by promise falls before `before`, "
        "earliest first (`overdue` once it has passed), from one source (a warehouse code "
        "or supplier:<id>) or all; empty without MANAGE_ORDERS.",
    )
    import_job: ImportJob | None = strawberry.field(
        resolver=imports_resolvers.import_job,
        description="An import's progress and bad rows: price imports for MANAGE_PRICES "
        "staff, stock imports for MANAGE_STOCK staff (null for anyone else).",
    )
    settlement: Settlement | None = strawberry.field(
        resolver=aftersales_resolvers.settlement,
        extensions=staff_only(Permission.VIEW_FINANCE),
        description="Orders placed in [from, to) that were paid, settled per order and in "
        "total (at most 366 days).",
    )


@strawberry.type
class Mutation:
    cart_create: CartPayload = strawberry.field(
        resolver=cart_resolvers.cart_create,
        description=(
            "Create a cart, empty or with lines, coupons and an address; a signed-in "
            "customer's cart is theirs. userErrors: per line SKU_NOT_FOUND, SKU_INACTIVE, "
            "PRODUCT_UNAVAILABLE, INVALID_QUANTITY, INSUFFICIENT_STOCK (a SKU held for carts "
            "with none left to hold); for the coupons INVALID_INPUT (over 5 codes, or one over "
            "64 characters), COUPON_NOT_FOUND, COUPON_EXPIRED, COUPON_NOT_APPLICABLE, "
            "COUPON_USAGE_LIMIT_REACHED, COUPON_NOT_COMBINABLE; for the address INVALID_INPUT "
            "on the field at fault."
        ),
    )
    cart_lines_add: CartPayload = strawberry.field(
        resolver=cart_resolvers.cart_lines_add,
        description="Add SKUs to the cart; adding a SKU already in it adds to its quantity. "
        "userErrors (per line, with lineId or field): CART_NOT_FOUND, CART_COMPLETED, "
        "SKU_NOT_FOUND, SKU_INACTIVE, PRODUCT_UNAVAILABLE, INVALID_QUANTITY, "
        "INSUFFICIENT_STOCK (a SKU held for carts with too few left to hold). A purchase "
        "limit shows in cart.validation and at checkoutComplete, not here.",
    )
    cart_lines_update: CartPayload = strawberry.field(
        resolver=cart_resolvers.cart_lines_update,
        description="Change lines' quantities; quantity 0 removes the line. userErrors: "
        "CART_NOT_FOUND, CART_COMPLETED, INVALID_INPUT (a line not in the cart), "
        "INVALID_QUANTITY, INSUFFICIENT_STOCK (a SKU held for carts with too few left to "
        "hold). A purchase limit shows in cart.validation and at checkoutComplete.",
    )
    cart_lines_remove: CartPayload = strawberry.field(
        resolver=cart_resolvers.cart_lines_remove,
        description=(
            "Remove lines from the cart. userErrors: CART_NOT_FOUND, "
            "CART_COMPLETED, and INVALID_INPUT for a line not in the cart."
        ),
    )
    cart_coupons_set: CartPayload = strawberry.field(
        resolver=cart_resolvers.cart_coupons_set,
        description=(
            "Replace the cart's coupon codes (an empty list removes them). userErrors: "
            "CART_NOT_FOUND, CART_COMPLETED, INVALID_INPUT (over 5 codes, or one over 64 "
            "characters), COUPON_NOT_FOUND, COUPON_EXPIRED, COUPON_NOT_APPLICABLE, "
            "COUPON_USAGE_LIMIT_REACHED, COUPON_NOT_COMBINABLE."
        ),
    )
    cart_shipping_address_set: CartPayload = strawberry.field(
        resolver=cart_resolvers.cart_shipping_address_set,
        description=(
            "Set where the cart ships. userErrors: CART_NOT_FOUND, CART_COMPLETED, and "
            "INVALID_INPUT on the address field at fault (a missing field, a malformed phone "
            "or postal code, an unknown region). Whether the shop delivers there shows in "
            "cart.validation and at checkoutComplete (REGION_NOT_DELIVERABLE, "
            "SERVICE_AREA_UNAVAILABLE), not here."
        ),
    )
    customer_address_create: CustomerAddressPayload = strawberry.field(
        resolver=customer_resolvers.customer_address_create,
        description="Add an address to the signed-in customer's book; `isDefault` makes it "
        "the one new carts ship to (a book's first address is the default anyway). "
        "userErrors on the address field at fault: INVALID_INPUT, ADDRESS_BOOK_FULL, "
        "LOGIN_REQUIRED.",
    )
    customer_address_update: CustomerAddressPayload = strawberry.field(
        resolver=customer_resolvers.customer_address_update,
        description=(
            "Change one of the signed-in customer's addresses (`address` replaces it whole), "
            "or make it the default. userErrors: LOGIN_REQUIRED, ADDRESS_NOT_FOUND (also for "
            "another customer's address), INVALID_INPUT on the address field at fault."
        ),
    )
    customer_address_delete: CustomerAddressDeletePayload = strawberry.field(
        resolver=customer_resolvers.customer_address_delete,
        description=(
            "Delete one of the signed-in customer's addresses; deleting the default makes the "
            "oldest remaining one the default. userErrors: LOGIN_REQUIRED, ADDRESS_NOT_FOUND."
        ),
    )
    customer_block: CustomerPayload = strawberry.field(
        resolver=customer_resolvers.customer_block,
        extensions=requires_permission(Permission.MANAGE_CUSTOMERS),
        description=(
            "Block a customer: their checkouts are refused with CUSTOMER_BLOCKED until "
            "unblocked. Audited with the reason. userErrors: INVALID_INPUT (no reason, or too "
            "long a one), CUSTOMER_NOT_FOUND, PERMISSION_DENIED without MANAGE_CUSTOMERS."
        ),
    )
    customer_unblock: CustomerPayload = strawberry.field(
        resolver=customer_resolvers.customer_unblock,
        extensions=requires_permission(Permission.MANAGE_CUSTOMERS),
        description=(
            "Let a blocked customer check out again. Audited with the reason. userErrors: "
            "INVALID_INPUT (no reason, or too long a one), CUSTOMER_NOT_FOUND, "
            "PERMISSION_DENIED without MANAGE_CUSTOMERS."
        ),
    )
    cart_shipping_address_use_default: CartPayload = strawberry.field(
        resolver=cart_resolvers.cart_shipping_address_use_default,
        description=(
            "Ship the cart to the signed-in customer's default address. userErrors: "
            "CART_NOT_FOUND, CART_COMPLETED, LOGIN_REQUIRED (anonymous), ADDRESS_NOT_FOUND (no "
            "default address), INVALID_INPUT (the saved address no longer passes the address "
            "rules)."
        ),
    )
    checkout_complete: CheckoutCompletePayload = strawberry.field(
        resolver=orders_resolvers.checkout_complete,
        description="Place the order. The same idempotencyKey returns the same order; "
        "expectedTotal must equal the total computed now (else PRICE_CHANGED). Other "
        "userErrors: CART_NOT_FOUND, CART_EMPTY, CART_COMPLETED, SHIPPING_ADDRESS_REQUIRED, "
        "REGION_NOT_DELIVERABLE, SERVICE_AREA_UNAVAILABLE, INSUFFICIENT_STOCK, "
        "PURCHASE_LIMIT_EXCEEDED, SKU_INACTIVE, PRODUCT_UNAVAILABLE, PRESALE_NOT_STARTED, "
        "PRESALE_ENDED, BUNDLE_INCOMPLETE, COUPON_USAGE_LIMIT_REACHED, CUSTOMER_BLOCKED, "
        "IDEMPOTENCY_KEY_REUSED.",
    )
    order_payment_create: OrderPaymentPayload = strawberry.field(
        resolver=payments_resolvers.order_payment_create,
        description="The order's owner pays the stage due (in full, or a presale's deposit, "
        "or its balance once the presale ended) through a provider: the payload's payment "
        "carries what the page shows (redirectUrl or qrCode) and when it expires. Asked "
        "again, the same open payment comes back. The order is paid when the provider "
        "notifies the shop (or when orderPaymentConfirm finds it paid). userErrors: "
        "ORDER_NOT_FOUND, INVALID_STATUS_TRANSITION, PAYMENT_PROVIDER_UNAVAILABLE.",
    )
    order_payment_confirm: OrderPayload = strawberry.field(
        resolver=payments_resolvers.order_payment_confirm,
        description=(
            "The buyer is back from the provider's page: the shop asks the provider where the "
            "order's open payments stand and applies a paid one (once, however it also hears "
            "of it). The owner or MANAGE_ORDERS staff. userErrors: ORDER_NOT_FOUND (also for "
            "an order the viewer may not see); a provider that is down is no error: the order "
            "stays payable."
        ),
    )
    order_cancel: OrderPayload = strawberry.field(
        resolver=orders_resolvers.order_cancel,
        description="The owner before payment, or MANAGE_ORDERS staff; gives the stock back. "
        "userErrors: ORDER_NOT_FOUND, INVALID_STATUS_TRANSITION, INVALID_INPUT, "
        "LOGIN_REQUIRED.",
    )
    stock_adjust: SkuPayload = strawberry.field(
        resolver=backoffice_resolvers.stock_adjust,
        extensions=requires_permission(Permission.MANAGE_STOCK),
        description=(
            "Change on-hand stock in one warehouse; a retry with the same idempotencyKey is "
            "applied once. userErrors: SKU_NOT_FOUND, WAREHOUSE_NOT_FOUND, INSUFFICIENT_STOCK "
            "(on-hand would fall below what is reserved), INVALID_INPUT (a zero or too large "
            "delta, no reason, a bad idempotencyKey), IDEMPOTENCY_KEY_REUSED, "
            "PERMISSION_DENIED without MANAGE_STOCK."
        ),
    )
    price_set: SkuPayload = strawberry.field(
        resolver=backoffice_resolvers.price_set,
        extensions=requires_permission(Permission.MANAGE_PRICES),
        description=(
            "Set a SKU's list and sale price (list >= sale > 0, two decimals). userErrors: "
            "SKU_NOT_FOUND, INVALID_INPUT (on list or sale), PERMISSION_DENIED without "
            "MANAGE_PRICES."
        ),
    )
    product_publish: ProductPayload = strawberry.field(
        resolver=backoffice_resolvers.product_publish,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Publish a product (buyers can see and order it) or unpublish it. userErrors: "
            "PRODUCT_NOT_FOUND, PRODUCT_ARCHIVED, PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    price_set_bulk: SkuBulkPayload = strawberry.field(
        resolver=bulk_resolvers.price_set_bulk,
        extensions=requires_permission(Permission.MANAGE_PRICES),
        description=(
            "Set up to 1,000 prices (priceSet's rules, each item reported on its own): the "
            "valid ones apply, or with atomic: true all or none. A retry with the same "
            "idempotencyKey is applied once. userErrors of the request: INVALID_INPUT (no "
            "items or over 1,000, a bad idempotencyKey, or atomic and some item refused), "
            "IDEMPOTENCY_KEY_REUSED, PERMISSION_DENIED without MANAGE_PRICES; of each result: "
            "SKU_NOT_FOUND, INVALID_INPUT."
        ),
    )
    stock_adjust_bulk: SkuBulkPayload = strawberry.field(
        resolver=bulk_resolvers.stock_adjust_bulk,
        extensions=requires_permission(Permission.MANAGE_STOCK),
        description=(
            "Up to 1,000 stock adjustments (stockAdjust's rules, each item reported on its "
            "own): the valid ones apply, or with atomic: true all or none. A retry with the "
            "same idempotencyKey is applied once. userErrors of the request: INVALID_INPUT (no "
            "items or over 1,000, a bad idempotencyKey, or atomic and some item refused), "
            "IDEMPOTENCY_KEY_REUSED, PERMISSION_DENIED without MANAGE_STOCK; of each result: "
            "SKU_NOT_FOUND, WAREHOUSE_NOT_FOUND, INSUFFICIENT_STOCK, INVALID_INPUT."
        ),
    )
    product_publish_bulk: ProductBulkPayload = strawberry.field(
        resolver=bulk_resolvers.product_publish_bulk,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Publish or unpublish up to 1,000 products: the known ones, or with atomic: true "
            "all or none. A retry with the same idempotencyKey is applied once. userErrors of "
            "the request: INVALID_INPUT (no items or over 1,000, a bad idempotencyKey, or "
            "atomic and some product unknown), IDEMPOTENCY_KEY_REUSED, PERMISSION_DENIED "
            "without MANAGE_PRODUCTS; of each result: PRODUCT_NOT_FOUND."
        ),
    )
    product_create: ProductPayload = strawberry.field(
        resolver=manage_resolvers.product_create,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "A new product, unpublished unless `published: true` (it sells once it has an "
            "active, priced SKU with stock). A retry with the same idempotencyKey returns the "
            "same product. userErrors: INVALID_INPUT on the input field at fault, SLUG_TAKEN, "
            "CATEGORY_NOT_FOUND, SUPPLIER_NOT_FOUND, ATTRIBUTE_INVALID (a specification its "
            "category does not define, or of another kind), IDEMPOTENCY_KEY_REUSED, "
            "PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    product_update: ProductPayload = strawberry.field(
        resolver=manage_resolvers.product_update,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Change the fields given (null clears a nullable one); options must still offer "
            "every SKU's picks. Archived products take no changes. userErrors: "
            "PRODUCT_NOT_FOUND, PRODUCT_ARCHIVED, INVALID_INPUT on the input field at fault, "
            "SLUG_TAKEN, CATEGORY_NOT_FOUND, SUPPLIER_NOT_FOUND, OPTIONS_IN_USE (options some "
            "SKU's picks no longer fit), ATTRIBUTE_INVALID, PERMISSION_DENIED without "
            "MANAGE_PRODUCTS."
        ),
    )
    product_archive: ProductPayload = strawberry.field(
        resolver=manage_resolvers.product_archive,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Withdraw a product for good: unpublished and archived, never deleted (orders, "
            "refunds and the audit log keep naming it). Archiving twice is once. userErrors: "
            "PRODUCT_NOT_FOUND, PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    sku_create: SkuPayload = strawberry.field(
        resolver=manage_resolvers.sku_create,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "A new SKU of a product, with its first price and one value of each of the "
            "product's options. A retry with the same idempotencyKey returns the same SKU. "
            "userErrors: PRODUCT_NOT_FOUND, PRODUCT_ARCHIVED, INVALID_INPUT on the input field "
            "at fault (price included), CODE_TAKEN, OPTIONS_INVALID (not one value of each "
            "option), OPTIONS_TAKEN (another SKU has these picks), IDEMPOTENCY_KEY_REUSED, "
            "PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    sku_update: SkuPayload = strawberry.field(
        resolver=manage_resolvers.sku_update,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Change the fields given (its price: priceSet). userErrors: SKU_NOT_FOUND, "
            "PRODUCT_ARCHIVED, INVALID_INPUT on the input field at fault, CODE_TAKEN, "
            "OPTIONS_INVALID, OPTIONS_TAKEN, PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    category_create: CategoryPayload = strawberry.field(
        resolver=manage_resolvers.category_create,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "A new category, at the top or under parentId. A retry with the same "
            "idempotencyKey returns the same category. userErrors: INVALID_INPUT on the input "
            "field at fault, SLUG_TAKEN, CATEGORY_NOT_FOUND (the parent), "
            "IDEMPOTENCY_KEY_REUSED, PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    category_update: CategoryPayload = strawberry.field(
        resolver=manage_resolvers.category_update,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Rename, re-slug or reorder a category (moving it: categoryMove). userErrors: "
            "CATEGORY_NOT_FOUND, INVALID_INPUT on the input field at fault, SLUG_TAKEN, "
            "PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    category_move: CategoryPayload = strawberry.field(
        resolver=manage_resolvers.category_move,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Move a category and everything under it below parentId (null: to the top). "
            "userErrors: CATEGORY_NOT_FOUND (the category or the parent), CATEGORY_CYCLE "
            "(under itself or one of its subcategories), INVALID_INPUT (position), "
            "PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    attribute_define: AttributePayload = strawberry.field(
        resolver=manage_resolvers.attribute_define,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Create a category's attribute, or change it (same category and code); a change "
            "that would strand products' values is refused. userErrors: CATEGORY_NOT_FOUND, "
            "INVALID_INPUT on the input field at fault, ATTRIBUTE_INVALID (the change would "
            "strand products' values), PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    supplier_create: SupplierPayload = strawberry.field(
        resolver=manage_resolvers.supplier_create,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "A new drop-ship supplier (names are unique). userErrors: INVALID_INPUT (the name, "
            "a bad idempotencyKey), NAME_TAKEN, IDEMPOTENCY_KEY_REUSED, PERMISSION_DENIED "
            "without MANAGE_PRODUCTS."
        ),
    )
    product_media_add: ProductMediaPayload = strawberry.field(
        resolver=media_resolvers.product_media_add,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Add an image, as a file (GraphQL multipart request) or by url: checked by its "
            "content (JPEG, PNG or WebP, within the size and pixel limits), stored, placed "
            "last; skuIds makes it their picture. A retry with the same idempotencyKey adds it "
            "once. userErrors: PRODUCT_NOT_FOUND, PRODUCT_ARCHIVED, SKU_NOT_FOUND (a skuIds "
            "entry unknown or another product's), INVALID_INPUT (not exactly one of file and "
            "url, an image refused by its content, bytes or pixels, a url that cannot be "
            "fetched, a bad alt), IDEMPOTENCY_KEY_REUSED, PERMISSION_DENIED without "
            "MANAGE_PRODUCTS."
        ),
    )
    product_media_reorder: ProductMediaPayload = strawberry.field(
        resolver=media_resolvers.product_media_reorder,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Put the product's images in this order (name every one, once). userErrors: "
            "PRODUCT_NOT_FOUND, PRODUCT_ARCHIVED, INVALID_INPUT (mediaIds are not the "
            "product's images, each once), PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    product_media_remove: ProductMediaPayload = strawberry.field(
        resolver=media_resolvers.product_media_remove,
        extensions=requires_permission(Permission.MANAGE_PRODUCTS),
        description=(
            "Remove an image and every resized copy of it; SKUs it pictured have none "
            "afterwards. userErrors: PRODUCT_NOT_FOUND, PRODUCT_ARCHIVED, INVALID_INPUT (not "
            "an image of this product), PERMISSION_DENIED without MANAGE_PRODUCTS."
        ),
    )
    promotion_create: PromotionPayload = strawberry.field(
        resolver=promotion_resolvers.promotion_create,
        extensions=requires_permission(Permission.MANAGE_PRICES),
        description=(
            "A new promotion, judged by the engine's rules before it is saved. A retry with "
            "the same idempotencyKey returns the same promotion. userErrors: INVALID_INPUT on "
            "the input field at fault, PROMOTION_NEVER_APPLIES (terms no cart can meet, or a "
            "window already over), PROMOTION_CONTRADICTORY (terms that contradict each other), "
            "CODE_TAKEN (the couponCode is another promotion's), PRODUCT_NOT_FOUND, "
            "CATEGORY_NOT_FOUND (its targets), IDEMPOTENCY_KEY_REUSED, PERMISSION_DENIED "
            "without MANAGE_PRICES."
        ),
    )
    promotion_update: PromotionPayload = strawberry.field(
        resolver=promotion_resolvers.promotion_update,
        extensions=requires_permission(Permission.MANAGE_PRICES),
        description=(
            "Change the terms given, judged as a whole; its generated codes follow. "
            "userErrors: PROMOTION_NOT_FOUND, PROMOTION_CONTRADICTORY (also for a generated "
            "code: change its promotion), PROMOTION_NEVER_APPLIES, INVALID_INPUT on the input "
            "field at fault, CODE_TAKEN, PRODUCT_NOT_FOUND, CATEGORY_NOT_FOUND, "
            "PERMISSION_DENIED without MANAGE_PRICES."
        ),
    )
    promotion_end: PromotionPayload = strawberry.field(
        resolver=promotion_resolvers.promotion_end,
        extensions=requires_permission(Permission.MANAGE_PRICES),
        description=(
            "Close the promotion's window now (and its generated codes'); orders already "
            "placed keep their discounts. userErrors: PROMOTION_NOT_FOUND, "
            "PROMOTION_CONTRADICTORY (a generated code: end its promotion), PERMISSION_DENIED "
            "without MANAGE_PRICES."
        ),
    )
    coupon_codes_generate: CouponCodesPayload = strawberry.field(
        resolver=promotion_resolvers.coupon_codes_generate,
        extensions=requires_permission(Permission.MANAGE_PRICES),
        description=(
            "Up to 10,000 unique, unguessable codes for a coupon promotion, each usable "
            "usageLimit times (and within the promotion's per-customer limit). A retry with "
            "the same idempotencyKey returns the same codes. userErrors: PROMOTION_NOT_FOUND, "
            "PROMOTION_CONTRADICTORY (an automatic promotion, or a generated code), "
            "PROMOTION_NEVER_APPLIES (it has ended), INVALID_INPUT (count, usageLimit, prefix "
            "or idempotencyKey), IDEMPOTENCY_KEY_REUSED, PERMISSION_DENIED without "
            "MANAGE_PRICES."
        ),
    )
    warehouse_create: WarehousePayload = strawberry.field(
        resolver=promotion_resolvers.warehouse_create,
        extensions=requires_permission(Permission.MANAGE_STOCK),
        description=(
            "A new, empty warehouse (stock arrives through stockAdjust). userErrors: "
            "INVALID_INPUT on the input field at fault, CODE_TAKEN, PERMISSION_DENIED without "
            "MANAGE_STOCK."
        ),
    )
    order_mark_paid: OrderPayload = strawberry.field(
        resolver=shipments_resolvers.order_mark_paid,
        extensions=requires_permission(Permission.MANAGE_ORDERS),
        description=(
            "Record the order's payment: in full, or a presale's deposit and then (once the "
            "presale has ended) its balance. Paid: the stock is sold and the parcels planned. "
            "userErrors: ORDER_NOT_FOUND, INVALID_STATUS_TRANSITION (nothing is due, or the "
            "balance before the presale ends), PRESALE_BALANCE_OVERDUE (the balance's deadline "
            "has passed), PERMISSION_DENIED without MANAGE_ORDERS."
        ),
    )
    shipment_mark_shipped: ShipmentPayload = strawberry.field(
        resolver=shipments_resolvers.shipment_mark_shipped,
        extensions=requires_permission(Permission.MANAGE_ORDERS),
        description=(
            "PENDING -> SHIPPED; the order becomes PARTIALLY_SHIPPED or SHIPPED. userErrors: "
            "INVALID_INPUT (carrier or trackingNumber), SHIPMENT_NOT_FOUND, "
            "INVALID_STATUS_TRANSITION, PERMISSION_DENIED without MANAGE_ORDERS."
        ),
    )
    shipment_mark_delivered: ShipmentPayload = strawberry.field(
        resolver=shipments_resolvers.shipment_mark_delivered,
        extensions=requires_permission(Permission.MANAGE_ORDERS),
        description=(
            "SHIPPED -> DELIVERED; the order is COMPLETED when every parcel is delivered and "
            "every service appointment done (SHIPPED until then). userErrors: "
            "SHIPMENT_NOT_FOUND, INVALID_STATUS_TRANSITION, PERMISSION_DENIED without "
            "MANAGE_ORDERS."
        ),
    )
    service_appointment_complete: ServiceAppointmentPayload = strawberry.field(
        resolver=shipments_resolvers.service_appointment_complete,
        extensions=requires_permission(Permission.MANAGE_ORDERS),
        description=(
            "TO_SCHEDULE or SCHEDULED -> DONE, once; the order is COMPLETED when every parcel "
            "is delivered and every service appointment done. userErrors: "
            "APPOINTMENT_NOT_FOUND, INVALID_STATUS_TRANSITION, PERMISSION_DENIED without "
            "MANAGE_ORDERS."
        ),
    )
    after_sales_request_create: AfterSalesPayload = strawberry.field(
        resolver=aftersales_resolvers.after_sales_request_create,
        description="The order's owner asks to return, be refunded for or exchange units of "
        "a paid order; the refund is what was paid for them. userErrors: LOGIN_REQUIRED, "
        "ORDER_NOT_FOUND, INVALID_INPUT, INVALID_QUANTITY, INVALID_STATUS_TRANSITION.",
    )
    after_sales_request_resolve: AfterSalesPayload = strawberry.field(
        resolver=aftersales_resolvers.after_sales_request_resolve,
        extensions=requires_permission(Permission.MANAGE_AFTER_SALES),
        description=(
            "OPEN -> APPROVED or REJECTED, once; a retry with the same idempotencyKey replays "
            "the answer. userErrors: AFTER_SALES_REQUEST_NOT_FOUND, INVALID_STATUS_TRANSITION, "
            "INVALID_INPUT (note or idempotencyKey), IDEMPOTENCY_KEY_REUSED, PERMISSION_DENIED "
            "(without MANAGE_AFTER_SALES, or a large refund's second approval by the staff "
            "member who gave the first)."
        ),
    )
    after_sales_request_complete: AfterSalesPayload = strawberry.field(
        resolver=aftersales_resolvers.after_sales_request_complete,
        extensions=requires_permission(Permission.MANAGE_AFTER_SALES),
        description=(
            "APPROVED -> COMPLETED; a return's units go back on the shelf. userErrors: "
            "AFTER_SALES_REQUEST_NOT_FOUND, INVALID_STATUS_TRANSITION, INVALID_INPUT (note), "
            "PERMISSION_DENIED without MANAGE_AFTER_SALES."
        ),
    )


def build_schema(
    *,
    extensions: Sequence[type[SchemaExtension]] = (),
    execution_context_class: type[GraphQLExecutionContext[Any]] | None = None,
    schema_class: type[strawberry.Schema] = strawberry.Schema,
) -> strawberry.Schema:
    """The schema with the runtime's extensions and executor (gateway/execution); the
    exported SDL never depends on them."""
    install_argument_conversion()  # resolvers' inputs by a converter per field
    built = schema_class(
        query=Query,
        mutation=Mutation,
        types=[Product, Sku, Category, Promotion, Customer, Cart, Order, AfterSalesRequest],
        extensions=list(extensions),
        execution_context_class=execution_context_class,
        scalar_overrides=SCALAR_OVERRIDES,  # type: ignore[arg-type]
    )
    declare_costs(built)
    return built


schema = build_schema()
