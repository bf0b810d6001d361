"""Audit entries as staff read them back."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from sources.common.audit import AuditRecord


@strawberry.type(description="One back-office change: who, when, what, before and after, why.")
class AuditEntry:
    at: datetime = strawberry.field(description="When the change was made (UTC).")
    actor: str = strawberry.field(
        description="Who made it: a staff member's subject, or `system` for the shop itself."
    )
    action: str = strawberry.field(
        description="What was done, e.g. stock.adjust, price.set, customer.block."
    )
    source: str = strawberry.field(
        description="Where it came from: the API, an import, or a back-office job."
    )
    before: JSON = strawberry.field(description="The changed values before (JSON object).")
    after: JSON = strawberry.field(description="The changed values after (JSON object).")
    reason: str = strawberry.field(
        description="The reason given with the change (empty when none)."
    )

    @classmethod
    def from_record(cls, record: AuditRecord) -> AuditEntry:
        return cls(
            at=record.at,
            actor=record.actor,
            action=record.action,
            source=record.source,
            before=cast(JSON, record.before),
            after=cast(JSON, record.after),
            reason=record.reason,
        )
