"""The file ``gateway init`` reads: a shop's essentials in TOML (stdlib ``tomllib``).

```toml
[shop]
name = "Acme"
currency = "CNY"                  # ISO 4217; prices are kept per currency
languages = ["zh-CN", "en"]       # the first is the default
free_shipping_over = "199.00"     # optional; omit for none

[[regions]]                       # where the shop delivers, and at what rate
code = "CN-SH"
name = "Shanghai"
country = "CN"
shipping_rate = "10.00"           # omit: known, but not delivered to

[[warehouses]]
code = "SH-01"
name = "Shanghai Central Warehouse"
region = "CN-SH"
priority = 1                      # lower ships first
```

A mistake is reported as one line naming the entry (``regions[3].shipping_rate: ...``), and
nothing is written unless the whole file is valid.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sources.inventory.records import WarehouseSetup
from sources.orders.records import Region, ShopProfile

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
CODE = re.compile(r"^[A-Za-z0-9_.-]{1,16}$")
WAREHOUSE_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class ShopFileError(ValueError):
    """The file cannot be used; the message is the one line to show."""


@dataclass(frozen=True, slots=True)
class ShopFile:
    profile: ShopProfile
    regions: tuple[Region, ...]
    warehouses: tuple[WarehouseSetup, ...]


def read_shop_file(path: Path) -> ShopFile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ShopFileError(f"{path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ShopFileError(f"{path}: not valid TOML: {exc}") from None
    return parse_shop(data)


def parse_shop(data: Mapping[str, Any]) -> ShopFile:
    unknown = set(data) - {"shop", "regions", "warehouses"}
    if unknown:
        raise ShopFileError(f"unknown section(s): {', '.join(sorted(unknown))}")
    shop = _table(data.get("shop"), "shop")
    profile = ShopProfile(
        name=_text(shop, "shop", "name", 200),
        currency=_currency(shop),
        languages=_languages(shop),
        free_shipping_over=_money(shop, "shop", "free_shipping_over", required=False),
    )
    regions = tuple(_region(entry, i) for i, entry in enumerate(_list(data, "regions")))
    _unique([r.code for r in regions], "regions", "code")
    codes = {r.code for r in regions}
    warehouses = tuple(
        _warehouse(entry, i, codes) for i, entry in enumerate(_list(data, "warehouses"))
    )
    _unique([w.code for w in warehouses], "warehouses", "code")
    return ShopFile(profile, regions, warehouses)


def _table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ShopFileError(f"[{where}] is required (a table)")
    return value


def _list(data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ShopFileError(f"{name}: must be [[{name}]] entries")
    return value


def _text(entry: Mapping[str, Any], where: str, key: str, max_length: int) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ShopFileError(f"{where}.{key}: required, a non-empty string")
    if len(value) > max_length:
        raise ShopFileError(f"{where}.{key}: at most {max_length} characters")
    return value.strip()


def _currency(shop: Mapping[str, Any]) -> str:
    value = _text(shop, "shop", "currency", 3)
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ShopFileError("shop.currency: a three-letter ISO 4217 code such as CNY")
    return value


def _languages(shop: Mapping[str, Any]) -> tuple[str, ...]:
    value = shop.get("languages")
    if not isinstance(value, list) or not value:
        raise ShopFileError('shop.languages: required, e.g. ["zh-CN", "en"] (first is default)')
    for tag in value:
        if not isinstance(tag, str) or not LANGUAGE_TAG.fullmatch(tag):
            raise ShopFileError(f"shop.languages: {tag!r} is not a language tag such as zh-CN")
    if len(set(value)) != len(value) or len(",".join(value)) > 200:
        raise ShopFileError("shop.languages: each tag once, 200 characters in all")
    return tuple(value)


def _money(entry: Mapping[str, Any], where: str, key: str, *, required: bool) -> Decimal | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise ShopFileError(f"{where}.{key}: required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ShopFileError(f'{where}.{key}: an amount as a string, e.g. "10.00"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ShopFileError(f"{where}.{key}: {value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        raise ShopFileError(f"{where}.{key}: must be 0 or more")
    return amount.quantize(Decimal("0.01"))


def _region(entry: Mapping[str, Any], index: int) -> Region:
    where = f"regions[{index}]"
    code = _text(entry, where, "code", 16)
    if not CODE.fullmatch(code):
        raise ShopFileError(f"{where}.code: letters, digits, '-', '_' or '.' (e.g. CN-SH)")
    country = _text(entry, where, "country", 2).upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise ShopFileError(f"{where}.country: a two-letter code such as CN")
    rate = _money(entry, where, "shipping_rate", required=False)
    return Region(
        code=code,
        country=country,
        name=_text(entry, where, "name", 100),
        is_deliverable=rate is not None,
        shipping_rate=rate,
    )


def _warehouse(entry: Mapping[str, Any], index: int, regions: set[str]) -> WarehouseSetup:
    where = f"warehouses[{index}]"
    code = _text(entry, where, "code", 32)
    if not WAREHOUSE_CODE.fullmatch(code):
        raise ShopFileError(f"{where}.code: letters, digits, '-', '_' or '.' (e.g. SH-01)")
    region = _text(entry, where, "region", 16)
    if regions and region not in regions:
        raise ShopFileError(f"{where}.region: {region!r} is not one of the file's regions")
    priority = entry.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority < 10_000:
        raise ShopFileError(f"{where}.priority: a whole number from 0 (ships first)")
    return WarehouseSetup(code, _text(entry, where, "name", 200), region, priority)


def _unique(values: list[str], section: str, key: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ShopFileError(f"{section}: {key} {value!r} appears twice")
        seen.add(value)
