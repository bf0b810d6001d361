"""Signing in with a real identity provider: RS256 tokens verified against its JWKS URL
(issuer and audience checked, rotated keys picked up), and sign-up at the provider alone:
a valid token with an unseen subject becomes a customer on first use, once, whatever the
concurrency."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sources.common.db import Database
from sources.orders import models as orders
from tests.conftest import LiveGateway, serve, settings_for

from .identity_provider import IdentityProvider, SigningKey, identity_provider

VIEWER = "query { viewer { id email name } }"


def _post(live: LiveGateway, token: str, query: str = VIEWER) -> httpx.Response:
    return live.client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    )


def _customers_with(url: str, **where: Any) -> int:
    async def count() -> int:
        db = Database(url)
        try:
            async with db.connect() as conn:
                query = select(func.count()).select_from(orders.Customer)
                for column, value in where.items():
                    query = query.where(getattr(orders.Customer, column) == value)
                return int(await conn.scalar(query) or 0)
        finally:
            await db.dispose()

    return asyncio.run(count())


def test_a_new_subject_becomes_a_customer_on_first_use(
    live: LiveGateway, provider: IdentityProvider, accounts_shop: dict[str, str]
) -> None:
    subject = f"auth0|{uuid.uuid4().hex}"
    token = provider.token(subject, email="Mei.Lin@Example.com", name="林美")

    first = live.query(VIEWER, token=token)
    again = live.query(VIEWER, token=token)

    viewer = first["data"]["viewer"]
    assert viewer["email"] == "mei.lin@example.com" and viewer["name"] == "林美"
    assert again == first
    assert _customers_with(accounts_shop["orders"], subject=subject) == 1


def test_claim_names_are_configurable(
    accounts_shop: dict[str, str], provider: IdentityProvider
) -> None:
    settings = settings_for(
        accounts_shop,
        **provider.settings(),
        jwt_email_claim="https://shop.example/email",
        jwt_name_claim="nickname",
    )
    token = provider.token(
        f"kc-{uuid.uuid4().hex}", **{"https://shop.example/email": "kc@example.com"}, nickname="K"
    )
    for live in serve(settings):
        assert live.query(VIEWER, token=token)["data"]["viewer"]["email"] == "kc@example.com"


def test_two_first_requests_at_once_create_one_customer(
    live: LiveGateway, provider: IdentityProvider, accounts_shop: dict[str, str]
) -> None:
    subject = f"race|{uuid.uuid4().hex}"
    token = provider.token(subject, email=f"{subject[5:]}@example.com", name="Racer")

    async def many() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/graphql",
                        json={"query": VIEWER},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    for _ in range(8)
                )
            )

    responses = asyncio.run(many())

    assert [r.status_code for r in responses] == [200] * 8
    ids = {r.json()["data"]["viewer"]["id"] for r in responses}
    assert len(ids) == 1
    assert _customers_with(accounts_shop["orders"], subject=subject) == 1


def test_the_first_request_costs_the_source_calls_and_the_next_none(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token = provider.token(f"calls|{uuid.uuid4().hex}", email="calls@example.com")
    query = "query { products(first: 1) { totalCount } }"

    _, first = live.calls_during(query, token=token)
    _, second = live.calls_during(query, token=token)

    account_calls = {"orders.customers_by_subjects", "orders.customer_for_subject"}
    assert {k: v for k, v in first.items() if k in account_calls} == dict.fromkeys(account_calls, 1)
    assert not set(second) & account_calls


def test_a_token_without_an_email_cannot_make_a_customer(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    response = _post(live, provider.token(f"noemail|{uuid.uuid4().hex}"))

    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "TOKEN_INVALID"
    assert "email" in error["message"]


def test_an_email_that_is_another_customers_is_a_conflict_not_a_takeover(
    live: LiveGateway, provider: IdentityProvider, accounts_shop: dict[str, str]
) -> None:
    # customer2@example.com is a customer the shop made itself (the demo seed's).
    unverified = provider.token(f"x|{uuid.uuid4().hex}", email="customer2@example.com")

    refused = _post(live, unverified)

    assert refused.status_code == 409
    assert refused.json()["errors"][0]["extensions"]["code"] == "CUSTOMER_EMAIL_TAKEN"
    assert _customers_with(accounts_shop["orders"], email="customer2@example.com") == 1


def test_a_verified_email_links_the_customer_the_shop_already_had(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token = provider.token(
        f"link|{uuid.uuid4().hex}", email="customer3@example.com", email_verified=True
    )
    other = provider.token(
        f"link|{uuid.uuid4().hex}", email="customer3@example.com", email_verified=True
    )

    linked = live.query(
        "query { viewer { id email orders(first: 1) { totalCount } } }", token=token
    )
    second_subject = _post(live, other)

    assert linked["data"]["viewer"]["email"] == "customer3@example.com"
    # Only a customer without a subject is linked: a second subject is a conflict.
    assert second_subject.status_code == 409


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"issuer": "https://evil.example/"}, "unknown issuer"),
        ({"audience": "another-app"}, "another audience"),
        ({"ttl": -120}, "expired"),
    ],
)
def test_issuer_audience_and_expiry_are_checked(
    live: LiveGateway, provider: IdentityProvider, claims: dict[str, Any], message: str
) -> None:
    response = _post(live, provider.token("someone", email="someone@example.com", **claims))

    assert response.status_code == 401
    assert message in response.json()["errors"][0]["message"]


def test_a_token_signed_by_a_key_the_provider_never_published_is_refused(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    forged = provider.token("forger", key=SigningKey.new(), email="forger@example.com")

    response = _post(live, forged)

    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "the bearer token's key id is not known"


def test_rotated_keys_are_picked_up_and_retired_ones_refused(
    accounts_shop: dict[str, str],
) -> None:
    with identity_provider() as provider:
        old_key = provider.published[0]
        for live in serve(settings_for(accounts_shop, **provider.settings())):
            subject = f"rot|{uuid.uuid4().hex}"
            before = live.query(VIEWER, token=provider.token(subject, email=f"{subject[4:]}@e.com"))
            fetches_before = provider.fetches

            new_key = provider.rotate()
            with_new = live.query(VIEWER, token=provider.token(subject, key=new_key))
            with_old = _post(live, provider.token(subject, key=old_key))
            again = live.query(VIEWER, token=provider.token(subject, key=new_key))

            assert before["data"]["viewer"] is not None
            assert with_new["data"]["viewer"] == before["data"]["viewer"]
            assert with_old.status_code == 401
            assert again == with_new
            # The new kid cost one fetch, the retired one at most one more; a known kid none.
            assert 1 <= provider.fetches - fetches_before <= 2


def test_an_unknown_kid_flood_does_not_hammer_the_provider(accounts_shop: dict[str, str]) -> None:
    with identity_provider() as provider:
        settings = settings_for(
            accounts_shop, **{**provider.settings(), "jwt_jwks_cooldown_seconds": 60}
        )
        for live in serve(settings):
            live.query(VIEWER, token=provider.token("warm", email="warm@example.com"))
            fetched = provider.fetches
            for _ in range(5):
                forged = provider.token("f", key=SigningKey.new(), email="f@example.com")
                assert _post(live, forged).status_code == 401

            assert provider.fetches == fetched


def test_an_unreachable_provider_is_a_503_not_a_401(accounts_shop: dict[str, str]) -> None:
    with identity_provider() as provider:
        token = provider.token("x", email="x@example.com")
        settings = settings_for(accounts_shop, **provider.settings())
    # The provider is gone before the gateway ever fetched its keys.
    for live in serve(settings):
        response = _post(live, token)

    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "IDENTITY_PROVIDER_UNAVAILABLE"


def test_staff_tokens_from_the_provider_carry_their_permissions(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token = provider.token("staff-7", kind="staff", permissions=["MANAGE_ORDERS"])

    result = live.query("query { orders(first: 1) { totalCount } viewer { id } }", token=token)

    assert result["data"]["viewer"] is None
    assert isinstance(result["data"]["orders"]["totalCount"], int)
