"""Import jobs: a file of rows applied in batches, its progress and its bad rows, kept in
the database of the source that owns the data (prices in pricing, stock in inventory), so
that a batch's writes, its row errors and the job's progress commit together.

A job is named by the SHA-256 of the file's bytes: the same file started again finds its
job (done: nothing is applied; interrupted: it resumes after the last committed line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Integer, String, Text, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from .batches import ImportMovedOn, ImportProgress, RowError
from .db import Database
from .types import UTCDateTime
from .wire import read

MAX_ERRORS_KEPT = 100_000  # per job: a file of nothing but bad rows still has a bounded trail


class ImportStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class ImportJobColumns:
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    processed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    through_line: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportRowErrorColumns:
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(Integer, index=True)
    line: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(64))


@dataclass(frozen=True, slots=True)
class ImportJob:
    id: int
    kind: str
    content_hash: str
    file_name: str
    status: ImportStatus
    processed: int
    failed: int
    through_line: int
    message: str
    actor: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewImportJob:
    kind: str
    content_hash: str
    file_name: str
    actor: str


@dataclass(frozen=True, slots=True)
class RowErrorPage:
    errors: list[RowError]
    cursors: list[int]  # each error's row id, for keyset paging
    has_next_page: bool
    total_count: int


def _job(row: Any) -> ImportJob:
    return ImportJob(
        id=row.id,
        kind=row.kind,
        content_hash=row.content_hash,
        file_name=row.file_name,
        status=ImportStatus(row.status),
        processed=row.processed,
        failed=row.failed,
        through_line=row.through_line,
        message=row.message,
        actor=row.actor,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


async def start_job(db: Database, model: Any, new: NewImportJob, now: datetime) -> ImportJob:
    """The job for this file: a new one, or the one a run of the same bytes started."""
    for attempt in range(2):
        async with db.begin() as conn:
            row = (
                await conn.execute(select(model).where(model.content_hash == new.content_hash))
            ).first()
            if row is not None:
                return _job(row)
            try:
                await conn.execute(
                    insert(model).values(
                        kind=new.kind,
                        content_hash=new.content_hash,
                        file_name=new.file_name[:300],
                        status=ImportStatus.RUNNING.value,
                        processed=0,
                        failed=0,
                        through_line=0,
                        message="",
                        actor=new.actor,
                        created_at=now,
                        updated_at=now,
                    )
                )
            except IntegrityError:  # a concurrent start of the same file won
                if attempt:
                    raise
                continue
            row = (
                await conn.execute(select(model).where(model.content_hash == new.content_hash))
            ).one()
            return _job(row)
    raise AssertionError("unreachable")


async def jobs_by_ids(db: Database, model: Any, ids: Sequence[int]) -> dict[int, ImportJob]:
    async with db.connect() as conn:
        rows = await conn.execute(select(model).where(model.id.in_(set(ids))))
        return {row.id: _job(row) for row in rows}


async def finish_job(
    db: Database, model: Any, job_id: int, status: ImportStatus, message: str, now: datetime
) -> None:
    async with db.begin() as conn:
        await conn.execute(
            update(model)
            .where(model.id == job_id, model.status == ImportStatus.RUNNING.value)
            .values(status=status.value, message=message, updated_at=now, finished_at=now)
        )


async def record_progress(
    conn: AsyncConnection,
    job_model: Any,
    error_model: Any,
    progress: ImportProgress,
    refused: Sequence[RowError],
    now: datetime,
) -> None:
    """In the batch's own transaction: move the job from ``from_line`` to ``through_line``
    (or raise ImportMovedOn when another run already did) and keep its bad rows."""
    errors = [*progress.errors, *refused]
    moved = await conn.execute(
        update(job_model)
        .where(
            job_model.id == progress.job_id,
            job_model.through_line == progress.from_line,
            job_model.status == ImportStatus.RUNNING.value,
        )
        .values(
            through_line=progress.through_line,
            processed=job_model.processed + progress.rows,
            failed=job_model.failed + len(errors),
            updated_at=now,
        )
        .returning(job_model.failed)
    )
    failed_now = moved.scalar_one_or_none()
    if failed_now is None:
        raise ImportMovedOn(progress.job_id)
    keep = max(0, MAX_ERRORS_KEPT - (failed_now - len(errors)))
    if errors and keep:
        await conn.execute(
            insert(error_model),
            [
                {
                    "job_id": progress.job_id,
                    "line": e.line,
                    "code": e.code,
                    "message": e.message[:500],
                    "field": e.field,
                }
                for e in sorted(errors, key=lambda e: e.line)[:keep]
            ],
        )


async def row_errors(
    db: Database, model: Any, job_id: int, *, first: int, after: int | None
) -> RowErrorPage:
    """A job's bad rows in file order, keyset-paged on the error's row id."""
    from sqlalchemy import func

    query = select(model).where(model.job_id == job_id)
    if after is not None:
        query = query.where(model.id > after)
    async with db.connect() as conn:
        rows = (await conn.execute(query.order_by(model.id).limit(first + 1))).all()
        total = (
            await conn.execute(select(func.count()).where(model.job_id == job_id))
        ).scalar_one()
    page = rows[:first]
    return RowErrorPage(
        errors=[RowError(r.line, r.code, r.message, r.field) for r in page],
        cursors=[r.id for r in page],
        has_next_page=len(rows) > first,
        total_count=int(total),
    )


class ImportJobsSource(Protocol):
    """The import-job methods of a source that owns importable data (pricing, inventory):
    the part of their interfaces ``gateway import`` and the upload endpoint speak to."""

    async def start_import_job(self, new: NewImportJob, now: datetime) -> ImportJob:
        """The job for this file's bytes: new, or the one an earlier run started."""

    @read
    async def import_jobs_by_ids(self, ids: Sequence[int]) -> dict[int, ImportJob]: ...

    async def finish_import_job(
        self, job_id: int, status: ImportStatus, message: str, now: datetime
    ) -> None:
        """RUNNING -> COMPLETED or FAILED, once."""

    @read
    async def import_row_errors(
        self, job_id: int, first: int, after: int | None = None
    ) -> RowErrorPage: ...

    async def advance_import_job(self, progress: ImportProgress, now: datetime) -> bool:
        """Record a batch applied elsewhere (a product import writes to three sources):
        False when another run of the job already moved past it."""


