"""GraphiQL in a real browser: Debian's headless Chromium, driven by Playwright, loads
/graphql from a live gateway over the seeded demo shop, with every request beyond loopback
refused (routed away, and a dead proxy behind that), runs the first tab's storefront query
and finds the demo shop's product names in the result pane.

A screenshot lands in the test's tmp_path; UPDATE_SCREENSHOT=1 also writes the README's
docs/graphiql.png. Chromium comes from `make test` (apt-get install chromium where
missing); without it the test is skipped, and with CI=true it fails.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from gateway.auth import ViewerKind, issue_token
from gateway.graphiql.examples import STOREFRONT
from tests.conftest import LiveGateway

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "graphiql.png"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
TIMEOUT_MS = 30_000
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    # Anything not sent to loopback (which Chromium never proxies) goes to a dead proxy:
    # the page must work with no internet at all.
    "--proxy-server=http://127.0.0.1:9",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "chromium not found (make test installs it: apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the GraphiQL browser test needs Chromium in CI: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Offline:
    """What the page asked for, and what it would have fetched from elsewhere (refused)."""

    def __init__(self) -> None:
        self.requested: list[str] = []
        self.refused: list[str] = []
        self.problems: list[str] = []

    def route(self, route: Route) -> None:
        url = route.request.url
        self.requested.append(url)
        if urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("internetdisconnected")


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Offline]]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, service_workers="block")
    offline = Offline()
    context.route("**/*", offline.route)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.on("console", lambda m: offline.problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda error: offline.problems.append(str(error)))
    try:
        yield tab, offline
    finally:
        context.close()


def _editor_text(page: Page, selector: str) -> str:
    """A CodeMirror editor's whole text (the DOM shows only the lines in view)."""
    text = page.evaluate(f"document.querySelector({selector!r}).CodeMirror.getValue()")
    assert isinstance(text, str)
    return text


def _storefront_names(gateway: LiveGateway) -> list[str]:
    # In the language the page's browser asks for (Playwright's locale, en-US).
    result = gateway.client.post(
        "/graphql", json={"query": STOREFRONT.query}, headers={"Accept-Language": "en-US"}
    ).json()
    names = [edge["node"]["name"] for edge in result["data"]["products"]["edges"]]
    assert names, result
    return names


def test_graphiql_runs_the_storefront_example_with_no_internet(
    page: tuple[Page, Offline], gateway: LiveGateway, tmp_path: Path
) -> None:
    tab, offline = page
    expected = _storefront_names(gateway)
    tab.goto(f"{gateway.url}/graphql")
    tab.wait_for_selector(".graphiql-query-editor .CodeMirror")
    # The schema arrived (introspection through the page's fetcher): the explorer, open on
    # screen beside the editor, lists the root fields to click a query together.
    field = tab.locator(".graphiql-explorer-root").get_by_text("lowStock", exact=True)
    expect(field).to_be_visible()
    box = field.bounding_box()
    assert box is not None and 0 <= box["x"] < 600, box  # GraphiQL hides panes off-screen
    assert "query StorefrontProducts" in _editor_text(tab, ".graphiql-query-editor .CodeMirror")

    tab.locator(".graphiql-execute-button").click()
    result_pane = tab.locator(".result-window")
    expect(result_pane).to_contain_text(expected[0])  # what the developer sees
    shown = json.loads(_editor_text(tab, ".result-window .CodeMirror"))
    assert [e["node"]["name"] for e in shown["data"]["products"]["edges"]] == expected

    headers = tab.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden)")
    expect(headers).to_contain_text("gateway token customer customer1@example.com")
    shot = tmp_path / "graphiql.png"
    tab.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, DOCS_SCREENSHOT)

    assert offline.refused == [], "the page reached beyond the gateway"
    assert offline.problems == []
    assert all(urlsplit(u).hostname in LOOPBACK for u in offline.requested)
    assert any("/graphiql/" in u for u in offline.requested)  # the files came from us


def _run_when_operation_is(tab: Page, name: str) -> None:
    """Press run once GraphiQL has taken in the tab's operation name.

    GraphiQL derives the operation name from the editor 100 ms after a change (a debounce);
    a run pressed in between asks for the previous tab's operation ("Unknown operation
    named ..."). A person never clicks that fast; the test waits for what GraphiQL waits for."""
    tab.wait_for_function(
        "name => document.querySelector('.graphiql-query-editor .CodeMirror')"
        ".CodeMirror.operationName === name",
        arg=name,
        timeout=TIMEOUT_MS,
    )
    tab.locator(".graphiql-execute-button").click()


def test_a_staff_token_pasted_as_the_headers_say_opens_the_low_stock_list(
    page: tuple[Page, Offline], gateway: LiveGateway
) -> None:
    tab, offline = page
    tab.goto(f"{gateway.url}/graphql")
    tab.wait_for_selector(".graphiql-query-editor .CodeMirror")
    tab.locator(".graphiql-tab", has_text="LowStock").click()
    expect(tab.locator(".graphiql-query-editor")).to_contain_text("lowStock(threshold")
    headers_editor = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
    expect(tab.locator(headers_editor)).to_contain_text("gateway token staff admin@example.com")
    _run_when_operation_is(tab, "LowStock")
    # No token yet: the staff-only list reads null, as the note says, and nothing breaks.
    expect(tab.locator(".result-window")).to_contain_text('"lowStock": null')

    # Do what the note says: paste a token and drop the // before Authorization.
    token = issue_token(
        gateway.settings, kind=ViewerKind.STAFF, subject="staff-1", permissions=["MANAGE_STOCK"]
    )
    notes = _editor_text(tab, headers_editor)
    edited = notes.replace(
        '"// Authorization": "Bearer <paste it, drop the // on the left>"',
        f'"Authorization": "Bearer {token}"',
    )
    assert edited != notes
    tab.evaluate(
        "([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text)",
        [headers_editor, edited],
    )
    tab.locator(".graphiql-execute-button").click()
    expect(tab.locator(".result-window")).to_contain_text('"warehouseCode"')
    shown = json.loads(_editor_text(tab, ".result-window .CodeMirror"))
    assert shown["data"]["lowStock"]["totalCount"] > 0
    assert offline.refused == [] and offline.problems == []
