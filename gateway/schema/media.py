"""Product images as a storefront shows them: alt text by language, size, and the address
of a copy resized to fit a box (Shopify's ``url(transform:)``)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sources.catalog.records import ProductMedia as MediaRecord

from ..media.images import ImageFormat as ImageFormatValue
from ..media.serve import url_for
from .common import BadUserInput, Info
from .enums import describe_values
from .node import encode_id

ImageFormat = strawberry.enum(
    ImageFormatValue, name="ImageFormat", description="The file format of a resized copy."
)
describe_values(
    ImageFormatValue,
    {
        "WEBP": "WebP: smallest for the same quality; every current browser shows it.",
        "JPEG": "JPEG, for photographs where WebP is not an option.",
        "PNG": "PNG, lossless (logos, line art, transparency).",
    },
)
DEFAULT_LANGUAGE = "en"
MAX_SIDE = 4096


@strawberry.input(
    description="A copy of the image that fits within maxWidth x maxHeight (never larger "
    "than the original; sizes are rounded up to a few steps), in format."
)
class ImageTransformInput:
    max_width: int | None = strawberry.field(default=None, description="At most this wide.")
    max_height: int | None = strawberry.field(default=None, description="At most this high.")
    format: ImageFormatValue | None = strawberry.field(
        default=None, description="The original's format unless given."
    )


@strawberry.type(description="A text in one language.")
class LocalizedText:
    language: str = strawberry.field(description='A BCP 47 tag: "en", "zh-CN".')
    text: str = strawberry.field(description="The text.")


@strawberry.input(description="A text in one language.")
class LocalizedTextInput:
    language: str = strawberry.field(description='A BCP 47 tag: "en", "zh-CN".')
    text: str = strawberry.field(description="The text.")


@strawberry.type(description="An image of a product.")
class ProductMedia:
    id: strawberry.ID = strawberry.field(description="Its id (productMediaReorder, ...Remove).")
    position: int = strawberry.field(description="Its place among the product's images.")
    width: int = strawberry.field(description="The original's width in pixels.")
    height: int = strawberry.field(description="The original's height in pixels.")
    content_type: str = strawberry.field(description="The original's media type.")
    alt_texts: list[LocalizedText] = strawberry.field(description="Alt text in each language.")
    record: strawberry.Private[MediaRecord]

    @classmethod
    def from_record(cls, record: MediaRecord) -> ProductMedia:
        return cls(
            id=encode_id("ProductMedia", record.id),
            position=record.position,
            width=record.width,
            height=record.height,
            content_type=record.content_type,
            alt_texts=[LocalizedText(language=lang, text=text) for lang, text in record.alt],
            record=record,
        )

    @strawberry.field(
        description="Alt text in this language, else in English, else in any; empty if none."
    )
    def alt(
        self,
        language: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "A language tag (BCP 47, e.g. zh-CN); the shop's default language when omitted."
                )
            ),
        ] = None,
    ) -> str:
        texts = dict(self.record.alt)
        for wanted in (language, DEFAULT_LANGUAGE):
            if wanted and wanted in texts:
                return texts[wanted]
        return next(iter(texts.values()), "")

    @strawberry.field(
        description="The image's address; with transform, the address of a resized copy "
        "(made on its first request, then served from storage)."
    )
    def url(
        self,
        info: Info,
        transform: Annotated[
            ImageTransformInput | None,
            strawberry.argument(
                description="A resized copy (width, height, format); the original when omitted."
            ),
        ] = None,
    ) -> str:
        width = height = None
        fmt = None
        if transform is not None:
            width, height = transform.max_width, transform.max_height
            for name, side in (("maxWidth", width), ("maxHeight", height)):
                if side is not None and not 1 <= side <= MAX_SIDE:
                    raise BadUserInput(f"transform.{name} must be 1 to {MAX_SIDE}")
            fmt = transform.format.value if transform.format else None
        return url_for(
            info.context.media_base_url,
            self.record.storage_key,
            width=width,
            height=height,
            fmt=fmt,
        )
