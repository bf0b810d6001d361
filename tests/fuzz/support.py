"""The fuzzers' shared parts: a production gateway on a shop of its own (masking on,
suggestions off, the rate limit off so thousands of requests from one address all run),
strategies for the schema's custom scalars, and the check every response must pass."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import httpx
from graphql import build_schema
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from tests.conftest import LiveGateway, serve, settings_for

SCHEMA_SDL = (
    __import__("pathlib").Path(__file__).resolve().parents[2] / "schema.graphql"
).read_text()
SCHEMA = build_schema(SCHEMA_SDL)
PRODUCTION_SECRET = "production-fuzz-secret-0123456789abcdef"
# FUZZ_SCALE=10 for a longer hunt (examples per fuzzer multiply).
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def examples(n: int) -> Any:
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        database=None,
        derandomize=os.environ.get("CI") == "true",  # CI: the same inputs every run
        suppress_health_check=list(HealthCheck),
    )


WEIRD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "NaN", "Infinity", "-0", "1e9999", "0x10", "\u0000", "😀" * 10]),
    st.just("x" * 20_000),
)
CUSTOM_SCALARS = {
    "Decimal": st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str), WEIRD_TEXT
    ).map(nodes.String),
    "DateTime": st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()), WEIRD_TEXT
    ).map(nodes.String),
    "JSON": WEIRD_TEXT.map(nodes.String),
}


def production_gateway(urls: dict[str, str], **overrides: Any) -> Iterator[LiveGateway]:
    yield from serve(
        settings_for(
            urls,
            environment="production",
            jwt_secret=PRODUCTION_SECRET,
            rate_limit={"enabled": False},
            sweep_interval_seconds=0,
            **overrides,
        )
    )


class Tally:
    """What the fuzzers sent and got, printed at the end of the run (the counts the
    closing note reports)."""

    def __init__(self) -> None:
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.by_code: dict[str, int] = {}

    def add(self, status: int, body: dict[str, Any]) -> None:
        self.requests += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        for error in body.get("errors") or ():
            code = (error.get("extensions") or {}).get("code", "(validation)")
            self.by_code[code] = self.by_code.get(code, 0) + 1


TALLY = Tally()
_EXPECTED_STATUS = {200, 400, 401, 405, 413, 415, 429}


def check_response(response: httpx.Response) -> dict[str, Any]:
    """Well-formed per the GraphQL-over-HTTP spec, no 500, nothing unmasked."""
    assert response.status_code in _EXPECTED_STATUS, (response.status_code, response.text[:2000])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and body, body
    assert set(body) <= {"data", "errors", "extensions"}, body
    if "data" not in body:
        assert body.get("errors"), body
    errors = body.get("errors")
    if errors is not None:
        assert isinstance(errors, list) and errors, body
        for error in errors:
            assert isinstance(error["message"], str) and error["message"], error
            assert "Traceback" not in error["message"], error
            for location in error.get("locations") or ():
                assert set(location) == {"line", "column"}, error
            assert all(isinstance(p, str | int) for p in error.get("path") or ()), error
            code = (error.get("extensions") or {}).get("code")
            # An error raised while executing carries a code; one without is unmasked.
            assert code is not None or "path" not in error, error
            assert code != "INTERNAL", f"an unexpected exception: {error}"
    TALLY.add(response.status_code, body)
    return body  # type: ignore[no-any-return]
