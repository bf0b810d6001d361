"""Price and stock imports: a CSV file of any length, streamed line by line and applied in
batches through the bulk writes' store methods, checked by the single writes' rules.

- Streamed: one line in memory at a time, one batch (``batch_rows`` rows) at a time, so
  100,000 rows cost what 1,000 do.
- A job per file, named by the SHA-256 of its bytes and kept in the source that owns the
  data: each batch commits its writes, its bad rows and the job's progress (the last line
  applied) in one transaction. Running the same file again applies nothing twice: a
  finished job is returned as it is, an interrupted one resumes after its last commit.
- A bad row (unknown SKU, negative price, malformed number, bytes that are not UTF-8) is
  kept with its line number and the code of the userError the single write would give;
  the other rows go on.

Prices: ``sku,list,sale`` (the shop's currency). Stock: ``sku,warehouse,delta[,reason]``.
Columns are found by their header names (any order, any case).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from sources.catalog.records import Sku
from sources.common.batches import BatchRefusal, ImportProgress, RowError
from sources.common.import_jobs import ImportJob, ImportJobsSource, ImportStatus, NewImportJob
from sources.inventory.adjust_many import StockChange
from sources.pricing.records import PriceChange

from ..cache import invalidation
from ..cache.keys import LISTING_KINDS, Kind
from ..errors import Problem, UserErrorCode
from ..sources import Sources
from .catalog_writes import price_problems, stock_change_problems
from .listing import refresh_listings

BATCH_ROWS = 1000
_CHUNK = 1 << 20


class ImportKind(StrEnum):
    PRICES = "prices"
    STOCK = "stock"
    PRODUCTS = "products"  # a Shopify product CSV (product_import.py)


# The type name inside an import job's opaque id (importJob(id:)).
JOB_TYPE_NAMES = {
    ImportKind.PRICES: "PriceImport",
    ImportKind.STOCK: "StockImport",
    ImportKind.PRODUCTS: "ProductImport",
}


def job_id(kind: ImportKind, job: ImportJob) -> str:
    return base64.urlsafe_b64encode(f"{JOB_TYPE_NAMES[kind]}:{job.id}".encode()).decode()


REQUIRED = {
    ImportKind.PRICES: ("sku", "list", "sale"),
    ImportKind.STOCK: ("sku", "warehouse", "delta"),
    ImportKind.PRODUCTS: (),  # Shopify's columns: shopify_rows.py
}
OPTIONAL: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.PRICES: (),
    ImportKind.STOCK: ("reason",),
    ImportKind.PRODUCTS: (),
}


@dataclass(frozen=True, slots=True)
class FileFacts:
    content_hash: str
    lines: int  # data lines after the header, blank ones included


def file_facts(path: Path) -> FileFacts:
    """One streamed pass: the job's name (SHA-256) and the line count a progress bar needs."""
    digest, newlines, last = hashlib.sha256(), 0, b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            last = chunk
    lines = newlines + (1 if last and not last.endswith(b"\n") else 0)
    return FileFacts(digest.hexdigest(), max(0, lines - 1))


def jobs_store(sources: Sources, kind: ImportKind) -> ImportJobsSource:
    """The source owning the data a file changes keeps its jobs (products: the catalog)."""
    if kind is ImportKind.PRODUCTS:
        return sources.catalog
    return sources.pricing if kind is ImportKind.PRICES else sources.inventory


async def start_import(
    sources: Sources, kind: ImportKind, path: Path, *, file_name: str, actor: str, now: datetime
) -> tuple[ImportJob, FileFacts]:
    facts = await asyncio.to_thread(file_facts, path)  # a large file: off the event loop
    job = await jobs_store(sources, kind).start_import_job(
        NewImportJob(kind.value, facts.content_hash, file_name, actor), now
    )
    return job, facts


def _lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) from 1; None for a line that is not UTF-8 text."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            raw = raw.rstrip(b"\r\n")
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None
                continue
            yield number, None if "\x00" in text else text


def _fields(text: str) -> list[str]:
    return [f.strip() for f in next(csv.reader([text]), [])]


def _row_error(line: int, problem: Problem) -> RowError:
    field = problem.field[0] if problem.field else None
    return RowError(line, problem.code.value, problem.message, field)


