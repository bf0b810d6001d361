"""Product imports (``gateway import products``, ``POST /admin/imports/products``): a
Shopify product CSV applied through the import jobs prices and stock use (imports.py:
one job per file's bytes, progress, bad rows by line, resume), its job kept in the catalog.

A batch is whole products (a handle's rows never straddle two batches) and touches three
sources, so its steps are each safe to run twice and the job moves on only after all of
them: the catalog's writes (matched by handle and SKU code: a second run changes nothing),
the prices that differ, the stock set to the file's quantity (a delta computed from what
the warehouse holds now), then the job's progress and bad rows. A run stopped between
two steps redoes the batch on resume and ends in the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sources.catalog.import_records import ProductDraft
from sources.catalog.records import CatalogWrite
from sources.common.batches import ImportProgress, RowError
from sources.common.import_jobs import ImportJob, ImportStatus
from sources.inventory.adjust_many import ROW_ERROR_CODES, StockChange
from sources.pricing.records import PriceChange

from ..cache import invalidation
from ..cache.keys import LISTING_KINDS, Kind
from ..sources import Sources
from .catalog_manage import categories_changed, refusal_problem
from .listing import refresh_listings
from .shopify_rows import (
    QUANTITY,
    Drafted,
    VariantTerms,
    draft_product,
    header,
    records,
    row_values,
)


class WarehouseUnclear(Exception):
    """The file has stock quantities and no single warehouse can be meant: refused before
    a job exists, so the same file runs once the warehouse is named."""


async def stock_warehouse(sources: Sources, path: Path, given: str | None) -> str | None:
    """The warehouse that receives Variant Inventory Qty: the one named, or the shop's
    only one; None when the file has no quantities column."""
    warehouses = await sources.inventory.warehouses()
    codes = sorted(w.code for w in warehouses)
    if given is not None:
        if given not in codes:
            raise WarehouseUnclear(f"no warehouse with code {given!r} (the shop has: "
                                   f"{', '.join(codes) or 'none'})")  # fmt: skip
        return given
    first = next(records(path), None)
    columns = header(first[2] if first else None)
    if isinstance(columns, str) or QUANTITY not in columns:
        return None
    if len(codes) == 1:
        return codes[0]
    if not codes:
        raise WarehouseUnclear(
            f"the file has {QUANTITY} and the shop has no warehouse: add one first "
            "(gateway init, or warehouseCreate)"
        )
    raise WarehouseUnclear(
        f"the file has {QUANTITY} and the shop has {len(codes)} warehouses "
        f"({', '.join(codes)}): name the one it goes to (--warehouse, or ?warehouse=)"
    )


@dataclass
class _Batch:
    from_line: int
    through_line: int
    rows: int = 0
    groups: list[Drafted] | None = None
    errors: list[RowError] | None = None


def _groups(
    path: Path, columns: dict[str, int], resume_after: int
) -> Iterator[tuple[int, Drafted | RowError | None]]:
    """(last line, what it holds) per handle's rows, in file order; None for lines
    skipped on resume. A record that cannot be read is its own error."""
    handle: str | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    last = 0
    for first_line, last_line, fields in records(path):
        if first_line == 1:
            continue
        if last_line <= resume_after:
            continue
        if fields is None:
            if rows:
                yield last, draft_product(handle or "", rows)
                handle, rows = None, []
            yield last_line, RowError(first_line, "INVALID_INPUT", "the row is not UTF-8 CSV text")
            last = last_line
            continue
        values = row_values(columns, fields)
        if not values["Handle"]:
            if rows:
                yield last, draft_product(handle or "", rows)
                handle, rows = None, []
            yield last_line, RowError(first_line, "INVALID_INPUT", "Handle is empty", "Handle")
            last = last_line
            continue
        if rows and values["Handle"] != handle:
            yield last, draft_product(handle or "", rows)
            rows = []
        handle = values["Handle"]
        rows.append((first_line, values))
        last = last_line
    if rows:
        yield last, draft_product(handle or "", rows)


@dataclass
class _ProductImporter:
    sources: Sources
    job: ImportJob
    actor: str
    currency: str
    warehouse: str | None
    file_name: str
    clock: Callable[[], datetime]
    categories_seen: set[str]

    async def apply(
        self, groups: list[Drafted], errors: list[RowError], progress: ImportProgress
    ) -> bool:
        drafted = [g for g in groups if g.draft is not None]
        drafts = [g.draft for g in drafted if g.draft is not None]
        now = self.clock()
        outcomes = (
            await self.sources.catalog.import_products(
                drafts, currency=self.currency, actor=self.actor, now=now
            )
            if drafts
            else []
        )
        sku_terms: list[tuple[int, VariantTerms]] = []
        product_ids: set[int] = set()
        for group, outcome in zip(drafted, outcomes, strict=True):
            if outcome.refusal is not None:
                problem = refusal_problem(
                    CatalogWrite(refusal=outcome.refusal, detail=outcome.detail)
                )
                errors.append(RowError(outcome.line, problem.code.value, problem.message))
                note = f"not imported: the product's row {outcome.line} was refused"
                told = {outcome.line, *(e.line for e in group.errors)}
                errors += [
                    RowError(n, problem.code.value, note) for n in group.lines if n not in told
                ]
                continue
            assert outcome.product_id is not None
            product_ids.add(outcome.product_id)
            ids = outcome.sku_ids or {}
            sku_terms += [(ids[t.code], t) for t in group.terms if t.code in ids]
        await self._prices(sku_terms)
        errors += await self._stock(sku_terms)
        if product_ids:
            await refresh_listings(
                self.sources, product_ids, self.currency, prices=True, stock=True
            )
            entities: list[tuple[Kind, object]] = [(Kind.PRODUCT, p) for p in sorted(product_ids)]
            entities += [(Kind.PRODUCT_SKUS, p) for p in sorted(product_ids)]
            entities += [(Kind.PRODUCT_SLUG, d.handle) for d in drafts]
            entities += [(Kind.SKU, sku_id) for sku_id, _ in sku_terms]
            entities += [(Kind.PRICE, f"{self.currency}:{sku_id}") for sku_id, _ in sku_terms]
            entities += [(Kind.STOCK, sku_id) for sku_id, _ in sku_terms]
            await invalidation.invalidate(self.sources, entities, LISTING_KINDS)
        named = {d.category for d in drafts if d.category}
        if named - self.categories_seen:
            self.categories_seen |= named
            await categories_changed(self.sources)
        done = ImportProgress(
            self.job.id, progress.from_line, progress.through_line, progress.rows,
            tuple(sorted(errors, key=lambda e: e.line)),
        )  # fmt: skip
        return await self.sources.catalog.advance_import_job(done, self.clock())

    async def _prices(self, sku_terms: list[tuple[int, VariantTerms]]) -> None:
        """The prices (and costs) that differ from the file's: a second import writes none."""
        if not sku_terms:
            return
        ids = [sku_id for sku_id, _ in sku_terms]
        current = await self.sources.pricing.prices_by_sku_ids(ids, self.currency)
        costs = {}
        if any(t.cost is not None for _, t in sku_terms):
            costs = await self.sources.pricing.cost_prices_by_sku_ids(ids, self.currency)
        changes = []
        for sku_id, t in sku_terms:
            price = current.get(sku_id)
            same_price = price is not None and (price.list_amount, price.sale_amount) == (
                t.list_amount,
                t.sale_amount,
            )
            same_cost = t.cost is None or costs.get(sku_id) == t.cost
            if not (same_price and same_cost):
                changes.append(
                    PriceChange(sku_id, self.currency, t.list_amount, t.sale_amount, t.line,
                                t.cost)
                )  # fmt: skip
        if changes:
            await self.sources.pricing.set_prices(changes, actor=self.actor, now=self.clock())

    async def _stock(self, sku_terms: list[tuple[int, VariantTerms]]) -> list[RowError]:
        counted = [(sku_id, t) for sku_id, t in sku_terms if t.quantity is not None]
        if not counted or self.warehouse is None:
            return []
        levels = await self.sources.inventory.stock_by_sku_ids([s for s, _ in counted])
        changes = []
        for sku_id, t in counted:
            held = next(
                (
                    w.on_hand
                    for w in levels[sku_id].warehouses
                    if w.warehouse_code == self.warehouse
                ),
                0,
            )
            assert t.quantity is not None
            if t.quantity != held:
                changes.append(StockChange(sku_id, self.warehouse, t.quantity - held,
                                           f"import {self.file_name}", t.line))  # fmt: skip
        if not changes:
            return []
        done = await self.sources.inventory.adjust_stock_many(
            changes, actor=self.actor, now=self.clock()
        )
        errors = []
        for change, result in zip(changes, done.results, strict=True):
            if result.refusal is not None:
                code, message, _ = ROW_ERROR_CODES[result.refusal]
                errors.append(RowError(change.ref, code, f"{QUANTITY}: {message}", QUANTITY))
        return errors


