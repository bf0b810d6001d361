"""Plain records the orders source hands out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    email: str
    name: str
    is_blocked: bool


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: int
    email: str
    name: str
    permissions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    country: str
    name: str
    is_deliverable: bool
    shipping_rate: Decimal | None