def _invalid(line: int, message: str, field: str | None = None) -> RowError:
    return RowError(line, UserErrorCode.INVALID_INPUT.value, message, field)


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _integer(text: str) -> int | None:
    body = text[1:] if text[:1] in "+-" else text
    return int(text) if body.isascii() and body.isdigit() and len(body) <= 12 else None


class _Batch:
    """The rows read since the last commit."""

    def __init__(self, from_line: int) -> None:
        self.from_line = from_line
        self.through_line = from_line
        self.rows: list[tuple[int, dict[str, str]]] = []
        self.errors: list[RowError] = []
        self.count = 0


class _MovedOn(Exception):
    """Another run of the same job committed this batch first: it carries on, we stop."""


@dataclass
class _Importer:
    sources: Sources
    kind: ImportKind
    job: ImportJob
    actor: str
    currency: str
    file_name: str
    clock: Callable[[], datetime]

    async def apply(self, batch: _Batch) -> None:
        codes = sorted({row["sku"] for _, row in batch.rows if row["sku"]})
        skus = await self.sources.catalog.skus_by_codes(codes) if codes else {}
        progress_errors = list(batch.errors)
        if self.kind is ImportKind.PRICES:
            touched = await self._prices(batch, skus, progress_errors)
        else:
            touched = await self._stock(batch, skus, progress_errors)
        if touched:
            product_ids = {s.product_id for s in touched}
            prices = self.kind is ImportKind.PRICES
            await refresh_listings(
                self.sources, product_ids, self.currency, prices=prices, stock=not prices
            )
            kind = Kind.STOCK if not prices else Kind.PRICE
            entities: list[tuple[Kind, object]] = [
                (kind, s.id if not prices else f"{self.currency}:{s.id}") for s in touched
            ]
            entities += [(Kind.PRODUCT, pid) for pid in sorted(product_ids)]
            await invalidation.invalidate(self.sources, entities, LISTING_KINDS)

    def _progress(self, batch: _Batch, errors: Sequence[RowError]) -> ImportProgress:
        return ImportProgress(
            self.job.id, batch.from_line, batch.through_line, batch.count, tuple(errors)
        )

    def _sku(self, line: int, row: dict[str, str], skus: dict[str, Sku]) -> Sku | RowError:
        if not row["sku"]:
            return _invalid(line, "the sku column is empty", "sku")
        found = skus.get(row["sku"])
        if found is None:
            message = f"no SKU with code {row['sku'][:100]!r}"
            return RowError(line, UserErrorCode.SKU_NOT_FOUND.value, message, "sku")
        return found

    async def _prices(
        self, batch: _Batch, skus: dict[str, Sku], errors: list[RowError]
    ) -> list[Sku]:
        changes: list[PriceChange] = []
        touched: list[Sku] = []
        for line, row in batch.rows:
            amounts = {name: _decimal(row[name]) for name in ("list", "sale")}
            bad = [n for n, v in amounts.items() if v is None]
            if bad:
                errors.append(
                    _invalid(line, f"{bad[0]}: {row[bad[0]][:40]!r} is not a number", bad[0])
                )
                continue
            list_amount, sale_amount = amounts["list"], amounts["sale"]
            assert list_amount is not None and sale_amount is not None
            problems = price_problems(list_amount, sale_amount)
            sku = self._sku(line, row, skus)
            if isinstance(sku, RowError):
                errors.append(sku)
            elif problems:
                errors.append(_row_error(line, problems[0]))
            else:
                changes.append(PriceChange(sku.id, self.currency, list_amount, sale_amount, line))
                touched.append(sku)
        done = await self.sources.pricing.set_prices(
            changes, actor=self.actor, now=self.clock(), progress=self._progress(batch, errors)
        )
        if done.refusal is BatchRefusal.IMPORT_MOVED_ON:
            raise _MovedOn
        return touched

    async def _stock(
        self, batch: _Batch, skus: dict[str, Sku], errors: list[RowError]
    ) -> list[Sku]:
        changes: list[StockChange] = []
        chosen: list[Sku] = []
        for line, row in batch.rows:
            delta = _integer(row["delta"])
            if delta is None:
                errors.append(
                    _invalid(line, f"delta: {row['delta'][:40]!r} is not a whole number", "delta")
                )
                continue
            reason = row.get("reason") or f"import {self.file_name}"
            problems = stock_change_problems(delta, reason)
            sku = self._sku(line, row, skus)
            if isinstance(sku, RowError):
                errors.append(sku)
            elif problems:
                errors.append(_row_error(line, problems[0]))
            else:
                changes.append(StockChange(sku.id, row["warehouse"], delta, reason, line))
                chosen.append(sku)
        done = await self.sources.inventory.adjust_stock_many(
            changes, actor=self.actor, now=self.clock(), progress=self._progress(batch, errors)
        )
        if done.refusal is BatchRefusal.IMPORT_MOVED_ON:
            raise _MovedOn
        return [s for s, r in zip(chosen, done.results, strict=True) if r.refusal is None]


