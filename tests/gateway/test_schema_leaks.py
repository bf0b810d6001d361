"""No path through the schema shows an anonymous buyer a staff-only value.

The schema is read from the live gateway by introspection and walked from Query: every
path (at most six fields deep, no type more than twice on a path) that ends at a field
carrying ``@requiresPermission`` is asked for, as anonymous, with ids of real objects,
through ``node(id:)`` and ``nodes(ids:)`` with inline fragments on each concrete type (and
on the Node interface), nested connections, bundle items, everything (paths that start at
the same root field share one query). Every staff-only value in every response must be
null, or, for a staff listing, empty. A new type or field that opens a new path is walked
automatically; a staff-only value moved under an unguarded name is caught by the checks on
names and types at the end. The same walk, to every product's slug and SKU's code, finds
no unpublished product.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import graphql
import pytest

from tests.conftest import LiveGateway, serve, settings_for

from .permission_cases import (
    Samples,
    global_id,
    guarded_fields,
    guards,
    load_samples,
    parse_schema,
    unpublished_slugs_and_codes,
)

MAX_DEPTH = 6
MAX_TYPE_REPEATS = 2
# Names that hold staff-only data wherever they appear; see test_staff_only_names_are_guarded.
STAFF_ONLY_NAMES = {"costPrice", "supplier", "onHand", "reserved", "warehouses", "auditLog"}
STAFF_ONLY_PATTERN = re.compile(r"cost_?price|supplier|on_?hand|audit", re.IGNORECASE)


@dataclass(frozen=True)
class Step:
    field: str
    coordinate: str  # Parent.field
    arguments: str = ""
    on_type: str | None = None  # an inline fragment on the field's concrete type
    via_interface: str | None = None  # ... wrapped in a fragment on this interface

    def __str__(self) -> str:
        name = f"{self.field}({self.arguments})" if self.arguments else self.field
        if self.on_type:
            name += f"<{self.via_interface + '>' if self.via_interface else ''}{self.on_type}>"
        return name


@dataclass(frozen=True)
class Path:
    steps: tuple[Step, ...]
    leaf_selection: str  # what to ask of the target when it is an object ("" for scalars)

    @property
    def target(self) -> str:
        return self.steps[-1].coordinate

    def __str__(self) -> str:
        return ".".join(str(step) for step in self.steps)


@dataclass
class _Selection:
    children: dict[Step, _Selection] = field(default_factory=dict)
    leaf: str = ""


def documents(paths: list[Path]) -> dict[str, str]:
    """One query per root field and arguments, holding every path that starts there (a
    query per path would be hundreds of requests for the same answers)."""
    roots: dict[str, dict[Step, _Selection]] = {}
    for path in paths:
        first = path.steps[0]
        level = roots.setdefault(str(Step(first.field, first.coordinate, first.arguments)), {})
        for i, step in enumerate(path.steps):
            selection = level.setdefault(step, _Selection())
            if i == len(path.steps) - 1:
                selection.leaf = selection.leaf or path.leaf_selection
            level = selection.children
    return {root: "query LeakProbe { " + _render(tree) + " }" for root, tree in roots.items()}


def _render(level: dict[Step, _Selection]) -> str:
    parts = []
    for step, selection in level.items():
        head = f"{step.field}({step.arguments})" if step.arguments else step.field
        inner = " ".join(x for x in (selection.leaf, _render(selection.children)) if x)
        if not inner:
            parts.append(head)
            continue
        if step.on_type:
            inner = f"... on {step.on_type} {{ {inner} }}"
        if step.via_interface:
            inner = f"... on {step.via_interface} {{ {inner} }}"
        parts.append(f"{head} {{ {inner} }}")
    return " ".join(parts)


@dataclass(frozen=True)
class RealIds:
    by_type: dict[str, list[str]]
    dropship_slug: str
    bundle_id: str

    def all(self) -> list[str]:
        return [i for ids in self.by_type.values() for i in ids]

    def of(self, type_name: str) -> str:
        """A real id of that type, or a well-formed one (carts and orders are not seeded,
        and anonymous must read someone else's as not found anyway)."""
        return self.by_type.get(type_name, [global_id(type_name, 1)])[0]


def arguments_for(
    coordinate: str, definition: graphql.GraphQLField, ids: RealIds
) -> list[str] | None:
    """The argument lists a path tries on a field, each its own path; None when a required
    argument has no value to give."""
    table: dict[str, list[str]] = {
        "Query.product": [f'slug: "{ids.dropship_slug}"', f'id: "{ids.bundle_id}"'],
        "Query.products": ["first: 50"],
        "Query.nodes": ["ids: [" + ", ".join(f'"{i}"' for i in ids.all()) + "]"],
        "Query.lowStock": ["threshold: 1000000, first: 5"],
        "Query.settlement": ['from: "2000-01-01T00:00:00Z", to: "2000-12-31T00:00:00Z"'],
        "Query.shipmentsDue": ['before: "2100-01-01T00:00:00Z", first: 5'],
        "Query.importJob": [
            f'id: "{global_id("PriceImport", 1)}"',
            f'id: "{global_id("StockImport", 1)}"',
        ],
        "Category.products": ["first: 10"],
        "Query.customerAuditLog": [f'customerId: "{ids.of("Customer")}"'],
        "Query.afterSalesAuditLog": [f'requestId: "{global_id("AfterSalesRequest", 1)}"'],
        # Which picks name a SKU differs by product; Product.skus reaches the same SKUs.
        "Product.skuBySelectedOptions": ["selectedOptions: []"],
        # Search reaches products (and their staff-only fields) by a word the demo uses.
        "Query.search": ['query: "headset", first: 10'],
        "Query.predictiveSearch": ['query: "head", limit: 5'],
    }
    if coordinate in table:
        return table[coordinate]
    given = []
    for name, argument in definition.args.items():
        if not graphql.is_required_argument(argument):
            continue
        returned = graphql.get_named_type(definition.type).name
        if name == "id" and graphql.get_named_type(argument.type).name == "ID":
            given.append(f'id: "{ids.of(returned)}"')  # e.g. order(id:), cart(id:)
        else:
            return None
    return [", ".join(given)]


def _leaf_selection(type_: graphql.GraphQLNamedType) -> str:
    """Enough of an object to tell a hidden value from a shown one: its type name, and
    for a connection its count and edges (a staff listing may read as empty, not null)."""
    if not _composite(type_):
        return ""
    fields = getattr(type_, "fields", {})
    return " ".join(
        ["__typename"]
        + (["totalCount"] if "totalCount" in fields else [])
        + (["edges { __typename }"] if "edges" in fields else [])
    )


def hidden(value: Any) -> bool:
    """Null, or a connection with nothing in it (a staff listing reads as empty). An empty
    list is not hidden: a guarded list reads as null, and [] would mean the guard let the
    request through to an object that happens to have no entries."""
    if value is None:
        return True
    if isinstance(value, dict) and "edges" in value:
        return value["edges"] == [] and value.get("totalCount") in (0, None)
    return False


def _composite(type_: graphql.GraphQLNamedType) -> bool:
    return isinstance(
        type_, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType | graphql.GraphQLUnionType
    )


def walk_paths(
    schema: graphql.GraphQLSchema, targets: set[str], ids: RealIds
) -> Iterator[tuple[Path, bool]]:
    """Every path from Query to one of ``targets`` (fields, as Type.field), and whether it
    passes a guarded field on the way."""
    assert schema.query_type is not None

    def visit(
        parent: graphql.GraphQLObjectType,
        prefix: tuple[Step, ...],
        seen: Counter[str],
        through_guard: bool,
    ) -> Iterator[tuple[Path, bool]]:
        for name, definition in parent.fields.items():
            coordinate = f"{parent.name}.{name}"
            required = [
                a for a, arg in definition.args.items() if graphql.is_required_argument(arg)
            ]
            target = graphql.get_named_type(definition.type)
            variants = arguments_for(coordinate, definition, ids)
            if coordinate == "Query.node":
                variants = ["NODE"]
            elif variants is None:
                pytest.fail(f"{coordinate} needs {required}: add its arguments to arguments_for")
            for arguments in variants:
                if coordinate in targets:
                    step = Step(name, coordinate, arguments)
                    yield Path((*prefix, step), _leaf_selection(target)), through_guard
                if len(prefix) + 1 >= MAX_DEPTH or not _composite(target):
                    continue
                for concrete in (
                    schema.get_possible_types(target)
                    if graphql.is_abstract_type(target)
                    else [target]
                ):
                    assert isinstance(concrete, graphql.GraphQLObjectType)
                    if seen[concrete.name] >= MAX_TYPE_REPEATS:
                        continue
                    steps = _steps(coordinate, name, arguments, target, concrete, ids)
                    for step in steps:
                        yield from visit(
                            concrete,
                            (*prefix, step),
                            seen + Counter([concrete.name]),
                            through_guard or coordinate in GUARDED,
                        )

    yield from visit(schema.query_type, (), Counter([schema.query_type.name]), False)


def _steps(
    coordinate: str,
    name: str,
    arguments: str,
    target: graphql.GraphQLNamedType,
    concrete: graphql.GraphQLObjectType,
    ids: RealIds,
) -> list[Step]:
    if not graphql.is_abstract_type(target):
        return [Step(name, coordinate, arguments)]
    if coordinate == "Query.node":
        arguments = f'id: "{ids.of(concrete.name)}"'
    return [
        Step(name, coordinate, arguments, concrete.name),
        Step(name, coordinate, arguments, concrete.name, via_interface=target.name),
    ]


def guarded_values_along(data: Any, path: Path) -> tuple[list[Any], list[Any], bool]:
    """(values of every guarded field met along the path, values of the target field,
    whether the target's parent object was reached at all)."""
    current: list[Any] = [data]
    met: list[Any] = []
    for step in path.steps:
        values = [obj[step.field] for obj in current if isinstance(obj, dict) and step.field in obj]
        if step is path.steps[-1]:
            return met, values, bool(values)
        if step.coordinate in GUARDED:
            met.extend(values)
        current = []
        for value in values:
            current.extend(value if isinstance(value, list) else [value])
    raise AssertionError("unreachable")


GUARDED = set(guarded_fields(parse_schema()))


@pytest.fixture(scope="module")
def gateway(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    """The session's gateway, but with the query cost and size unbounded: these queries select every
    field of every type (every Node type at once in nodes(ids:)), far past any real screen."""
    yield from serve(settings_for(sqlite_shop, max_cost=10_000_000, max_tokens=20_000))


@pytest.fixture(scope="module")
def live_schema(gateway: LiveGateway) -> graphql.GraphQLSchema:
    result = gateway.query(graphql.get_introspection_query())
    assert "errors" not in result, result["errors"]
    return graphql.build_client_schema(result["data"])


@pytest.fixture(scope="module")
def real_ids(
    gateway: LiveGateway, live_schema: graphql.GraphQLSchema, sqlite_shop: dict[str, str]
) -> RealIds:
    """Ids of objects that carry staff-only data, fetched as a storefront would (and a
    well-formed id for every other Node type, for node(id:) and nodes(ids:))."""
    result = gateway.query(
        """
        query {
          products(first: 100) { edges { node {
            id slug kind fulfillment skus { id } promotions { id } category { id }
          } } }
        }
        """
    )
    assert "errors" not in result, result["errors"]
    nodes = [e["node"] for e in result["data"]["products"]["edges"]]
    dropship = next(n for n in nodes if n["fulfillment"] == "DROPSHIP")
    bundle = next(n for n in nodes if n["kind"] == "BUNDLE")
    plain = next(n for n in nodes if n["kind"] == "PHYSICAL" and n["fulfillment"] == "WAREHOUSE")
    promotion = next(p["id"] for n in nodes for p in n["promotions"])
    samples: Samples = load_samples(sqlite_shop)
    by_type = {
        "Product": [dropship["id"], bundle["id"], plain["id"], samples.unpublished_id],
        "Sku": [dropship["skus"][0]["id"], plain["skus"][0]["id"], bundle["skus"][0]["id"]],
        "Category": [plain["category"]["id"]],
        "Customer": [global_id("Customer", 1)],  # anonymous may not see any customer
        "Promotion": [promotion],
    }
    node = live_schema.type_map["Node"]
    assert isinstance(node, graphql.GraphQLInterfaceType)
    for type_ in live_schema.get_possible_types(node):
        by_type.setdefault(type_.name, [global_id(type_.name, 1)])
    return RealIds(
        by_type=by_type,
        dropship_slug=dropship["slug"],
        bundle_id=bundle["id"],
    )


def test_the_live_schema_is_the_exported_one(live_schema: graphql.GraphQLSchema) -> None:
    """The guards are read from schema.graphql; the live schema must have no field the
    file does not describe, or its guard would go unchecked."""

    def coordinates(schema: graphql.GraphQLSchema) -> set[str]:
        return {
            f"{t.name}.{f}"
            for t in schema.type_map.values()
            if not t.name.startswith("__") and hasattr(t, "fields")
            for f in t.fields
        }

    assert coordinates(live_schema) == coordinates(parse_schema())


def run_paths(gateway: LiveGateway, paths: list[Path]) -> Iterator[tuple[Path, Any]]:
    """Each path with the data its query returned, as anonymous."""
    responses: dict[str, Any] = {}
    for root, document in documents(paths).items():
        result = gateway.query(document)
        assert "errors" not in result, f"{root}: {result['errors']}"
        responses[root] = result["data"]
    for path in paths:
        first = path.steps[0]
        yield path, responses[str(Step(first.field, first.coordinate, first.arguments))]


def test_no_path_shows_a_staff_only_value_to_anonymous(
    gateway: LiveGateway, live_schema: graphql.GraphQLSchema, real_ids: RealIds
) -> None:
    walked = list(walk_paths(live_schema, GUARDED, real_ids))
    paths = [path for path, _ in walked]
    through_guard = {path: through for path, through in walked}
    leaks: list[str] = []
    reached: set[str] = set()
    through = Counter(step.coordinate for path in paths for step in path.steps)
    for path, data in run_paths(gateway, paths):
        met, values, was_reached = guarded_values_along(data, path)
        if not all(hidden(v) for v in met + values):
            leaks.append(f"{path} -> {values or met}")
        if was_reached and not through_guard[path]:
            reached.add(path.target)
    assert not leaks, "staff-only values shown to anonymous:\n" + "\n".join(leaks)
    # The walk went where it had to, with objects that have data:
    assert reached == GUARDED, f"never reached with data: {GUARDED - reached}"
    for coordinate in ("Query.node", "Query.nodes", "Category.products", "BundleItem.sku"):
        assert through[coordinate], f"no path went through {coordinate}"
    assert any(s.via_interface == "Node" for path in paths for s in path.steps), (
        "no path used a fragment on the Node interface"
    )
    assert any(path.steps[0].field == "lowStock" and len(path.steps) > 1 for path in paths), (
        "no path went through lowStock's edges"
    )


def test_no_path_shows_an_unpublished_product_to_anonymous(
    gateway: LiveGateway,
    live_schema: graphql.GraphQLSchema,
    real_ids: RealIds,
    sqlite_shop: dict[str, str],
) -> None:
    """The same walk, to every product's slug and every SKU's code: an unpublished
    product (or one of its SKUs) reads as not found on every path, not only on
    product(slug:) and the listing."""
    slugs, codes = unpublished_slugs_and_codes(sqlite_shop["catalog"])
    assert slugs and codes, "the demo shop has no unpublished product"
    hidden = set(slugs) | set(codes)
    paths = [path for path, _ in walk_paths(live_schema, {"Product.slug", "Sku.code"}, real_ids)]
    shown: dict[str, set[str]] = {"Product.slug": set(), "Sku.code": set()}
    leaks = []
    for path, data in run_paths(gateway, paths):
        _, values, _ = guarded_values_along(data, path)
        shown[path.target].update(v for v in values if v is not None)
        leaks += [f"{path} -> {v}" for v in values if v in hidden]
    assert not leaks, "unpublished products shown to anonymous:\n" + "\n".join(leaks)
    assert len(shown["Product.slug"]) > 20 and len(shown["Sku.code"]) > 20, shown


def _public_types(schema: graphql.GraphQLSchema, guarded: set[str]) -> set[str]:
    """Types an anonymous request can reach without passing a guarded field."""
    roots = [t for t in (schema.query_type, schema.mutation_type) if t is not None]
    public: set[str] = set()
    queue = [t.name for t in roots]
    while queue:
        name = queue.pop()
        if name in public:
            continue
        public.add(name)
        type_ = schema.type_map[name]
        children: list[graphql.GraphQLNamedType] = []
        if graphql.is_abstract_type(type_):
            children.extend(schema.get_possible_types(type_))  # type: ignore[arg-type]
        for fname, definition in getattr(type_, "fields", {}).items():
            if f"{name}.{fname}" not in guarded:
                children.append(graphql.get_named_type(definition.type))
        queue.extend(c.name for c in children if _composite(c) and c.name not in public)
    return public


def test_staff_only_names_are_guarded(live_schema: graphql.GraphQLSchema) -> None:
    """A cost, a supplier, stock per warehouse or an audit trail under a field without a
    guard, on a type anonymous buyers reach, would not be found by walking the guards."""
    all_guards = set(guards(parse_schema()))
    public = _public_types(live_schema, all_guards)
    exposed = [
        f"{type_name}.{fname}"
        for type_name in sorted(public)
        for fname in getattr(live_schema.type_map[type_name], "fields", {})
        if (fname in STAFF_ONLY_NAMES or STAFF_ONLY_PATTERN.search(fname))
        and f"{type_name}.{fname}" not in all_guards
    ]
    assert not exposed, f"staff-only data under unguarded fields: {exposed}"


def test_staff_only_types_are_reached_only_through_guards(
    live_schema: graphql.GraphQLSchema,
) -> None:
    """Types that exist to hold staff-only data (a supplier, stock per warehouse, audit
    entries) must stay behind the guards: an unguarded field returning one is a leak."""
    all_guards = set(guards(parse_schema()))
    public = _public_types(live_schema, all_guards)
    for staff_only in ("Supplier", "WarehouseStock", "AuditEntry", "LowStockConnection"):
        assert staff_only in live_schema.type_map, f"{staff_only} is gone: update this test"
        assert staff_only not in public, f"{staff_only} is reachable without a guard"