async def apply_product_import(
    sources: Sources,
    path: Path,
    job: ImportJob,
    *,
    actor: str,
    currency: str,
    warehouse: str | None,
    batch_rows: int,
    on_lines: Callable[[int], object] | None,
    clock: Callable[[], datetime],
) -> ImportJob:
    store = sources.catalog
    first = next(records(path), None)
    columns = header(first[2] if first else None)
    if isinstance(columns, str):
        await store.finish_import_job(job.id, ImportStatus.FAILED, columns, clock())
        return (await store.import_jobs_by_ids([job.id]))[job.id]
    importer = _ProductImporter(sources, job, actor, currency, warehouse, Path(job.file_name).name,
                                clock, set())  # fmt: skip
    if job.through_line > 1 and on_lines:
        on_lines(job.through_line - 1)  # applied by an earlier run of this job
    start = max(job.through_line, 1)
    batch = _Batch(job.through_line, start, groups=[], errors=[])

    async def flush(b: _Batch) -> bool:
        assert b.groups is not None and b.errors is not None
        errors = [e for g in b.groups for e in g.errors] + b.errors
        progress = ImportProgress(job.id, b.from_line, b.through_line, b.rows)
        applied = await importer.apply(b.groups, errors, progress)
        if on_lines:
            on_lines(b.through_line - max(b.from_line, 1))
        return applied

    for last_line, item in _groups(path, columns, job.through_line):
        assert batch.groups is not None and batch.errors is not None
        batch.through_line = last_line
        if isinstance(item, RowError):
            batch.rows += 1
            batch.errors.append(item)
        elif item is not None:
            batch.rows += len(item.lines)
            batch.groups.append(item)
        if batch.rows >= batch_rows:
            if not await flush(batch):
                return (await store.import_jobs_by_ids([job.id]))[job.id]  # another run has it
            batch = _Batch(batch.through_line, batch.through_line, groups=[], errors=[])
    if batch.through_line > batch.from_line and not await flush(batch):
        return (await store.import_jobs_by_ids([job.id]))[job.id]
    await store.finish_import_job(job.id, ImportStatus.COMPLETED, "", clock())
    return (await store.import_jobs_by_ids([job.id]))[job.id]


__all__ = ["ProductDraft", "WarehouseUnclear", "apply_product_import", "stock_warehouse"]
