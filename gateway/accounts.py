"""Customer accounts from the identity provider: a valid token whose subject the shop has
never seen creates the customer on first use, so signing up happens at the identity
provider alone (GATEWAY_CUSTOMER_SUBJECTS=identity-provider).

A subject's customer id never changes, so each process keeps the ones it has seen (bounded,
least recently used out): a signed-in request costs no source call after the first. The
orders source makes creation safe under concurrency (one customer per subject whatever
races); whether the customer is blocked is not kept here, the checkout reads that fresh.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime

from sources.orders.api import OrdersSource
from sources.orders.errors import CustomerEmailTaken

from .auth import TokenError, Viewer
from .resilience.errors import SourceUnavailable

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200


class CustomerAccounts:
    def __init__(self, orders: OrdersSource, *, remembered: int = 100_000) -> None:
        self.orders = orders
        self.remembered = remembered
        self._ids: OrderedDict[str, int] = OrderedDict()

    async def resolve(self, viewer: Viewer) -> Viewer:
        """``viewer`` with its customer id, the customer created if new; TokenError when the
        token cannot make one (no email claim) or the email is another customer's."""
        if not viewer.needs_account:
            return viewer
        subject = viewer.subject or ""
        customer_id = self._ids.get(subject)
        if customer_id is None:
            try:
                customer_id = await self._find_or_create(viewer, subject)
            except SourceUnavailable as exc:
                raise TokenError(exc.code, str(exc), status=503) from exc
            self._ids[subject] = customer_id
            if len(self._ids) > self.remembered:
                self._ids.popitem(last=False)
        else:
            self._ids.move_to_end(subject)
        return replace(viewer, customer_pk=customer_id)

    async def _find_or_create(self, viewer: Viewer, subject: str) -> int:
        found = (await self.orders.customers_by_subjects([subject])).get(subject)
        if found is not None:
            return found.id
        claims = viewer.sign_up
        email = (claims.email or "").strip() if claims else ""
        if not email or "@" not in email or len(email) > MAX_EMAIL_LENGTH:
            raise TokenError(
                "TOKEN_INVALID",
                "the token has no usable email claim, which a new customer's account needs",
            )
        name = ((claims.name if claims else None) or "").strip() or email.split("@")[0]
        try:
            customer = await self.orders.customer_for_subject(
                subject=subject,
                email=email,
                name=name[:MAX_NAME_LENGTH],
                email_verified=bool(claims and claims.email_verified),
                now=datetime.now(UTC),
            )
        except CustomerEmailTaken:
            raise TokenError(
                "CUSTOMER_EMAIL_TAKEN",
                "this email belongs to another customer account; ask the shop to link them",
                status=409,
            ) from None
        return customer.id
