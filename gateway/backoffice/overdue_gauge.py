"""``gateway_shipments_overdue{source}``: parcels past their ship-by promise, per warehouse
or supplier, computed when Prometheus scrapes /metrics (one GROUP BY on the orders source,
using the (status, ship_by) index), so the figure is never staler than the scrape and
costs nothing between scrapes. A source that is late nowhere reads 0 once it has been late."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Gauge

from ..metrics import housekeeping_calls
from ..sources import Sources

log = logging.getLogger(__name__)


class OverdueShipments:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.gauge = Gauge(
            "gateway_shipments_overdue",
            "PENDING shipments past their ship-by time, by source (warehouse or supplier:<id>)",
            ["source"],
            registry=registry,
        )
        self._seen: set[str] = set()

    async def refresh(self, sources: Sources, now: datetime | None = None) -> None:
        # A scrape is not a request: it stays out of gateway_source_calls_total (it would
        # show in every before/after reading of that counter), but keeps the source's
        # timeout and breaker, so a dead orders source cannot hang /metrics.
        try:
            with housekeeping_calls():
                counts = await sources.orders.overdue_shipment_counts(now or datetime.now(UTC))
        except Exception:  # the orders source is down: /metrics still answers (last values)
            log.warning("overdue shipments: the orders source did not answer", exc_info=True)
            return
        for source in self._seen - set(counts):
            self.gauge.labels(source).set(0)
        for source, count in counts.items():
            self.gauge.labels(source).set(count)
        self._seen |= set(counts)
