"""Records shared by the batch writes of every source: the idempotency claim of a whole
batch, and the import progress a batch commits together with its writes.

A batch write is one source call and one transaction, whatever its size. Its progress (how
far through a file the rows are applied) is written in that same transaction, so a crash
between two batches leaves a job that resumes exactly where its last commit ended: no row
applied twice, none skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class BatchKey:
    """A client's idempotency key for a whole batch, with the fingerprint of everything it
    asked for: the same key with another request is refused, a retry replays."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row of an import was not applied; ``line`` is its line in the file."""

    line: int
    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """One batch of an import job: the rows read from after ``from_line`` through
    ``through_line``, and those already refused before reaching the store."""

    job_id: int
    from_line: int
    through_line: int
    rows: int
    errors: tuple[RowError, ...] = ()


class BatchRefusal(StrEnum):
    KEY_REUSED = "KEY_REUSED"  # the batch's key was used with another request
    IMPORT_MOVED_ON = "IMPORT_MOVED_ON"  # another run of the same job committed this batch
    REFUSED_ITEMS = "REFUSED_ITEMS"  # atomic: an item was refused, so nothing applied


class ImportMovedOn(Exception):
    """Another run of the job committed past this batch's start: roll this one back."""
