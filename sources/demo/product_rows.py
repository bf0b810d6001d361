"""Rows for the catalog, inventory and pricing tables from the drafted catalogue. The
listing projection on ``products`` is computed from the very SKUs, prices and stock written
beside it, so the two never disagree in a fresh shop."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from . import chinese
from .catalog_data import BRANDS, CATEGORY_TREE, SUPPLIERS, CategoryNode
from .chinese import category_translations
from .drafts import ProductDraft
from .shop_data import CURRENCY, WAREHOUSES

Row = dict[str, Any]
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def category_rows() -> list[Row]:
    """Breadth first, so a parent's id is lower than its children's and its row comes
    first; ``path`` is the materialised path of ids ("1/7/")."""
    rows: list[Row] = []
    queue: deque[tuple[CategoryNode, Row | None, int]] = deque(
        (node, None, position) for position, node in enumerate(CATEGORY_TREE)
    )
    while queue:
        node, parent, position = queue.popleft()
        row_id = len(rows) + 1
        row: Row = {
            "id": row_id,
            "slug": node.slug,
            "name": node.name,
            "parent_id": parent["id"] if parent else None,
            "path": f"{parent['path'] if parent else ''}{row_id}/",
            "position": position,
            "translations": category_translations(node.slug),
        }
        rows.append(row)
        queue.extend((child, row, n) for n, child in enumerate(node.children))
    return rows


def brand_rows() -> list[Row]:
    return [
        {"id": n, "name": name, "translations": chinese.brand_translations(name)}
        for n, name in enumerate(BRANDS, start=1)
    ]


def supplier_rows() -> list[Row]:
    return [{"id": n, "name": name} for n, name in enumerate(SUPPLIERS, start=1)]


def category_paths() -> dict[str, tuple[str, ...]]:
    """Each category's slugs from the root down to itself."""
    paths: dict[str, tuple[str, ...]] = {}

    def walk(node: CategoryNode, above: tuple[str, ...]) -> None:
        paths[node.slug] = (*above, node.slug)
        for child in node.children:
            walk(child, paths[node.slug])

    for root in CATEGORY_TREE:
        walk(root, ())
    return paths


def product_rows(
    catalogue: list[ProductDraft],
    category_ids: dict[str, int],
    details: dict[int, Row] | None = None,
) -> list[Row]:
    """``details``: extra columns by product id (weight, size, tags)."""
    brand_ids = {row["name"]: row["id"] for row in brand_rows()}
    supplier_ids = {row["name"]: row["id"] for row in supplier_rows()}
    rows: list[Row] = []
    for p in catalogue:
        price_min, price_max = p.price_range
        presale = p.presale
        rows.append(
            {
                "id": p.id,
                "slug": f"{_slugify(p.name)}-{p.id}",
                "name": p.name,
                "description": p.description,
                "kind": p.kind,
                "fulfillment": p.fulfillment,
                "is_published": p.is_published,
                "category_id": category_ids[p.category],
                "brand_id": brand_ids[p.brand] if p.brand else None,
                "supplier_id": supplier_ids[p.supplier] if p.supplier else None,
                "created_at": p.created_at,
                "presale_deposit": presale.deposit if presale else None,
                "presale_starts_at": presale.starts_at if presale else None,
                "presale_ends_at": presale.ends_at if presale else None,
                "presale_ships_from": presale.ships_from if presale else None,
                "currency": CURRENCY,
                "price_min": price_min,
                "price_max": price_max,
                "in_stock": p.is_in_stock,
                "options": _options(p),
                "translations": _translations(p),
                **(details or {}).get(p.id, {}),
            }
        )
    return rows


def _translations(p: ProductDraft) -> dict[str, dict[str, str]]:
    name = chinese.chinese_name(p.name, p.brand)
    return {
        chinese.LANGUAGE: {
            "name": name,
            "description": chinese.chinese_description(name, p.category),
        }
    }


def _options(p: ProductDraft) -> list[Row]:
    if p.option_name is None:
        return []
    return [{"name": p.option_name, "values": [sku.label for sku in p.skus]}]


def sku_rows(catalogue: list[ProductDraft]) -> list[Row]:
    return [
        {
            "id": sku.id,
            "product_id": p.id,
            "code": f"{p.code}-{p.id:06d}-{position + 1}",
            "name": f"{p.name}, {sku.label}" if p.kind != "BUNDLE" else p.name,
            "is_active": sku.is_active,
            "purchase_limit": sku.purchase_limit,
            "position": position,
            "options": [[p.option_name, sku.label]] if p.option_name else [],
        }
        for p in catalogue
        for position, sku in enumerate(p.skus)
    ]


def bundle_item_rows(catalogue: list[ProductDraft]) -> list[Row]:
    return [
        {"bundle_product_id": p.id, "sku_id": part.id, "quantity": 1}
        for p in catalogue
        for part in p.bundle_of
    ]


def service_area_rows(catalogue: list[ProductDraft]) -> list[Row]:
    return [
        {"product_id": p.id, "region_code": code} for p in catalogue for code in p.service_regions
    ]


def price_rows(catalogue: list[ProductDraft]) -> list[Row]:
    return [
        {
            "sku_id": sku.id,
            "currency": CURRENCY,
            "list_amount": sku.list_amount,
            "sale_amount": sku.sale_amount,
            "cost_amount": sku.cost_amount,
            "updated_at": p.stamp,
        }
        for p in catalogue
        for sku in p.skus
    ]


def warehouse_rows() -> list[Row]:
    return [
        {
            "id": w.id,
            "code": w.code,
            "name": w.name,
            "region_code": w.region_code,
            "priority": w.priority,
        }
        for w in WAREHOUSES
    ]


def stock_rows(catalogue: list[ProductDraft]) -> list[Row]:
    # Nothing is reserved: reservations belong to carts and orders, and there are none yet.
    return [
        {
            "sku_id": sku.id,
            "warehouse_id": warehouse_id,
            "on_hand": on_hand,
            "reserved": 0,
            "updated_at": p.stamp,
        }
        for p in catalogue
        for sku in p.skus
        for warehouse_id, on_hand in sorted(sku.warehouse_stock.items())
    ]


def supplier_stock_rows(catalogue: list[ProductDraft]) -> list[Row]:
    supplier_ids = {row["name"]: row["id"] for row in supplier_rows()}
    return [
        {
            "sku_id": sku.id,
            "supplier_id": supplier_ids[p.supplier],
            "available": sku.supplier_available,
            "updated_at": p.stamp,
        }
        for p in catalogue
        if p.supplier
        for sku in p.skus
        if sku.supplier_available is not None
    ]


def _slugify(name: str) -> str:
    return _NOT_SLUG.sub("-", name.lower()).strip("-")
