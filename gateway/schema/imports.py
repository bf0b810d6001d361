"""Import jobs as back-office UIs poll them: status, counts, and the bad rows page by page.

A price import is visible to MANAGE_PRICES staff, a stock import to MANAGE_STOCK staff and
a product import to MANAGE_PRODUCTS staff;
to anyone else the id reads as not found (null), like an order of another customer's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from sources.common.import_jobs import ImportJob as JobRecord
from sources.common.import_jobs import ImportStatus
from sources.common.pagination import InvalidCursor, decode_cursor, encode_cursor

from ..auth import Permission
from ..backoffice.imports import JOB_TYPE_NAMES, ImportKind, jobs_store
from ..errors import UserErrorCode
from .common import BadUserInput, Info, PageInfo, page_size
from .enums import describe_values
from .node import encode_id

strawberry.enum(ImportStatus, name="ImportJobStatus", description="Where an import stands.")
describe_values(
    ImportStatus,
    {
        "RUNNING": "Rows are being applied.",
        "COMPLETED": "Every row was applied or refused (the refused ones are in errors).",
        "FAILED": "The file could not be read, or the import stopped; see errors.",
    },
)
strawberry.enum(
    ImportKind,
    name="ImportKind",
    description="What an import file holds: PRICES, STOCK, or PRODUCTS (a product CSV as "
    "Shopify exports it).",
)
describe_values(
    ImportKind,
    {
        "PRICES": "List and sale prices per SKU code (MANAGE_PRICES).",
        "STOCK": "Stock adjustments per SKU code and warehouse (MANAGE_STOCK).",
        "PRODUCTS": "Products, SKUs and prices from a Shopify product CSV (MANAGE_PRODUCTS).",
    },
)

PERMISSIONS = {
    ImportKind.PRICES: Permission.MANAGE_PRICES,
    ImportKind.STOCK: Permission.MANAGE_STOCK,
    ImportKind.PRODUCTS: Permission.MANAGE_PRODUCTS,
}
_CURSOR = "IMPORT_ERRORS"


@strawberry.type(description="A row of an import file that was not applied.")
class ImportRowError:
    line: int = strawberry.field(description="Its line in the file (the header is line 1).")
    code: UserErrorCode = strawberry.field(
        description="Why the row was refused, as a mutation would have answered it."
    )
    message: str = strawberry.field(description="The reason, for a person.")
    field: str | None = strawberry.field(description="The column at fault, when one is.")


@strawberry.type(description="One refused row and its cursor.")
class ImportRowErrorEdge:
    cursor: str = strawberry.field(description="Pass as `after` to get the rows after this one.")
    node: ImportRowError = strawberry.field(description="The refused row.")


@strawberry.type(description="A page of an import's refused rows (Relay connection).")
class ImportRowErrorConnection:
    edges: list[ImportRowErrorEdge] = strawberry.field(
        description="The refused rows on this page, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages, and the cursors to reach them."
    )
    total_count: int = strawberry.field(description="How many rows were refused in all.")


@strawberry.type(description="A CSV import: started by `gateway import` or the upload endpoint.")
class ImportJob:
    id: strawberry.ID = strawberry.field(
        description="The import's global id (Relay), as the upload answered."
    )
    kind: ImportKind = strawberry.field(description="Prices or stock.")
    file_name: str = strawberry.field(description="The uploaded file's name.")
    status: ImportStatus = strawberry.field(
        description=(
            "RUNNING until every row is applied or refused; then COMPLETED (bad "
            "rows are listed in errors) or FAILED."
        )
    )
    processed: int = strawberry.field(description="Rows read so far.")
    failed: int = strawberry.field(description="Rows refused so far (see errors).")
    applied: int = strawberry.field(description="Rows applied so far.")
    message: str | None = strawberry.field(description="Why a FAILED job stopped.")
    created_at: datetime = strawberry.field(description="When the file was uploaded (UTC).")
    updated_at: datetime = strawberry.field(description="When progress was last recorded (UTC).")
    finished_at: datetime | None = strawberry.field(
        description="When it finished (UTC); null while RUNNING."
    )
    pk: strawberry.Private[int]

    @classmethod
    def from_record(cls, kind: ImportKind, job: JobRecord) -> ImportJob:
        return cls(
            id=encode_id(JOB_TYPE_NAMES[kind], job.id),
            kind=kind,
            file_name=job.file_name,
            status=job.status,
            processed=job.processed,
            failed=job.failed,
            applied=job.processed - job.failed,
            message=job.message or None,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
            pk=job.id,
        )

    @strawberry.field(description="Bad rows in file order.")
    async def errors(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(
                description=(
                    "Page size: at most GATEWAY_MAX_PAGE_SIZE (100 by default); 20 when omitted."
                )
            ),
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor from a previous page's edges (or pageInfo.endCursor)."
            ),
        ] = None,
    ) -> ImportRowErrorConnection:
        size = page_size(info, first)
        after_id = None
        if after is not None:
            try:
                _, after_id = decode_cursor(after, _CURSOR)
            except InvalidCursor as exc:
                raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
        store = jobs_store(info.context.sources, self.kind)
        page = await store.import_row_errors(self.pk, size, after_id)
        cursors = [encode_cursor(_CURSOR, None, row_id) for row_id in page.cursors]
        return ImportRowErrorConnection(
            edges=[
                _edge(cursor, e.line, e.code, e.message, e.field)
                for cursor, e in zip(cursors, page.errors, strict=True)
            ],
            page_info=PageInfo.of(cursors, has_next_page=page.has_next_page, after=after),
            total_count=page.total_count,
        )


def _edge(cursor: str, line: int, code: str, message: str, field: str | None) -> ImportRowErrorEdge:
    known = code if code in UserErrorCode.__members__ else UserErrorCode.INVALID_INPUT.value
    return ImportRowErrorEdge(
        cursor=cursor,
        node=ImportRowError(line=line, code=UserErrorCode(known), message=message, field=field),
    )
