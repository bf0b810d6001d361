"""A shop moving from Shopify brings its catalog: `gateway import products` on a product
CSV in the format Shopify exports (its documented columns, in its order), into an empty
shop, on SQLite and PostgreSQL.

Multi-variant products, a product without options (Shopify's "Default Title" variant), a
product without any variant, HTML descriptions with scripts to strip, images served from
loopback (this machine has no internet), broken rows reported by line; a second import
of the same catalog changes nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from gateway.auth import ViewerKind, issue_token
from gateway.backoffice.import_cli import run_import_command
from gateway.backoffice.imports import ImportKind, apply_import, start_import
from gateway.media.settings import MediaSettings
from gateway.settings import SOURCE_NAMES, Settings
from gateway.setup.databases import migrate_sources
from gateway.sources import Sources
from sources.catalog import models as catalog
from sources.common.db import Database
from sources.common.import_jobs import ImportStatus
from sources.inventory import models as inventory
from sources.inventory.records import WarehouseSetup
from sources.pricing import models as pricing
from tests.conftest import LiveGateway, require_postgres, serve, settings_for, sqlite_urls
from tests.pg import create_temp_database, drop_database

# Shopify's product CSV columns, as its help centre lists them (the sample file's header).
COLUMNS = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags",
    "Published", "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value",
    "Option3 Name", "Option3 Value", "Variant SKU", "Variant Grams",
    "Variant Inventory Tracker", "Variant Inventory Qty", "Variant Inventory Policy",
    "Variant Fulfillment Service", "Variant Price", "Variant Compare At Price",
    "Variant Requires Shipping", "Variant Taxable", "Variant Barcode", "Image Src",
    "Image Position", "Image Alt Text", "Gift Card", "SEO Title", "SEO Description",
    "Google Shopping / Google Product Category", "Google Shopping / Gender",
    "Google Shopping / Age Group", "Google Shopping / MPN",
    "Google Shopping / AdWords Grouping", "Google Shopping / AdWords Labels",
    "Google Shopping / Condition", "Google Shopping / Custom Product",
    "Google Shopping / Custom Label 0", "Google Shopping / Custom Label 1",
    "Google Shopping / Custom Label 2", "Google Shopping / Custom Label 3",
    "Google Shopping / Custom Label 4", "Variant Image", "Variant Weight Unit",
    "Variant Tax Code", "Cost per item", "Price / International",
    "Compare At Price / International", "Status",
]  # fmt: skip

VARIANT = {
    "Variant Inventory Tracker": "shopify", "Variant Inventory Policy": "deny",
    "Variant Fulfillment Service": "manual", "Variant Requires Shipping": "true",
    "Variant Taxable": "true", "Variant Weight Unit": "g", "Gift Card": "false",
}  # fmt: skip


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


IMAGES = {
    "/lj-tin.png": _png((40, 160, 60)),
    "/lj-100.png": _png((20, 120, 40)),
    "/lj-leaves.png": _png((90, 200, 90)),
    "/cup-white.png": _png((250, 250, 250)),
}


@pytest.fixture(scope="module")
def images() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = IMAGES.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def shopify_csv(base: str) -> str:
    """A catalog as Shopify exports it. The first description spans lines 2-3, so the
    broken rows are on lines 9 to 12."""
    rows: list[dict[str, str]] = [
        {
            "Handle": "west-lake-longjing",
            "Title": "West Lake Longjing",
            "Body (HTML)": '<p>Spring <b>green</b> tea.</p>\n<script>alert("x")</script>'
            '<img src="x.png" onerror="alert(1)">',
            "Vendor": "Harbour Tea",
            "Product Category": "Food, Beverages & Tobacco > Beverages",
            "Type": "Green Tea",
            "Tags": "green, spring, green",
            "Published": "true",
            "Option1 Name": "Weight",
            "Option1 Value": "50 g",
            "Variant SKU": "LJ-50G",
            "Variant Grams": "60.0",
            "Variant Inventory Qty": "40",
            "Variant Price": "118.00",
            "Variant Compare At Price": "128.00",
            "Image Src": f"{base}/lj-tin.png",
            "Image Position": "1",
            "Image Alt Text": "A tin of Longjing",
            "SEO Title": "Longjing green tea",
            "SEO Description": "First flush, from Hangzhou.",
            "Cost per item": "60.00",
            "Status": "active",
            **VARIANT,
        },
        {
            "Handle": "west-lake-longjing",
            "Option1 Value": "100 g",
            "Variant SKU": "LJ-100G",
            "Variant Grams": "110.0",
            "Variant Inventory Qty": "20",
            "Variant Price": "228.00",
            "Variant Compare At Price": "238.00",
            "Variant Image": f"{base}/lj-100.png",
            "Image Src": f"{base}/lj-leaves.png",
            "Image Position": "2",
            **VARIANT,
        },
        {
            "Handle": "west-lake-longjing",
            "Option1 Value": "250 g",
            "Variant SKU": "LJ-250G",
            "Variant Inventory Qty": "-3",
            "Variant Price": "520.00",
            "Variant Compare At Price": "500.00",
            **VARIANT,
        },
        {  # Shopify's one variant of a product without options, without a SKU code
            "Handle": "tea-gift-box",
            "Title": "Tea Gift Box",
            "Body (HTML)": "A box of three.",
            "Vendor": "Harbour Tea",
            "Type": "Gifts",
            "Published": "true",
            "Option1 Name": "Title",
            "Option1 Value": "Default Title",
            "Variant Inventory Qty": "5",
            "Variant Price": "50.00",
            "Status": "active",
            **VARIANT,
        },
        {  # no variant at all: a page, not for sale yet
            "Handle": "brewing-guide",
            "Title": "Brewing Guide",
            "Body (HTML)": "<h2>Water</h2><p>80 °C.</p>",
            "Published": "false",
            "Status": "draft",
        },
        {
            "Handle": "porcelain-cup",
            "Title": "Porcelain Cup",
            "Body (HTML)": "<p>Thin.</p>",
            "Vendor": "Jingdezhen Works",
            "Type": "Teaware",
            "Published": "true",
            "Option1 Name": "Colour",
            "Option1 Value": "White",
            "Option2 Name": "Size",
            "Option2 Value": "Small",
            "Variant SKU": "CUP-W-S",
            "Variant Inventory Qty": "7",
            "Variant Price": "39.00",
            "Image Src": f"{base}/cup-white.png",
            "Status": "active",
            **VARIANT,
        },
        {  # broken: the price is not a number (line 10)
            "Handle": "porcelain-cup",
            "Option1 Value": "White",
            "Option2 Value": "Large",
            "Variant SKU": "CUP-W-L",
            "Variant Price": "abc",
            **VARIANT,
        },
        {  # broken: no handle (line 10)
            "Handle": "",
            "Title": "Nameless",
            "Variant Price": "1.00",
            **VARIANT,
        },
        {  # broken: a continuation of a product nobody made (line 11)
            "Handle": "ghost-teapot",
            "Option1 Value": "Red",
            "Variant SKU": "GHOST-1",
            "Variant Price": "10.00",
            **VARIANT,
        },
        {  # broken: an image that is not http(s) (line 12)
            "Handle": "porcelain-cup",
            "Image Src": "ftp://files.example.com/cup.png",
        },
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in COLUMNS})
    return out.getvalue()


async def _empty_shop(urls: dict[str, str], media: Path) -> Settings:
    settings = settings_for(urls).model_copy(
        update={"media": MediaSettings(root=str(media), fetch_allow_private=True)}
    )
    await migrate_sources(settings)
    sources = Sources.from_settings(settings)
    try:
        await sources.inventory.save_warehouses([WarehouseSetup("SH-01", "Shanghai", "CN-SH", 1)])
    finally:
        await sources.close()
    return settings


@pytest.fixture(params=["sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield asyncio.run(_empty_shop(sqlite_urls(tmp_path / "db"), tmp_path / "media"))
        return
    require_postgres()
    url = asyncio.run(create_temp_database())
    try:
        urls = dict.fromkeys(SOURCE_NAMES, url)
        yield asyncio.run(_empty_shop(urls, tmp_path / "media"))
    finally:
        asyncio.run(drop_database(url))


def _import(settings: Settings, path: Path, **kw: Any) -> tuple[int, str]:
    out = io.StringIO()
    status = asyncio.run(
        run_import_command(settings, ImportKind.PRODUCTS, path, out=out, progress=False, **kw)
    )
    return status, out.getvalue()


def _count(url: str, model: Any) -> int:
    async def go() -> int:
        db = Database(url)
        try:
            async with db.connect() as conn:
                return int(await conn.scalar(select(func.count()).select_from(model)) or 0)
        finally:
            await db.dispose()

    return asyncio.run(go())


def _footprint(settings: Settings) -> dict[str, int]:
    """Every row an import can write, by table: equal before and after means unchanged."""
    urls = settings.database_urls()
    tables = {
        "catalog": (
            catalog.Product,
            catalog.Sku,
            catalog.Category,
            catalog.Brand,
            catalog.ProductMedia,
            catalog.PendingImage,
            catalog.AuditEntry,
        ),
        "pricing": (pricing.Price, pricing.AuditEntry),
        "inventory": (inventory.StockItem, inventory.AuditEntry),
    }
    return {
        f"{source}.{model.__tablename__}": _count(urls[source], model)
        for source, models in tables.items()
        for model in models
    }


FIELDS = """
  slug name description brand published tags weightGrams archived
  options { name values }
  seo { title description }
  category { name }
  media(first: 5) { width altTexts { language text } }
  skus { code name selectedOptions { name value }
         price { list { amount } sale { amount } } stock { available } costPrice { amount }
         image { width } }
