"""``python -m gateway.examples.screenshots`` (or ``make screenshots``): docs/screenshots/
of the storefront and back office, on a phone and a desktop, taken in Debian's Chromium
against a freshly seeded demo shop served on a free loopback port (nothing beyond it is
fetched). A buyer signs in, browses, fills a cart and places an order; staff opens it.

Needs the dev dependencies (Playwright) and Chromium (``make chromium``).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 860)}
BUYERS = {"phone": "customer2@example.com", "desktop": "customer1@example.com"}
ADDRESS = (
    ("Recipient", "Wang Wei"),
    ("Mobile phone", "13800138000"),
    ("City", "Shanghai"),
    ("Street address", "1 Renmin Road"),
)


async def _seed(folder: Path) -> dict[str, str]:
    from sources.common.db import Database
    from sources.common.migrate import upgrade_source
    from sources.demo.seed import seed_demo_shop

    from ..settings import SOURCE_NAMES

    urls = {name: f"sqlite+aiosqlite:///{folder}/{name}.db" for name in SOURCE_NAMES}
    dbs = {name: Database(url) for name, url in urls.items()}
    try:
        for name in SOURCE_NAMES:
            await upgrade_source(name, dbs[name])
        await seed_demo_shop(dbs, products=60)
    finally:
        for db in dbs.values():
            await db.dispose()
    return urls


@contextmanager
def _gateway(urls: dict[str, str]) -> Iterator[str]:
    import uvicorn

    from ..app import create_app
    from ..settings import Settings

    settings = Settings.model_validate(
        {
            **{f"{name}_database_url": url for name, url in urls.items()},
            "examples_setting": True,
            "log_level": "WARNING",
            "log_format": "console",
        }
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("screenshots: the gateway did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _shoot(url: str, chromium: str) -> list[Path]:
    from playwright.sync_api import Page, Route, expect, sync_playwright

    taken: list[Path] = []

    def loopback_only(route: Route) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            route.abort("internetdisconnected")

    def save(page: Page, name: str, size: str) -> None:
        page.wait_for_load_state("networkidle")
        page.evaluate("window.scrollTo(0, 0)")
        path = OUT / f"{name}-{size}.png"
        page.screenshot(path=str(path))
        taken.append(path)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        for size, (width, height) in VIEWPORTS.items():
            context = browser.new_context(
                viewport={"width": width, "height": height}, device_scale_factor=1
            )
            context.route("**/*", loopback_only)
            shop = context.new_page()
            shop.goto(f"{url}/shop#/signin")
            shop.get_by_role("button", name=f"({BUYERS[size]})").click()
            expect(shop.get_by_role("button", name="Sign out")).to_be_visible()
            shop.goto(f"{url}/shop#/")
            expect(shop.locator(".product-card").first).to_be_visible()
            save(shop, "storefront-home", size)
            shop.goto(f"{url}/shop#/c/electronics")
            expect(shop.locator(".product-card").first).to_be_visible()
            save(shop, "storefront-category", size)
            shop.locator(".product-card a").nth(1).click()
            expect(shop.locator(".skus")).to_be_visible()
            save(shop, "storefront-product", size)
            shop.get_by_role("button", name="Add to cart").click()
            shop.get_by_role("link", name="View cart").click()
            shop.get_by_label("Coupon code").fill("WELCOME10")
            shop.get_by_role("button", name="Apply").click()
            expect(shop.locator(".tag.coupon")).to_be_visible()
            for label, value in ADDRESS:
                shop.get_by_label(label).fill(value)
            shop.get_by_label("Region").select_option("CN-SH")
            shop.get_by_role("button", name="Save address").click()
            expect(shop.locator(".saved-address")).to_be_visible()
            save(shop, "storefront-cart", size)
            shop.get_by_role("button", name="Place order").click()
            expect(shop.locator(".confirmation")).to_be_visible()
            shop.goto(f"{url}/shop#/orders")
            expect(shop.locator(".order").first).to_be_visible()
            save(shop, "storefront-orders", size)

            office = context.new_page()
            office.goto(f"{url}/backoffice#/signin")
            office.get_by_role("button", name="Sign in as Demo Administrator").click()
            expect(office.locator("table.orders tbody tr").first).to_be_visible()
            save(office, "backoffice-orders", size)
            office.locator("table.orders tbody tr a").first.click()
            expect(office.locator(".order-status")).to_be_visible()
            save(office, "backoffice-order", size)
            office.goto(f"{url}/backoffice#/stock")
            expect(office.locator(".low-stock").first).to_be_visible()
            save(office, "backoffice-stock", size)
            office.goto(f"{url}/backoffice#/prices")
            expect(office.locator(".prices tbody tr").first).to_be_visible()
            save(office, "backoffice-prices", size)
            context.close()
        browser.close()
    return taken


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("screenshots: chromium not found (make chromium)", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shop-screenshots-") as folder:
        urls = asyncio.run(_seed(Path(folder)))
        with _gateway(urls) as url:
            taken = _shoot(url, chromium)
    for path in taken:
        print(f"screenshots: {path.relative_to(OUT.parents[1])} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
