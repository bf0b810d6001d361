"""Back-office media mutations: read the file (or URL), hand it to
gateway/backoffice/media_manage.py, read the product's images back for the payload."""

from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload

from ..backoffice import media_manage as manage
from ..media.storage import MediaStorage
from ..schema.catalog import Product
from ..schema.common import Info
from ..schema.errors import user_errors
from ..schema.media import LocalizedTextInput, ProductMedia
from ..schema.media_manage import ProductMediaPayload
from .backoffice import _actor, _pk


async def _payload(
    info: Info, product_id: int | None, outcome: manage.Outcome
) -> ProductMediaPayload:
    if outcome.problems or product_id is None:
        return ProductMediaPayload(user_errors=user_errors(outcome.problems))
    loaders = info.context.loaders.catalog
    for loader in (loaders.media, loaders.product, loaders.skus_by_product):
        loader.clear(product_id)
    record = await loaders.product.load(product_id)
    media = await loaders.media.load(product_id)
    added = next((m for m in media if m.id == outcome.media_id), None)
    return ProductMediaPayload(
        product=Product.from_record(record) if record else None,
        media=ProductMedia.from_record(added) if added else None,
        replayed=outcome.replayed,
    )


def _storage(info: Info) -> MediaStorage:
    storage = info.context.media
    if storage is None:  # create_app always sets one; a bare test context may not
        raise RuntimeError("no media storage configured")
    return storage


async def product_media_add(
    info: Info,
    product_id: Annotated[
        strawberry.ID, strawberry.argument(description="The product's id (Product.id).")
    ],
    file: Annotated[
        Upload | None,
        strawberry.argument(
            description="The image file, as a GraphQL multipart upload; or give url."
        ),
    ] = None,
    url: Annotated[
        str | None,
        strawberry.argument(
            description="An https URL the shop downloads the image from; or give file."
        ),
    ] = None,
    alt: Annotated[
        list[LocalizedTextInput] | None,
        strawberry.argument(description="The image's alternative text, per language."),
    ] = None,
    sku_ids: Annotated[
        list[strawberry.ID] | None,
        strawberry.argument(description="SKUs this image pictures (Sku.id)."),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description="A key the client makes up; a retry with it adds the image once."
        ),
    ] = None,
) -> ProductMediaPayload:
    ctx = info.context
    pk = _pk(product_id, "Product")
    data = await file.read() if file is not None else None  # type: ignore[attr-defined]
    outcome = await manage.add_media(
        ctx.sources,
        _storage(info),
        ctx.settings.media,
        pk,
        data=data,
        url=url,
        alt=[(a.language, a.text) for a in alt or ()],
        sku_ids=[_pk(i, "Sku") for i in sku_ids or ()],
        idempotency_key=idempotency_key,
        actor=_actor(info),
        now=ctx.now,
    )
    return await _payload(info, pk, outcome)


async def product_media_reorder(
    info: Info,
    product_id: Annotated[
        strawberry.ID, strawberry.argument(description="The product's id (Product.id).")
    ],
    media_ids: Annotated[
        list[strawberry.ID],
        strawberry.argument(
            description=("Every one of the product's images (ProductMedia.id), in the new order.")
        ),
    ],
) -> ProductMediaPayload:
    ctx = info.context
    pk = _pk(product_id, "Product")
    outcome = await manage.reorder_media(
        ctx.sources, pk, [_pk(i, "ProductMedia") for i in media_ids], actor=_actor(info),
        now=ctx.now,
    )  # fmt: skip
    return await _payload(info, pk, outcome)


async def product_media_remove(
    info: Info,
    product_id: Annotated[
        strawberry.ID, strawberry.argument(description="The product's id (Product.id).")
    ],
    media_id: Annotated[
        strawberry.ID, strawberry.argument(description="The image's id (ProductMedia.id).")
    ],
) -> ProductMediaPayload:
    ctx = info.context
    pk = _pk(product_id, "Product")
    outcome = await manage.remove_media(
        ctx.sources, _storage(info), pk, _pk(media_id, "ProductMedia"), actor=_actor(info),
        now=ctx.now,
    )  # fmt: skip
    return await _payload(info, pk, outcome)
