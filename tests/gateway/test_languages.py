"""A storefront in Chinese and English, over HTTP on both backends: the request's
Accept-Language picks the language of product, category, brand and promotion text (the
shop's default without one), the response says which (Content-Language, Vary), a cached
answer in one language is never served to a request for the other, and a listing costs the
same source calls in either. Staff see and set a product's translations, and search finds
the new text on the next request."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.i18n.settings import LanguageSettings
from gateway.settings import ConfigurationError, Settings, load_settings
from gateway.setup.shop import with_shop_profile
from sources.orders.records import ShopProfile
from tests.conftest import serve, settings_for
from tests.gateway.checkout_helpers import BACKENDS, Shop
from tests.gateway.order_ops import order_shop

LISTING = """
query Listing {
  products(first: 6, filter: {categorySlug: "headphones"}, sort: NEWEST) {
    edges { node { id name description brand category { name parent { name } }
                   promotions { name description } } }
  }
}"""
PRODUCT = """
query One($id: ID!) {
  node(id: $id) { ... on Product { name description translations { language name description } } }
}"""
UPDATE = """
mutation($id: ID!, $input: ProductInput!) {
  productUpdate(productId: $id, input: $input) {
    product { name translations { language name description } }
    userErrors { code field message }
  }
}"""
SEARCH = """
query Find($query: String!) { search(query: $query, first: 5) { edges { node { id name } } } }
"""
LISTING_CALLS = {
    "catalog.list_products": 1,
    "catalog.categories_by_ids": 1,
    "pricing.promotions_for_products": 1,
}


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    # The shared cache and the response cache on (in process): what a buyer is served.
    yield from order_shop(tmp_path_factory, request.param, "languages", cache={"enabled": True})


def post(
    shop: Shop,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    language: str | None = None,
    token: str | None = None,
) -> httpx.Response:
    headers = {"Accept-Language": language} if language is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = shop.live.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.json()
    return response


def nodes(response: httpx.Response) -> list[dict[str, Any]]:
    return [e["node"] for e in response.json()["data"]["products"]["edges"]]


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_a_buyer_reads_the_shop_in_the_language_their_browser_asks_for(shop: Shop) -> None:
    english = post(shop, LISTING, language="en-US,en;q=0.9")
    chinese = post(shop, LISTING, language="zh-CN,zh;q=0.9,en;q=0.8")

    en, zh = nodes(english), nodes(chinese)
    assert [p["id"] for p in en] == [p["id"] for p in zh] and len(en) >= 3
    for e, z in zip(en, zh, strict=True):
        assert not _is_chinese(e["name"]) and _is_chinese(z["name"])
        assert "耳机" in z["name"] and ("Headphones" in e["name"] or "Headset" in e["name"]
                                      or "Earbuds" in e["name"])  # fmt: skip
        assert _is_chinese(z["description"]) and not _is_chinese(e["description"])
        assert (e["category"]["name"], z["category"]["name"]) == ("Headphones", "耳机")
        assert (e["category"]["parent"]["name"], z["category"]["parent"]["name"]) == (
            "Audio",
            "影音",
        )
        assert _is_chinese(z["brand"]) and not _is_chinese(e["brand"])
    promotions = {(p["name"], q["name"]) for e, z in zip(en, zh, strict=True)
                  for p, q in zip(e["promotions"], z["promotions"], strict=True)}  # fmt: skip
    assert ("Audio week: 15% off", "影音周：85折") in promotions  # noqa: RUF001
    assert english.headers["content-language"] == "en"
    assert chinese.headers["content-language"] == "zh-CN"
    for response in (english, chinese):
        assert "accept-language" in response.headers["vary"].lower()
        assert "authorization" in response.headers["vary"].lower()  # the cache's own, kept


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),  # the shop's default (GATEWAY_DEFAULT_LANGUAGE)
        ("fr-FR, de;q=0.8", "zh-CN"),  # nothing the shop offers: the default
        ("zh-TW", "zh-CN"),  # Traditional Chinese is not offered: the default
        ("fr, en;q=0.5", "en"),  # the first the shop offers, by weight
        ("zh-CN;q=0.4, en;q=0.8", "en"),  # weights, not order
        ("en;q=0, zh", "zh-CN"),  # q=0: not this one
        ("EN-gb", "en"),  # case and region
    ],
)
def test_the_language_is_negotiated_with_weights_and_falls_back_to_the_default(
    shop: Shop, header: str | None, expected: str
) -> None:
    response = post(shop, LISTING, language=header)

    assert response.headers["content-language"] == expected
    names = [p["name"] for p in nodes(response)]
    assert all(_is_chinese(n) == (expected == "zh-CN") for n in names)


def test_a_cached_answer_in_one_language_is_never_served_in_the_other(shop: Shop) -> None:
    query = LISTING.replace("first: 6", "first: 4")  # an entry of this test's own
    first_zh = post(shop, query, language="zh-CN")
    first_en = post(shop, query, language="en")
    again_zh = post(shop, query, language="zh-CN")
    again_en = post(shop, query, language="en")
    default = post(shop, query)  # no header: the default, zh-CN, from the same entry

    assert (first_zh.headers["x-cache"], first_en.headers["x-cache"]) == ("MISS", "MISS")
    assert (again_zh.headers["x-cache"], again_en.headers["x-cache"]) == ("HIT", "HIT")
    assert again_zh.json() == first_zh.json() == default.json() != first_en.json()
    assert again_en.json() == first_en.json()
    assert again_zh.headers["content-language"] == default.headers["content-language"] == "zh-CN"
    assert again_en.headers["content-language"] == "en"
    assert "accept-language" in again_en.headers["vary"].lower()
    assert again_zh.headers["etag"] != again_en.headers["etag"]


def test_a_listing_costs_the_same_source_calls_in_either_language(shop: Shop) -> None:
    # A shop without its caches: every read reaches a source, once per batch.
    for live in serve(settings_for(shop.urls, cache={"enabled": False})):
        calls = {}
        for language in ("zh-CN", "en"):
            before = live.source_calls()
            response = live.client.post(
                "/graphql", json={"query": LISTING}, headers={"Accept-Language": language}
            )
            assert "errors" not in response.json()
            after = live.source_calls()
            calls[language] = {
                f"{s}.{m}": int(n - before.get((s, m), 0))
                for (s, m), n in after.items()
                if n - before.get((s, m), 0) > 0
            }
    assert calls["zh-CN"] == calls["en"] == LISTING_CALLS


FACETS = """
query Facets($query: String!) {
  search(query: $query, first: 3) {
    edges { node { name } }
    facets { name label values { value label } }
  }
}"""


def test_search_results_and_their_facets_answer_in_the_request_language(shop: Shop) -> None:
    zh = post(shop, FACETS, {"query": "耳机"}, language="zh-CN").json()["data"]["search"]
    en = post(shop, FACETS, {"query": "耳机"}, language="en").json()["data"]["search"]

    assert all(_is_chinese(e["node"]["name"]) for e in zh["edges"])
    assert not any(_is_chinese(e["node"]["name"]) for e in en["edges"])
    labels = {
        language: {f["name"]: (f["label"], {v["value"]: v["label"] for v in f["values"]})
                   for f in found["facets"]}
        for language, found in (("zh", zh), ("en", en))
    }  # fmt: skip
    assert labels["zh"]["category"][0] == "分类" and labels["en"]["category"][0] == "Category"
    assert labels["zh"]["category"][1]["headphones"] == "耳机"
    assert labels["en"]["category"][1]["headphones"] == "Headphones"
    assert labels["zh"]["brand"][1].keys() == labels["en"]["brand"][1].keys()  # values stay
    assert all(_is_chinese(label) for label in labels["zh"]["brand"][1].values())
    assert labels["zh"]["availability"][1].get("IN_STOCK") == "有货"
    assert (labels["zh"]["price"][0], labels["en"]["price"][0]) == ("价格", "Price")
    assert labels["zh"]["price"][1] == labels["en"]["price"][1]  # ¥100-300 reads alike


def test_an_answer_without_translated_text_says_no_language(shop: Shop) -> None:
    response = post(shop, "{ shippingRegions { code } }", language="en")

    assert "content-language" not in response.headers
    assert "accept-language" not in response.headers.get("vary", "").lower()


def test_staff_set_translations_buyers_see_them_and_search_finds_them(shop: Shop) -> None:
    staff = shop.staff_token("MANAGE_PRODUCTS")
    product = nodes(post(shop, LISTING, language="en"))[0]
    before = post(shop, PRODUCT, {"id": product["id"]}, token=staff).json()["data"]["node"]
    assert [t["language"] for t in before["translations"]] == ["zh-CN"]
    post(shop, LISTING, language="zh-CN")  # a cached zh-CN listing the write must drop

    written = post(
        shop,
        UPDATE,
        {
            "id": product["id"],
            "input": {
                "translations": [
                    {"language": "zh-cn", "name": "星河 旗舰 头戴耳机", "description": "新的描述"},
                    {"language": "en", "name": "Galaxy Flagship Headphones"},
                ]
            },
        },
        token=staff,
    ).json()["data"]["productUpdate"]

    assert written["userErrors"] == []
    assert written["product"]["translations"] == [
        {"language": "en", "name": "Galaxy Flagship Headphones", "description": None},
        {"language": "zh-CN", "name": "星河 旗舰 头戴耳机", "description": "新的描述"},
    ]
    zh = next(p for p in nodes(post(shop, LISTING, language="zh-CN")) if p["id"] == product["id"])
    en = next(p for p in nodes(post(shop, LISTING, language="en")) if p["id"] == product["id"])
    assert (zh["name"], zh["description"]) == ("星河 旗舰 头戴耳机", "新的描述")
    # An English translation wins over the base name; its description falls back to the base.
    assert (en["name"], en["description"]) == ("Galaxy Flagship Headphones", product["description"])
    for query, language in (("星河", "zh-CN"), ("xinghe", "zh-CN"), ("galaxy", "en")):
        found = post(shop, SEARCH, {"query": query}, language=language).json()["data"]["search"]
        assert product["id"] in [e["node"]["id"] for e in found["edges"]], query
    buyer = post(shop, PRODUCT, {"id": product["id"]}).json()["data"]["node"]
    assert buyer["translations"] is None  # staff only


@pytest.mark.parametrize(
    ("translations", "field"),
    [
        ([{"language": "not a tag", "name": "x"}], ["input", "translations", "0", "language"]),
        ([{"language": "zh-CN", "name": "  "}], ["input", "translations", "0", "name"]),
        (
            [{"language": "en", "name": "a"}, {"language": "EN", "name": "b"}],
            ["input", "translations", "1", "language"],
        ),
    ],
)
def test_a_bad_translation_is_a_user_error_on_its_field(
    shop: Shop, translations: list[dict[str, str]], field: list[str]
) -> None:
    staff = shop.staff_token("MANAGE_PRODUCTS")
    product = nodes(post(shop, LISTING, language="en"))[1]

    payload = post(
        shop, UPDATE, {"id": product["id"], "input": {"translations": translations}}, token=staff
    ).json()["data"]["productUpdate"]

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", field)]
    assert payload["product"] is None


def _profile(*languages: str) -> ShopProfile:
    return ShopProfile("A shop", "CNY", languages, None)


def test_the_shop_profile_names_the_default_unless_the_environment_does() -> None:
    english_first = with_shop_profile(Settings(), _profile("en", "zh-CN")).languages
    chinese_only = with_shop_profile(Settings(), _profile("zh-CN")).languages
    explicit = Settings(languages=LanguageSettings(default="en"))
    kept = with_shop_profile(explicit, _profile("zh-CN")).languages

    assert (english_first.default, english_first.offered) == ("en", ("en", "zh-CN"))
    assert (chinese_only.default, chinese_only.offered) == ("zh-CN", ("zh-CN",))
    # GATEWAY_DEFAULT_LANGUAGE has the last word, and is offered even if the profile omits it.
    assert (kept.default, kept.offered) == ("en", ("en", "zh-CN"))
    assert with_shop_profile(Settings(), None).languages == LanguageSettings()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAY_DEFAULT_LANGUAGE": "fr"}, "GATEWAY_DEFAULT_LANGUAGE 'fr' is not one of"),
        ({"GATEWAY_DEFAULT_LANGUAGE": "zh_CN"}, "GATEWAY_DEFAULT_LANGUAGE='zh_CN'"),
        ({"GATEWAY_LANGUAGES": "en,??"}, "GATEWAY_LANGUAGES='en,??'"),
        ({"SEARCH_SYNONYMS_FILE": "/no/such/synonyms.txt"}, "SEARCH_SYNONYMS_FILE="),
    ],
)
def test_a_bad_language_or_synonym_setting_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError, match=re.escape(message)):
        load_settings()


PROMOTION = """
query($id: ID!) { node(id: $id) { ... on Promotion {
  name description translations { language name description } } } }"""
PROMOTION_UPDATE = """
mutation($id: ID!, $input: PromotionInput!) {
  promotionUpdate(promotionId: $id, input: $input) {
    promotion { name translations { language name description } }
    userErrors { code field message }
  }
}"""


def test_staff_set_a_promotions_translations_and_buyers_read_them(shop: Shop) -> None:
    staff = shop.staff_token("MANAGE_PRICES")
    audio_week = base64.b64encode(b"Promotion:4").decode()  # "Audio week: 15% off"
    before = post(shop, PROMOTION, {"id": audio_week}, token=staff).json()["data"]["node"]
    assert before["translations"][0]["name"] == "影音周：85折"  # noqa: RUF001

    written = post(
        shop,
        PROMOTION_UPDATE,
        {
            "id": audio_week,
            "input": {"translations": [{"language": "ZH-cn", "name": "耳机音箱节"}]},
        },
        token=staff,
    ).json()["data"]["promotionUpdate"]
    refused = post(
        shop,
        PROMOTION_UPDATE,
        {"id": audio_week, "input": {"translations": [{"language": "zh-CN", "name": ""}]}},
        token=staff,
    ).json()["data"]["promotionUpdate"]

    assert written["userErrors"] == []
    assert written["promotion"]["translations"] == [
        {"language": "zh-CN", "name": "耳机音箱节", "description": None}
    ]
    zh = post(shop, PROMOTION, {"id": audio_week}, language="zh-CN").json()["data"]["node"]
    en = post(shop, PROMOTION, {"id": audio_week}, language="en").json()["data"]["node"]
    # Terms without a translation fall back to the base ones; buyers never see the list.
    assert (zh["name"], zh["description"], zh["translations"]) == (
        "耳机音箱节",
        en["description"],
        None,
    )
    assert en["name"] == "Audio week: 15% off"
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
        ("INVALID_INPUT", ["input", "translations", "0", "name"])
    ]
