"""Query.shippingRegions: an address form's regions before `gateway init` (the demo shop
has regions but no profile, so `shop` is null), named in English and Chinese."""

from __future__ import annotations

from tests.conftest import LiveGateway

QUERY = """
{
  shop { name }
  shippingRegions {
    code country name names { language text } isDeliverable shippingRate { amount }
  }
}
"""


def test_an_address_form_gets_its_regions_before_the_shop_is_set_up(
    gateway: LiveGateway,
) -> None:
    data = gateway.query(QUERY)["data"]
    assert data["shop"] is None
    regions = {r["code"]: r for r in data["shippingRegions"]}
    shanghai = regions["CN-SH"]
    assert shanghai["country"] == "CN" and shanghai["name"] == "Shanghai"
    assert {n["language"]: n["text"] for n in shanghai["names"]}["zh-CN"].startswith("上海")
    assert shanghai["isDeliverable"] and shanghai["shippingRate"] is not None
    undeliverable = [r for r in regions.values() if not r["isDeliverable"]]
    assert all(r["shippingRate"] is None for r in undeliverable)
