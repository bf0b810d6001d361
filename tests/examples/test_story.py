"""The reference storefront and back office in a real browser, against a live gateway
that accepts only the persisted operations (PERSISTED_QUERIES_ONLY=true), with no internet:

- a buyer searches, adds two SKUs, applies a coupon, enters an address by picking a
  region, places the order and finds it in "my orders"; staff marks it paid and ships it;
  the buyer asks to return one unit; staff approves and completes; the buyer sees the
  refund, and every amount shown matches the API's to the cent;
- two buyers race for the last unit: exactly one order is placed, the other page shows
  the stock problem by the line.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from playwright.sync_api import Page, expect

from gateway.auth import ViewerKind, issue_token
from tests.conftest import LiveGateway
from tests.examples.conftest import DESKTOP, PHONE, Tabs
from tests.examples.operations import (
    CATALOG,
    ORDER,
    ORDERS_OF_SKU,
    PRICE_SET,
    SKU_STOCK,
    STOCK_ADJUST,
)

ADDRESS = {
    "name": "Wang Wei",
    "phone": "13800138000",
    "region": "CN-SH",
    "city": "Shanghai",
    "line1": "1 Renmin Road",
}


def _yuan(amount: str | Decimal) -> str:
    return f"¥{Decimal(amount):.2f}"


def _plain_skus(gateway: LiveGateway, count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(product, sku) pairs a buyer in Shanghai can simply buy, one per product."""
    data = gateway.query(CATALOG)["data"]["products"]["edges"]
    found = []
    for edge in data:
        product = edge["node"]
        if (
            product["kind"] != "PHYSICAL"
            or product["fulfillment"] != "WAREHOUSE"
            or product["presale"]
            or product["bundleItems"]
        ):
            continue
        sku = next(
            (
                s
                for s in product["skus"]
                if s["active"] and s["purchaseLimit"] is None and s["stock"]["available"] >= 5
            ),
            None,
        )
        if sku is not None:
            found.append((product, sku))
    assert len(found) >= count, found
    return found[:count]


def _staff_token(gateway: LiveGateway) -> str:
    return issue_token(
        gateway.settings,
        kind=ViewerKind.STAFF,
        subject="staff-1",
        permissions=["MANAGE_ORDERS", "MANAGE_STOCK", "MANAGE_AFTER_SALES", "MANAGE_PRICES"],
    )


def _sign_in(page: Page, url: str, button: str) -> None:
    page.goto(f"{url}#/signin")
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _add_to_cart(page: Page, sku: dict[str, Any], quantity: int = 1) -> None:
    page.get_by_role("radio", name=re.compile(re.escape(sku["name"]))).first.check()
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator(".added")).to_be_visible()


def _enter_address(page: Page) -> None:
    page.get_by_label("Recipient").fill(ADDRESS["name"])
    page.get_by_label("Mobile phone").fill(ADDRESS["phone"])
    page.get_by_label("Region").select_option(ADDRESS["region"])
    page.get_by_label("City").fill(ADDRESS["city"])
    page.get_by_label("Street address").fill(ADDRESS["line1"])
    page.get_by_role("button", name="Save address").click()
    expect(page.locator(".saved-address")).to_contain_text(ADDRESS["line1"])


