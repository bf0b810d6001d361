"""Queries generated from the exported schema, valid (hypothesis-graphql's positive mode)
and invalid (its negative mode, and raw text), against a production gateway over HTTP:
never a 500, never an unmasked or unexpected exception, always a well-formed response."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema

from tests.conftest import LiveGateway
from tests.fuzz.support import CUSTOM_SCALARS, SCHEMA, check_response, examples, production_gateway

pytestmark = pytest.mark.long(seconds=30)  # tests/ordering.py: started first on a worker


@pytest.fixture(scope="module")
def live(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from production_gateway(sqlite_shop)


VALID = from_schema(SCHEMA, custom_scalars=CUSTOM_SCALARS, allow_x00=False)
INVALID = from_schema(SCHEMA, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE)


# Each valid document is executed against the demo shop (the suite's costliest fuzzer):
# 100 here, `make fuzz` ten times as many.
@examples(100)
@given(query=VALID)
def test_generated_queries_and_mutations(live: LiveGateway, query: str) -> None:
    check_response(live.client.post("/graphql", json={"query": query}))


@examples(150)
@given(query=INVALID)
def test_generated_invalid_documents(live: LiveGateway, query: str) -> None:
    body = check_response(live.client.post("/graphql", json={"query": query}))
    assert body.get("errors") or body.get("data") is not None


@examples(250)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.dictionaries(
            st.sampled_from(["query", "variables", "operationName", "extensions"]),
            st.one_of(st.none(), st.integers(), st.text(max_size=50), st.lists(st.integers())),
        ).map(lambda d: json.dumps(d).encode()),
    ),
    accept=st.sampled_from(["application/json", "application/graphql-response+json", "*/*"]),
)
def test_arbitrary_bodies(live: LiveGateway, body: bytes, accept: str) -> None:
    response = live.client.post(
        "/graphql", content=body, headers={"content-type": "application/json", "accept": accept}
    )
    if accept.startswith("application/graphql-response"):
        response.headers["content-type"] = "application/json"  # the same JSON, relabelled
    check_response(response)
