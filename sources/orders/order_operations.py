"""The half of OrdersStore that runs after checkout: payments, shipments and service
appointments, after-sales requests and the settlement ledger. OrdersStore inherits it, so
the gateway still sees one store; the work lives in the modules named below."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal

from sources.common.db import Database
from sources.common.idempotency import forget_expired

from . import after_sales, after_sales_queries, appointments, deadlines, forfeits, payments
from . import ledger as ledger_module
from . import models as m
from . import shipments as shipments_module
from .records import (
    AfterSalesPage,
    AfterSalesRequest,
    AfterSalesStatus,
    AfterSalesStatusChange,
    ForfeitedDeposit,
    LedgerLine,
    NewAfterSalesRequest,
    NewShipment,
    Order,
    OrderStatus,
    Payment,
    PaymentStage,
    ProviderReceipt,
    ServiceAppointment,
    Shipment,
    ShipmentDuePage,
    ShipmentStatus,
    ShippingLedgerLine,
)


class OrderOperations:
    db: Database

    # Payments

    async def record_payment(
        self,
        order_id: int,
        *,
        stage: PaymentStage,
        amount: Decimal,
        to: OrderStatus,
        allowed_from: Collection[OrderStatus],
        actor: str,
        now: datetime,
        receipt: ProviderReceipt | None = None,
    ) -> Order | None:
        """Once per (order, stage), with the status move (and the receipt's attempt turned
        PAID); None when refused (no write)."""
        return await payments.record_payment(
            self.db,
            order_id,
            stage=stage,
            amount=amount,
            to=to,
            allowed_from=allowed_from,
            actor=actor,
            now=now,
            receipt=receipt,
        )

    async def payments_by_order_ids(self, ids: Sequence[int]) -> dict[int, list[Payment]]:
        return await payments.payments_by_order_ids(self.db, ids)

    # Shipments and service appointments

    async def create_shipments(
        self,
        order_id: int,
        shipments: Sequence[NewShipment],
        service_line_ids: Sequence[int],
        now: datetime,
    ) -> list[Shipment]:
        """Once per order: an order already planned gets its shipments back, unchanged."""
        return await shipments_module.create_shipments(
            self.db, order_id, shipments, service_line_ids, now
        )

    async def shipments_by_order_ids(self, ids: Sequence[int]) -> dict[int, list[Shipment]]:
        return await shipments_module.shipments_by_order_ids(self.db, ids)

    async def shipments_by_ids(self, ids: Sequence[int]) -> dict[int, Shipment]:
        return await shipments_module.shipments_by_ids(self.db, ids)

    async def shipments_due(
        self, *, before: datetime, source: str | None, first: int, after: str | None = None
    ) -> ShipmentDuePage:
        """PENDING parcels promised before ``before``, earliest first (see deadlines.py)."""
        return await deadlines.shipments_due(
            self.db, before=before, source=source, first=first, after=after
        )

    async def overdue_shipment_counts(self, now: datetime) -> dict[str, int]:
        """Parcels past their ship-by time, per source label."""
        return await deadlines.overdue_counts(self.db, now)

    async def appointments_by_order_ids(
        self, ids: Sequence[int]
    ) -> dict[int, list[ServiceAppointment]]:
        return await shipments_module.appointments_by_order_ids(self.db, ids)

    async def appointments_by_ids(self, ids: Sequence[int]) -> dict[int, ServiceAppointment]:
        return await appointments.appointments_by_ids(self.db, ids)

    async def complete_appointment(
        self, appointment_id: int, *, actor: str, now: datetime
    ) -> tuple[ServiceAppointment, Order] | None:
        """TO_SCHEDULE or SCHEDULED -> DONE, the order following (COMPLETED once every
        parcel is delivered and every appointment done); None when missing, already DONE,
        or its order is unpaid or cancelled."""
        return await appointments.complete_appointment(
            self.db, appointment_id, actor=actor, now=now
        )

    async def mark_shipment(
        self,
        shipment_id: int,
        *,
        to: ShipmentStatus,
        carrier: str | None,
        tracking_number: str | None,
        actor: str,
        now: datetime,
    ) -> tuple[Shipment, Order] | None:
        """PENDING -> SHIPPED -> DELIVERED, the order following; None when refused."""
        return await shipments_module.mark_shipment(
            self.db,
            shipment_id,
            to=to,
            carrier=carrier,
            tracking_number=tracking_number,
            actor=actor,
            now=now,
        )

    # After-sales

    async def requested_quantities(self, order_line_ids: Sequence[int]) -> dict[int, int]:
        return await after_sales.requested_quantities(self.db, order_line_ids)

    async def create_after_sales_request(
        self, new: NewAfterSalesRequest, *, actor: str, now: datetime
    ) -> AfterSalesRequest:
        return await after_sales.create_after_sales_request(self.db, new, actor=actor, now=now)

    async def after_sales_by_ids(self, ids: Sequence[int]) -> dict[int, AfterSalesRequest]:
        return await after_sales_queries.after_sales_by_ids(self.db, ids)

    async def after_sales_by_order_ids(
        self, ids: Sequence[int]
    ) -> dict[int, list[AfterSalesRequest]]:
        return await after_sales_queries.after_sales_by_order_ids(self.db, ids)

    async def after_sales_history_by_ids(
        self, ids: Sequence[int]
    ) -> dict[int, list[AfterSalesStatusChange]]:
        return await after_sales_queries.after_sales_history_by_ids(self.db, ids)

    async def list_after_sales(
        self, *, first: int, after: str | None, status: AfterSalesStatus | None
    ) -> AfterSalesPage:
        return await after_sales_queries.list_after_sales(
            self.db, first=first, after=after, status=status
        )

    async def transition_after_sales(
        self,
        request_id: int,
        *,
        to: AfterSalesStatus,
        allowed_from: Collection[AfterSalesStatus],
        actor: str,
        note: str,
        now: datetime,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
        distinct_actor: bool = False,
    ) -> tuple[AfterSalesRequest | None, bool]:
        """(request, replayed); (None, False) when refused. IdempotencyKeyReused when the
        key was used with another fingerprint; SameApprover, with ``distinct_actor``, when
        ``actor`` moved the request into its current status (four eyes)."""
        return await after_sales.transition_after_sales(
            self.db,
            request_id,
            to=to,
            allowed_from=allowed_from,
            actor=actor,
            note=note,
            now=now,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            distinct_actor=distinct_actor,
        )

    async def forget_expired_idempotency_keys(self, now: datetime) -> None:
        """For the sweeper: keys older than their 24 hours of retention."""
        async with self.db.begin() as conn:
            await forget_expired(conn, m.IdempotencyKey, now)

    # Settlement

    async def ledger(self, *, created_from: datetime, created_to: datetime) -> list[LedgerLine]:
        return await ledger_module.ledger(self.db, created_from=created_from, created_to=created_to)

    async def forfeited_deposits(
        self, *, created_from: datetime, created_to: datetime
    ) -> list[ForfeitedDeposit]:
        """Presale deposits kept of orders placed in the period (see forfeits.py)."""
        return await forfeits.forfeited_deposits(
            self.db, created_from=created_from, created_to=created_to
        )

    async def shipping_ledger(
        self, *, created_from: datetime, created_to: datetime
    ) -> list[ShippingLedgerLine]:
        return await ledger_module.shipping_ledger(
            self.db, created_from=created_from, created_to=created_to
        )
