"""The gateway's work around every GraphQL operation, as one schema extension, and what it
keeps per query text (the query's plan).

strawberry builds, per request and per lifecycle step (operation, parse, validate,
execute), a context manager over every extension that implements the step. With the eight
extensions the gateway used to register (operation metrics, partial data, token limit,
validation rules, cost limit, rate limit, parser cache, validation cache) that was 32 hook
look-ups, a dozen generator context managers and eight extension objects per request, and
the validation cache hashed the whole parsed document on every hit. One extension does the
same checks, in the same order, with the same errors:

- operation: metrics, partial data (degradation, stale copies, coded source errors), and in
  production no field suggestions and masked internal errors (gateway/observability.py,
  gateway/resilience/degrade.py, gateway/limits.py);
- parse: the token limit, then the parsed document, both from the query's plan;
- validate: strawberry's rules and the depth, alias, directive and introspection rules
  (gateway/limits.py), their errors kept with the plan;
- execute: stale copies allowed for a query, the cost limit, then the rate limit
  (gateway/ratelimit/limiter.py), before any resolver runs.

A query's plan is a function of its text alone (the schema, the rules and the limits are
fixed per app): its document (the token limit passed), its validation errors, and per
operation name whether it is a query, its node (the rate limit counts its checkouts) and its
kept costs (gateway/limits.py). Plans are kept for the most recently used queries
(``PLANS_KEPT``); a query that fails the token limit or does not parse is never kept.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import ASTValidationRule, DocumentNode, GraphQLError, OperationDefinitionNode, parse
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema import validate_document

from .limits import CostLimit, KeptCosts, check_tokens, strip_result_suggestions
from .metrics import Stopwatch
from .observability import mask_internal_errors, record_operation
from .ratelimit.limiter import RateLimiter, admit_operation, operation_named
from .resilience.degrade import PartialData, allow_stale, is_query

if TYPE_CHECKING:
    from strawberry.types import ExecutionContext

PLANS_KEPT = 1024  # queries (clients can send any text: bounded, least recently used out)
OPERATIONS_KEPT = 16  # operation names per query (a client can send any operationName)


class OperationFacts:
    """What one operation of a document is, for the execute step."""

    __slots__ = ("costs", "is_query", "node")

    def __init__(self, document: DocumentNode, operation_name: str | None) -> None:
        self.node: OperationDefinitionNode | None = operation_named(
            document.definitions, operation_name
        )
        self.is_query = is_query(document, operation_name)
        self.costs: KeptCosts = []


class QueryPlan:
    """What the gateway keeps of one query text."""

    __slots__ = ("document", "errors", "operations")

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.errors: list[GraphQLError] | None = None  # validation's, once validated
        self.operations: dict[str | None, OperationFacts] = {}

    def operation(self, name: str | None) -> OperationFacts:
        facts = self.operations.get(name)
        if facts is None:
            facts = OperationFacts(self.document, name)
            if len(self.operations) < OPERATIONS_KEPT:
                self.operations[name] = facts
        return facts


class OperationChecks:
    """The per-app settings of the checks, and the plans of the queries it has seen."""

    def __init__(
        self,
        *,
        max_tokens: int,
        rules: list[type[ASTValidationRule]],
        cost: CostLimit,
        rate_limiter: RateLimiter | None = None,
        mask_errors: bool = False,
        no_suggestions: bool = False,
    ) -> None:
        self.max_tokens = max_tokens
        self.rules = tuple(rules)
        self.cost = cost
        self.rate_limiter = rate_limiter
        self.mask_errors = mask_errors
        self.no_suggestions = no_suggestions
        # A failed token limit or parse raises, and lru_cache keeps nothing then.
        self.plan = functools.lru_cache(maxsize=PLANS_KEPT)(self._plan)

    def _plan(self, query: str) -> QueryPlan:
        check_tokens(query, self.max_tokens)
        return QueryPlan(parse(query))

    def extension(self) -> type[SchemaExtension]:
        """The factory strawberry calls once per request."""
        kind = GatewayOperation if self.rate_limiter is None else RateLimitedOperation
        return functools.partial(kind, self)  # type: ignore[return-value]


class GatewayOperation(SchemaExtension):
    """Every check and record of one operation (see the module's docstring).

    Each step's work is a plain method (``begin``/``leave``/``finish``, ``parse``,
    ``validate``, ``before_execution``): GatewayRunner calls them around strawberry's steps
    directly, and the ``on_*`` hooks strawberry's own runner calls (tracing on) are the
    same methods around a ``yield``."""

    def __init__(self, checks: OperationChecks) -> None:
        self.checks = checks
        self.plan: QueryPlan | None = None
        self.partial: PartialData | None = None
        self.cost: int | None = None
        self.watch: Stopwatch | None = None

    def begin(self) -> None:
        self.watch = Stopwatch()
        self.partial = PartialData(getattr(self.execution_context.context, "settings", None))

    def leave(self) -> None:
        """Always, even when the operation raised."""
        assert self.partial is not None
        self.partial.leave()

    def finish(self) -> None:
        """Once the operation has its result (not when it raised)."""
        ctx = self.execution_context
        assert self.partial is not None and self.watch is not None
        # In the order the separate extensions left the operation (the last registered first).
        if self.checks.no_suggestions:
            strip_result_suggestions(ctx.result)
        if self.checks.mask_errors:
            mask_internal_errors(ctx)
        self.partial.finish(ctx.result)
        record_operation(ctx, self.watch)

    def on_operation(self) -> Iterator[None]:
        self.begin()
        try:
            yield
        finally:
            self.leave()
        self.finish()

    def parse(self) -> None:
        ctx = self.execution_context
        query = ctx.query
        if query and ctx.graphql_document is None:
            plan = self.plan = self.checks.plan(query)
            ctx.graphql_document = plan.document

    def on_parse(self) -> Iterator[None]:
        self.parse()
        yield

    def validate(self) -> None:
        ctx = self.execution_context
        document = ctx.graphql_document
        plan = self.plan
        if plan is not None and plan.document is document:
            errors = plan.errors
            if errors is None:
                errors = plan.errors = self._validate(ctx, document)
        else:
            errors = self._validate(ctx, document)
        ctx.pre_execution_errors = errors

    def on_validate(self) -> Iterator[None]:
        self.validate()
        yield

    def _validate(self, ctx: ExecutionContext, document: Any) -> list[GraphQLError]:
        return validate_document(
            ctx.schema._schema, document, ctx.validation_rules + self.checks.rules
        )

    def on_execute(self) -> Iterator[None]:
        self.before_execution()
        yield

    def before_execution(self) -> OperationFacts | None:
        """Stale copies for a query, then the cost limit; the operation's facts."""
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None:
            return None
        plan = self.plan
        name = ctx.operation_name
        kept = plan is not None and plan.document is document
        facts = (
            plan.operation(name) if plan is not None and kept else OperationFacts(document, name)
        )
        if facts.is_query:
            allow_stale()
        if ctx.result is None:
            variables = ctx.variables if isinstance(ctx.variables, dict) else None
            cost = self.cost = self.checks.cost.cost(
                ctx.schema._schema, document, variables, name, facts.costs if kept else None
            )
            if hasattr(ctx.context, "query_cost"):
                ctx.context.query_cost = cost  # what the rate limit charges
            refusal = self.checks.cost.refusal(cost)
            if refusal is not None:
                ctx.result = refusal
        return facts

    def get_results(self) -> dict[str, Any]:
        """``extensions.stale`` (partial data) and ``extensions.cost`` (asked for)."""
        results = self.partial.results() if self.partial is not None else {}
        results.update(self.checks.cost.results(self.execution_context.context, self.cost))
        return results

    def executing(self) -> Any:
        """GatewayRunner's execute step."""
        return _Step(self.before_execution)


