"""The development-token endpoint: the example pages' sign-in, a picker of the demo shop's
accounts. It signs what ``gateway token customer|staff`` prints, for an account the orders
source knows, and exists only while GATEWAY_EXAMPLES is on (never in production: settings
refuse that combination, since it would let anyone sign in as staff).

GET lists the demo accounts; POST ``{"email": ...}`` (JSON only: a cross-site form cannot
send it without the browser asking first) answers ``{"token", "kind", "name", ...}``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sources.demo.shop_data import DEMO_STAFF, demo_customer_email

from ..auth import ViewerKind, issue_token
from ..settings import Settings
from ..sources import Sources

# The first five customers live where the warehouses and installers are (see shop_data).
PICKER_CUSTOMERS = 5
NO_STORE = {"Cache-Control": "no-store"}


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=NO_STORE)


class DevTokens:
    def __init__(self, settings: Settings, sources: Sources) -> None:
        self.settings = settings
        self.sources = sources

    async def accounts(self, _: Request) -> Response:
        """The demo accounts the picker offers, with the names the shop holds for them."""
        emails = [demo_customer_email(n) for n in range(1, PICKER_CUSTOMERS + 1)]
        customers = await self.sources.orders.customers_by_emails(emails)
        staff = await self.sources.orders.staff_by_emails([s.email for s in DEMO_STAFF])
        body = {
            "customers": [
                {"email": c.email, "name": c.name}
                for e in emails
                if (c := customers.get(e)) is not None
            ],
            "staff": [
                {"email": m.email, "name": m.name, "permissions": sorted(m.permissions)}
                for s in DEMO_STAFF
                if (m := staff.get(s.email)) is not None
            ],
        }
        return JSONResponse(body, headers=NO_STORE)

    async def issue(self, request: Request) -> Response:
        if self.settings.jwt_algorithm != "HS256":
            return _problem(
                409,
                "TOKENS_FROM_IDENTITY_PROVIDER",
                f"GATEWAY_JWT_ALGORITHM={self.settings.jwt_algorithm}: tokens come from the "
                "identity provider, not from the gateway",
            )
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _problem(415, "UNSUPPORTED_MEDIA_TYPE", 'send JSON: {"email": ...}')
        try:
            body: Any = await request.json()
        except ValueError:
            return _problem(400, "BAD_REQUEST", "the body is not JSON")
        email = body.get("email") if isinstance(body, dict) else None
        if not isinstance(email, str) or not 3 <= len(email) <= 254:
            return _problem(400, "BAD_REQUEST", "email is required")
        email = email.strip().lower()
        staff = (await self.sources.orders.staff_by_emails([email])).get(email)
        if staff is not None:
            token = issue_token(
                self.settings,
                kind=ViewerKind.STAFF,
                subject=f"staff-{staff.id}",
                permissions=list(staff.permissions),
            )
            return JSONResponse(
                {
                    "token": token,
                    "kind": "staff",
                    "email": staff.email,
                    "name": staff.name,
                    "permissions": sorted(staff.permissions),
                },
                headers=NO_STORE,
            )
        customer = (await self.sources.orders.customers_by_emails([email])).get(email)
        if customer is None:
            return _problem(404, "NOT_FOUND", f"no demo account {email}")
        if self.settings.customer_subjects == "identity-provider":
            # As an identity provider's would: the email, vouched for, links the customer.
            token = issue_token(
                self.settings,
                kind=ViewerKind.CUSTOMER,
                subject=f"dev:{email}",
                extra_claims={"email": email, "email_verified": True, "name": customer.name},
            )
        else:
            token = issue_token(self.settings, kind=ViewerKind.CUSTOMER, subject=str(customer.id))
        return JSONResponse(
            {"token": token, "kind": "customer", "email": customer.email, "name": customer.name},
            headers=NO_STORE,
        )
