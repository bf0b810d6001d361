"""Compressed responses over real HTTP: what a phone on a slow network receives."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from bench.queries import LISTING
from tests.conftest import LiveGateway, serve, settings_for


def _post(
    gateway: LiveGateway, query: str, accept_encoding: str | None
) -> tuple[httpx.Response, int]:
    """The response (body decoded by httpx) and how many bytes crossed the wire."""
    headers = {"Accept-Encoding": accept_encoding} if accept_encoding else {}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as client:
        if accept_encoding is None:
            del client.headers["Accept-Encoding"]
        response = client.post("/graphql", json={"query": query})
        response.read()
    return response, response.num_bytes_downloaded


@pytest.mark.parametrize("encoding", ["zstd", "br", "gzip"])
def test_a_listing_crosses_the_wire_compressed_as_the_client_asks(
    gateway: LiveGateway, encoding: str
) -> None:
    plain, plain_bytes = _post(gateway, LISTING, "identity")
    packed, packed_bytes = _post(gateway, LISTING, encoding)

    assert packed.status_code == 200
    assert packed.headers["content-encoding"] == encoding
    assert "accept-encoding" in packed.headers["vary"].lower()
    assert json.loads(packed.content) == json.loads(plain.content)
    assert "content-encoding" not in plain.headers
    # The 50-product listing: tens of KB of JSON, a few KB on the wire.
    assert plain_bytes > 20_000
    assert packed_bytes < plain_bytes / 5, (encoding, packed_bytes, plain_bytes)


def test_the_strongest_encoding_the_client_accepts_wins(gateway: LiveGateway) -> None:
    response, _ = _post(gateway, LISTING, "gzip, deflate, br")
    assert response.headers["content-encoding"] == "br"


def test_a_tiny_answer_is_not_compressed(gateway: LiveGateway) -> None:
    response, wire = _post(gateway, "{ __typename }", "br, gzip, zstd")
    assert "content-encoding" not in response.headers
    assert response.json() == {"data": {"__typename": "Query"}}
    assert wire < 100


def test_a_client_that_asks_for_nothing_gets_plain_json(gateway: LiveGateway) -> None:
    response, wire = _post(gateway, LISTING, None)
    assert "content-encoding" not in response.headers
    assert wire == len(response.content)


@pytest.fixture(scope="module")
def uncompressed(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from serve(settings_for(sqlite_shop, compression={"enabled": False}))


def test_compression_can_be_turned_off(uncompressed: LiveGateway) -> None:
    response, _ = _post(uncompressed, LISTING, "br, gzip")
    assert "content-encoding" not in response.headers
    assert response.json()["data"]["products"]["edges"]
