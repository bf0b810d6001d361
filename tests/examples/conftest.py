"""One freshly seeded shop served with the examples on and PERSISTED_QUERIES_ONLY=true (so
every operation a page sends must be in the allow-list), and one headless Chromium with
every request beyond loopback refused. Module-scoped: a story test shares both."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from gateway.cache.persisted import add_to_allow_list, sha256
from tests.conftest import LiveGateway, serve, settings_for, sqlite_urls
from tests.examples.operations import TEST_OPERATIONS
from tests.graphiql.test_browser import CHROMIUM_ARGS, Offline, _chromium

TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def shop_gateway(
    sqlite_shop: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveGateway]:
    """A copy of the session's seeded demo shop (copying its files takes milliseconds,
    seeding again seconds), for the stories to write to."""
    folder = tmp_path_factory.mktemp("examples-shop")
    for url in sqlite_shop.values():
        source = Path(url.removeprefix("sqlite+aiosqlite:///"))
        for suffix in ("", "-wal"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", folder / f"{source.name}{suffix}")
    urls = sqlite_urls(folder)
    allow_list = folder / "persisted-queries.json"
    add_to_allow_list(allow_list, {sha256(text): text for text in TEST_OPERATIONS})
    settings = settings_for(
        urls,
        examples_setting=True,
        persisted_queries_only=True,
        persisted_queries_file=str(allow_list),
        # The stories read names over the API without Accept-Language and find them on
        # pages a browser asked for in en-US: one language for both.
        languages={"default": "en"},
    )
    yield from serve(settings)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Tabs:
    """Browser contexts opened by a test (each its own buyer or staff member), closed after;
    what every page asked for beyond loopback, and its script errors."""

    browser: Browser
    offline: Offline = field(default_factory=Offline)
    contexts: list[BrowserContext] = field(default_factory=list)

    def open(self, viewport: dict[str, int] = DESKTOP) -> Page:
        context = self.browser.new_context(viewport=viewport, service_workers="block")
        context.route("**/*", self.offline.route)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: self.offline.problems.append(str(error)))
        page.on(
            "console",
            lambda m: self.offline.problems.append(m.text) if m.type == "error" else None,
        )
        return page


@pytest.fixture
def tabs(browser: Browser) -> Iterator[Tabs]:
    opened = Tabs(browser)
    try:
        yield opened
    finally:
        for context in opened.contexts:
            context.close()
    assert opened.offline.refused == [], "a page reached beyond the gateway"


OpenTab = Callable[..., Page]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
