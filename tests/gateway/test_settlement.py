"""The finance settlement over real HTTP on SQLite and PostgreSQL: per order and for the
period, gross sales, discounts by promotion, refunds, cost of goods and margin, computed
from the stored lines and the cost prices. The ledger check: for every order and in total,
net sales plus shipping minus refunds equals what was paid minus what was refunded, read
straight from the orders database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.gateway.checkout_helpers import BACKENDS, Goods, Shop
from tests.gateway.order_ops import (
    CANCEL,
    amount,
    ask,
    complete,
    delivered_order,
    manager,
    paid_order,
    pk_of,
    place,
    resolve,
)

MONEY = "{ amount currency }"
FIGURES = f"""
  grossSales {MONEY} discounts {MONEY} netSales {MONEY} shipping {MONEY} refunds {MONEY}
  costOfGoods {MONEY} margin {MONEY} paid {MONEY}
  discountsByPromotion {{ name amount {MONEY} promotion {{ id name }} }}
"""
SETTLEMENT = f"""
query Settlement($from: DateTime!, $to: DateTime!) {{
  settlement(from: $from, to: $to) {{
    from to currency skusWithoutCost
    totals {{ {FIGURES} }}
    orders {{ order {{ id number status }} skusWithoutCost figures {{ {FIGURES} }} }}
  }}
}}"""


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from order_shop_for(tmp_path_factory, request.param)


def order_shop_for(factory: pytest.TempPathFactory, backend: str) -> Iterator[Shop]:
    from tests.gateway.order_ops import order_shop

    # Promotion names as written (the demo's base text, English).
    yield from order_shop(factory, backend, "settlement", languages={"default": "en"})


@pytest.fixture(scope="module")
def book(shop: Shop) -> dict[str, dict[str, Any]]:
    """The module's orders, each in a state finance must settle differently."""
    goods = Goods(shop.plain_skus())
    orders: dict[str, dict[str, Any]] = {}

    returned = delivered_order(
        shop,
        paid_order(
            shop,
            [(goods.take().id, 3), (goods.take().id, 1)],
            buyer=1,
            key="returned",
            coupons=["WELCOME10"],
        ),
    )
    first = returned["lines"][0]["id"]
    back = ask(shop, returned, "RETURN", [(first, 2)], buyer=1)["request"]
    assert resolve(shop, back["id"], approve=True)["userErrors"] == []
    assert complete(shop, back["id"])["userErrors"] == []
    kept = ask(shop, returned, "REFUND_ONLY", [(returned["lines"][1]["id"], 1)], buyer=1)["request"]
    assert resolve(shop, kept["id"], approve=True)["userErrors"] == []
    orders["returned"] = returned

    cancelled = paid_order(
        shop, [(goods.take().id, 2)], buyer=2, key="cancelled", coupons=["SAVE50"]
    )
    undone = shop.query(
        CANCEL, {"id": cancelled["id"], "reason": "warehouse fire"}, token=manager(shop)
    )
    assert undone["orderCancel"]["userErrors"] == []
    orders["cancelled"] = cancelled

    cheap = delivered_order(
        shop,
        paid_order(shop, [(goods.take(cheaper_than=Decimal(120)).id, 1)], buyer=3, key="whole"),
    )
    whole = ask(shop, cheap, "RETURN", [(cheap["lines"][0]["id"], 1)], buyer=3)["request"]
    assert resolve(shop, whole["id"], approve=True)["userErrors"] == []
    orders["whole"] = cheap

    stacked = paid_order(
        shop,
        [(goods.take(dearer_than=Decimal(250)).id, 2), (goods.take().id, 1)],
        buyer=4,
        key="stacked",
        coupons=["WELCOME10", "SAVE50"],
    )
    pending = ask(shop, stacked, "REFUND_ONLY", [(stacked["lines"][0]["id"], 1)], buyer=4)[
        "request"
    ]
    refused = ask(shop, stacked, "RETURN", [(stacked["lines"][1]["id"], 1)], buyer=4)["request"]
    assert resolve(shop, refused["id"], approve=False, note="used")["userErrors"] == []
    assert pending["status"] == "OPEN"
    orders["stacked"] = stacked

    orders["unpaid"] = place(shop, [(goods.take().id, 1)], buyer=5, key="unpaid")
    return orders


def _period() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }


def _paid(shop: Shop, order_pk: int) -> Decimal:
    value = shop.scalar(
        "orders",
        "SELECT COALESCE(SUM(amount), 0) FROM payments WHERE order_id = :o",
        {"o": order_pk},
    )
    return _cents(value)


