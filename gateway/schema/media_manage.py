"""The payload of the back-office media mutations."""

import strawberry

from .catalog import Product
from .errors import UserError
from .media import ProductMedia


@strawberry.type(description="The product with its images as they are now, or why not.")
class ProductMediaPayload:
    product: Product | None = strawberry.field(default=None, description="Its images: media.")
    media: ProductMedia | None = strawberry.field(
        default=None, description="productMediaAdd: the image added."
    )
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key added it."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why not.")
