"""Execution of GraphQL operations: the breadth-first executor and its switch.

``executor_class(name)`` is what the schema is built with: ``"breadth-first"`` (the
default, gateway/execution/executor.py) or ``"standard"`` (strawberry's graphql-core
execution, field by field).
"""

from __future__ import annotations

from typing import Any

from graphql.execution.executor import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from . import catalog_batches as _catalog_batches  # noqa: F401 - registers batch forms
from . import catalog_detail_batches as _detail_batches  # noqa: F401 - registers batch forms
from .executor import BREADTH_FIRST, STANDARD, BreadthFirstExecutor

EXECUTORS = (BREADTH_FIRST, STANDARD)


def executor_class(name: str) -> type[Executor[Any]]:
    if name == BREADTH_FIRST:
        return BreadthFirstExecutor
    if name == STANDARD:
        return StrawberryGraphQLCoreExecutionContext
    raise ValueError(f"unknown executor {name!r} (one of {', '.join(EXECUTORS)})")


__all__ = ["BREADTH_FIRST", "EXECUTORS", "STANDARD", "BreadthFirstExecutor", "executor_class"]