def _cents(value: Any) -> Decimal:
    """SQLite sums NUMERIC as a float: back to cents, which is what was stored."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _refunded(shop: Shop, order_pk: int) -> Decimal:
    """What the shop gave back, from the orders database: everything paid for a cancelled
    paid order, else the approved and completed returns and refunds."""
    status = shop.scalar("orders", "SELECT status FROM orders WHERE id = :o", {"o": order_pk})
    if status == "CANCELLED":
        return _paid(shop, order_pk)
    value = shop.scalar(
        "orders",
        "SELECT COALESCE(SUM(refund_amount), 0) FROM after_sales_requests WHERE order_id = :o "
        "AND status IN ('APPROVED', 'COMPLETED') AND kind IN ('RETURN', 'REFUND_ONLY')",
        {"o": order_pk},
    )
    return _cents(value)


def _settle(shop: Shop, token: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = shop.query(
        SETTLEMENT, _period(), token=token or shop.staff_token("VIEW_FINANCE")
    )["settlement"]
    return result


def test_the_ledger_adds_up_to_what_was_paid_minus_what_was_refunded(
    shop: Shop, book: dict[str, dict[str, Any]]
) -> None:
    settled = _settle(shop)
    by_id = {o["order"]["id"]: o for o in settled["orders"]}
    assert set(by_id) == {o["id"] for name, o in book.items() if name != "unpaid"}, (
        "every paid order of the period, cancelled ones included; none unpaid"
    )
    total_paid = total_refunded = Decimal(0)
    for order_id, entry in by_id.items():
        f = entry["figures"]
        paid, refunded = _paid(shop, pk_of(order_id)), _refunded(shop, pk_of(order_id))
        assert amount(f["paid"]) == paid
        assert amount(f["refunds"]) == refunded, entry["order"]["status"]
        assert (
            amount(f["netSales"]) + amount(f["shipping"]) - amount(f["refunds"]) == paid - refunded
        )
        assert amount(f["grossSales"]) - amount(f["discounts"]) == amount(f["netSales"])
        total_paid += paid
        total_refunded += refunded
    t = settled["totals"]
    assert (
        amount(t["netSales"]) + amount(t["shipping"]) - amount(t["refunds"])
        == total_paid - total_refunded
    )
    assert amount(t["paid"]) == total_paid
    assert amount(t["refunds"]) == total_refunded


def test_refunds_follow_the_after_sales_flow(shop: Shop, book: dict[str, dict[str, Any]]) -> None:
    by_id = {o["order"]["id"]: o["figures"] for o in _settle(shop)["orders"]}
    whole = book["whole"]
    assert amount(by_id[whole["id"]]["refunds"]) == amount(whole["cost"]["total"]), (
        "a whole-order return gives back the shipping too"
    )
    assert amount(by_id[whole["id"]]["shipping"]) > 0
    cancelled = book["cancelled"]
    assert amount(by_id[cancelled["id"]]["refunds"]) == amount(cancelled["cost"]["total"])
    assert amount(by_id[book["stacked"]["id"]]["refunds"]) == 0, (
        "open and rejected requests refund nothing"
    )


def test_discounts_are_split_by_promotion(shop: Shop, book: dict[str, dict[str, Any]]) -> None:
    settled = _settle(shop)
    for entry in [*settled["orders"], {"figures": settled["totals"]}]:
        f = entry["figures"]
        split = sum((amount(d["amount"]) for d in f["discountsByPromotion"]), Decimal(0))
        assert split == amount(f["discounts"])
    stacked = next(o for o in settled["orders"] if o["order"]["id"] == book["stacked"]["id"])
    expected: dict[str, Decimal] = {}
    for line in book["stacked"]["lines"]:
        for d in line["discounts"]:
            expected[d["promotion"]["name"]] = expected.get(
                d["promotion"]["name"], Decimal(0)
            ) + amount(d["amount"])
    got = {d["name"]: amount(d["amount"]) for d in stacked["figures"]["discountsByPromotion"]}
    assert got == expected
    assert len(got) >= 2, "the stacked coupons show separately"
    assert all(
        d["promotion"]["name"] == d["name"] for d in stacked["figures"]["discountsByPromotion"]
    )


def _costs(shop: Shop) -> dict[int, Decimal]:
    return {
        int(sku): Decimal(str(cost))
        for sku, cost in shop.sql(
            "pricing", "SELECT sku_id, cost_amount FROM prices WHERE cost_amount IS NOT NULL"
        )
    }


def test_cost_of_goods_counts_the_units_the_shop_no_longer_has(
    shop: Shop, book: dict[str, dict[str, Any]]
) -> None:
    costs = _costs(shop)
    sku_of = {line["id"]: pk_of(line["sku"]["id"]) for o in book.values() for line in o["lines"]}
    by_id = {o["order"]["id"]: o["figures"] for o in _settle(shop)["orders"]}

    def cost(order: dict[str, Any], kept: dict[str, int] | None = None) -> Decimal:
        return sum(
            (
                costs[sku_of[line["id"]]] * (kept or {}).get(line["id"], line["quantity"])
                for line in order["lines"]
            ),
            Decimal(0),
        )

    returned = book["returned"]
    first = returned["lines"][0]
    assert amount(by_id[returned["id"]]["costOfGoods"]) == cost(
        returned, {first["id"]: first["quantity"] - 2}
    ), "two returned units came back; the refund-only unit stayed with the buyer"
    assert amount(by_id[book["cancelled"]["id"]]["costOfGoods"]) == 0
    assert amount(by_id[book["stacked"]["id"]]["costOfGoods"]) == cost(book["stacked"])
    for f in by_id.values():
        assert amount(f["margin"]) == (
            amount(f["netSales"])
            + amount(f["shipping"])
            - amount(f["refunds"])
            - amount(f["costOfGoods"])
        )


def test_only_finance_sees_the_settlement(shop: Shop, book: dict[str, dict[str, Any]]) -> None:
    for token in (
        None,
        shop.customer_token(1),
        shop.staff_token("MANAGE_ORDERS", "MANAGE_AFTER_SALES"),
    ):
        assert shop.query(SETTLEMENT, _period(), token=token)["settlement"] is None
    backwards = {"from": _period()["to"], "to": _period()["from"]}
    result = shop.live.query(SETTLEMENT, backwards, token=shop.staff_token("VIEW_FINANCE"))
    assert [e["extensions"]["code"] for e in result["errors"]] == ["BAD_USER_INPUT"]
    empty = shop.query(
        SETTLEMENT,
        {"from": "2001-01-01T00:00:00Z", "to": "2001-02-01T00:00:00Z"},
        token=shop.staff_token("VIEW_FINANCE"),
    )["settlement"]
    assert empty["orders"] == [] and amount(empty["totals"]["margin"]) == 0