class RateLimitedOperation(GatewayOperation):
    """The same, and the viewer's budgets charged before execution (rate limit on)."""

    async def admit(self) -> None:
        facts = self.before_execution()
        ctx = self.execution_context
        limiter = self.checks.rate_limiter
        if facts is not None and ctx.result is None and limiter is not None:
            await admit_operation(limiter, ctx, facts.node)

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        await self.admit()
        yield

    def executing(self) -> Any:
        return _AdmittingStep(self.admit)


class _Step:
    """One step of the operation around strawberry's: ``enter`` before it; after it,
    ``leave`` always and ``finish`` unless it raised. Entered with ``with`` or ``async
    with`` (strawberry's async execution enters every step so); it never swallows an
    exception."""

    __slots__ = ("enter", "finish", "leave")

    def __init__(
        self,
        enter: Callable[[], object],
        leave: Callable[[], None] | None = None,
        finish: Callable[[], None] | None = None,
    ) -> None:
        self.enter = enter
        self.leave = leave
        self.finish = finish

    def __enter__(self) -> None:
        self.enter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.leave is not None:
            self.leave()
        if kind is None and self.finish is not None:
            self.finish()

    async def __aenter__(self) -> None:
        self.enter()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(kind, error, tb)


class _AdmittingStep:
    """The rate-limited execute step: ``admit`` awaited before it."""

    __slots__ = ("admit",)

    def __init__(self, admit: Callable[[], Awaitable[None]]) -> None:
        self.admit = admit

    async def __aenter__(self) -> None:
        await self.admit()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class GatewayRunner(SchemaExtensionsRunner):
    """strawberry's extensions runner for a request whose one extension is the gateway's:
    the same work in the same steps, called directly. (strawberry looks up every hook of
    every extension and wraps it in a new context manager, per step and per request: about
    50 Python calls a step, 600 per checkout; a generator context manager per step was
    still some 8 calls a step.)"""

    def __init__(self, execution_context: ExecutionContext, extension: GatewayOperation) -> None:
        super().__init__(execution_context, [extension])
        self.extension = extension

    def operation(self) -> Any:
        extension = self.extension
        return _Step(extension.begin, extension.leave, extension.finish)

    def parsing(self) -> Any:
        return _Step(self.extension.parse)

    def validation(self) -> Any:
        return _Step(self.extension.validate)

    def executing(self) -> Any:
        return self.extension.executing()


class GatewayNames(NameConverter):
    """strawberry's names, each Python name camel-cased once: argument conversion asks
    for every input field's GraphQL name on every request (an address is seven fields,
    each a split, a join and a capitalize per request otherwise)."""

    def __init__(self) -> None:
        super().__init__(auto_camel_case=True)
        self._camel: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        found = self._camel.get(name)
        if found is None:  # a schema's names are a few hundred: kept for good
            found = self._camel[name] = super().apply_naming_config(name)
        return found


class GatewaySchema(strawberry.Schema):
    """The schema, running the gateway's extension with GatewayRunner; any other
    extension (tracing's operation span) with strawberry's own runner."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("config", StrawberryConfig(name_converter=GatewayNames()))
        super().__init__(*args, **kwargs)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        if len(extensions) == 1 and isinstance(extensions[0], GatewayOperation):
            return GatewayRunner(execution_context, extensions[0])
        return super().create_extensions_runner(execution_context, extensions)
