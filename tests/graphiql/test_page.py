"""The GraphiQL page over real HTTP: everything it loads comes from the gateway, pinned and
cached, under a strict Content-Security-Policy; nothing is served when GraphiQL is off."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from gateway.graphiql.assets import SCRIPTS, STYLES
from gateway.graphiql.page import graphiql_page
from tests.conftest import LiveGateway, serve, settings_for

HTML = {"Accept": "text/html"}


def _page(live: LiveGateway) -> httpx.Response:
    response = live.client.get("/graphql", headers=HTML)
    assert response.status_code == 200, response.text
    return response


def _loaded_urls(page: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', page)


def test_the_page_loads_only_files_of_its_own_origin(gateway: LiveGateway) -> None:
    page = _page(gateway).text
    urls = _loaded_urls(page)
    assert len(urls) == len(SCRIPTS) + len(STYLES) + 1  # and the data: favicon
    for url in urls:
        assert url.startswith("/graphiql/") or url == "data:,", url
    assert "unpkg" not in page and "jsdelivr" not in page and "cdn" not in page.lower()


def test_the_page_has_a_strict_csp_and_no_inline_script(gateway: LiveGateway) -> None:
    response = _page(gateway)
    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["content-security-policy"]
    # Every script is a file, except the JSON data block (which a browser never runs).
    for tag in re.findall(r"<script[^>]*>", response.text):
        assert 'src="' in tag or 'type="application/json"' in tag, tag
    assert "<style" not in response.text and "style=" not in response.text
    assert response.headers["cache-control"] == "no-cache"


def test_every_file_is_pinned_by_integrity_and_cached_for_a_year(gateway: LiveGateway) -> None:
    page = _page(gateway).text
    tags = re.findall(r'(?:src|href)="(/graphiql/[^"]+)" integrity="([^"]+)"', page)
    assert len(tags) == len(SCRIPTS) + len(STYLES)
    for url, integrity in tags:
        response = gateway.client.get(url, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, url
        body = response.content
        assert integrity == "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
        assert hashlib.sha256(body).hexdigest().startswith(url.split("/")[2])
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        kind = "javascript" if url.endswith(".js") else "css"
        assert response.headers["content-type"].startswith(f"text/{kind}")


def test_files_are_gzipped_and_revalidate_by_etag(gateway: LiveGateway) -> None:
    url = next(u for u in _loaded_urls(_page(gateway).text) if u.endswith("graphiql.min.js"))
    raw = gateway.client.get(url, headers={"Accept-Encoding": "identity"})
    with httpx.Client(base_url=gateway.url) as plain:  # no transparent decoding
        zipped = plain.send(
            plain.build_request("GET", url, headers={"Accept-Encoding": "gzip"}), stream=True
        )
        compressed = b"".join(zipped.iter_raw())
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(compressed) == raw.content
    assert len(compressed) < len(raw.content) / 3
    again = gateway.client.get(url, headers={"If-None-Match": raw.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_an_old_or_unknown_file_url_is_not_found(gateway: LiveGateway) -> None:
    url = next(
        u for u in _loaded_urls(_page(gateway).text) if u.endswith("react.production.min.js")
    )
    assert gateway.client.get(url.replace(url.split("/")[2], "0" * 16)).status_code == 404
    assert gateway.client.get("/graphiql/0000000000000000/secrets.txt").status_code == 404
    assert gateway.client.get("/graphiql/x/../../pyproject.toml").status_code == 404


def test_the_api_is_unchanged_beside_the_page(gateway: LiveGateway) -> None:
    assert gateway.query("{ categories { slug } }")["data"]["categories"]
    response = gateway.client.get("/graphql", params={"query": "{ categories { slug } }"})
    assert response.status_code == 200 and response.json()["data"]["categories"]


@pytest.fixture(scope="module")
def without_graphiql(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from serve(settings_for(sqlite_shop, graphiql=False))


def test_graphiql_off_serves_neither_page_nor_files(
    gateway: LiveGateway, without_graphiql: LiveGateway
) -> None:
    url = _loaded_urls(_page(gateway).text)[1]
    page = without_graphiql.client.get("/graphql", headers=HTML)
    assert page.status_code == 404 and "GraphiQL" not in page.text
    assert without_graphiql.client.get(url).status_code == 404


def test_without_built_files_the_page_says_how_to_build_them(tmp_path: Path) -> None:
    request = Request({"type": "http", "method": "GET", "path": "/graphql", "headers": []})
    response = graphiql_page(request, static_dir=tmp_path)
    assert response.status_code == 503
    body = bytes(response.body).decode()
    assert "make graphiql" in body and "<script" not in body
    assert "script-src 'self'" in response.headers["content-security-policy"]
