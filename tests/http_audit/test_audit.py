"""graphql-http's GraphQL-over-HTTP server audits (the npm package's `auditServer`) against
the live gateway: every audit, MUST and SHOULD alike, passes with status ok (no error, no
warning), so any spec-following client library works against the gateway unchanged."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LiveGateway, serve, settings_for
from tests.http_audit.node import HERE, node_project

PRODUCTION_SECRET = "production-test-secret-0123456789abcdef"


def audit(url: str) -> list[dict[str, Any]]:
    node = node_project()
    done = subprocess.run(
        [node, str(HERE / "audit.mjs"), f"{url}/graphql"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=HERE,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module", params=["development", "production"])
def audited(request: pytest.FixtureRequest, sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    overrides: dict[str, Any] = {}
    if request.param == "production":
        # The audits' variable cases query `__type(name: $name)`: introspection is switched
        # back on; masking and no suggestions stay as production has them.
        overrides = {
            "environment": "production",
            "jwt_secret": PRODUCTION_SECRET,
            "introspection_setting": True,
        }
    yield from serve(settings_for(sqlite_shop, **overrides))


def test_every_graphql_over_http_audit_passes(audited: LiveGateway) -> None:
    results = audit(audited.url)
    assert len(results) >= 60, results  # graphql-http 1.23 has 61 audits
    failing = [r for r in results if r["status"] != "ok"]
    assert not failing, "\n".join(
        f"{r['status']}: {r['name']}: {r.get('reason')} "
        f"(HTTP {r.get('httpStatus')}, {r.get('contentType')})"
        for r in failing
    )
