"""The demo shop's product page details: typed attributes defined per category (with a
value for each product), shipping weight and size, tags. Drawn from their own generator,
so adding them left every earlier row of the shop as it was."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .drafts import ProductDraft, Role

Row = dict[str, Any]
Draw = Callable[[random.Random, ProductDraft], Any]


@dataclass(frozen=True, slots=True)
class AttributeSeed:
    code: str
    name: str
    kind: str  # TEXT | NUMBER | BOOLEAN | CHOICE
    draw: Draw
    unit: str | None = None
    choices: tuple[str, ...] = ()


def _number(low: float, high: float, places: int = 0) -> Draw:
    def draw(rng: random.Random, _: ProductDraft) -> Decimal:
        return round(Decimal(str(rng.uniform(low, high))), places)

    return draw


def _pick(choices: tuple[Any, ...]) -> Draw:
    return lambda rng, _: rng.choice(choices)


def _chance(share: float) -> Draw:
    return lambda rng, _: rng.random() < share


def _model(rng: random.Random, product: ProductDraft) -> str:
    return f"{product.code}-{rng.randint(100, 999)}{rng.choice('ABCDEFGHJK')}"


FABRICS = ("Organic cotton", "Merino wool", "Linen", "Leather", "Recycled nylon")

# Attributes sit on the category where they make sense: "Model" on every electronics
# product, "Screen size" only on phones and tablets.
ATTRIBUTES: dict[str, tuple[AttributeSeed, ...]] = {
    "electronics": (
        AttributeSeed("model", "Model", "TEXT", _model),
        AttributeSeed("warranty", "Warranty", "NUMBER", _pick((Decimal(1), Decimal(2))), "years"),
    ),
    "audio": (
        AttributeSeed(
            "connection", "Connection", "CHOICE", _pick(("Bluetooth 5.3", "Wired", "Wi-Fi")),
            choices=("Bluetooth 5.3", "Wired", "Wi-Fi"),
        ),
        AttributeSeed("battery_life", "Battery life", "NUMBER", _number(8, 60), "hours"),
    ),
    "headphones": (AttributeSeed("noise_cancelling", "Noise cancelling", "BOOLEAN", _chance(0.6)),),
    "phones-tablets": (
        AttributeSeed("screen_size", "Screen size", "NUMBER", _number(5.8, 12.9, 1), "in"),
        AttributeSeed("battery", "Battery", "NUMBER", _number(3500, 10000), "mAh"),
        AttributeSeed("has_5g", "5G", "BOOLEAN", _chance(0.85)),
    ),
    "computers": (
        AttributeSeed("screen_size", "Screen size", "NUMBER", _number(13.3, 17.3, 1), "in"),
        AttributeSeed(
            "processor", "Processor", "CHOICE", _pick(("8-core", "10-core", "12-core", "16-core")),
            choices=("8-core", "10-core", "12-core", "16-core"),
        ),
    ),
    "tvs": (
        AttributeSeed(
            "panel", "Panel", "CHOICE", _pick(("LED", "QLED", "Mini-LED", "OLED")),
            choices=("LED", "QLED", "Mini-LED", "OLED"),
        ),
        AttributeSeed("refresh_rate", "Refresh rate", "NUMBER", _pick((Decimal(60), Decimal(120))),
                      "Hz"),
    ),
    "home-appliances": (
        AttributeSeed(
            "energy_grade", "Energy grade", "CHOICE", _pick(("Grade 1", "Grade 2", "Grade 3")),
            choices=("Grade 1", "Grade 2", "Grade 3"),
        ),
        AttributeSeed("power", "Power", "NUMBER", _number(600, 2400), "W"),
    ),
    "home-living": (AttributeSeed("material", "Material", "TEXT",
                                  _pick(("Oak", "Cotton", "Linen", "Ceramic", "Walnut"))),),
    "fashion": (
        AttributeSeed("material", "Material", "TEXT", _pick(FABRICS)),
        AttributeSeed("machine_washable", "Machine washable", "BOOLEAN", _chance(0.7)),
    ),
    "sports-outdoors": (AttributeSeed("waterproof", "Waterproof", "BOOLEAN", _chance(0.5)),),
}  # fmt: skip

# Shipping weight (grams) and parcel size (mm) by top-level category.
SHIPPING: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "electronics": ((150, 25_000), (80, 1_900)),
    "home-appliances": ((1_000, 90_000), (200, 1_900)),
    "home-living": ((200, 60_000), (100, 2_200)),
    "fashion": ((150, 2_000), (150, 600)),
    "sports-outdoors": ((100, 30_000), (100, 1_800)),
}


def attribute_rows(category_ids: dict[str, int]) -> list[Row]:
    return [
        {
            "id": n,
            "category_id": category_ids[slug],
            "code": seed.code,
            "name": seed.name,
            "kind": seed.kind,
            "unit": seed.unit,
            "choices": list(seed.choices),
            "position": position,
        }
        for n, (slug, seed, position) in enumerate(_seeds(), start=1)
    ]


def attribute_value_rows(
    rng: random.Random,
    catalogue: list[ProductDraft],
    category_paths: dict[str, tuple[str, ...]],
) -> list[Row]:
    """A value of every attribute that applies to each physical product (bundles and
    services carry none: their parts and terms say it)."""
    ids = {(slug, seed.code): n for n, (slug, seed, _) in enumerate(_seeds(), start=1)}
    rows: list[Row] = []
    for product in catalogue:
        if product.role in (Role.SERVICE, Role.BUNDLE):
            continue
        for slug in category_paths[product.category]:
            for seed in ATTRIBUTES.get(slug, ()):
                value = seed.draw(rng, product)
                rows.append(
                    {
                        "product_id": product.id,
                        "attribute_id": ids[(slug, seed.code)],
                        "text_value": value if seed.kind in ("TEXT", "CHOICE") else None,
                        "number_value": value if seed.kind == "NUMBER" else None,
                        "bool_value": value if seed.kind == "BOOLEAN" else None,
                    }
                )
    return rows


def shipping_and_tags(
    rng: random.Random, product: ProductDraft, top_category: str
) -> dict[str, Any]:
    """The product row's weight, size and tags."""
    tags = [product.category]
    if product.role is Role.DROPSHIP:
        tags.append("ships-from-partner")
    if product.presale is not None:
        tags.append("presale")
    if top_category not in SHIPPING or product.role is Role.SERVICE:
        return {"tags": tags, "weight_grams": None, "length_mm": None, "width_mm": None,
                "height_mm": None}  # fmt: skip
    (low_g, high_g), (low_mm, high_mm) = SHIPPING[top_category]
    # Squared, as prices are: small parcels outnumber large ones.
    sides = sorted(int(low_mm + (high_mm - low_mm) * rng.random() ** 2) for _ in range(3))
    return {
        "tags": tags,
        "weight_grams": int(low_g + (high_g - low_g) * rng.random() ** 2),
        "length_mm": sides[2],
        "width_mm": sides[1],
        "height_mm": sides[0],
    }


def _seeds() -> list[tuple[str, AttributeSeed, int]]:
    return [
        (slug, seed, position)
        for slug, seeds in ATTRIBUTES.items()
        for position, seed in enumerate(seeds)
    ]
