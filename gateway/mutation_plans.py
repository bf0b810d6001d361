"""A mutation's payload executed from a plan kept per query text, as a query is.

A checkout mutation is one root field (``cartCreate``, ``cartShippingAddressSet``,
``checkoutComplete``) whose payload is a dozen to twenty fields. Under graphql-core's
standard execution each of them is a resolver call, an info object, an awaitable check
and a completion per request; the breadth-first executor (gateway/execution) does the same
work from a plan made once per document and reads plain attributes in a loop. It declined
every mutation because the spec runs a mutation's root fields one after another; with
exactly one root field there is nothing to order, so such a mutation runs from its plan
(the root resolver once, then its payload level by level) and answers the same, errors
and null propagation included. A mutation with two or more root fields (or anything the
planner declines) keeps standard, serial execution, counted as before.
"""

from __future__ import annotations

from typing import Any

from graphql import OperationType
from graphql.execution.executor import Executor

from .execution import BREADTH_FIRST, BreadthFirstExecutor, executor_class
from .execution.executor import _count
from .execution.plan import OperationPlan, Unsupported


class PlannedMutations(BreadthFirstExecutor):
    """The breadth-first executor, which also runs a one-field mutation from its plan."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        if self.operation.operation is not OperationType.MUTATION:
            return super().execute_operation(serially)
        plan: OperationPlan | None = None
        reason = self._declined()
        if reason is None:
            try:
                plan = self._plan(OperationType.MUTATION)
            except Unsupported as exc:
                reason = str(exc)
            except Exception:
                reason = "planning error"
        if plan is not None and len(plan.root.fields) != 1:
            plan, reason = None, "mutation"  # two root fields: one after the other
        _count(self.context_value, reason)
        if plan is None:
            # graphql-core's own execution (BreadthFirstExecutor's would decline again).
            return super(BreadthFirstExecutor, self).execute_operation(serially)
        return self._run(plan)


def execution_class(name: str) -> type[Executor[Any]]:
    """The schema's execution context for GATEWAY_EXECUTOR: with the breadth-first
    executor, one-field mutations are planned too; ``standard`` is graphql-core's."""
    if name == BREADTH_FIRST:
        return PlannedMutations
    return executor_class(name)
