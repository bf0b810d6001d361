"""The plan of an operation: what the breadth-first executor does, decided once.

A plan is a tree of object positions (``ObjectPlan``: a runtime type and the fields
collected for it, per the spec's CollectFields with fragments, inline fragments and
``@skip``/``@include``) whose fields (``FieldPlan``) say how to resolve them (a plain
attribute read, ``__typename``, a registered batch resolver, or the field's own resolver
once per object) and how to complete their values (``Completion``: non-null, list, leaf,
object or abstract). Planning depends on the document, the operation and the values of the
variables that ``@skip``/``@include`` read, so it is cached under exactly that key and a
repeated request only pays for execution.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from graphql import (
    DirectiveNode,
    FieldNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from graphql.language import Node, Visitor, visit

from .batch import BatchResolver, batch_resolver_for, batch_takes_records
from .records import Column, FieldFromRecord, RecordForm, column, record_form_for

# How a field is resolved.
ATTRIBUTE = 0  # getattr(parent, name) for every parent, no call per object
TYPENAME = 1  # the parent's runtime type name
BATCH = 2  # one registered call with every parent
PER_OBJECT = 3  # the field's own (strawberry) resolver, once per parent

# How an inline record's field is completed (ObjectPlan.inline_fields).
INLINE_TYPENAME = 0  # the type's name
INLINE_SERIALIZED = 1  # the form's function gives the response's value
INLINE_OBJECT = 2  # an object made inline from the value the function gives
INLINE_LEAF = 3  # a leaf: the fast and enum ways, else the leaf's serializer

# One field of an inline record form: (response name, function of the record, INLINE_*,
# nullable, then for INLINE_OBJECT its ObjectPlan and for INLINE_LEAF the value type
# written as it is and the enum class, then the enum's names, the leaf's Completion and
# the FieldPlan: one flat tuple, read once per record).
InlineField = tuple[str, Any, int, bool, Any, Any, Any, Any, Any]

# How a value is completed.
NON_NULL = 0
LIST = 1
LEAF = 2
OBJECT = 3
ABSTRACT = 4


class Unsupported(Exception):
    """The planner declines the operation; it runs on standard execution instead."""


@dataclass(eq=False, slots=True)
class Completion:
    kind: int
    of: Completion | None = None  # NON_NULL, LIST: the wrapped type's completion
    leaf: GraphQLLeafType | None = None
    fast: Any = None  # LEAF: values of exactly this type are already serialized
    # LEAF, an enum strawberry made from a Python Enum: that class, and each of its members'
    # GraphQL name (what coerce_output_value returns for it, looked up once per plan).
    enum_class: type | None = None
    enum_names: dict[Any, str] | None = None
    object: ObjectPlan | None = None  # OBJECT
    abstract: GraphQLAbstractType | None = None  # ABSTRACT
    by_type: dict[str, ObjectPlan] = field(default_factory=dict)  # ABSTRACT, filled lazily
    field_details: FieldDetailsList | None = None  # ABSTRACT: to collect subfields later


@dataclass(eq=False, slots=True)
class FieldPlan:
    response_name: str
    field_name: str
    parent_type: GraphQLObjectType
    field_def: GraphQLField
    field_details: FieldDetailsList
    nodes: list[FieldNode]
    kind: int
    attribute: str | None
    batch: BatchResolver | None
    has_arguments: bool
    nullable: bool
    completion: Completion
    # The parent type's record form has this field (gateway/execution/records.py): its
    # value from a record; ``serialized``: that value is the response's as it is.
    from_record: FieldFromRecord | None = None
    serialized: bool = False
    form: RecordForm | None = None  # the parent's form, where ``from_record`` is set
    # ``from_record`` over a list of records in one call, where it is an expression.
    column: Column | None = None


@dataclass(eq=False, slots=True)
class ObjectPlan:
    type: GraphQLObjectType
    fields: list[FieldPlan]
    is_type_of: Callable[..., Any] | None
    known_classes: dict[Any, bool] = field(default_factory=dict)  # is_type_of per class
    known_types: set[Any] = field(default_factory=set)  # the classes is_type_of accepts
    # Every field an attribute read or __typename: the position completes without
    # awaiting anything, so the executor folds it into the level that reached it.
    synchronous: bool = False
    # The type's record form: records of its class are completed through it.
    form: RecordForm | None = None
    # Every field comes from the record form (leaves, or objects themselves inline) or is
    # __typename: a record's dict is made where it is reached, with no level of its own.
    inline: bool = False
    inline_fields: tuple[InlineField, ...] = ()
    # An inline position's writer, compiled from ``inline_fields`` (writers.py).
    write: Callable[[Any, Any, Any], dict[str, Any] | None] | None = None
    # Not inline, but every field comes from the record form's table, is __typename or
    # has a batch form that takes records: the position keeps its records as its values
    # (no strawberry object per record; executor.py, ``_records``).
    keeps_records: bool = False


@dataclass(eq=False, slots=True)
class OperationPlan:
    root: ObjectPlan


_FAST_LEAVES: dict[str, type] = {
    GraphQLString.name: str,
    GraphQLID.name: str,
    GraphQLBoolean.name: bool,
}


def _enum_names(type_: GraphQLLeafType) -> tuple[type | None, dict[Any, str] | None]:
    """For an enum backed by a Python Enum class (strawberry's), each member's serialized
    name as the type itself gives it: completing a member is then a dict look-up instead of
    strawberry's scan over the enum's values (hundreds per listing: kinds, currencies)."""
    wrapped = getattr(type_, "wrapped_cls", None)
    if not isinstance(type_, GraphQLEnumType) or not isinstance(wrapped, type):
        return None, None
    if not issubclass(wrapped, Enum):
        return None, None
    names: dict[Any, str] = {}
    for member in wrapped:
        try:
            name = type_.serialize(member)
        except Exception:  # a member the type refuses keeps the general way
            continue
        if isinstance(name, str):
            names[member] = name
    return wrapped, names


class Planner:
    """Builds the plan of one (document, operation, directive variables) from the
    executor's schema, fragments and variables; sub-plans of abstract positions are
    built when a runtime type first shows up."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        variable_values: VariableValues,
        operation: OperationDefinitionNode,
        hide_suggestions: bool,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variable_values = variable_values
        self.operation = operation
        self.hide_suggestions = hide_suggestions

    def plan(self, root_type: GraphQLObjectType) -> OperationPlan:
        collected = collect_fields(
            self.schema,
            self.fragments,
            self.variable_values,
            root_type,
            self.operation,
            self.hide_suggestions,
        )
        return OperationPlan(self._object(root_type, collected.grouped_field_set))

    def _object(
        self, type_: GraphQLObjectType, grouped: Mapping[str, FieldDetailsList]
    ) -> ObjectPlan:
        fields = []
        for response_name, details in grouped.items():
            planned = self._field(type_, response_name, details)
            if planned is not None:
                fields.append(planned)
        synchronous = all(f.kind in (ATTRIBUTE, TYPENAME) for f in fields)
        object_plan = ObjectPlan(type_, fields, type_.is_type_of, synchronous=synchronous)
        form = record_form_for(type_.name)
        if form is not None:
            _attach_form(object_plan, form)
        return object_plan

    def _field(
        self, parent: GraphQLObjectType, response_name: str, details: FieldDetailsList
    ) -> FieldPlan | None:
        node = details[0].node
        name = node.name.value
        if name in ("__schema", "__type"):
            raise Unsupported("introspection")
        field_def = self.schema.get_field(parent, name)
        if field_def is None:  # standard execution skips unknown fields too
            return None
        if any(d.fragment_variable_values is not None for d in details):
            raise Unsupported("fragment variables")
        kind, attribute, batch = _resolution(parent, name, field_def)
        return FieldPlan(
            response_name=response_name,
            field_name=name,
            parent_type=parent,
            field_def=field_def,
            field_details=details,
            nodes=[d.node for d in details],
            kind=kind,
            attribute=attribute,
            batch=batch,
            has_arguments=bool(field_def.args or node.arguments),
            nullable=not is_non_null_type(field_def.type),
            completion=self._completion(field_def.type, details),
        )

    def _completion(self, type_: GraphQLOutputType, details: FieldDetailsList) -> Completion:
        if isinstance(type_, GraphQLNonNull):
            return Completion(NON_NULL, of=self._completion(type_.of_type, details))
        if isinstance(type_, GraphQLList):
            return Completion(LIST, of=self._completion(type_.of_type, details))
        if is_leaf_type(type_):
            assert isinstance(type_, GraphQLLeafType)
            enum_class, enum_names = _enum_names(type_)
            return Completion(
                LEAF,
                leaf=type_,
                fast=_FAST_LEAVES.get(type_.name),
                enum_class=enum_class,
                enum_names=enum_names,
            )
        if is_abstract_type(type_):
            assert isinstance(type_, GraphQLAbstractType)
            return Completion(ABSTRACT, abstract=type_, field_details=details)
        if is_object_type(type_):
            assert isinstance(type_, GraphQLObjectType)
            return Completion(OBJECT, object=self.subplan(type_, details))
        raise Unsupported(f"output type {type_}")  # pragma: no cover

    def subplan(self, type_: GraphQLObjectType, details: FieldDetailsList) -> ObjectPlan:
        collected = collect_subfields(
            self.schema,
            self.fragments,
            self.variable_values,
            self.operation,
            type_,
            details,
            self.hide_suggestions,
        )
        return self._object(type_, collected.grouped_field_set)


def _attach_form(object_plan: ObjectPlan, form: RecordForm) -> None:
    """Give the fields the form has their functions; a field with strawberry field
    extensions (a permission guard) or arguments never reads the table: its resolver
    runs, on the object ``build`` makes."""
    object_plan.form = form
    object_plan.known_classes[form.record_class] = True
    object_plan.known_types.add(form.record_class)
    inline = True
    fields: list[InlineField] = []
    for f in object_plan.fields:
        name = f.response_name
        if f.kind == TYPENAME:
            fields.append((name, None, INLINE_TYPENAME, False, f.parent_type.name, *_NONE4))
            continue
        definition = f.field_def.extensions.get("strawberry-definition")
        fn = form.fields.get(f.field_name)
        if fn is None or f.has_arguments or getattr(definition, "extensions", None):
            inline = False
            continue
        f.from_record = fn
        f.column = column(fn)
        f.form = form
        f.serialized = f.field_name in form.serialized
        inner = f.completion.of if f.completion.kind == NON_NULL else f.completion
        assert inner is not None
        if f.serialized:
            fields.append((name, fn, INLINE_SERIALIZED, f.nullable, *_NONE5))
        elif inner.kind == OBJECT and inner.object is not None and inner.object.inline:
            fields.append((name, fn, INLINE_OBJECT, f.nullable, inner.object, *_NONE4))
        elif inner.kind == LEAF:
            leaf = (inner.fast, inner.enum_class, inner.enum_names or {}, inner, f)
            fields.append((name, fn, INLINE_LEAF, f.nullable, *leaf))
        else:
            inline = False
    object_plan.inline = inline
    object_plan.inline_fields = tuple(fields) if inline else ()
    object_plan.keeps_records = not inline and all(
        f.kind == TYPENAME
        or f.from_record is not None
        or (f.kind == BATCH and batch_takes_records(f.parent_type.name, f.field_name))
        for f in object_plan.fields
    )
    if inline:
        from .writers import compile_writer  # writers.py reads this module's constants

        object_plan.write = compile_writer(object_plan)


_NONE4 = (None, None, None, None)
_NONE5 = (None, None, None, None, None)


def _resolution(
    parent: GraphQLObjectType, name: str, field_def: GraphQLField
) -> tuple[int, str | None, BatchResolver | None]:
    if name == "__typename":
        return TYPENAME, None, None
    batch = batch_resolver_for(parent.name, name)
    if batch is not None:
        return BATCH, None, batch
    resolve = field_def.resolve
    if resolve is not None and getattr(resolve, "_is_default", False):
        # strawberry's "basic field": no resolver, no extension, just the attribute.
        definition = field_def.extensions.get("strawberry-definition")
        python_name = getattr(definition, "python_name", None)
        if isinstance(python_name, str):
            return ATTRIBUTE, python_name, None
    return PER_OBJECT, None, None


# Int is fast only within 32 bits (standard execution refuses the rest with an error).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
INT_NAME = GraphQLInt.name


# --- which variables decide the plan: those @skip/@include read -------------------


def directive_variables(nodes: Sequence[Node]) -> tuple[str, ...]:
    """The variables ``@skip``/``@include`` read in an operation and its fragments."""
    names: set[str] = set()

    class Finder(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: object) -> None:
            if node.name.value in ("skip", "include"):
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)

    for node in nodes:
        visit(node, Finder())
    return tuple(sorted(names))