async def apply_import(
    sources: Sources,
    kind: ImportKind,
    path: Path,
    job: ImportJob,
    *,
    actor: str,
    currency: str,
    batch_rows: int = BATCH_ROWS,
    on_lines: Callable[[int], object] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    warehouse: str | None = None,
) -> ImportJob:
    """Apply the rest of ``job`` from ``path`` (nothing when it is not RUNNING); returns the
    job as it stands at the end. ``on_lines(n)``: n more lines are done (a progress bar).
    ``warehouse``: where a product file's stock quantities go."""
    store = jobs_store(sources, kind)
    if job.status is not ImportStatus.RUNNING:
        return job
    if kind is ImportKind.PRODUCTS:
        from .product_import import apply_product_import

        return await apply_product_import(
            sources, path, job, actor=actor, currency=currency, warehouse=warehouse,
            batch_rows=batch_rows, on_lines=on_lines, clock=clock,
        )  # fmt: skip
    importer = _Importer(sources, kind, job, actor, currency, Path(job.file_name).name, clock)
    lines = _lines(path)
    first = next(lines, None)
    columns = _header(kind, first[1] if first else None)
    if isinstance(columns, str):
        await store.finish_import_job(job.id, ImportStatus.FAILED, columns, clock())
        return (await store.import_jobs_by_ids([job.id]))[job.id]
    batch = _Batch(job.through_line)
    if job.through_line > 1 and on_lines:
        on_lines(job.through_line - 1)  # applied by an earlier run of this job
    needed = max(columns[n] for n in REQUIRED[kind]) + 1

    def advanced(done: _Batch) -> int:
        return done.through_line - max(done.from_line, 1)

    try:
        for number, text in lines:
            if number <= job.through_line:
                continue  # applied by an earlier run of this job
            batch.through_line = number
            if text is None:
                batch.count += 1
                batch.errors.append(_invalid(number, "the line is not UTF-8 text"))
            elif text.strip():
                batch.count += 1
                fields = _fields(text)
                if len(fields) < needed:
                    message = f"expected at least {needed} columns, got {len(fields)}"
                    batch.errors.append(_invalid(number, message))
                else:
                    row = {name: fields[i] for name, i in columns.items() if i < len(fields)}
                    batch.rows.append((number, row))
            if batch.count >= batch_rows:
                await importer.apply(batch)
                if on_lines:
                    on_lines(advanced(batch))
                batch = _Batch(batch.through_line)
        if batch.through_line > batch.from_line:
            await importer.apply(batch)
            if on_lines:
                on_lines(advanced(batch))
    except _MovedOn:
        return (await store.import_jobs_by_ids([job.id]))[job.id]
    await store.finish_import_job(job.id, ImportStatus.COMPLETED, "", clock())
    return (await store.import_jobs_by_ids([job.id]))[job.id]


def _header(kind: ImportKind, text: str | None) -> dict[str, int] | str:
    """Column positions by name, or why the file cannot be read at all."""
    if text is None:
        return "the header line is not UTF-8 text"
    names = [n.lower() for n in _fields(text)]
    missing = [n for n in REQUIRED[kind] if n not in names]
    if missing:
        expected = ",".join(REQUIRED[kind] + OPTIONAL[kind])
        return f"the header lacks {', '.join(missing)} (expected {expected})"
    wanted = REQUIRED[kind] + OPTIONAL[kind]
    return {n: names.index(n) for n in wanted if n in names}
