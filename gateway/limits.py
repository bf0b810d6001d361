"""Query limits: what a request may ask before the gateway spends anything on it.

Depth, aliases and directives are validation rules (cached with the validation result:
they depend on the document only). Tokens are counted before parsing. The cost depends
on the variables (``first: $n``), so it is computed per request, after validation and
before execution: a refused query calls no source. Every refusal is a GraphQL error with
a stable ``extensions.code``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    visit,
)
from graphql.language import Lexer, Visitor

# A field whose resolver calls a source (or computes from one) costs this much; any other
# field costs 1. A field taking `first` multiplies its subtree by it.
FIELD_COST = 1
RESOLVER_COST = 3

# A list without `first` multiplies its subtree by its realistic size: a product has a few
# SKUs, an order a few lines, three warehouses hold stock. A list not named here counts
# as a default page. A connection's `edges` count once: its `first` already multiplied.
LIST_SIZES: dict[str, int] = {
    "Product.skus": 3,
    "Product.bundleItems": 3,
    "Product.promotions": 3,
    "Product.options": 2,
    "Product.media": 4,
    "ProductMedia.altTexts": 2,
    "ProductOption.values": 4,
    "Sku.selectedOptions": 2,
    "Product.tags": 3,
    "Product.specifications": 6,
    "Category.attributes": 6,
    "AttributeDefinition.choices": 4,
    "StockLevel.warehouses": 3,
    "Cart.lines": 5,
    "Cart.couponCodes": 2,
    "CartLine.discounts": 2,
    "Order.lines": 5,
    "Order.shipments": 2,
    "Order.serviceAppointments": 2,
    "Order.afterSalesRequests": 2,
    "Order.statusHistory": 5,
    "Order.payments": 2,
    "OrderLine.discounts": 2,
    "Shipment.lines": 5,
    "Shipment.items": 5,
    "AfterSalesRequest.lines": 3,
    "AfterSalesRequest.items": 3,
    "AfterSalesRequest.statusHistory": 3,
    "SettlementFigures.discountsByPromotion": 5,
    "CheckoutValidation.errors": 3,
    # Search: the result's edges are its page (`first` already multiplied); facets are few.
    "ProductSearchResult.edges": 1,
    "ProductSearchResult.facets": 8,
    "SearchFacet.values": 8,
    "PredictiveSearchResult.products": 8,
    "PredictiveSearchResult.categories": 4,
    "PredictiveSearchResult.queries": 8,
    # By field name, on any type: every mutation payload's userErrors, a UserError's path.
    ".userErrors": 3,
    ".field": 2,
}

DEPTH_LIMIT_EXCEEDED = "DEPTH_LIMIT_EXCEEDED"
ALIAS_LIMIT_EXCEEDED = "ALIAS_LIMIT_EXCEEDED"
DIRECTIVE_LIMIT_EXCEEDED = "DIRECTIVE_LIMIT_EXCEEDED"
TOKEN_LIMIT_EXCEEDED = "TOKEN_LIMIT_EXCEEDED"
COST_LIMIT_EXCEEDED = "COST_LIMIT_EXCEEDED"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
# A request with this header set to "report" gets extensions.cost (Hot Chocolate's name).
COST_HEADER = "graphql-cost"

Fragments = Mapping[str, FragmentDefinitionNode]


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


# --- depth and aliases: walked through fragments, each fragment at most once per path ---


def _depth(
    selection_set: SelectionSetNode | None, fragments: Fragments, seen: frozenset[str]
) -> int:
    """The deepest field below this selection set (its own fields at depth 0; -1 if none).
    Introspection fields are not counted: the introspection switch governs them."""
    deepest = -1
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            deepest = max(
                deepest,
                1 + _depth(selection.selection_set, fragments, seen)
                if selection.selection_set
                else 0,
            )
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                deepest = max(deepest, _depth(fragment.selection_set, fragments, seen | {name}))
    return deepest


def _aliases(
    selection_set: SelectionSetNode | None, fragments: Fragments, seen: frozenset[str]
) -> int:
    count = 0
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            count += (selection.alias is not None) + _aliases(
                selection.selection_set, fragments, seen
            )
        elif isinstance(selection, InlineFragmentNode):
            count += _aliases(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                count += _aliases(fragment.selection_set, fragments, seen | {name})
    return count


def _limit_rule(
    measure: Callable[[DocumentNode], tuple[int, OperationDefinitionNode | None]],
    limit: int,
    code: str,
    describe: str,
) -> type[ValidationRule]:
    class LimitRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            value, where = measure(context.document)
            if value > limit:
                context.report_error(
                    GraphQLError(
                        f"{describe} {value} exceeds the limit of {limit}",
                        [where] if where is not None else None,
                        extensions={"code": code, "limit": limit},
                    )
                )

    LimitRule.__name__ = f"{code.title().replace('_', '')}Rule"
    return LimitRule


def _max_depth(document: DocumentNode) -> tuple[int, OperationDefinitionNode | None]:
    fragments = _fragments(document)
    worst: tuple[int, OperationDefinitionNode | None] = (0, None)
    for op in _operations(document):
        depth = _depth(op.selection_set, fragments, frozenset())
        if depth > worst[0]:
            worst = (depth, op)
    return worst


def _alias_count(document: DocumentNode) -> tuple[int, OperationDefinitionNode | None]:
    fragments = _fragments(document)
    ops = _operations(document)
    total = sum(_aliases(op.selection_set, fragments, frozenset()) for op in ops)
    return total, None


def _directive_count(document: DocumentNode) -> tuple[int, OperationDefinitionNode | None]:
    count = 0

    class Counter(Visitor):
        def enter_directive(self, *_: object) -> None:
            nonlocal count
            count += 1

    visit(document, Counter())
    return count, None


class _IntrospectionDisabledRule(NoSchemaIntrospectionCustomRule):
    def report_error(self, error: GraphQLError) -> None:
        super().report_error(
            GraphQLError(
                "introspection is disabled",
                error.nodes,
                extensions={"code": INTROSPECTION_DISABLED},
            )
        )


def validation_rules(
    *, max_depth: int, max_aliases: int, max_directives: int, introspection: bool
) -> list[type[ASTValidationRule]]:
    rules: list[type[ASTValidationRule]] = [
        _limit_rule(_max_depth, max_depth, DEPTH_LIMIT_EXCEEDED, "query depth"),
        _limit_rule(_alias_count, max_aliases, ALIAS_LIMIT_EXCEEDED, "alias count"),
        _limit_rule(_directive_count, max_directives, DIRECTIVE_LIMIT_EXCEEDED, "directive count"),
    ]
    if not introspection:
        rules.append(_IntrospectionDisabledRule)
    return rules


# --- tokens: counted with graphql-core's lexer before the document is parsed ---


@functools.lru_cache(maxsize=1024)
def count_tokens(query: str, stop_after: int) -> int:
    """Lexical tokens in `query` (comments excluded), counting stops past `stop_after`.
    A lexing error ends the count: the parser reports it."""
    lexer = Lexer(Source(query))
    count = 0
    try:
        while count <= stop_after:
            token = lexer.advance()
            if token.kind is TokenKind.EOF:
                break
            count += 1
    except GraphQLError:
        pass
    return count


def check_tokens(query: str, limit: int) -> None:
    """Refuses (TOKEN_LIMIT_EXCEEDED) a query of more than `limit` tokens, before it is
    parsed."""
    if count_tokens(query, limit) > limit:
        raise GraphQLError(
            f"the query has more than {limit} tokens",
            extensions={"code": TOKEN_LIMIT_EXCEEDED, "limit": limit},
        )


# --- cost: from the parsed document, the schema and the variables ---


def _has_resolver(field: GraphQLField) -> bool:
    definition = (field.extensions or {}).get("strawberry-definition")
    return getattr(definition, "base_resolver", None) is not None


class CostCalculator:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
        default_page_size: int,
        max_page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = _fragments(document)
        self.variables = dict(variables or {})
        # Every variable the walk read, with what it found: the walk is a function of these
        # alone, so a request agreeing on them costs the same (_KeptCosts).
        self.read: dict[str, tuple[bool, Any]] = {}
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self.defaults: dict[str, Any] = {}

    def operation_cost(self, operation: OperationDefinitionNode) -> int:
        for definition in operation.variable_definitions or ():
            if definition.default_value is not None:
                self.defaults[definition.variable.name.value] = definition.default_value
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        return self._selection_cost([operation.selection_set], root)

    def _selection_cost(
        self, selection_sets: list[SelectionSetNode], parent: GraphQLNamedType
    ) -> int:
        """On an interface or union one concrete type is resolved per object: the cost is
        that of the most expensive type's fields, not the sum over every fragment."""
        if isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
            possible = self.schema.get_possible_types(parent)
            if possible:
                return max(self._concrete_cost(selection_sets, t) for t in possible)
        return self._concrete_cost(selection_sets, parent)

    def _concrete_cost(
        self, selection_sets: list[SelectionSetNode], parent: GraphQLNamedType
    ) -> int:
        return sum(
            self._field_cost(nodes, parent)
            for nodes in self._collect(selection_sets, parent).values()
        )

    def _collect(
        self, selection_sets: list[SelectionSetNode], parent: GraphQLNamedType
    ) -> dict[str, list[FieldNode]]:
        """The fields by response key, as the executor merges them: a field selected twice
        (directly and through fragments) resolves once. (Runs after validation: fragments
        have no cycles and merged fields agree on their arguments.)"""
        groups: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()

        def walk(selection_set: SelectionSetNode) -> None:
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    key = (selection.alias or selection.name).value
                    groups.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    if condition is None or self._applies(condition.name.value, parent):
                        walk(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is None or name in visited:
                        continue
                    visited.add(name)
                    if self._applies(fragment.type_condition.name.value, parent):
                        walk(fragment.selection_set)

        for selection_set in selection_sets:
            walk(selection_set)
        return groups

    def _applies(self, condition: str, parent: GraphQLNamedType) -> bool:
        """Whether a fragment on `condition` selects fields of an object of type `parent`."""
        target = self.schema.get_type(condition)
        if target is None or target is parent or not isinstance(parent, GraphQLObjectType):
            return True
        if isinstance(target, GraphQLInterfaceType | GraphQLUnionType):
            return self.schema.is_sub_type(target, parent)
        return False

    def _field_cost(self, nodes: list[FieldNode], parent: GraphQLNamedType) -> int:
        node = nodes[0]
        name = node.name.value
        if name == "__typename":
            return 0
        field: GraphQLField | None = None
        target: GraphQLNamedType | None
        if name in ("__schema", "__type"):
            target = self.schema.get_type("__Schema" if name == "__schema" else "__Type")
        else:
            fields = getattr(parent, "fields", {})
            field = fields.get(name)
            if field is None:
                return FIELD_COST
            target = get_named_type(field.type)
        own = RESOLVER_COST if field is not None and _has_resolver(field) else FIELD_COST
        selection_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        if not selection_sets or target is None or is_leaf_type(target):
            return own
        children = self._selection_cost(selection_sets, target)
        return own + self._multiplier(node, field, parent) * children

    def _multiplier(
        self, node: FieldNode, field: GraphQLField | None, parent: GraphQLNamedType
    ) -> int:
        if field is None:
            return 1
        if "first" in field.args:
            first = self._argument(node, "first")
            if isinstance(first, int) and not isinstance(first, bool):
                # Past the page-size bounds the resolver refuses it (PAGE_SIZE_OUT_OF_RANGE)
                # before calling a source: it never costs more than the largest page.
                return min(max(first, 0), self.max_page_size)
            default = field.args["first"].default_value
            if isinstance(default, int) and not isinstance(default, bool):
                return max(default, 0)
            return self.default_page_size
        if "ids" in field.args:  # nodes(ids: [...]): one lookup per id
            ids = self._argument(node, "ids")
            return len(ids) if isinstance(ids, list) else 1
        if not isinstance(get_nullable_type(field.type), GraphQLList):
            return 1
        if parent.name.startswith("__"):  # introspection: the introspection switch governs it
            return 1
        if node.name.value == "edges" and parent.name.endswith("Connection"):
            return 1
        name = node.name.value
        size = LIST_SIZES.get(f"{parent.name}.{name}") or LIST_SIZES.get(f".{name}")
        return size if size is not None else self.default_page_size

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self._value(argument.value)
        return None

    def _value(self, value: Any) -> Any:
        if isinstance(value, VariableNode):
            key = value.name.value
            present = key in self.variables
            self.read[key] = (present, self.variables.get(key))
            if present:
                return self.variables[key]
            default = self.defaults.get(key)
            return self._value(default) if default is not None else None
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, ListValueNode):
            return [self._value(v) for v in value.values]
        return None


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    *,
    default_page_size: int,
    max_page_size: int,
) -> int:
    """The cost of the operation that would run (the named one, else the only one)."""
    return _query_cost(
        schema, document, variables, operation_name, default_page_size, max_page_size
    )[0]


