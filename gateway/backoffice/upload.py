"""``POST /admin/imports/{prices|stock|products}``: a back-office UI uploads a CSV file and
polls ``importJob(id:)`` for its progress.

The body (``text/csv``, or ``application/octet-stream``) is streamed to a temporary file,
never held in memory, and capped at GATEWAY_IMPORT_MAX_BYTES (413 beyond). A staff bearer
token with MANAGE_PRICES (prices), MANAGE_STOCK (stock) or MANAGE_PRODUCTS (products, a
Shopify product CSV; ``?warehouse=CODE`` says where its quantities go) is required: none or
a bad one is 401, one without the permission 403. A product file's images are fetched once
its rows are applied. The answer is 202 with the job, which goes on in
this process; the same file again answers 200 with the job it already has (nothing is
applied twice). Errors are JSON ``{"errors": [{"message", "extensions": {"code"}}]}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from sources.common.import_jobs import ImportJob, ImportStatus

from ..auth import Permission, TokenError, TokenVerifier, Viewer
from ..settings import Settings
from ..sources import Sources
from .imports import ImportKind, apply_import, job_id, start_import
from .product_import import WarehouseUnclear, stock_warehouse

log = logging.getLogger(__name__)

PERMISSIONS = {
    ImportKind.PRICES: Permission.MANAGE_PRICES,
    ImportKind.STOCK: Permission.MANAGE_STOCK,
    ImportKind.PRODUCTS: Permission.MANAGE_PRODUCTS,
}
CONTENT_TYPES = ("text/csv", "application/octet-stream", "text/plain")
# Jobs running in this process, per app's sources (a reference keeps each task alive).
_running: dict[int, set[asyncio.Task[Any]]] = {}


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


def _viewer(request: Request, verifier: TokenVerifier) -> Viewer | JSONResponse:
    header = request.headers.get("authorization")
    if header is None:
        return _error(401, "UNAUTHENTICATED", "a staff bearer token is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "TOKEN_INVALID", "the Authorization header must be 'Bearer <token>'")
    try:
        return verifier.verify(token.strip())
    except TokenError as exc:
        return _error(401, exc.code, exc.message)


def job_json(kind: ImportKind, job: ImportJob) -> dict[str, Any]:
    return {
        "id": job_id(kind, job),
        "kind": kind.name,
        "status": job.status.value,
        "fileName": job.file_name,
        "processed": job.processed,
        "failed": job.failed,
    }


async def _spool(request: Request, limit: int) -> Path | JSONResponse:
    """The body in a temporary file (deleted by the caller), or the answer refusing it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _error(413, "PAYLOAD_TOO_LARGE", f"the file is larger than {limit} bytes")
    fd, name = tempfile.mkstemp(prefix="gateway-import-", suffix=".csv")
    path, size = Path(name), 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    _discard(path)
                    return _error(
                        413, "PAYLOAD_TOO_LARGE", f"the file is larger than {limit} bytes"
                    )
                out.write(chunk)
    except ClientDisconnect:
        _discard(path)
        return _error(400, "BAD_REQUEST", "the upload was interrupted")
    return path


async def _run(
    sources: Sources,
    kind: ImportKind,
    path: Path,
    job: ImportJob,
    actor: str,
    settings: Settings,
    warehouse: str | None,
) -> None:
    try:
        done = await apply_import(
            sources,
            kind,
            path,
            job,
            actor=actor,
            currency=settings.currency,
            batch_rows=settings.import_batch_rows,
            warehouse=warehouse,
        )
        if kind is ImportKind.PRODUCTS and done.status is ImportStatus.COMPLETED:
            await _fetch_images(sources, settings, actor)
    except Exception:  # the job stays RUNNING; the same file again resumes it
        log.exception("import job %s stopped", job_id(kind, job))
    finally:
        _discard(path)


async def _fetch_images(sources: Sources, settings: Settings, actor: str) -> None:
    from ..media.storage import build_storage
    from .image_fetch import fetch_pending_images

    profile = await sources.orders.shop_profile()
    language = profile.languages[0] if profile and profile.languages else "en"
    await fetch_pending_images(
        sources, build_storage(settings.media), settings.media, actor=actor, language=language
    )


async def import_endpoint(
    request: Request, *, settings: Settings, verifier: TokenVerifier, sources: Sources
) -> Response:
    try:
        kind = ImportKind(request.path_params["kind"])
    except ValueError:
        return _error(404, "NOT_FOUND", "imports are /admin/imports/prices, /stock or /products")
    viewer = _viewer(request, verifier)
    if isinstance(viewer, JSONResponse):
        return viewer
    if not viewer.has(PERMISSIONS[kind]):
        needed = PERMISSIONS[kind].value
        return _error(403, "PERMISSION_DENIED", f"a {kind.value} import needs {needed}")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES:
        return _error(415, "UNSUPPORTED_MEDIA_TYPE", "send the file as text/csv")
    spooled = await _spool(request, settings.import_max_bytes)
    if isinstance(spooled, JSONResponse):
        return spooled
    actor = f"{viewer.kind.value}:{viewer.subject}"
    name = request.query_params.get("fileName") or f"upload.{kind.value}.csv"
    warehouse = request.query_params.get("warehouse") or None
    if kind is ImportKind.PRODUCTS:
        try:
            warehouse = await stock_warehouse(sources, spooled, warehouse)
        except WarehouseUnclear as unclear:
            _discard(spooled)
            return _error(400, "WAREHOUSE_NOT_FOUND", str(unclear))
    try:
        job, _ = await start_import(
            sources, kind, spooled, file_name=name, actor=actor, now=datetime.now(UTC)
        )
    except BaseException:
        _discard(spooled)
        raise
    if job.status is not ImportStatus.RUNNING:  # this file was imported before
        _discard(spooled)
        return JSONResponse({"job": job_json(kind, job)}, status_code=200)
    # A new job, or one that stopped half-way (this upload resumes it after its last
    # committed line; a run of it still going wins every batch it reaches first).
    task = asyncio.create_task(_run(sources, kind, spooled, job, actor, settings, warehouse))
    running = _running.setdefault(id(sources), set())
    running.add(task)
    task.add_done_callback(running.discard)
    return JSONResponse({"job": job_json(kind, job)}, status_code=202)


async def stop_running_imports(sources: Sources) -> int:
    """At shutdown: the jobs stay RUNNING and resume when their file is sent again. How
    many were stopped."""
    tasks = list(_running.pop(id(sources), ()))
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return len(tasks)