"""
SLUGS = ("west-lake-longjing", "tea-gift-box", "brewing-guide", "porcelain-cup")
ALIASED = " ".join(f'p{n}: product(slug: "{slug}") {{ {FIELDS} }}' for n, slug in enumerate(SLUGS))
PRODUCTS = "{ " + ALIASED + " }"


def _catalog(settings: Settings) -> dict[str, Any]:
    token = issue_token(
        settings,
        kind=ViewerKind.STAFF,
        subject="ops",
        permissions=["MANAGE_PRODUCTS", "MANAGE_STOCK", "VIEW_FINANCE"],
    )
    with _served(settings) as live:
        body = live.query(PRODUCTS, token=token)
    assert "errors" not in body, body
    return {p["slug"]: p for p in body["data"].values() if p is not None}


@contextmanager
def _served(settings: Settings) -> Iterator[LiveGateway]:
    """A gateway stopped on leaving (before the test's database goes, or its sweeper fails
    against the dropped database later in the run). Run on, not closed: ``serve`` stops its
    server after its ``yield``, which ``close()`` skips, leaving server and sweeper running."""
    running = serve(settings)
    try:
        yield next(running)
    finally:
        next(running, None)


def test_a_shopify_export_becomes_the_shops_catalog(
    shop: Settings, images: str, tmp_path: Path
) -> None:
    path = tmp_path / "products_export_1.csv"
    path.write_text(shopify_csv(images))

    status, out = _import(shop, path)

    assert status == 1, out  # some rows refused, listed by line
    assert "13 rows" not in out
    lines = [line.strip() for line in out.splitlines()]
    assert lines[0].endswith("COMPLETED: 10 rows, 6 applied, 4 refused"), out
    assert "line 9: INVALID_INPUT [Variant Price] Variant Price: 'abc' is not a number" in lines
    assert "line 10: INVALID_INPUT [Handle] Handle is empty" in lines
    assert any(
        line.startswith("line 11: PRODUCT_NOT_FOUND") and "ghost-teapot" in line for line in lines
    ), out
    assert "line 12: INVALID_INPUT [Image Src] Image Src must be an http(s) URL" in lines
    assert "images: 4 fetched, 0 failed" in lines

    products = _catalog(shop)
    assert set(products) == {"west-lake-longjing", "tea-gift-box", "brewing-guide", "porcelain-cup"}
    tea = products["west-lake-longjing"]
    # Sanitised: the script and the event handler are gone, the markup stays.
    assert tea["description"] == '<p>Spring <b>green</b> tea.</p>\n<img src="x.png">'
    assert tea["brand"] == "Harbour Tea"
    assert tea["category"] == {"name": "Green Tea"}
    assert tea["tags"] == ["green", "spring"]
    assert tea["published"] is True
    assert tea["weightGrams"] == 60
    assert tea["seo"] == {
        "title": "Longjing green tea",
        "description": "First flush, from Hangzhou.",
    }
    assert tea["options"] == [{"name": "Weight", "values": ["50 g", "100 g", "250 g"]}]
    skus = {s["code"]: s for s in tea["skus"]}
    assert skus["LJ-50G"]["price"] == {"list": {"amount": "128.00"}, "sale": {"amount": "118.00"}}
    assert skus["LJ-50G"]["stock"]["available"] == 40
    assert skus["LJ-50G"]["costPrice"] == {"amount": "60.00"}
    assert skus["LJ-100G"]["selectedOptions"] == [{"name": "Weight", "value": "100 g"}]
    assert skus["LJ-100G"]["stock"]["available"] == 20
    # A compare-at price below the price means no sale; oversold stock (-3) is none.
    assert skus["LJ-250G"]["price"] == {"list": {"amount": "520.00"}, "sale": {"amount": "520.00"}}
    assert skus["LJ-250G"]["stock"]["available"] == 0
    media = tea["media"]
    assert [m["width"] for m in media] == [40, 40, 40]
    assert media[0]["altTexts"] == [{"language": "en", "text": "A tin of Longjing"}]
    assert skus["LJ-100G"]["image"] == {"width": 40}

    box = products["tea-gift-box"]
    assert box["options"] == []
    assert [(s["code"], s["name"], s["selectedOptions"]) for s in box["skus"]] == [
        ("tea-gift-box", "Tea Gift Box", [])
    ]
    assert box["skus"][0]["stock"]["available"] == 5

    guide = products["brewing-guide"]
    assert (guide["skus"], guide["published"]) == ([], False)

    # Searchable at once, as a product made by productCreate is (one transaction).
    with _served(shop) as live:
        found = live.query(
            '{ products(first: 5, filter: {search: "longjing"}) { edges { node { slug } } } }'
        )
    assert [e["node"]["slug"] for e in found["data"]["products"]["edges"]] == ["west-lake-longjing"]

    cup = products["porcelain-cup"]
    assert [s["code"] for s in cup["skus"]] == ["CUP-W-S"]
    assert cup["options"] == [
        {"name": "Colour", "values": ["White"]},
        {"name": "Size", "values": ["Small", "Large"]},
    ]

    # The same file again: nothing applied. The same catalog in another file (one more
    # blank line, so other bytes): every product, SKU, price and stock already as it says.
    before = _footprint(shop)
    status, out = _import(shop, path)
    assert "was imported before" in out.splitlines()[0]
    again = tmp_path / "products_export_2.csv"
    again.write_text(shopify_csv(images) + "\n")
    status, out = _import(shop, again)
    assert out.splitlines()[0].endswith("10 rows, 6 applied, 4 refused"), out
    assert _footprint(shop) == before


def test_a_file_with_stock_and_several_warehouses_must_name_one(
    shop: Settings, images: str, tmp_path: Path
) -> None:
    async def second() -> None:
        sources = Sources.from_settings(shop)
        try:
            await sources.inventory.save_warehouses(
                [WarehouseSetup("BJ-01", "Beijing", "CN-BJ", 2)]
            )
        finally:
            await sources.close()

    asyncio.run(second())
    path = tmp_path / "products.csv"
    path.write_text(shopify_csv(images))
    status, out = _import(shop, path, fetch_images=False)
    assert status == 2 and out == ""
    status, out = _import(shop, path, warehouse="BJ-01", fetch_images=False)
    assert status == 1, out
    products = _catalog(shop)
    skus = {s["code"]: s for s in products["west-lake-longjing"]["skus"]}
    assert skus["LJ-50G"]["stock"]["available"] == 40
    # Images are recorded, not fetched, until the file is imported again.
    assert products["west-lake-longjing"]["media"] == []
    status, out = _import(shop, path, warehouse="BJ-01")
    assert "images: 4 fetched, 0 failed" in out


def test_an_uploaded_shopify_file_is_a_product_import_job(images: str, tmp_path: Path) -> None:
    settings = asyncio.run(_empty_shop(sqlite_urls(tmp_path / "db"), tmp_path / "media"))
    body = shopify_csv(images).encode()
    token = issue_token(
        settings, kind=ViewerKind.STAFF, subject="ops", permissions=["MANAGE_PRODUCTS"]
    )
    prices_only = issue_token(
        settings, kind=ViewerKind.STAFF, subject="ops", permissions=["MANAGE_PRICES"]
    )
    with _served(settings) as live:
        headers = {"content-type": "text/csv"}
        refused = live.client.post(
            "/admin/imports/products",
            content=body,
            headers=headers | {"Authorization": f"Bearer {prices_only}"},
        )
        assert refused.status_code == 403
        sent = live.client.post(
            "/admin/imports/products?fileName=shopify.csv",
            content=body,
            headers=headers | {"Authorization": f"Bearer {token}"},
        )
        assert sent.status_code == 202, sent.text
        job_id = sent.json()["job"]["id"]
        deadline = time.monotonic() + 60
        while True:
            job = live.query(
                "query($id: ID!) { importJob(id: $id) { kind status processed failed"
                " errors(first: 10) { edges { node { line code field } } } } }",
                {"id": job_id},
                token=token,
            )["data"]["importJob"]
            if job["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert (job["kind"], job["status"], job["processed"], job["failed"]) == (
            "PRODUCTS",
            "COMPLETED",
            10,
            4,
        )
        assert [e["node"]["line"] for e in job["errors"]["edges"]] == [9, 10, 11, 12]
        listed = live.query("{ products(first: 10) { totalCount } }")["data"]["products"]
        assert listed["totalCount"] == 3  # the brewing guide is a draft


class _Crash(Exception):
    pass


def test_an_interrupted_product_import_resumes_and_makes_each_product_once(
    shop: Settings, images: str, tmp_path: Path
) -> None:
    path = tmp_path / "products.csv"
    path.write_text(shopify_csv(images))

    async def crash_then_resume() -> tuple[Any, Any]:
        sources = Sources.from_settings(shop)
        try:
            job, _ = await start_import(
                sources, ImportKind.PRODUCTS, path, file_name=path.name, actor="t", now=_now()
            )
            batches = 0

            def crash_after_two_batches(lines: int) -> None:
                nonlocal batches
                batches += 1
                if batches == 2:
                    raise _Crash

            with pytest.raises(_Crash):
                await apply_import(
                    sources, ImportKind.PRODUCTS, path, job, actor="t", currency="CNY",
                    batch_rows=2, on_lines=crash_after_two_batches, warehouse="SH-01",
                )  # fmt: skip
            halfway = (await sources.catalog.import_jobs_by_ids([job.id]))[job.id]
            again, _ = await start_import(
                sources, ImportKind.PRODUCTS, path, file_name=path.name, actor="t", now=_now()
            )
            done = await apply_import(
                sources, ImportKind.PRODUCTS, path, again, actor="t", currency="CNY",
                batch_rows=2, warehouse="SH-01",
            )  # fmt: skip
            return halfway, done
        finally:
            await sources.close()

    halfway, done = asyncio.run(crash_then_resume())
    # Batches are whole products: longjing's three rows (lines 2-5), then the gift box
    # and the guide (lines 6-7); the crash came after the second committed.
    assert (halfway.status, halfway.processed, halfway.through_line) == (
        ImportStatus.RUNNING, 5, 7)  # fmt: skip
    assert (done.id, done.status, done.processed, done.failed) == (
        halfway.id, ImportStatus.COMPLETED, 10, 4)  # fmt: skip
    footprint = _footprint(shop)
    assert footprint["catalog.products"] == 4
    assert footprint["catalog.skus"] == 5
    assert footprint["pricing.prices"] == 5
    products = _catalog(shop)
    skus = {s["code"]: s for p in products.values() for s in p["skus"]}
    assert {code: s["stock"]["available"] for code, s in skus.items()} == {
        "LJ-50G": 40, "LJ-100G": 20, "LJ-250G": 0, "tea-gift-box": 5, "CUP-W-S": 7}  # fmt: skip


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_a_file_that_is_not_a_shopify_export_is_refused_and_bad_bytes_are_a_bad_row(
    tmp_path: Path,
) -> None:
    settings = asyncio.run(_empty_shop(sqlite_urls(tmp_path / "db"), tmp_path / "media"))
    prices = tmp_path / "prices.csv"
    prices.write_text("sku,list,sale\nLJ-50G,128.00,118.00\n")
    status, out = _import(settings, prices)
    assert status == 2
    assert "the header lacks Handle, Title" in out

    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        b"Handle,Title,Variant SKU,Variant Price\n"
        b"cup,Cup,CUP-1,9.00\n"
        b"saucer,Saucer \xff\xfe,SAU-1,5.00\n"
        b"bowl,Bowl,BOWL-1,12.00\n"
    )
    status, out = _import(settings, mixed)
    assert status == 1
    assert out.splitlines()[1].strip() == "line 3: INVALID_INPUT the row is not UTF-8 CSV text"
    assert set(_catalog(settings)) == set()  # none of SLUGS; the two others are there
    assert _footprint(settings)["catalog.products"] == 2


def test_translation_columns_give_a_product_its_chinese_name_and_search_finds_it(
    tmp_path: Path,
) -> None:
    settings = asyncio.run(_empty_shop(sqlite_urls(tmp_path / "db"), tmp_path / "media"))
    path = tmp_path / "tea.csv"
    path.write_text(
        "Handle,Title,Body (HTML),Title:zh-CN,Body (HTML):zh-CN,Variant SKU,Variant Price\n"
        "longjing,West Lake Longjing,<p>Spring tea.</p>,西湖龙井,"
        '"<p>明前春茶<script>x</script></p>",LJ-1,98.00\n'
        "cup,Porcelain Cup,<p>A cup.</p>,,,CUP-1,9.00\n"
    )
    status, out = _import(settings, path)
    assert status == 0, out
    again, _ = _import(settings, path)  # the same file: nothing to change
    assert again == 0

    query = """query($q: String!) { search(query: $q, first: 5) { edges { node {
        slug name description translations { language name description } } } } }"""
    token = issue_token(settings, kind=ViewerKind.STAFF, subject="ops",
                        permissions=["MANAGE_PRODUCTS"])  # fmt: skip
    with _served(settings) as live:
        answers = {
            (q, language): live.client.post(
                "/graphql",
                json={"query": query, "variables": {"q": q}},
                headers={"Accept-Language": language, "Authorization": f"Bearer {token}"},
            ).json()["data"]["search"]["edges"]
            for q, language in (("龙井", "zh-CN"), ("longjing", "en"), ("cup", "zh-CN"))
        }

    [tea] = [e["node"] for e in answers[("龙井", "zh-CN")]]
    assert (tea["slug"], tea["name"], tea["description"]) == (
        "longjing",
        "西湖龙井",
        "<p>明前春茶</p>",  # sanitised as the base body is
    )
    assert tea["translations"] == [
        {"language": "zh-CN", "name": "西湖龙井", "description": "<p>明前春茶</p>"}
    ]
    assert [e["node"]["name"] for e in answers[("longjing", "en")]] == ["West Lake Longjing"]
    # No translation in the row: the base text, whatever the language asked.
    [cup] = [e["node"] for e in answers[("cup", "zh-CN")]]
    assert (cup["name"], cup["translations"]) == ("Porcelain Cup", [])
