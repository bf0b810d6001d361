"""``gateway import prices|stock FILE.csv``: an import from the command line, with a
progress bar (tqdm, on stderr) and a summary naming the first bad rows by line."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from sources.common.import_jobs import ImportStatus

from ..settings import Settings
from ..sources import Sources
from .image_fetch import fetch_pending_images
from .imports import BATCH_ROWS, ImportKind, apply_import, job_id, jobs_store, start_import
from .product_import import WarehouseUnclear, stock_warehouse

SHOWN_ERRORS = 20


async def _fetch_images(
    settings: Settings, sources: Sources, actor: str, out: TextIO, progress: bool
) -> None:
    from ..media.storage import build_storage

    profile = await sources.orders.shop_profile()
    language = profile.languages[0] if profile and profile.languages else "en"
    with tqdm(unit=" images", desc="images", disable=not progress, file=sys.stderr) as bar:
        summary = await fetch_pending_images(
            sources, build_storage(settings.media), settings.media, actor=actor,
            language=language, on_image=bar.update,
        )  # fmt: skip
    if summary.fetched or summary.failed:
        print(f"images: {summary.fetched} fetched, {summary.failed} failed", file=out)
    for failure in summary.first_failures:
        print(f"  {failure}", file=out)


async def run_import_command(
    settings: Settings,
    kind: ImportKind,
    path: Path,
    *,
    batch_rows: int = BATCH_ROWS,
    out: TextIO = sys.stdout,
    progress: bool = True,
    warehouse: str | None = None,
    fetch_images: bool = True,
) -> int:
    """0: every row applied; 1: some rows refused (listed); 2: the file was refused.
    A product file's images are fetched after its rows (``fetch_images``)."""
    sources = Sources.from_settings(settings)
    actor = f"cli:{getpass.getuser()}"
    try:
        if kind is ImportKind.PRODUCTS:
            try:
                warehouse = await stock_warehouse(sources, path, warehouse)
            except WarehouseUnclear as unclear:
                print(f"error: {unclear}", file=sys.stderr)
                return 2
        now = datetime.now(UTC)
        job, facts = await start_import(
            sources, kind, path, file_name=path.name, actor=actor, now=now
        )
        if job.status is not ImportStatus.RUNNING:
            before = "imported" if job.status is ImportStatus.COMPLETED else "refused"
            print(
                f"{path.name} was {before} before (job {job_id(kind, job)}): nothing applied",
                file=out,
            )
        else:
            with tqdm(
                total=facts.lines,
                unit=" rows",
                desc=path.name,
                disable=not progress,
                file=sys.stderr,
                initial=0,
            ) as bar:
                job = await apply_import(
                    sources,
                    kind,
                    path,
                    job,
                    actor=actor,
                    currency=settings.currency,
                    batch_rows=batch_rows,
                    on_lines=bar.update,
                    warehouse=warehouse,
                )
        print(
            f"job {job_id(kind, job)} {job.status.value}: {job.processed} rows, "
            f"{job.processed - job.failed} applied, {job.failed} refused",
            file=out,
        )
        if job.message:
            print(f"  {job.message}", file=out)
        page = await jobs_store(sources, kind).import_row_errors(job.id, SHOWN_ERRORS)
        for error in page.errors:
            field = f" [{error.field}]" if error.field else ""
            print(f"  line {error.line}: {error.code}{field} {error.message}", file=out)
        if page.has_next_page:
            print(
                f"  … and {page.total_count - len(page.errors)} more (importJob errors)", file=out
            )
        if kind is ImportKind.PRODUCTS and fetch_images and job.status is ImportStatus.COMPLETED:
            await _fetch_images(settings, sources, actor, out, progress)
    finally:
        await sources.close()
    if job.status is ImportStatus.FAILED:
        return 2
    return 1 if job.failed else 0
