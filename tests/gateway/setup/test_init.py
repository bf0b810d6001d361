"""``gateway init FILE``: an empty shop's essentials from a TOML file, in the places the
gateway reads them (regions in orders, warehouses in inventory, the profile's currency
in place of GATEWAY_CURRENCY), idempotently; a bad file is one line, nothing written."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.settings import Settings
from gateway.setup.shop import with_shop_profile
from gateway.setup.shop_file import ShopFileError, parse_shop
from sources.common.db import Database
from sources.inventory.store import InventoryStore
from sources.orders.store import OrdersStore
from tests.conftest import serve, settings_for

from .cli import REPO, assert_one_clear_line, gateway, initialised, migrated, sqlite_env

EXAMPLE = REPO / "docs" / "examples" / "shop.toml"
CART_CURRENCY = "mutation { cartCreate(input: {}) { cart { cost { total { currency } } } } }"
SHOP = "{ shop { name currency languages freeShippingOver { amount currency } } }"


async def _read(env: dict[str, str]) -> tuple[object, list[object], list[object]]:
    orders = Database(env["ORDERS_DATABASE_URL"])
    inventory = Database(env["INVENTORY_DATABASE_URL"])
    try:
        return (
            await OrdersStore(orders).shop_profile(),
            list(await OrdersStore(orders).regions()),
            list(await InventoryStore(inventory).warehouses()),
        )
    finally:
        await orders.dispose()
        await inventory.dispose()


def test_init_sets_up_the_shop_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    migrated(env)

    first = gateway("init", str(EXAMPLE), env=env, cwd=tmp_path)
    state = asyncio.run(_read(env))
    again = gateway("init", str(EXAMPLE), env=env, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "shop: Example Shop (CNY; zh-CN, en) saved",
        "regions: 3 added, 0 changed, 0 unchanged",
        "warehouses: 1 added, 0 changed, 0 unchanged",
    ]
    assert again.stdout.splitlines() == [
        "shop: Example Shop (CNY; zh-CN, en) unchanged",
        "regions: 0 added, 0 changed, 3 unchanged",
        "warehouses: 0 added, 0 changed, 1 unchanged",
    ]
    profile, regions, warehouses = state
    assert profile is not None
    assert {(r.code, r.is_deliverable, r.shipping_rate) for r in regions} == {  # type: ignore[attr-defined]
        ("CN-SH", True, Decimal("10.00")),
        ("CN-ZJ", True, Decimal("12.00")),
        ("CN-XZ", False, None),
    }
    assert [(w.code, w.region_code) for w in warehouses] == [("SH-01", "CN-SH")]  # type: ignore[attr-defined]
    assert asyncio.run(_read(env)) == state


def test_init_changes_a_rate_in_place(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    migrated(env)
    initialised(env, EXAMPLE)
    edited = tmp_path / "shop.toml"
    edited.write_text(
        EXAMPLE.read_text().replace('shipping_rate = "12.00"', 'shipping_rate = "14.00"')
    )

    run = gateway("init", str(edited), env=env, cwd=tmp_path)

    assert "regions: 0 added, 1 changed, 2 unchanged" in run.stdout


def test_init_before_migrating_says_to_migrate(tmp_path: Path) -> None:
    run = gateway("init", str(EXAMPLE), env=sqlite_env(tmp_path), cwd=tmp_path)

    assert_one_clear_line(run, "run `gateway migrate`")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[shop\nname=", "not valid TOML"),
        ('[shop]\nname = "A"\ncurrency = "yuan"\nlanguages = ["zh-CN"]', "shop.currency"),
        (
            '[shop]\nname = "A"\ncurrency = "CNY"\nlanguages = ["zh-CN"]\n'
            '[[regions]]\ncode = "CN-SH"\nname = "S"\ncountry = "CN"\nshipping_rate = "-1"',
            "regions[0].shipping_rate",
        ),
        (
            '[shop]\nname = "A"\ncurrency = "CNY"\nlanguages = ["zh-CN"]\n'
            '[[regions]]\ncode = "CN-SH"\nname = "S"\ncountry = "CN"\n'
            '[[warehouses]]\ncode = "W"\nname = "W"\nregion = "CN-BJ"',
            "warehouses[0].region",
        ),
    ],
)
def test_a_bad_file_is_one_line_and_writes_nothing(
    tmp_path: Path, text: str, expected: str
) -> None:
    env = sqlite_env(tmp_path)
    migrated(env)
    bad = tmp_path / "bad.toml"
    bad.write_text(text)

    run = gateway("init", str(bad), env=env, cwd=tmp_path)

    assert_one_clear_line(run, expected)
    profile, regions, warehouses = asyncio.run(_read(env))
    assert (profile, regions, warehouses) == (None, [], [])


def test_a_duplicate_code_is_refused() -> None:
    data = {
        "shop": {"name": "A", "currency": "CNY", "languages": ["en"]},
        "regions": [
            {"code": "X", "name": "X", "country": "CN"},
            {"code": "X", "name": "Y", "country": "CN"},
        ],
    }
    with pytest.raises(ShopFileError, match="'X' appears twice"):
        parse_shop(data)


def test_the_shop_currency_fills_what_the_environment_leaves_unset() -> None:
    shop = parse_shop(
        {
            "shop": {
                "name": "A",
                "currency": "USD",
                "languages": ["en"],
                "free_shipping_over": "50",
            }
        }
    ).profile

    unset = with_shop_profile(Settings(), shop)
    explicit = with_shop_profile(Settings(GATEWAY_CURRENCY="EUR"), shop)

    assert (unset.currency, unset.free_shipping_over) == ("USD", Decimal("50.00"))
    assert explicit.currency == "EUR"


def test_a_running_gateway_prices_in_the_shop_currency(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    shop_file = tmp_path / "shop.toml"
    shop_file.write_text(EXAMPLE.read_text().replace('currency = "CNY"', 'currency = "USD"'))
    migrated(env)
    initialised(env, shop_file)
    urls = {
        name: env[f"{name.upper()}_DATABASE_URL"]
        for name in ("catalog", "inventory", "pricing", "orders")
    }

    for live in serve(settings_for(urls)):
        result = live.query(CART_CURRENCY)
        shop = live.query(SHOP)

    assert result == {"data": {"cartCreate": {"cart": {"cost": {"total": {"currency": "USD"}}}}}}
    assert shop == {
        "data": {
            "shop": {
                "name": "Example Shop",
                "currency": "USD",
                "languages": ["zh-CN", "en"],
                "freeShippingOver": {"amount": "199.00", "currency": "USD"},
            }
        }
    }


def test_the_shop_is_null_until_init(sqlite_shop: dict[str, str]) -> None:
    for live in serve(settings_for(sqlite_shop)):
        assert live.query(SHOP) == {"data": {"shop": None}}
