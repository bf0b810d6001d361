"""The demo shop's pictures: one per colour (or finish) of a product, which its SKUs of
that colour show, else one per product. Only rows are seeded; the images are drawn on
first request from what their key says (gateway/media/serve.py), so seeding stays fast."""

from __future__ import annotations

import zlib
from typing import Any

from .drafts import ProductDraft

Row = dict[str, Any]
SIZE = 800

COLOURS = {
    "Black": "2b2b2e", "White": "f4f4f0", "Silver": "c7c9cc", "Graphite": "4a4d52",
    "Midnight Blue": "1f2a4a", "Forest Green": "2f5d3a", "Rose Pink": "e8a6b5",
    "Sand Beige": "d8c7a3", "Crimson Red": "a3212f", "Sky Blue": "8cc4e8",
    "Champagne Gold": "d9c28f", "Natural Oak": "c8a165", "Walnut": "6b4a2f",
    "White Ash": "e6dcc8", "Black Ash": "3a3430", "Teak": "a0703f",
}  # fmt: skip
PICTURED_BY = ("Colour", "Finish")


def _colour(text: str) -> str:
    """A stable colour for anything without one of its own."""
    return f"{zlib.crc32(text.encode()) & 0xFFFFFF:06x}"


def media_rows(catalogue: list[ProductDraft]) -> tuple[list[Row], dict[int, int]]:
    """The media rows, and the image of each SKU that has one (SKU id -> media id)."""
    rows: list[Row] = []
    sku_images: dict[int, int] = {}
    for product in catalogue:
        if product.option_name in PICTURED_BY:
            labels = list(dict.fromkeys(sku.label for sku in product.skus))
        else:
            labels = [""]
        ids: dict[str, int] = {}
        for position, label in enumerate(labels):
            media_id = len(rows) + 1
            ids[label] = media_id
            colour = COLOURS.get(label) or _colour(product.name)
            rows.append(
                {
                    "id": media_id,
                    "product_id": product.id,
                    "position": position,
                    "storage_key": f"demo/p{product.id}-{position}-{colour}.png",
                    "content_type": "image/png",
                    "width": SIZE,
                    "height": SIZE,
                    "alt": {"en": f"{product.name}, {label}" if label else product.name},
                }
            )
        if product.option_name in PICTURED_BY:
            for sku in product.skus:
                sku_images[sku.id] = ids[sku.label]
    return rows, sku_images
