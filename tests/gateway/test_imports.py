"""Price and stock imports as operations staff run them: `gateway import` on a file from a
warehouse export, and a back-office UI uploading one and polling importJob.

Bad rows are reported by line and never stop the others; the same file twice applies once;
an interrupted job resumes where its last batch committed; 100,000 rows run in the memory
of one batch. Shops of this module's own, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import time
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.auth import ViewerKind, issue_token
from gateway.backoffice.import_cli import run_import_command
from gateway.backoffice.imports import ImportKind, apply_import, start_import
from gateway.cli import main
from gateway.settings import SOURCE_NAMES, Settings
from gateway.sources import Sources
from sources.catalog import models as catalog
from sources.common.db import Database
from sources.common.import_jobs import ImportStatus
from sources.inventory import models as inventory
from sources.pricing import models as pricing
from tests.conftest import LiveGateway, require_postgres, serve, settings_for, sqlite_urls
from tests.pg import create_temp_database, drop_database

from .test_backoffice import _seeded

JOB = """
query Job($id: ID!, $first: Int, $after: String) {
  importJob(id: $id) {
    id kind status fileName processed failed applied message
    errors(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { line code field message } }
    }
  }
}
"""


class Shop:
    def __init__(self, urls: dict[str, str], tmp: Path) -> None:
        self.urls = urls
        self.tmp = tmp
        self.settings = settings_for(urls)
        self.codes = _read(urls["catalog"], select(catalog.Sku.code).order_by(catalog.Sku.id))
        self._used = 0

    def take(self, n: int) -> list[str]:
        """SKU codes no other test of this module touched."""
        codes = self.codes[self._used : self._used + n]
        self._used += n
        assert len(codes) == n, "the shop has run out of SKUs"
        return codes

    def file(self, name: str, text: str | bytes) -> Path:
        path = self.tmp / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path

    def prices(self, codes: list[str]) -> dict[str, tuple[Decimal, Decimal]]:
        rows = _read(
            self.urls["pricing"],
            select(pricing.Price.sku_id, pricing.Price.list_amount, pricing.Price.sale_amount),
        )
        ids = self.sku_ids(codes)
        by_id = {sku_id: (lst, sale) for sku_id, lst, sale in rows}
        return {code: by_id[ids[code]] for code in codes if ids[code] in by_id}

    def sku_ids(self, codes: list[str]) -> dict[str, int]:
        rows = _read(
            self.urls["catalog"],
            select(catalog.Sku.code, catalog.Sku.id).where(catalog.Sku.code.in_(codes)),
        )
        return dict(rows)

    def on_hand(self, code: str, warehouse: str = "SH-01") -> int:
        sku_id = self.sku_ids([code])[code]
        rows = _read(
            self.urls["inventory"],
            select(inventory.StockItem.on_hand)
            .join(inventory.Warehouse, inventory.Warehouse.id == inventory.StockItem.warehouse_id)
            .where(inventory.StockItem.sku_id == sku_id, inventory.Warehouse.code == warehouse),
        )
        return int(rows[0]) if rows else 0

    def audits(self, code: str, action: str) -> int:
        sku_id = self.sku_ids([code])[code]
        model = inventory.AuditEntry if action == "stock.adjust" else pricing.AuditEntry
        source = "inventory" if action == "stock.adjust" else "pricing"
        rows = _read(
            self.urls[source],
            select(func.count()).where(model.entity_id == sku_id, model.action == action),
        )
        return int(rows[0])


def _read(url: str, statement: Any) -> list[Any]:
    async def go() -> list[Any]:
        db = Database(url)
        try:
            async with db.connect() as conn:
                result = await conn.execute(statement)
                rows = result.all()
                return [r[0] if len(r) == 1 else tuple(r) for r in rows]
        finally:
            await db.dispose()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def sqlite_shop_(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    tmp = Path(tmp_path_factory.mktemp("import-shop"))
    return Shop(_seeded(sqlite_urls(tmp)), tmp)


@pytest.fixture(scope="module")
def postgresql_shop_(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    require_postgres()
    url = asyncio.run(create_temp_database())
    try:
        urls = _seeded(dict.fromkeys(SOURCE_NAMES, url))
        yield Shop(urls, Path(tmp_path_factory.mktemp("import-shop-pg")))
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def shop_on(request: pytest.FixtureRequest) -> Shop:
    return request.getfixturevalue(f"{request.param}_shop_")  # type: ignore[no-any-return]


def _import(shop: Shop, kind: str, path: Path, **kw: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = asyncio.run(
        run_import_command(shop.settings, ImportKind(kind), path, out=out, progress=False, **kw)
    )
    return code, out.getvalue()


def _job_errors(shop: Shop, kind: ImportKind) -> list[tuple[int, str, str | None]]:
    model = pricing.ImportRowError if kind is ImportKind.PRICES else inventory.ImportRowError
    source = "pricing" if kind is ImportKind.PRICES else "inventory"
    rows = _read(shop.urls[source], select(model.line, model.code, model.field).order_by(model.id))
    return rows


# ---------------------------------------------------------------------------------------
# The command line


def test_a_price_file_applies_its_good_rows_and_names_each_bad_one_by_line(
    shop_on: Shop,
) -> None:
    good, other = shop_on.take(2)
    lines = [
        "SKU,List,Sale",  # header names in any case
        f"{good},120.00,99.00",
        "NO-SUCH-SKU,10.00,9.00",
        f"{other},ten,9.00",
        f"{other},10.00,-1",
        "",
        f"{other},10.00,12.00",
        f"{other},10.00",
    ]
    body = "\n".join(lines).encode() + f"\n{other},10.00,9.5\xe9\n".encode("latin-1")
    body += f"{other},80.00,70.00\n".encode()
    path = shop_on.file("prices-partial.csv", body)
    code, out = _import(shop_on, "prices", path)
    assert code == 1, out
    assert "COMPLETED: 8 rows, 2 applied, 6 refused" in out
    assert shop_on.prices([good, other]) == {
        good: (Decimal("120.00"), Decimal("99.00")),
        other: (Decimal("80.00"), Decimal("70.00")),
    }
    assert _job_errors(shop_on, ImportKind.PRICES)[-6:] == [
        (3, "SKU_NOT_FOUND", "sku"),
        (4, "INVALID_INPUT", "list"),
        (5, "INVALID_INPUT", "sale"),
        (7, "INVALID_INPUT", "sale"),  # sale above list: priceSet's own rule
        (8, "INVALID_INPUT", None),  # a column short
        (9, "INVALID_INPUT", None),  # not UTF-8
    ]
    assert "line 3: SKU_NOT_FOUND [sku] no SKU with code 'NO-SUCH-SKU'" in out


def test_the_same_stock_file_twice_applies_once(shop_on: Shop) -> None:
    (code,) = shop_on.take(1)
    start = shop_on.on_hand(code)
    path = shop_on.file("delivery-1.csv", f"sku,warehouse,delta,reason\n{code},SH-01,12,PO 1\n")
    assert _import(shop_on, "stock", path)[0] == 0
    again, out = _import(shop_on, "stock", path)
    assert again == 0 and "imported before" in out and "nothing applied" in out
    assert shop_on.on_hand(code) == start + 12
    assert shop_on.audits(code, "stock.adjust") == 1


def test_stock_rows_the_inventory_refuses_are_reported_and_the_rest_apply(
    shop_on: Shop,
) -> None:
    a, b = shop_on.take(2)
    start_a, start_b = shop_on.on_hand(a), shop_on.on_hand(b)
    text = (
        "warehouse,sku,delta\n"  # columns in any order; reason is optional
        f"SH-01,{a},5\n"
        f"XX-99,{a},5\n"
        f"SH-01,{b},-{start_b + 1}\n"
        f"SH-01,{b},1.5\n"
        f"SH-01,{a},0\n"
        f"SH-01,{b},2\n"
    )
    code, out = _import(shop_on, "stock", shop_on.file("stock-partial.csv", text))
    assert code == 1, out
    assert (shop_on.on_hand(a), shop_on.on_hand(b)) == (start_a + 5, start_b + 2)
    tail = _job_errors(shop_on, ImportKind.STOCK)[-4:]
    assert tail == [
        (3, "WAREHOUSE_NOT_FOUND", "warehouse"),
        (4, "INSUFFICIENT_STOCK", "delta"),
        (5, "INVALID_INPUT", "delta"),
        (6, "INVALID_INPUT", "delta"),
    ]


def test_a_file_without_the_columns_fails_whole_and_says_why(sqlite_shop_: Shop) -> None:
    path = sqlite_shop_.file("wrong.csv", "code,price\nX,1\n")
    code, out = _import(sqlite_shop_, "prices", path)
    assert code == 2
    assert "FAILED" in out and "the header lacks sku, list, sale" in out
    assert main(["import", "prices", str(sqlite_shop_.tmp / "absent.csv")]) == 2


class _Crash(Exception):
    pass


def test_an_interrupted_import_resumes_after_its_last_batch_and_applies_each_row_once(
    shop_on: Shop,
) -> None:
    codes = shop_on.take(4)
    start = {c: shop_on.on_hand(c) for c in codes}
    rows = [f"{codes[i % 4]},SH-01,1,count" for i in range(10)]
    path = shop_on.file("count.csv", "sku,warehouse,delta,reason\n" + "\n".join(rows) + "\n")

    async def crash_then_resume() -> tuple[Any, Any]:
        sources = Sources.from_settings(shop_on.settings)
        try:
            job, _ = await start_import(
                sources, ImportKind.STOCK, path, file_name="count.csv", actor="t", now=_now()
            )
            batches = 0

            def crash_after_two_batches(lines: int) -> None:
                nonlocal batches
                batches += 1
                if batches == 2:
                    raise _Crash

            with pytest.raises(_Crash):
                await apply_import(
                    sources,
                    ImportKind.STOCK,
                    path,
                    job,
                    actor="t",
                    currency="CNY",
                    batch_rows=3,
                    on_lines=crash_after_two_batches,
                )
            halfway = (await sources.inventory.import_jobs_by_ids([job.id]))[job.id]
            again, _ = await start_import(
                sources, ImportKind.STOCK, path, file_name="count.csv", actor="t", now=_now()
            )
            done = await apply_import(
                sources, ImportKind.STOCK, path, again, actor="t", currency="CNY", batch_rows=3
            )
            return halfway, done
        finally:
            await sources.close()

    halfway, done = asyncio.run(crash_then_resume())
    assert (halfway.status, halfway.processed, halfway.through_line) == (
        ImportStatus.RUNNING,
        6,
        7,
    )
    assert (done.id, done.status, done.processed, done.failed) == (
        halfway.id,
        ImportStatus.COMPLETED,
        10,
        0,
    )
    # Rows 1-10 over four SKUs: each got exactly its rows, none twice.
    assert {c: shop_on.on_hand(c) - start[c] for c in codes} == {
        codes[0]: 3,
        codes[1]: 3,
        codes[2]: 2,
        codes[3]: 2,
    }


def test_two_runs_of_one_job_at_once_apply_each_row_once(shop_on: Shop) -> None:
    codes = shop_on.take(2)
    start = {c: shop_on.on_hand(c) for c in codes}
    rows = [f"{codes[i % 2]},SH-01,1" for i in range(40)]
    path = shop_on.file("twice.csv", "sku,warehouse,delta\n" + "\n".join(rows) + "\n")

    async def race() -> None:
        sources = Sources.from_settings(shop_on.settings)
        try:
            job, _ = await start_import(
                sources, ImportKind.STOCK, path, file_name="twice.csv", actor="t", now=_now()
            )
            await asyncio.gather(
                *(
                    apply_import(
                        sources,
                        ImportKind.STOCK,
                        path,
                        job,
                        actor="t",
                        currency="CNY",
                        batch_rows=5,
                    )
                    for _ in range(2)
                )
            )
        finally:
            await sources.close()

    asyncio.run(race())
    assert {c: shop_on.on_hand(c) - start[c] for c in codes} == {codes[0]: 20, codes[1]: 20}


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------
# Ten times the rows, not ten times the memory (`make bench` imports 100,000 rows and
# reports the peak RSS; the suite keeps this shorter version)

SMALL_IMPORT, LARGE_IMPORT = 2_000, 20_000


def _peak_of_import(shop: Shop, name: str, rows: int, codes: list[str]) -> tuple[int, float]:
    path = shop.tmp / name
    with path.open("w") as f:
        f.write("sku,list,sale\n")
        for i in range(rows):
            f.write(f"{codes[i % len(codes)]},{100 + i % 90}.00,{50 + i % 40}.00\n")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        code, out = _import(shop, "prices", path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0, out
    assert f"COMPLETED: {rows} rows, {rows} applied, 0 refused" in out
    return peak, time.perf_counter() - started


def test_a_large_import_runs_in_the_memory_of_one_batch(sqlite_shop_: Shop) -> None:
    codes = sqlite_shop_.take(20)
    small, _ = _peak_of_import(sqlite_shop_, "small.csv", SMALL_IMPORT, codes)
    large, seconds = _peak_of_import(sqlite_shop_, "large.csv", LARGE_IMPORT, codes)
    print(
        f"peak {small / 2**20:.1f} MiB for {SMALL_IMPORT:,} rows, {large / 2**20:.1f} MiB "
        f"for {LARGE_IMPORT:,} rows ({seconds:.1f}s)"
    )
    # Ten times the rows, not ten times the memory: the file is never held whole, only a
    # batch of 1,000 rows and its statements.
    assert large < 32 * 2**20
    assert large < small * 1.5 + 2 * 2**20
    last = codes[(LARGE_IMPORT - 1) % len(codes)]
    i = LARGE_IMPORT - 1  # the last row wins: its prices as _peak_of_import wrote them
    assert sqlite_shop_.prices([last])[last] == (Decimal(100 + i % 90), Decimal(50 + i % 40))


# ---------------------------------------------------------------------------------------
# The upload endpoint and importJob


@pytest.fixture(scope="module")
def live(sqlite_shop_: Shop) -> Iterator[LiveGateway]:
    yield from serve(settings_for(sqlite_shop_.urls, import_max_bytes=4096))


def _staff(settings: Settings, *permissions: str) -> str:
    return issue_token(
        settings, kind=ViewerKind.STAFF, subject="importer", permissions=list(permissions)
    )


def _upload(
    live: LiveGateway, kind: str, body: bytes, token: str | None, ctype: str = "text/csv"
) -> httpx.Response:
    headers = {"content-type": ctype} | ({"Authorization": f"Bearer {token}"} if token else {})
    return live.client.post(f"/admin/imports/{kind}?fileName=ui.csv", content=body, headers=headers)


def test_an_uploaded_file_becomes_a_job_staff_poll_page_by_page(
    live: LiveGateway, sqlite_shop_: Shop
) -> None:
    codes = sqlite_shop_.take(3)
    rows = [f"{c},30.00,25.00" for c in codes] + [f"GONE-{i},1.00,1.00" for i in range(5)]
    body = ("sku,list,sale\n" + "\n".join(rows) + "\n").encode()
    prices_staff = _staff(live.settings, "MANAGE_PRICES")
    started = _upload(live, "prices", body, prices_staff)
    assert started.status_code == 202, started.text
    job = started.json()["job"]
    assert (job["kind"], job["fileName"]) == ("PRICES", "ui.csv")
    deadline = time.monotonic() + 20
    while True:
        polled = live.query(JOB, {"id": job["id"], "first": 2}, token=prices_staff)
        assert "errors" not in polled, polled["errors"]
        state = polled["data"]["importJob"]
        if state["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert (state["status"], state["processed"], state["applied"], state["failed"]) == (
        "COMPLETED",
        8,
        3,
        5,
    )
    errors = state["errors"]
    assert errors["totalCount"] == 5 and errors["pageInfo"]["hasNextPage"] is True
    seen = [e["node"]["line"] for e in errors["edges"]]
    while errors["pageInfo"]["hasNextPage"]:
        after = errors["pageInfo"]["endCursor"]
        page = live.query(JOB, {"id": job["id"], "first": 2, "after": after}, token=prices_staff)
        errors = page["data"]["importJob"]["errors"]
        seen += [e["node"]["line"] for e in errors["edges"]]
    assert seen == [5, 6, 7, 8, 9]
    assert {e["node"]["code"] for e in errors["edges"]} == {"SKU_NOT_FOUND"}
    assert sqlite_shop_.prices(codes) == dict.fromkeys(codes, (Decimal("30.00"), Decimal("25.00")))
    # The same bytes again: the job it already has, nothing applied twice.
    again = _upload(live, "prices", body, prices_staff)
    assert again.status_code == 200 and again.json()["job"]["id"] == job["id"]
    assert sqlite_shop_.audits(codes[0], "price.set") == 1
    # A price import is not stock staff's, nor anyone else's: it reads as not found.
    for token in (_staff(live.settings, "MANAGE_STOCK"), None, _staff(live.settings)):
        hidden = live.query(JOB, {"id": job["id"]}, token=token)
        assert hidden["data"]["importJob"] is None


def test_the_upload_endpoint_refuses_what_it_cannot_take(live: LiveGateway) -> None:
    body = b"sku,warehouse,delta\n"
    stock_staff = _staff(live.settings, "MANAGE_STOCK")
    refused = {
        "no token": _upload(live, "stock", body, None),
        "bad token": _upload(live, "stock", body, "not-a-token"),
        "no permission": _upload(live, "stock", body, _staff(live.settings, "MANAGE_PRICES")),
        "unknown kind": _upload(live, "orders", body, stock_staff),
        "not csv": _upload(live, "stock", body, stock_staff, ctype="application/json"),
        "too large": _upload(live, "stock", body + b"x" * 5000, stock_staff),
    }
    answers = {
        name: (r.status_code, r.json()["errors"][0]["extensions"]["code"])
        for name, r in refused.items()
    }
    assert answers == {
        "no token": (401, "UNAUTHENTICATED"),
        "bad token": (401, "TOKEN_INVALID"),
        "no permission": (403, "PERMISSION_DENIED"),
        "unknown kind": (404, "NOT_FOUND"),
        "not csv": (415, "UNSUPPORTED_MEDIA_TYPE"),
        "too large": (413, "PAYLOAD_TOO_LARGE"),
    }
