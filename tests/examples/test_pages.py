"""The examples' pages, files and development token over real HTTP, without a browser:
what each page loads and under which policy, that every operation the pages send is
valid and registered (a gateway accepting only persisted queries runs them by hash), and
that none of it exists when GATEWAY_EXAMPLES is off or in production."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import parse, validate

from gateway.examples.assets import ROOT
from gateway.examples.operations import load_operations
from gateway.schema import schema
from gateway.settings import ConfigurationError, load_settings
from tests.conftest import LiveGateway, serve, settings_for

PAGES = ("/shop", "/backoffice")


@pytest.fixture(scope="module")
def persisted_only(
    sqlite_shop: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveGateway]:
    """The read-only demo shop, accepting nothing but registered operations (and no file
    of its own: the examples' operations are the whole allow-list)."""
    missing = tmp_path_factory.mktemp("pq") / "none.json"
    yield from serve(
        settings_for(sqlite_shop, persisted_queries_only=True, persisted_queries_file=str(missing))
    )


def _referenced(page: str) -> list[str]:
    """Every file the page names: stylesheet, scripts, import map, operations."""
    return re.findall(r"/examples/[0-9a-f]{16}/[\w./-]+", page)


@pytest.mark.parametrize("path", PAGES)
def test_a_page_loads_only_its_own_files_under_a_strict_policy(
    gateway: LiveGateway, path: str
) -> None:
    response = gateway.client.get(path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "unsafe" not in csp and "http" not in csp  # no inline code, no other origin
    # The one inline script the policy allows is the import map, by its exact hash.
    import_map = re.search(r'<script type="importmap">(.*?)</script>', response.text, re.S)
    assert import_map is not None
    digest = base64.b64encode(hashlib.sha256(import_map.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    urls = _referenced(response.text)
    assert any(u.endswith("/app.js") for u in urls) and any("preact" in u for u in urls)
    for url in urls:
        asset = gateway.client.get(url)
        assert asset.status_code == 200, url
        assert "immutable" in asset.headers["cache-control"]
    stale = re.sub(r"/examples/[0-9a-f]{16}/", "/examples/0000000000000000/", urls[-1])
    assert gateway.client.get(stale).status_code == 404  # never new bytes under an old URL


def test_every_operation_is_valid_and_runs_by_hash_alone_where_only_persisted_are_allowed(
    persisted_only: LiveGateway,
) -> None:
    operations = load_operations(ROOT)
    assert {op.app for op in operations} == {"storefront", "backoffice"}
    for op in operations:
        assert validate(schema._schema, parse(op.text)) == [], op.name
    categories = next(op for op in operations if op.name == "Categories")
    body = {
        "operationName": "Categories",
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": categories.sha256}},
    }
    answer = persisted_only.client.post("/graphql", json=body).json()
    assert [c["slug"] for c in answer["data"]["categories"]][:1] == ["electronics"]
    other = {"query": "{ categories { slug } }"}
    refused = persisted_only.client.post("/graphql", json=other)
    assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


def test_the_development_token_signs_in_a_demo_customer_or_staff_member(
    gateway: LiveGateway,
) -> None:
    accounts = gateway.client.get("/examples/token").json()
    assert accounts["customers"][0]["email"] == "customer1@example.com"
    assert "MANAGE_ORDERS" in accounts["staff"][0]["permissions"]
    customer = gateway.client.post("/examples/token", json={"email": "Customer1@example.com"})
    assert customer.status_code == 200 and customer.headers["cache-control"] == "no-store"
    viewer = gateway.query("{ viewer { email } }", token=customer.json()["token"])
    assert viewer["data"]["viewer"]["email"] == "customer1@example.com"
    staff = gateway.client.post("/examples/token", json={"email": "stock@example.com"}).json()
    assert staff["kind"] == "staff" and staff["permissions"] == ["MANAGE_STOCK"]
    low = gateway.query("{ lowStock(first: 1) { totalCount } }", token=staff["token"])
    assert low["data"]["lowStock"]["totalCount"] > 0

    unknown = gateway.client.post("/examples/token", json={"email": "nobody@example.com"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"
    form = gateway.client.post("/examples/token", data={"email": "admin@example.com"})
    assert form.status_code == 415  # a cross-site form cannot mint a staff token
    assert gateway.client.post("/examples/token", content=b"[").status_code == 415


def test_off_nothing_of_the_examples_is_served(sqlite_shop: dict[str, str]) -> None:
    for off in serve(settings_for(sqlite_shop, examples_setting=False)):
        for path in (*PAGES, "/examples/token"):
            assert off.client.get(path).status_code == 404, path
        token = off.client.post("/examples/token", json={"email": "admin@example.com"})
        assert token.status_code == 404


def test_examples_are_off_in_production_and_cannot_be_turned_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("GATEWAY_JWT_SECRET", "a-production-secret-of-enough-length-0123")
    assert load_settings().examples is False
    monkeypatch.setenv("GATEWAY_EXAMPLES", "true")
    with pytest.raises(ConfigurationError, match="GATEWAY_EXAMPLES=true in production"):
        load_settings()


def test_the_pages_name_no_operation_the_allow_list_lacks() -> None:
    """Every gql("Name") in the pages' modules is an operation file: a typo would only
    show in a browser, as PERSISTED_QUERY_NOT_ALLOWED."""
    names = {op.name for op in load_operations(ROOT)}
    used: set[str] = set()
    for module in Path(ROOT).glob("*/*.js"):
        # gql("Name", ...), and the helpers that pass a name on: change("Name", ...)
        used |= set(re.findall(r'(?<!useState)\(\s*"([A-Z][a-z]\w*)"', module.read_text()))
    assert used and used <= names, used - names
