"""Request keys claimed inside the write's own transaction (request_keys.KeyedDatabase),
against the orders service on a real database: the key and the write commit together or
not at all, a key already there stops the write before it writes, a lapsed lease is taken
over, and a write that committed nothing still has its answer kept."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, insert, select

from sources.common.db import Database
from sources.common.request_keys import LEASE, RequestKeys, fingerprint
from sources.common.wire import encode
from sources.orders import models as m
from tests.migrated import orders_with_one_customer
from tests.remote import SECRET, source_service

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def orders_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return orders_with_one_customer(tmp_path_factory.mktemp("keys"), NOW)


@pytest.fixture
def served(orders_url: str) -> Iterator[str]:
    with source_service("orders", orders_url) as url:
        yield url


def call(url: str, method: str, body: object, key: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {SECRET}"}
    if key is not None:
        headers["idempotency-key"] = key
    return httpx.post(f"{url}/v1/orders/{method}", content=encode(body), headers=headers)


def query(url: str, statement: object) -> list[tuple[object, ...]]:
    async def run() -> list[tuple[object, ...]]:
        db = Database(url)
        try:
            async with db.connect() as conn:
                return [tuple(row) for row in await conn.execute(statement)]  # type: ignore[arg-type]
        finally:
            await db.dispose()

    return asyncio.run(run())


def key_rows(url: str) -> dict[str, tuple[object, ...]]:
    table = RequestKeys("orders", Database(url)).table
    rows = query(url, select(table.c.key, table.c.status, table.c.body))
    return {str(row[0]): row[1:] for row in rows}


def carts(url: str) -> int:
    return int(query(url, select(func.count()).select_from(m.Cart))[0][0])  # type: ignore[arg-type]


def test_a_keyed_write_commits_its_key_with_its_answer(served: str, orders_url: str) -> None:
    first = call(served, "create_cart", {"customer_id": 1, "now": NOW}, key="k-1")
    again = call(served, "create_cart", {"customer_id": 1, "now": NOW}, key="k-1")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content, "the retry replays the first answer"
    assert carts(orders_url) == 1
    assert key_rows(orders_url)["k-1"] == (200, first.text)


def test_a_write_refused_by_its_store_keeps_no_claim_but_its_answer(
    served: str, orders_url: str
) -> None:
    body = {"cart_id": "nope", "items": [[101, 1]], "now": NOW}
    refused = call(served, "add_cart_lines", body, key="k-2")
    assert refused.status_code == 409
    assert key_rows(orders_url)["k-2"] == (409, refused.text)
    assert call(served, "add_cart_lines", body, key="k-2").content == refused.content


def test_a_key_still_running_stops_the_write_before_it_writes(served: str, orders_url: str) -> None:
    body = {"customer_id": 1, "now": NOW}
    keys = RequestKeys("orders", Database(orders_url))
    running = {
        "key": "k-3",
        "fingerprint": fingerprint("create_cart", encode(body)),
        "status": None,
        "created_at": datetime.now(UTC),
    }
    query_insert(orders_url, keys, running)
    busy = call(served, "create_cart", body, key="k-3")
    assert busy.status_code == 409
    assert busy.json()["error"]["type"] == "InProgress"
    assert carts(orders_url) == 0, "the claim failed inside the write's transaction"
    reused = call(served, "create_cart", {"customer_id": 1, "now": "2026-12-02T00:00:00Z"},
                  key="k-3")  # fmt: skip
    assert reused.status_code == 422
    assert carts(orders_url) == 0


def test_a_claim_whose_lease_ran_out_is_taken_over(served: str, orders_url: str) -> None:
    body = {"customer_id": 1, "now": NOW}
    keys = RequestKeys("orders", Database(orders_url))
    lapsed = {
        "key": "k-4",
        "fingerprint": fingerprint("create_cart", encode(body)),
        "status": None,
        "created_at": datetime.now(UTC) - LEASE - timedelta(seconds=1),
    }
    query_insert(orders_url, keys, lapsed)
    taken = call(served, "create_cart", body, key="k-4")
    assert taken.status_code == 200
    assert carts(orders_url) == 1
    assert key_rows(orders_url)["k-4"] == (200, taken.text)


def test_a_read_keeps_no_key(served: str, orders_url: str) -> None:
    answered = call(served, "customers_by_ids", {"ids": [1]}, key="k-5")
    assert answered.status_code == 200
    assert "k-5" not in key_rows(orders_url)


def query_insert(url: str, keys: RequestKeys, row: dict[str, object]) -> None:
    async def run() -> None:
        db = Database(url)
        try:
            async with db.begin() as conn:
                await conn.execute(insert(keys.table).values(**row))
        finally:
            await db.dispose()

    asyncio.run(run())
