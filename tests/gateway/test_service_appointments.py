"""Service appointments over real HTTP on SQLite and PostgreSQL: staff mark a service line
done (serviceAppointmentComplete, MANAGE_ORDERS) and the order follows. An order of services
only goes PAID -> COMPLETED with its last appointment; an order with parcels and services is
SHIPPED once its parcels are delivered and COMPLETED only when its services are done too.
Completing twice is INVALID_STATUS_TRANSITION and changes nothing; two staff at once: one
wins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.gateway.checkout_helpers import (
    BACKENDS,
    Goods,
    Shop,
    SkuFacts,
    global_id,
    post_all,
    run,
)
from tests.gateway.order_ops import (
    ORDER,
    USER_ERRORS,
    deliver,
    error_codes,
    manager,
    order_shop,
    paid_order,
    pk_of,
    read_order,
    ship,
)
from tests.gateway.permission_cases import VIEWERS, ViewerCase, token_for

COMPLETE_APPOINTMENT = f"""
mutation CompleteAppointment($id: ID!) {{
  serviceAppointmentComplete(appointmentId: $id) {{
    appointment {{ id status line {{ id }} }}
    order {{ {ORDER} }}
    {USER_ERRORS}
  }}
}}"""


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from order_shop(tmp_path_factory, request.param, "appointments")


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


@pytest.fixture(scope="module")
def services(shop: Shop) -> list[SkuFacts]:
    """Published services sold in Shanghai, with room for every order of this module."""
    areas = shop.service_areas()
    found = [
        s
        for s in shop.skus()
        if s.kind == "SERVICE"
        and s.is_published
        and s.is_active
        and s.sale is not None
        and not s.is_presale
        and "CN-SH" in areas.get(s.product_id, set())
        and shop.stock_rows(s.id)
    ]
    assert found, "the demo shop has no service for CN-SH"
    for s in found:
        shop.set_available(s.id, 500)
    return found


def complete(
    shop: Shop, appointment_id: str, *, as_viewer: ViewerCase | None = None
) -> dict[str, Any]:
    """serviceAppointmentComplete as MANAGE_ORDERS staff send it, or as ``as_viewer``."""
    token = manager(shop) if as_viewer is None else token_for(shop.settings, as_viewer)
    result = shop.live.query(COMPLETE_APPOINTMENT, {"id": appointment_id}, token=token)
    assert "errors" not in result, result["errors"]
    payload: dict[str, Any] = result["data"]["serviceAppointmentComplete"]
    return payload


def _history(order: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(h["fromStatus"], h["toStatus"]) for h in order["statusHistory"]]


def _appointment_rows(shop: Shop, order_id: str) -> list[str]:
    return [
        status
        for (status,) in shop.sql(
            "orders",
            "SELECT status FROM service_appointments WHERE order_id = :o ORDER BY id",
            {"o": pk_of(order_id)},
        )
    ]


def test_an_order_of_services_only_completes_with_its_last_appointment(
    shop: Shop, services: list[SkuFacts]
) -> None:
    lines = [(s.id, 1) for s in services[:2]]
    order = paid_order(shop, lines, buyer=1, key="services-only")
    assert order["shipments"] == []
    appointments = order["serviceAppointments"]
    assert len(appointments) == len(lines)
    assert {a["status"] for a in appointments} == {"TO_SCHEDULE"}

    *first, last = appointments
    for appointment in first:
        payload = complete(shop, appointment["id"])
        assert payload["userErrors"] == []
        assert payload["appointment"]["id"] == appointment["id"]
        assert payload["appointment"]["status"] == "DONE"
        assert payload["order"]["status"] == "PAID"

    done = complete(shop, last["id"])
    assert done["userErrors"] == []
    assert done["appointment"] == {"id": last["id"], "status": "DONE", "line": last["line"]}
    assert done["order"]["status"] == "COMPLETED"
    assert {a["status"] for a in done["order"]["serviceAppointments"]} == {"DONE"}
    assert _history(done["order"])[-1] == ("PAID", "COMPLETED")
    assert done["order"]["statusHistory"][-1]["reason"] == (
        f"service appointment {pk_of(last['id'])} done"
    )
    assert done["order"]["statusHistory"][-1]["actor"]
    assert read_order(shop, order["id"])["status"] == "COMPLETED"


def test_a_mixed_order_is_shipped_until_its_installation_is_done(
    shop: Shop, goods: Goods, services: list[SkuFacts]
) -> None:
    plain, installation = goods.take(), services[0]
    order = paid_order(shop, [(plain.id, 1), (installation.id, 1)], buyer=2, key="mixed")
    assert len(order["shipments"]) == 1 and len(order["serviceAppointments"]) == 1
    parcel, appointment = order["shipments"][0], order["serviceAppointments"][0]

    assert ship(shop, parcel["id"])["userErrors"] == []
    delivered = deliver(shop, parcel["id"])
    assert delivered["userErrors"] == []
    assert delivered["shipment"]["order"]["status"] == "SHIPPED"
    after_delivery = read_order(shop, order["id"])
    assert after_delivery["status"] == "SHIPPED"
    assert "COMPLETED" not in [to for _, to in _history(after_delivery)]

    done = complete(shop, appointment["id"])
    assert done["userErrors"] == []
    assert done["order"]["status"] == "COMPLETED"
    assert _history(done["order"])[-1] == ("SHIPPED", "COMPLETED")


def test_an_installation_done_before_delivery_completes_the_order_on_delivery(
    shop: Shop, goods: Goods, services: list[SkuFacts]
) -> None:
    plain, installation = goods.take(), services[0]
    order = paid_order(shop, [(plain.id, 1), (installation.id, 1)], buyer=3, key="early")
    parcel, appointment = order["shipments"][0], order["serviceAppointments"][0]

    done = complete(shop, appointment["id"])
    assert done["userErrors"] == []
    assert done["order"]["status"] == "PAID", "the parcel has not left yet"
    assert ship(shop, parcel["id"])["userErrors"] == []
    delivered = deliver(shop, parcel["id"])
    assert delivered["userErrors"] == []
    assert delivered["shipment"]["order"]["status"] == "COMPLETED"


def test_completing_twice_or_an_unknown_appointment_is_refused_and_changes_nothing(
    shop: Shop, services: list[SkuFacts]
) -> None:
    order = paid_order(shop, [(services[0].id, 1)], buyer=4, key="twice")
    appointment = order["serviceAppointments"][0]
    assert complete(shop, appointment["id"])["userErrors"] == []
    before = read_order(shop, order["id"])

    again = complete(shop, appointment["id"])
    assert error_codes(again) == ["INVALID_STATUS_TRANSITION"]
    assert again["userErrors"][0]["field"] == ["appointmentId"]
    assert (again["appointment"], again["order"]) == (None, None)
    assert read_order(shop, order["id"]) == before

    for unknown in (global_id("ServiceAppointment", 999_999), "not-an-id"):
        missing = complete(shop, unknown)
        assert error_codes(missing) == ["APPOINTMENT_NOT_FOUND"]
        assert missing["appointment"] is None


@pytest.mark.parametrize("viewer", VIEWERS, ids=[v.name for v in VIEWERS])
def test_completing_an_appointment_needs_manage_orders(
    shop: Shop, services: list[SkuFacts], viewer: ViewerCase
) -> None:
    order = paid_order(shop, [(services[0].id, 1)], buyer=5, key=f"matrix-{viewer.name}")
    appointment = order["serviceAppointments"][0]
    payload = complete(shop, appointment["id"], as_viewer=viewer)
    after = read_order(shop, order["id"])
    if viewer.holds_any(("MANAGE_ORDERS",)):
        assert payload["userErrors"] == []
        assert payload["appointment"]["status"] == "DONE"
        assert after["status"] == "COMPLETED"
        assert _appointment_rows(shop, order["id"]) == ["DONE"]
    else:
        assert error_codes(payload) == ["PERMISSION_DENIED"]
        assert (payload["appointment"], payload["order"]) == (None, None)
        assert after["status"] == "PAID"
        assert _history(after) == _history(order)
        assert _appointment_rows(shop, order["id"]) == ["TO_SCHEDULE"]


def test_two_staff_completing_one_appointment_at_once_complete_it_once(
    shop: Shop, services: list[SkuFacts]
) -> None:
    order = paid_order(shop, [(services[0].id, 1)], buyer=6, key="race")
    appointment = order["serviceAppointments"][0]
    token = manager(shop)
    variables = {"id": appointment["id"]}
    results = run(lambda: post_all(shop.live.url, [(COMPLETE_APPOINTMENT, variables, token)] * 4))
    payloads = [r["data"]["serviceAppointmentComplete"] for r in results]
    assert sorted(error_codes(p) for p in payloads) == [[]] + [["INVALID_STATUS_TRANSITION"]] * 3
    after = read_order(shop, order["id"])
    assert after["status"] == "COMPLETED"
    assert [to for _, to in _history(after)].count("COMPLETED") == 1
    assert _appointment_rows(shop, order["id"]) == ["DONE"]
