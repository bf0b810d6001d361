"""``gateway token customer EMAIL`` with GATEWAY_CUSTOMER_SUBJECTS=identity-provider: a
development token that signs up a new customer on first use, or is a known customer's."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.conftest import serve, settings_for
from tests.gateway.setup.cli import gateway

VIEWER = "query { viewer { email } }"


def test_a_development_token_signs_a_new_customer_up_then_finds_them(
    accounts_shop: dict[str, str], tmp_path: Path
) -> None:
    email = f"dev-{uuid.uuid4().hex[:8]}@example.com"
    env = {f"{name.upper()}_DATABASE_URL": url for name, url in accounts_shop.items()}
    env["GATEWAY_CUSTOMER_SUBJECTS"] = "identity-provider"
    settings = settings_for(accounts_shop, customer_subjects="identity-provider")

    new = gateway("token", "customer", email, env=env, cwd=tmp_path)
    for live in serve(settings):
        first = live.query(VIEWER, token=new.stdout.strip())
        known = gateway("token", "customer", email, env=env, cwd=tmp_path)
        again = live.query(VIEWER, token=known.stdout.strip())
        demo = gateway("token", "customer", "customer7@example.com", env=env, cwd=tmp_path)
        linked = live.query(VIEWER, token=demo.stdout.strip())

    assert new.returncode == known.returncode == demo.returncode == 0
    assert first == again == {"data": {"viewer": {"email": email}}}
    # A demo customer (no subject yet) is linked: the development token vouches for the email.
    assert linked == {"data": {"viewer": {"email": "customer7@example.com"}}}
