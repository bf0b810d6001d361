"""What the audits imply, as a storefront developer sees it: the media type follows Accept,
a request that never ran is a 400 without `data` under graphql-response+json, mutations
need POST, and no cross-site form or text/plain POST reaches the executor."""

from __future__ import annotations

import pytest

from gateway.http_media import negotiate
from tests.conftest import LiveGateway

GQL = "application/graphql-response+json"


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GQL, GQL),
        (f"{GQL}, application/json;q=0.9", GQL),
        (f"application/json, {GQL};q=0.5", "application/json"),
        (f"{GQL};q=0", "application/json"),
    ],
)
def test_accept_picks_the_media_type(accept: str, media: str) -> None:
    assert negotiate(accept) == media


def test_a_query_answers_in_the_accepted_media_type(gateway: LiveGateway) -> None:
    body = {"query": "{ categories { slug } }"}
    response = gateway.client.post("/graphql", json=body, headers={"accept": GQL})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GQL)
    assert response.json()["data"]["categories"]
    plain = gateway.client.post("/graphql", json=body)
    assert plain.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ categories { slug "},
        {"query": "{ nope }"},
        {"query": "query Q($n: Int!) { products(first: $n) { totalCount } }", "variables": {}},
    ],
    ids=["parse", "validation", "variable-coercion"],
)
def test_a_request_that_never_ran_is_a_400_without_data(
    gateway: LiveGateway, body: dict[str, object]
) -> None:
    response = gateway.client.post("/graphql", json=body, headers={"accept": GQL})
    assert response.status_code == 400
    assert "data" not in response.json() and response.json()["errors"]
    classic = gateway.client.post("/graphql", json=body)
    assert classic.status_code == 200 and classic.json()["data"] is None


def test_a_mutation_over_get_is_405_naming_post(gateway: LiveGateway) -> None:
    response = gateway.client.get(
        "/graphql", params={"query": "mutation { __typename }"}, headers={"accept": GQL}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
def test_a_post_a_browser_could_send_cross_site_is_refused(
    gateway: LiveGateway, content_type: str
) -> None:
    response = gateway.client.post(
        "/graphql",
        content=b'{"query": "mutation { __typename }"}',
        headers={"content-type": content_type},
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
