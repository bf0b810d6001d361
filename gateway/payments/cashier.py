"""The cashier: the configured providers and the rules around them, built once in
``create_app`` (and by the CLI) and handed to whatever takes or gives back money."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from ..backoffice.ship_by import ShipByRules
from .provider import PaymentProvider
from .registry import build_providers
from .settings import PaymentSettings

if TYPE_CHECKING:
    from ..settings import Settings


@dataclass(frozen=True)
class Cashier:
    providers: Mapping[str, PaymentProvider]
    settings: PaymentSettings
    promises: ShipByRules | None = None  # ship-by rules for the parcels a payment plans

    @classmethod
    def from_settings(cls, settings: Settings) -> Cashier:
        return cls(
            build_providers(settings.payments),
            settings.payments,
            ShipByRules.from_settings(settings),
        )

    def provider(self, name: str) -> PaymentProvider | None:
        return self.providers.get(name.lower())

    @property
    def payment_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.order_payment_ttl_seconds)

    @property
    def balance_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.order_balance_ttl_seconds)
