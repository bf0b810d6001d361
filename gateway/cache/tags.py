"""What one request read from the cache, so its response can be tagged with those entities
(a price change then purges exactly the responses that showed that price)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

from .keys import Kind


@dataclass
class ReadSet:
    keys: set[str] = field(default_factory=set)
    kinds: set[Kind] = field(default_factory=set)
    is_cacheable: bool = True  # False once something uncacheable (a source read) was used

    def add(self, kind: Kind, keys: list[str]) -> None:
        self.kinds.add(kind)
        self.keys.update(keys)


current_reads: ContextVar[ReadSet | None] = ContextVar("current_reads", default=None)


def record_reads(kind: Kind, keys: list[str]) -> None:
    reads = current_reads.get()
    if reads is not None:
        reads.add(kind, keys)