class PlanCache:
    """Plans by (schema, document, operation name, directive variable values), bounded
    (clients can send anything). Holds its keys' objects so their ids stay theirs."""

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._plans: OrderedDict[tuple[Any, ...], tuple[Any, Any, OperationPlan]] = OrderedDict()
        self._variables: OrderedDict[int, tuple[Node, tuple[str, ...]]] = OrderedDict()

    def directive_variables(
        self, operation: OperationDefinitionNode, fragments: Sequence[Node]
    ) -> tuple[str, ...]:
        """Cached by operation node: its fragments come from the same parsed document."""
        found = self._variables.get(id(operation))
        if found is not None and found[0] is operation:
            return found[1]
        names = directive_variables([operation, *fragments])
        self._variables[id(operation)] = (operation, names)
        if len(self._variables) > self.maxsize:
            self._variables.popitem(last=False)
        return names

    def get(self, key: tuple[Any, ...], schema: Any, document: Any) -> OperationPlan | None:
        found = self._plans.get(key)
        if found is None or found[0] is not schema or found[1] is not document:
            return None
        self._plans.move_to_end(key)
        return found[2]

    def put(self, key: tuple[Any, ...], schema: Any, document: Any, plan: OperationPlan) -> None:
        self._plans[key] = (schema, document, plan)
        if len(self._plans) > self.maxsize:
            self._plans.popitem(last=False)