class ImportJobs:
    """The import-job methods of a store that owns importable data (a mixin: the store
    sets ``db`` and the two models)."""

    db: Database
    import_job_model: Any
    import_row_error_model: Any

    async def start_import_job(self, new: NewImportJob, now: datetime) -> ImportJob:
        """The job for this file's bytes: new, or the one an earlier run started."""
        return await start_job(self.db, self.import_job_model, new, now)

    async def import_jobs_by_ids(self, ids: Sequence[int]) -> dict[int, ImportJob]:
        return await jobs_by_ids(self.db, self.import_job_model, ids)

    async def finish_import_job(
        self, job_id: int, status: ImportStatus, message: str, now: datetime
    ) -> None:
        """RUNNING -> COMPLETED or FAILED, once."""
        await finish_job(self.db, self.import_job_model, job_id, status, message, now)

    async def import_row_errors(
        self, job_id: int, first: int, after: int | None = None
    ) -> RowErrorPage:
        return await row_errors(
            self.db, self.import_row_error_model, job_id, first=first, after=after
        )

    async def advance_import_job(self, progress: ImportProgress, now: datetime) -> bool:
        """Record a batch applied elsewhere: False when another run moved past it."""
        try:
            async with self.db.begin() as conn:
                await record_progress(
                    conn, self.import_job_model, self.import_row_error_model, progress, (), now
                )
        except ImportMovedOn:
            return False
        return True
