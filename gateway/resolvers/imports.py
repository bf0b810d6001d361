"""importJob(id): a price import for MANAGE_PRICES staff, a stock import for MANAGE_STOCK
staff; anyone else reads it as not found."""

from typing import Annotated

import strawberry

from ..backoffice.imports import JOB_TYPE_NAMES, ImportKind, jobs_store
from ..ids import row_id
from ..schema.common import Info
from ..schema.imports import PERMISSIONS, ImportJob
from ..schema.node import decode_id

_KINDS = {name: kind for kind, name in JOB_TYPE_NAMES.items()}


async def import_job(
    info: Info,
    id: Annotated[
        strawberry.ID, strawberry.argument(description="The import's id, as the upload answered.")
    ],
) -> ImportJob | None:
    type_name, raw = decode_id(id)
    kind: ImportKind | None = _KINDS.get(type_name)
    pk = row_id(raw)
    if kind is None or pk is None or not info.context.viewer.has(PERMISSIONS[kind]):
        return None
    job = (await jobs_store(info.context.sources, kind).import_jobs_by_ids([pk])).get(pk)
    return ImportJob.from_record(kind, job) if job else None