def test_a_buyer_orders_staff_ships_and_refunds_a_returned_unit(
    shop_gateway: LiveGateway, tabs: Tabs
) -> None:
    gateway = shop_gateway
    (first, first_sku), (second, second_sku) = _plain_skus(gateway, 2)
    buyer = tabs.open()
    _sign_in(buyer, f"{gateway.url}/shop", "Sign in as Hu Min (customer1@example.com)")

    # Search finds the first product; the second is reached from the home page's category.
    buyer.get_by_label("Search products").fill(first["name"])
    buyer.get_by_label("Search products").press("Enter")  # the keyboard is enough
    buyer.get_by_role("link", name=first["name"], exact=True).first.click()
    expect(buyer.get_by_role("heading", level=1)).to_have_text(first["name"])
    expect(buyer.locator(".skus")).to_contain_text(_yuan(first_sku["price"]["sale"]["amount"]))
    _add_to_cart(buyer, first_sku, quantity=2)
    buyer.goto(f"{gateway.url}/shop#/p/{second['slug']}")
    _add_to_cart(buyer, second_sku)

    buyer.get_by_role("link", name="View cart").click()
    expect(buyer.locator(".cart-line")).to_have_count(2)
    # The shop's shared coupons are hinted with what each would save (凑单).
    hints = buyer.locator(".promotion-hints li")
    expect(hints.filter(has_text="Enter coupon WELCOME10")).to_have_count(1)
    # Without an address, checkout's problem is shown in the address form.
    expect(buyer.locator(".address-form .problems")).to_contain_text("address")
    buyer.get_by_label("Coupon code").fill("NOSUCHCODE")
    buyer.get_by_role("button", name="Apply").click()
    expect(buyer.locator("#coupon-problems")).to_contain_text("NOSUCHCODE")
    buyer.get_by_role("button", name="Remove coupon NOSUCHCODE").click()
    expect(buyer.locator("#coupon-problems")).to_have_count(0)
    buyer.get_by_label("Coupon code").fill("welcome10")
    buyer.get_by_role("button", name="Apply").click()
    expect(buyer.locator(".tag.coupon")).to_have_text(re.compile(r"^WELCOME10\W*$"))
    expect(hints.filter(has_text="WELCOME10")).to_have_count(0)  # held: no longer hinted
    _enter_address(buyer)
    seen_total = buyer.locator(".cart-total").inner_text()

    # The price rises while the buyer looks: checkout says so, with the new total.
    staff_token = _staff_token(gateway)
    raised = Decimal(second_sku["price"]["sale"]["amount"]) + 10
    variables = {"skuId": second_sku["id"], "price": str(raised)}
    assert gateway.query(PRICE_SET, variables, token=staff_token)["data"]["priceSet"] == {
        "userErrors": []
    }
    buyer.get_by_role("button", name=re.compile("Place order")).click()
    notice = buyer.locator(".price-changed")
    expect(notice).to_contain_text("The price changed: the new total is")
    shown_total = buyer.locator(".cart-total").inner_text()
    assert shown_total != seen_total
    expect(notice.locator("strong")).to_have_text(shown_total)
    expect(buyer.locator(".confirmation")).to_have_count(0)  # nothing placed at a new price

    buyer.get_by_role("button", name=re.compile("Place order")).click()
    expect(buyer.locator(".confirmation")).to_be_visible()
    number = buyer.locator(".confirmation strong").inner_text()
    order_id = buyer.evaluate("decodeURIComponent(location.hash.split('/')[2].split('?')[0])")
    placed = gateway.query(ORDER, {"id": order_id}, token=staff_token)["data"]["order"]
    assert placed["number"] == number and placed["status"] == "PENDING_PAYMENT"
    assert Decimal(placed["cost"]["discountTotal"]["amount"]) > 0  # the coupon counted
    assert shown_total == _yuan(placed["cost"]["total"]["amount"])
    expect(buyer.locator(".order-total")).to_have_text(shown_total)
    buyer.get_by_role("link", name="See my orders").click()
    expect(buyer.locator(f".order[data-number='{number}']")).to_be_visible()

    # Staff: the order in the queue, marked paid, every parcel shipped.
    staff = tabs.open()
    _sign_in(staff, f"{gateway.url}/backoffice", "Sign in as Demo Administrator")
    staff.get_by_role("link", name=number).click()
    staff.get_by_role("button", name="Mark paid").click()
    expect(staff.locator(".order-status")).to_have_text("PAID")
    # Its parcels are now due: the shipments-due list leads back to the order.
    staff.get_by_role("link", name="Shipments due").click()
    staff.locator(".shipments-due").get_by_role("link", name=number).first.click()
    expect(staff.locator(".ship-form").first).to_be_visible()
    remaining = staff.locator(".ship-form").count()
    while remaining:
        form = staff.locator(".ship-form").first
        form.get_by_label("Tracking number").fill(f"SF{remaining:010d}")
        form.get_by_role("button", name="Mark shipped").click()
        remaining -= 1
        expect(staff.locator(".ship-form")).to_have_count(remaining)
    expect(staff.locator(".ship-form")).to_have_count(0)
    expect(staff.locator(".order-status")).to_have_text("SHIPPED")

    # The buyer sees the tracking number and asks to return one unit of the first line.
    buyer.reload()
    order_card = buyer.locator(f".order[data-number='{number}']")
    expect(order_card.locator(".tracking").first).to_contain_text("SF")
    order_card.get_by_role("button", name="Return items").click()
    order_card.get_by_label(re.compile(re.escape(first["name"]))).fill("1")
    order_card.get_by_label("Reason").fill("Changed my mind")
    order_card.get_by_role("button", name="Send the request").click()
    expect(order_card.locator(".after-sales-status")).to_have_text("OPEN")

    # Staff approves and completes it from the order's view.
    staff.reload()
    request = staff.locator(".after-sales[data-status='OPEN']")
    request.get_by_role("button", name="Approve").click()
    staff.locator(".after-sales[data-status='APPROVED']").get_by_role(
        "button", name="Complete (refund)"
    ).click()
    expect(staff.locator(".after-sales[data-status='COMPLETED']")).to_be_visible()
    staff.get_by_role("link", name="Settlement").click()
    expect(staff.get_by_role("row", name=re.compile(number))).to_be_visible()

    # The buyer sees the refund; to the cent what the API says.
    final = gateway.query(ORDER, {"id": order_id}, token=staff_token)["data"]["order"]
    refund = final["afterSalesRequests"][0]["refundAmount"]["amount"]
    assert final["afterSalesRequests"][0]["status"] == "COMPLETED"
    assert Decimal("0") < Decimal(refund) < Decimal(placed["cost"]["total"]["amount"])
    buyer.reload()
    order_card = buyer.locator(f".order[data-number='{number}']")
    expect(order_card.locator(".after-sales-status")).to_have_text("COMPLETED")
    expect(order_card.locator(".refund-amount")).to_have_text(_yuan(refund))
    for shown, line in zip(
        order_card.locator("tbody tr td:nth-child(4)").all_inner_texts(),
        final["lines"],
        strict=True,
    ):
        assert shown == _yuan(line["total"]["amount"])
    assert tabs.offline.problems == []


