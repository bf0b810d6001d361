"""With the shared cache on (the in-process one: no Redis configured), what a back-office
write changes shows on the very next read: the product page, its specifications, its
images and its listing are dropped, not served stale for a TTL; an archived product
cannot be published again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.checkout_helpers import BACKENDS, Shop
from tests.gateway.order_ops import error_codes, order_shop

PAGE = """
query($slug: String!) {
  product(slug: $slug) {
    id name tags seo { title }
    specifications { attribute { code } display }
    media { id }
  }
}"""
LISTED = """
query($search: String!) {
  products(first: 5, filter: {search: $search}) { edges { node { name } } }
}"""


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from order_shop(
        tmp_path_factory,
        request.param,
        "catalog-cache",
        cache={"enabled": True},
        # The base text staff write (productUpdate's name) is what an English buyer reads;
        # a zh-CN buyer reads the product's Chinese translation (test_languages.py).
        languages={"default": "en"},
        media={"root": str(tmp_path_factory.mktemp("media")), "fetch_allow_private": True},
    )


def test_writes_show_on_the_next_read_through_the_cache(shop: Shop) -> None:
    token = shop.staff_token("MANAGE_PRODUCTS")
    listing = shop.query("{ products(first: 1) { edges { node { slug name } } } }")
    slug = listing["products"]["edges"][0]["node"]["slug"]
    before = shop.query(PAGE, {"slug": slug})["product"]
    again, calls = shop.live.calls_during(PAGE, {"slug": slug})
    assert again["data"]["product"] == before
    assert not {"catalog.specifications_by_product_ids", "catalog.media_by_product_ids"} & set(
        calls
    ), f"the page was not served from the cache: {calls}"

    renamed = shop.query(
        "mutation($id: ID!, $input: ProductInput!) { productUpdate(productId: $id,"
        " input: $input) { userErrors { code } } }",
        {
            "id": before["id"],
            "input": {"name": "Renamed Lamp", "tags": ["sale"], "seoTitle": "Lamp",
                      "specifications": []},
        },
        token=token,
    )  # fmt: skip
    assert renamed["productUpdate"]["userErrors"] == []
    after = shop.query(PAGE, {"slug": slug})["product"]
    assert after["name"] == "Renamed Lamp" and after["tags"] == ["sale"]
    assert after["seo"]["title"] == "Lamp" and after["specifications"] == []
    names = shop.query(LISTED, {"search": "Renamed Lamp"})["products"]["edges"]
    assert [e["node"]["name"] for e in names] == ["Renamed Lamp"]

    media = before["media"]
    removed = shop.query(
        "mutation($p: ID!, $m: ID!) { productMediaRemove(productId: $p, mediaId: $m)"
        " { userErrors { code } } }",
        {"p": before["id"], "m": media[0]["id"]},
        token=token,
    )
    assert removed["productMediaRemove"]["userErrors"] == []
    assert shop.query(PAGE, {"slug": slug})["product"]["media"] == media[1:]

    archived = shop.query(
        "mutation($id: ID!) { productArchive(productId: $id) { userErrors { code } } }",
        {"id": before["id"]},
        token=token,
    )
    assert archived["productArchive"]["userErrors"] == []
    assert shop.query(PAGE, {"slug": slug})["product"] is None  # unpublished: not found
    again = shop.query(
        "mutation($id: ID!) { productPublish(productId: $id, published: true)"
        " { userErrors { code field message } } }",
        {"id": before["id"]},
        token=token,
    )["productPublish"]
    assert error_codes(again) == ["PRODUCT_ARCHIVED"]