def _query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    default_page_size: int,
    max_page_size: int,
) -> tuple[int, dict[str, tuple[bool, Any]]]:
    """The cost, and the variables the walk read (with whether each was given, and its
    value)."""
    operations = _operations(document)
    if operation_name is not None:
        operations = [op for op in operations if op.name and op.name.value == operation_name]
    if len(operations) != 1:
        return 0, {}  # execution reports the missing or ambiguous operation
    calculator = CostCalculator(schema, document, variables, default_page_size, max_page_size)
    return calculator.operation_cost(operations[0]), calculator.read


# A storefront sends the same few queries again and again: walking the document for its
# cost on every request was about 3% of a signed-in listing's CPU. The cost is a function
# of the query text (the schema is fixed per process), the operation, the page-size
# settings and the variables the walk reads (page sizes, ``first: $n``): not of the others
# (a cart id, an idempotency key, an address), which differ in every checkout request. So
# the figure is kept per query and operation (with the query's plan, gateway/operation.py,
# whose cache bounds how many queries) by the values of the variables its walk read: a
# request agreeing with a kept walk on every variable that walk read makes the same walk,
# step by step, and so the same cost.
_WALKS_KEPT = 64  # kept costs per query (page sizes a client varies)
# per query: [(the variables a walk read, {their values: cost})]
KeptCosts = list[tuple[tuple[str, ...], dict[bytes, int]]]
_KeptCosts = KeptCosts


