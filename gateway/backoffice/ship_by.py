"""Ship-by promises: when each parcel must leave, from configurable handling times.

A parcel from a warehouse or a drop-ship supplier gets that source's handling time
(GATEWAY_SHIP_BY_RULES, e.g. ``SH-01=24,supplier:7=72``; others GATEWAY_SHIP_BY_HOURS)
counted from the payment, or, for presale goods, from the presale's ships-from date when
that is later. The promise is fixed when the order is paid and stored with the parcel:
changing the rules later moves no promise already made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sources.orders.records import ShipmentSource

from ..settings import Settings


@dataclass(frozen=True, slots=True)
class ShipByRules:
    default_hours: float = 48.0
    hours: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, rules: str, default_hours: float) -> ShipByRules:
        """``SH-01=24, supplier:7=72`` (validated by Settings) as hours per source label."""
        hours: dict[str, float] = {}
        for part in rules.split(","):
            if part.strip():
                label, _, value = part.partition("=")
                hours[label.strip()] = float(value)
        return cls(default_hours, hours)

    @classmethod
    def from_settings(cls, settings: Settings) -> ShipByRules:
        return cls.parse(settings.ship_by_rules, settings.ship_by_hours)

    def handling(self, source: ShipmentSource) -> timedelta:
        return timedelta(hours=self.hours.get(source.label, self.default_hours))

    def deadline(
        self, source: ShipmentSource, paid_at: datetime, ships_from: Iterable[datetime] = ()
    ) -> datetime:
        """Paid at ``paid_at``; presale lines in the parcel cannot leave before
        ``ships_from``: the handling time counts from the later of them."""
        return max([paid_at, *ships_from]) + self.handling(source)
