"""Audit entries as staff read them back."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from sources.common.audit import AuditRecord


@strawberry.type(description="One back-office change: who, when, what, before and after, why.")
class AuditEntry:
    at: datetime
    actor: str
    action: str
    source: str
    before: JSON
    after: JSON
    reason: str

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
