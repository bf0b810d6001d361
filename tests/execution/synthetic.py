"""A small schema built to corner the executor: nullable and non-null fields that fail for
some objects in the middle of lists, nested lists, an interface with two implementations,
sync, async and batch resolvers, enums, out-of-range ints. Whether a field fails depends
only on the object's number, so both executors see the same failures."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from typing import Any

import strawberry
from strawberry.extensions import ParserCache

from gateway.execution.batch import batch_field


def fails(n: int, modulus: int) -> bool:
    return n % modulus == modulus - 1


@strawberry.enum
class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


@strawberry.interface
class Thing:
    id: strawberry.ID


@strawberry.type
class Leaf(Thing):
    n: int
    label: str


@strawberry.type
class Item(Thing):
    n: int
    name: str | None
    shade: Shade
    tags: list[str]

    @strawberry.field
    def nullable_tags(self) -> list[str | None]:
        return [None if i % 3 == 1 else f"t{i}" for i in range(self.n % 4)]

    @strawberry.field
    def broken(self) -> str | None:
        if fails(self.n, 3):
            raise ValueError(f"broken {self.n}")
        return f"ok {self.n}"

    @strawberry.field
    def strict(self) -> str:
        if fails(self.n, 5):
            raise ValueError(f"strict {self.n}")
        return f"strict ok {self.n}"

    @strawberry.field
    async def slow(self) -> int | None:
        await asyncio.sleep(0)
        if fails(self.n, 4):
            raise ValueError(f"slow {self.n}")
        return self.n * 2

    @strawberry.field
    def huge(self) -> int | None:
        return 2**40 if fails(self.n, 6) else self.n

    @strawberry.field
    def missing(self) -> str:
        return None if fails(self.n, 7) else "here"  # type: ignore[return-value]

    @strawberry.field
    def batched(self) -> str | None:  # per-object form; the batch form below is the same
        if fails(self.n, 4):
            raise ValueError(f"batched {self.n}")
        return f"b{self.n}"

    @strawberry.field
    def children(self, count: int = 3) -> list[Item]:
        return [make_item(self.n * 10 + i) for i in range(count)]

    @strawberry.field
    def maybe_children(self) -> list[Item | None] | None:
        return [None if i == 1 else make_item(self.n * 10 + i) for i in range(3)]

    @strawberry.field
    def strict_children(self) -> list[Item]:
        return [make_item(self.n * 7 + i) for i in range(2)]

    @strawberry.field
    def grid(self) -> list[list[Leaf | None]]:
        return [[make_leaf(self.n + r * 3 + c) for c in range(2)] for r in range(2)]

    @strawberry.field
    def parent(self) -> Item | None:
        return make_item(self.n // 2) if self.n else None

    @strawberry.field
    def things(self) -> list[Thing]:
        return [make_leaf(self.n), make_item(self.n + 1)]


@batch_field("Item", "batched")
async def batched_form(parents: Sequence[Item], info: Any, _: dict[str, Any]) -> list[Any]:
    await asyncio.sleep(0)
    return [ValueError(f"batched {p.n}") if fails(p.n, 4) else f"b{p.n}" for p in parents]


def make_item(n: int) -> Item:
    return Item(
        id=strawberry.ID(f"i{n}"),
        n=n,
        name=None if n % 5 == 2 else f"item {n}",
        shade=Shade.DARK if n % 2 else Shade.LIGHT,
        tags=[f"tag{n}", f"x{n % 3}"],
    )


def make_leaf(n: int) -> Leaf:
    return Leaf(id=strawberry.ID(f"l{n}"), n=n, label=f"leaf {n}")


@strawberry.type
class Query:
    @strawberry.field
    def items(self, count: int = 6, start: int = 0) -> list[Item]:
        return [make_item(start + i) for i in range(count)]

    @strawberry.field
    def maybe_items(self, count: int = 6) -> list[Item | None]:
        return [None if i % 4 == 3 else make_item(i) for i in range(count)]

    @strawberry.field
    async def item(self, n: int) -> Item | None:
        return make_item(n)

    @strawberry.field
    def strict_item(self, n: int) -> Item:
        return make_item(n)

    @strawberry.field
    def thing(self, n: int) -> Thing | None:
        return make_leaf(n) if n % 2 else make_item(n)

    @strawberry.field
    def things(self, count: int = 4) -> list[Thing | None]:
        return [make_leaf(i) if i % 2 else make_item(i) for i in range(count)]

    @strawberry.field
    def boom(self) -> str | None:
        raise RuntimeError("boom")

    @strawberry.field
    def hello(self, name: str = "world") -> str:
        return f"hello {name}"


def build(executor_class: Any) -> strawberry.Schema:
    # A parser cache, as the app has: a repeated document is the same object, so the
    # executor's plan cache is exercised too.
    return strawberry.Schema(
        query=Query,
        types=[Leaf, Item],
        execution_context_class=executor_class,
        extensions=[lambda: ParserCache(maxsize=256)],
    )
