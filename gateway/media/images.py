"""Images by their content: what an upload really is (never its name or declared type),
refusing what is not a whole JPEG, PNG or WebP, or would decompress past the pixel
budget; and resized copies, which never upscale.

Pillow reads only the header to learn the format and size, so a decompression bomb is
refused before a single pixel is decoded; ``load()`` then decodes the rest, which is
where a truncated file shows itself.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from enum import StrEnum

# Pillow is imported by the functions that decode or draw: the schema imports this module
# for its enum, and a process that never handles an image need not load it.

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
# Sizes a transform is rounded up to: the copies a bounded set, not one per pixel asked.
STEPS = (64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 4096)


class ImageFormat(StrEnum):
    WEBP = "WEBP"
    JPEG = "JPEG"
    PNG = "PNG"


class UploadRefused(Exception):
    """Why an upload is not an image we keep; the message is for staff."""


@dataclass(frozen=True, slots=True)
class ImageFacts:
    format: str  # JPEG | PNG | WEBP
    content_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def inspect(data: bytes, *, max_bytes: int, max_pixels: int) -> ImageFacts:
    """The image's facts, or UploadRefused."""
    if not data:
        raise UploadRefused("the file is empty")
    if len(data) > max_bytes:
        raise UploadRefused(f"the file is over {max_bytes} bytes")
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format or ""
                width, height = image.size
                if kind not in FORMATS:
                    raise UploadRefused(f"{kind or 'this'} is not JPEG, PNG or WebP")
                if width * height > max_pixels:
                    raise UploadRefused(
                        f"{width}x{height} is over {max_pixels} pixels (a decompression bomb?)"
                    )
                image.load()  # decodes everything: a truncated file fails here
        except UploadRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadRefused(
                "the image is over the pixel budget (a decompression bomb?)"
            ) from exc
        except UnidentifiedImageError as exc:
            raise UploadRefused("the file is not an image") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise UploadRefused(f"the image is damaged or truncated ({exc})") from exc
    return ImageFacts(kind, FORMATS[kind], width, height)


def step(size: int | None) -> int | None:
    """A requested size rounded up to the next step (the largest step beyond)."""
    if size is None:
        return None
    return next((s for s in STEPS if s >= size), STEPS[-1])


def resize(
    data: bytes, *, max_width: int | None, max_height: int | None, fmt: ImageFormat
) -> bytes:
    """A copy within the box, proportions kept, never larger than the original."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        box = (max_width or image.width, max_height or image.height)
        copy = image.copy()
    copy.thumbnail(box, Image.Resampling.LANCZOS)
    if fmt is ImageFormat.JPEG and copy.mode not in ("RGB", "L"):
        copy = copy.convert("RGB")
    if fmt is not ImageFormat.JPEG and copy.mode not in ("RGB", "RGBA", "L", "LA"):
        copy = copy.convert("RGBA")
    out = io.BytesIO()
    options = {"quality": 85} if fmt in (ImageFormat.JPEG, ImageFormat.WEBP) else {}
    copy.save(out, format=fmt.value, **options)
    return out.getvalue()


def draw_demo(label: str, colour: str, size: int = 800) -> bytes:
    """The demo shop's product picture: drawn, not downloaded (a tile in the product's
    colour with a simple silhouette and its label), as PNG."""
    from PIL import Image, ImageDraw

    rgb = tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))
    image = Image.new("RGB", (size, size), (245, 245, 242))
    draw = ImageDraw.Draw(image)
    inset = size // 6
    draw.rounded_rectangle((inset, inset, size - inset, size - inset), radius=size // 10, fill=rgb)
    shade = tuple(max(0, c - 40) for c in rgb)
    draw.ellipse((size // 3, size // 3, size * 2 // 3, size * 2 // 3), fill=shade)
    draw.text((inset, size - inset + size // 30), label[:40], fill=(60, 60, 60))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=1)
    return out.getvalue()
