"""Product media: the demo shop's pictures, resized copies made once and served from
storage, uploads as clients send them (GraphQL multipart) and by URL, checked by their
content; reorder and remove; the same on S3-compatible storage (a moto server on
loopback). SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from tests.conftest import LiveGateway, serve, settings_for, sqlite_urls
from tests.gateway.checkout_helpers import BACKENDS, Shop, run
from tests.gateway.order_ops import error_codes, order_shop
from tests.gateway.permission_cases import VIEWERS, ViewerCase, token_for

MEDIA = "id position width height alt url"
PAGE = f"""
query($slug: String!) {{
  product(slug: $slug) {{
    id options {{ name values }}
    media {{ {MEDIA} thumb: url(transform: {{maxWidth: 200, maxHeight: 200, format: WEBP}}) }}
    skus {{ id selectedOptions {{ value }} image {{ id }} }}
  }}
}}"""
ADD = """
mutation($product: ID!, $file: Upload, $url: String, $skus: [ID!], $key: String) {
  productMediaAdd(productId: $product, file: $file, url: $url, skuIds: $skus,
                  alt: [{language: "en", text: "Front"}, {language: "zh-CN", text: "正面"}],
                  idempotencyKey: $key) {
    media { id width height alt zh: alt(language: "zh-CN") url }
    product { media { id } }
    replayed
    userErrors { code field message }
  }
}"""
REORDER = """
mutation($product: ID!, $ids: [ID!]!) {
  productMediaReorder(productId: $product, mediaIds: $ids) {
    product { media { id position } } userErrors { code field }
  }
}"""
REMOVE = """
mutation($product: ID!, $media: ID!) {
  productMediaRemove(productId: $product, mediaId: $media) {
    product { media { id } skus { image { id } } } userErrors { code field }
  }
}"""


def _png(width: int = 640, height: int = 480, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), "white" if mode != "1" else 1).save(out, format="PNG")
    return out.getvalue()


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(out, format=fmt)
    return out.getvalue()


def _jpeg(width: int = 1200, height: int = 900) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp(f"media-{request.param}")
    yield from order_shop(
        tmp_path_factory,
        request.param,
        "media",
        media={"root": str(root), "fetch_allow_private": True},
    )


def _root(shop: Shop) -> Path:
    return Path(shop.settings.media.root)


def _staff(shop: Shop) -> str:
    return shop.staff_token("MANAGE_PRODUCTS")


def _coloured_product(shop: Shop) -> dict[str, Any]:
    listing = shop.query(
        "{ products(first: 60) { edges { node { slug options { name values } } } } }"
    )["products"]["edges"]
    slug = next(
        e["node"]["slug"]
        for e in listing
        if e["node"]["options"]
        and e["node"]["options"][0]["name"] == "Colour"
        and len(e["node"]["options"][0]["values"]) > 1
    )
    return shop.query(PAGE, {"slug": slug})["product"]  # type: ignore[no-any-return]


def _upload(
    shop: Shop, variables: dict[str, Any], files: dict[str, tuple[str, bytes, str]]
) -> dict[str, Any]:
    """productMediaAdd as an upload client sends it: the GraphQL multipart request."""
    operations = {"query": ADD, "variables": {**variables, **dict.fromkeys(files)}}
    mapping = {str(n): [f"variables.{name}"] for n, name in enumerate(files)}
    response = shop.live.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps(mapping)},
        files={str(n): files[name] for n, name in enumerate(files)},
        headers={"Authorization": f"Bearer {_staff(shop)}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]["productMediaAdd"]  # type: ignore[no-any-return]


def test_each_colour_has_its_picture_and_copies_are_made_once(shop: Shop) -> None:
    product = _coloured_product(shop)
    values = product["options"][0]["values"]
    assert len(product["media"]) == len(values)
    assert [m["alt"].split(", ")[-1] for m in product["media"]] == values
    by_id = {m["id"]: m for m in product["media"]}
    for sku in product["skus"]:
        picture = by_id[sku["image"]["id"]]
        assert picture["alt"].endswith(sku["selectedOptions"][0]["value"])

    thumb = product["media"][0]["thumb"]
    assert "w=256" in thumb and "f=webp" in thumb  # 200 rounded up to a step
    first = httpx.get(thumb, timeout=30)
    assert first.status_code == 200 and first.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(first.content)) as image:
        assert image.format == "WEBP" and max(image.size) <= 256
    copies = list((_root(shop) / "derived").rglob("*.webp"))
    assert len(copies) == 1
    made_at = copies[0].stat().st_mtime_ns
    second = httpx.get(thumb, timeout=30)
    assert second.content == first.content
    assert copies[0].stat().st_mtime_ns == made_at, "the copy was made again"
    original = httpx.get(product["media"][0]["url"], timeout=30)
    assert original.headers["content-type"] == "image/png"
    assert "immutable" in original.headers["cache-control"]


def test_a_listing_with_first_image_and_options_costs_one_more_call(shop: Shop) -> None:
    uncached = shop.live
    bare = "{ products(first: 50) { edges { node { id name } } } }"
    full = (
        "{ products(first: 50) { edges { node { id name options { name values }"
        " media(first: 1) { url(transform: {maxWidth: 400}) alt } } } } }"
    )
    _, bare_calls = uncached.calls_during(bare)
    result, full_calls = uncached.calls_during(full)
    assert "errors" not in result, result.get("errors")
    extra = {k: v for k, v in full_calls.items() if bare_calls.get(k) != v}
    assert extra == {"catalog.media_by_product_ids": 1}


def test_an_uploaded_image_is_stored_and_shown_in_each_language(shop: Shop) -> None:
    product = _coloured_product(shop)
    sku = product["skus"][0]["id"]
    added = _upload(
        shop,
        {"product": product["id"], "skus": [sku], "key": "upload-1"},
        {"file": ("front.jpg", _jpeg(), "image/jpeg")},
    )
    assert added["userErrors"] == []
    media = added["media"]
    assert (media["width"], media["height"]) == (1200, 900)
    assert media["alt"] == "Front" and media["zh"] == "正面"
    assert added["product"]["media"][-1]["id"] == media["id"]
    fetched = httpx.get(media["url"], timeout=30)
    assert fetched.headers["content-type"] == "image/jpeg" and fetched.content == _jpeg()
    page = shop.query(PAGE, {"slug": shop.query(
        "query($id: ID!) { node(id: $id) { ... on Product { slug } } }", {"id": product["id"]}
    )["node"]["slug"]})["product"]  # fmt: skip
    assert next(s for s in page["skus"] if s["id"] == sku)["image"]["id"] == media["id"]
    again = _upload(
        shop,
        {"product": product["id"], "skus": [sku], "key": "upload-1"},
        {"file": ("front.jpg", _jpeg(), "image/jpeg")},
    )
    assert again["replayed"] is True and again["media"]["id"] == media["id"]
    stored = list((_root(shop) / "products").rglob("*.jpg"))
    assert len(stored) == 1, "a replayed upload left its bytes behind"


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("photo.png", b"\x7fELF\x02\x01\x01" + b"\x00" * 2000, "not an image"),
        ("huge.png", _png(10_000, 10_000, mode="1"), "decompression bomb"),
        ("cut.jpg", _jpeg()[:3000], "truncated"),
        ("anim.gif", _image("GIF"), "not JPEG, PNG or WebP"),
        ("empty.png", b"", "empty"),
    ],
)
def test_uploads_are_judged_by_their_content(
    shop: Shop, name: str, content: bytes, says: str
) -> None:
    product = _coloured_product(shop)
    before = len(product["media"])
    refused = _upload(shop, {"product": product["id"]}, {"file": (name, content, "image/png")})
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("INVALID_INPUT", ["file"])]
    assert says in refused["userErrors"][0]["message"]
    assert refused["media"] is None
    after = shop.query(
        "query($id: ID!) { node(id: $id) { ... on Product { media { id } } } }",
        {"id": product["id"]},
    )["node"]["media"]
    assert len(after) == before


def test_an_upload_without_a_preflighted_header_is_refused_like_a_form_post(shop: Shop) -> None:
    product = _coloured_product(shop)
    operations = {"query": ADD, "variables": {"product": product["id"], "file": None}}
    response = shop.live.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("x.png", _png(), "image/png")},
    )
    assert response.status_code == 415


def test_an_image_by_url_is_fetched_checked_and_kept(shop: Shop) -> None:
    product = _coloured_product(shop)
    source = product["media"][0]["url"]  # any reachable image will do: the shop's own
    added = shop.query(ADD, {"product": product["id"], "url": source}, token=_staff(shop))
    payload = added["productMediaAdd"]
    assert payload["userErrors"] == [] and payload["media"]["width"] == 800
    missing = shop.query(
        ADD, {"product": product["id"], "url": source + "-gone"}, token=_staff(shop)
    )["productMediaAdd"]
    assert [e["field"] for e in missing["userErrors"]] == [["url"]]
    both = shop.query(ADD, {"product": product["id"]}, token=_staff(shop))["productMediaAdd"]
    assert error_codes(both) == ["INVALID_INPUT"]


def test_images_are_reordered_and_removed_with_their_copies(shop: Shop) -> None:
    product = _coloured_product(shop)
    ids = [m["id"] for m in product["media"]]
    flipped = shop.query(REORDER, {"product": product["id"], "ids": ids[::-1]}, token=_staff(shop))[
        "productMediaReorder"
    ]
    assert flipped["userErrors"] == []
    assert [m["id"] for m in flipped["product"]["media"]] == ids[::-1]
    partial = shop.query(REORDER, {"product": product["id"], "ids": ids[:1]}, token=_staff(shop))[
        "productMediaReorder"
    ]
    assert error_codes(partial) == ["INVALID_INPUT"]

    gone = ids[0]
    thumb = next(m["thumb"] for m in product["media"] if m["id"] == gone)
    assert httpx.get(thumb, timeout=30).status_code == 200
    removed = shop.query(REMOVE, {"product": product["id"], "media": gone}, token=_staff(shop))[
        "productMediaRemove"
    ]
    assert removed["userErrors"] == []
    assert gone not in [m["id"] for m in removed["product"]["media"]]
    assert all(s["image"] is None or s["image"]["id"] != gone for s in removed["product"]["skus"])
    key = thumb.split("/media/", 1)[1].split("?", 1)[0]
    assert not (_root(shop) / key).exists()
    assert not (_root(shop) / "derived" / key).exists()


@pytest.mark.parametrize("viewer", VIEWERS, ids=[v.name for v in VIEWERS])
def test_media_mutations_need_manage_products(shop: Shop, viewer: ViewerCase) -> None:
    product = _coloured_product(shop)
    ids = [m["id"] for m in product["media"]]
    token = token_for(shop.settings, viewer)
    cases = {
        "productMediaAdd": (ADD, {"product": product["id"], "url": product["media"][0]["url"]}),
        "productMediaReorder": (REORDER, {"product": product["id"], "ids": ids}),
        "productMediaRemove": (REMOVE, {"product": product["id"], "media": ids[-1]}),
    }
    for name, (document, variables) in cases.items():
        if viewer.holds_any(("MANAGE_PRODUCTS",)):
            continue  # the tests above run as MANAGE_PRODUCTS staff
        result = shop.live.query(document, variables, token=token)
        assert "errors" not in result, result["errors"]
        payload = result["data"][name]
        assert error_codes(payload) == ["PERMISSION_DENIED"], (name, payload)
        assert payload["product"] is None
    after = shop.query(
        "query($id: ID!) { node(id: $id) { ... on Product { media { id } } } }",
        {"id": product["id"]},
    )["node"]["media"]
    if not viewer.holds_any(("MANAGE_PRODUCTS",)):
        assert [m["id"] for m in after] == ids


# ---------------------------------------------------------------------------------------
# S3-compatible storage: a moto server on a loopback port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch_module.setenv(name, value)
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="shop-media")
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def s3_gateway(s3: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    urls = sqlite_urls(tmp_path_factory.mktemp("media-s3"))
    from tests.conftest import _migrate_and_seed

    run(lambda: _migrate_and_seed(urls, products=60))
    media = {"storage": "s3", "s3_bucket": "shop-media", "s3_endpoint_url": s3,
             "s3_prefix": "shop1/"}  # fmt: skip
    yield from serve(settings_for(urls, media=media, cache={"enabled": False}))


def test_media_on_s3_compatible_storage(s3: str, s3_gateway: LiveGateway) -> None:
    listing = s3_gateway.query(
        "{ products(first: 1) { edges { node { media(first: 1) {"
        " url(transform: {maxWidth: 100, format: JPEG}) } } } } }"
    )
    url = listing["data"]["products"]["edges"][0]["node"]["media"][0]["url"]
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "JPEG" and max(image.size) == 128
    keys = [
        o["Key"]
        for o in boto3.client("s3", endpoint_url=s3)
        .list_objects_v2(Bucket="shop-media")
        .get("Contents", [])
    ]
    assert any(k.startswith("shop1/demo/") for k in keys)
    assert any(k.startswith("shop1/derived/demo/") and k.endswith(".jpg") for k in keys)