def _fits_the_width(page: Page) -> None:
    """Readable on a phone: nothing wider than the screen (no sideways scrolling)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _leave_one_unit(gateway: LiveGateway, sku_id: str) -> None:
    token = _staff_token(gateway)
    stock = gateway.query(SKU_STOCK, {"id": sku_id}, token=token)["data"]["node"]["stock"]
    keep = 1
    for warehouse in stock["warehouses"]:
        delta = min(keep, warehouse["available"]) - warehouse["available"]
        keep -= min(keep, warehouse["available"])
        if delta:
            code = warehouse["warehouseCode"]
            variables = {"skuId": sku_id, "warehouseCode": code, "delta": delta}
            result = gateway.query(STOCK_ADJUST, variables, token=token)
            assert result["data"]["stockAdjust"]["userErrors"] == [], result
    after = gateway.query(SKU_STOCK, {"id": sku_id}, token=token)["data"]["node"]["stock"]
    assert after["available"] == 1, after


def test_two_buyers_race_for_the_last_unit_and_exactly_one_order_is_placed(
    shop_gateway: LiveGateway, tabs: Tabs
) -> None:
    gateway = shop_gateway
    product, sku = _plain_skus(gateway, 3)[2]
    _leave_one_unit(gateway, sku["id"])
    buyers = []
    for who, viewport in (
        ("Gao Jing (customer2@example.com)", PHONE),
        ("Zhang Yang (customer3@example.com)", DESKTOP),
    ):
        page = tabs.open(viewport)
        _sign_in(page, f"{gateway.url}/shop", f"Sign in as {who}")
        page.goto(f"{gateway.url}/shop#/p/{product['slug']}")
        expect(page.locator(".skus")).to_contain_text("Only a few left")
        _fits_the_width(page)
        _add_to_cart(page, sku)
        page.get_by_role("link", name="View cart").click()
        _enter_address(page)
        _fits_the_width(page)
        buyers.append(page)

    for page in buyers:  # both in flight at once: a click does not wait for the answer
        page.get_by_role("button", name=re.compile("Place order")).click()
    outcomes = []
    for page in buyers:
        settled = page.locator(".confirmation, .cart-line .problems")
        expect(settled.first).to_be_visible()
        outcomes.append("placed" if page.locator(".confirmation").count() else "refused")
    assert sorted(outcomes) == ["placed", "refused"]
    loser = buyers[outcomes.index("refused")]
    expect(loser.locator(".cart-line .problems li[data-code='INSUFFICIENT_STOCK']")).to_be_visible()
    expect(loser.get_by_role("button", name=re.compile("Place order"))).to_be_enabled()

    token = _staff_token(gateway)
    orders = gateway.query(ORDERS_OF_SKU, token=token)["data"]["orders"]["edges"]
    with_sku = [
        o["node"]["number"]
        for o in orders
        if any(line["sku"]["id"] == sku["id"] for line in o["node"]["lines"])
    ]
    assert len(with_sku) == 1, with_sku
    assert tabs.offline.problems == []


def test_a_merchandiser_edits_prices_in_bulk_and_imports_a_price_file(
    shop_gateway: LiveGateway, tabs: Tabs
) -> None:
    page = tabs.open()
    _sign_in(page, f"{shop_gateway.url}/backoffice", "Sign in as Demo Merchandiser")
    # Only what this account's permissions allow: prices, no orders, stock or finance.
    expect(page.get_by_role("heading", name="Prices")).to_be_visible()
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link")).to_have_text(["Prices"])
    expect(page.locator(".prices tbody tr").nth(1)).to_be_visible()
    first, second = page.locator(".prices tbody tr").all()[:2]
    code, other = first.get_attribute("data-code"), second.get_attribute("data-code")
    assert code and other

    # A sale price above the list price is refused by its row; the other row is saved.
    page.get_by_label(f"Sale price of {code}").fill("99999.00")
    page.get_by_label(f"List price of {other}").fill("888.00")
    page.get_by_label(f"Sale price of {other}").fill("777.00")
    page.get_by_role("button", name=re.compile("Save 2 changes")).click()
    expect(first.locator(".problems")).to_be_visible()
    expect(second.locator(".tag.good")).to_have_text("saved")
    expect(page.get_by_label(f"Sale price of {other}")).to_have_value("777.00")

    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "autumn.csv",
                "mimeType": "text/csv",
                "buffer": f"sku,list,sale\n{code},120.00,99.50\nNO-SUCH-SKU,1,1\n".encode(),
            }
        ]
    )
    page.get_by_role("button", name="Upload").click()
    job = page.locator(".import-job")
    expect(job).to_contain_text("1 refused")
    expect(job).not_to_contain_text("RUNNING")
    expect(job).to_contain_text("line 3")
    page.get_by_role("button", name="Find").click()  # the list again, from the API
    expect(page.get_by_label(f"Sale price of {code}")).to_have_value("99.50")
    assert tabs.offline.problems == []


def test_a_buyer_browses_a_category_sorted_by_price_and_loads_more(
    shop_gateway: LiveGateway, tabs: Tabs
) -> None:
    page = tabs.open(PHONE)
    page.goto(f"{shop_gateway.url}/shop")
    page.get_by_role("link", name="Electronics", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Electronics")
    cards = page.locator(".product-card")
    expect(cards).to_have_count(12)
    page.get_by_label("Sort by").select_option("PRICE_ASC")
    page.get_by_label("In stock only").check()
    expect(page.locator("[aria-live=polite]").first).to_contain_text("12 shown")
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("[aria-live=polite]").first).to_contain_text("24 shown")
    prices = [
        Decimal(re.findall(r"[0-9]+\.[0-9]{2}", text)[0])  # a range: its minimum
        for text in cards.locator(".price").all_inner_texts()
    ]
    assert len(prices) == 24 and prices == sorted(prices)
    assert "Out of stock" not in "".join(cards.all_inner_texts())
    _fits_the_width(page)
    assert tabs.offline.problems == []