def _values_of(names: tuple[str, ...], variables: Mapping[str, Any]) -> bytes | None:
    """The named variables' presence and values, serialised; None when they do not
    serialise (then the cost is computed, not kept)."""
    try:
        return orjson.dumps(
            [(name in variables, variables.get(name)) for name in names],
            option=orjson.OPT_SORT_KEYS,
        )
    except TypeError:
        return None


def _kept_cost(kept: _KeptCosts, variables: Mapping[str, Any]) -> int | None:
    for names, costs in kept:
        values = _values_of(names, variables)
        if values is not None and values in costs:
            return costs[values]
    return None


def _keep_cost(kept: _KeptCosts, read: dict[str, tuple[bool, Any]], cost: int) -> None:
    names = tuple(sorted(read))
    values = _values_of(names, {n: v for n, (present, v) in read.items() if present})
    if values is None:
        return
    for kept_names, costs in kept:
        if kept_names == names:
            if len(costs) < _WALKS_KEPT:
                costs[values] = cost
            return
    if len(kept) < _WALKS_KEPT:
        kept.append((names, {values: cost}))


class CostLimit:
    """The cost limit's settings, and what a request's cost is (gateway/operation.py asks
    it once per request, after validation and before execution: a refused query calls no
    source)."""

    __slots__ = ("default_page_size", "limit", "max_page_size")

    def __init__(self, *, limit: int, default_page_size: int, max_page_size: int) -> None:
        self.limit = limit
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size

    def cost(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        kept: _KeptCosts | None,
    ) -> int:
        """The operation's cost, from ``kept`` (this query's kept walks, see above) when a
        kept walk read the same values; else walked, and the walk kept there."""
        cost = _kept_cost(kept, variables or {}) if kept else None
        if cost is None:
            cost, read = _query_cost(
                schema,
                document,
                variables,
                operation_name,
                self.default_page_size,
                self.max_page_size,
            )
            if kept is not None:
                _keep_cost(kept, read, cost)
        return cost

    def refusal(self, cost: int) -> ExecutionResult | None:
        if cost <= self.limit:
            return None
        return ExecutionResult(
            data=None,
            errors=[
                GraphQLError(
                    f"the query costs {cost}, over the limit of {self.limit}",
                    extensions={"code": COST_LIMIT_EXCEEDED, "cost": cost, "limit": self.limit},
                )
            ],
        )

    def results(self, context: Any, cost: int | None) -> dict[str, Any]:
        """``extensions.cost`` for a request that asks with ``GraphQL-Cost: report`` (Hot
        Chocolate's header): what this query cost, the most one may cost, and (rate limit
        on) the viewer's budget left and how fast it refills, named as Shopify's clients
        read them. Asked for, not always sent: a per-viewer, per-moment figure in every
        answer would make equal queries' answers differ, and no cache or CDN could share
        them."""
        request = getattr(context, "request", None)
        if cost is None or request is None:
            return {}
        if request.headers.get(COST_HEADER, "").strip().lower() != "report":
            return {}
        response = getattr(context, "response", None)
        if response is not None:
            response.headers["Cache-Control"] = "private, no-store"
        throttle = getattr(context, "throttle", None)
        return {
            "cost": {
                "requestedQueryCost": cost,
                "maximumQueryCost": self.limit,
                "throttleStatus": None
                if throttle is None
                else {
                    "maximumAvailable": throttle.maximum_available,
                    "currentlyAvailable": round(throttle.currently_available, 1),
                    "restoreRate": throttle.restore_rate,
                },
            }
        }


# --- production: no field suggestions ---

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def strip_suggestions(message: str) -> str:
    return _SUGGESTION.sub("", message)


def strip_result_suggestions(result: Any) -> None:
    """Production: validation messages keep their first sentence, not graphql-core's
    "Did you mean ...?" (it would list the schema's names to whoever probes it)."""
    if not result or not result.errors:
        return
    result.errors = [_without_suggestion(error) for error in result.errors]


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    message = strip_suggestions(error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        error.nodes,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


# --- the request body ---


async def read_body_limited(receive: Callable[[], Any], limit: int) -> bytes | None:
    """The request body, or None as soon as it is larger than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
