"""Record forms: a GraphQL object type's leaves read straight from a source record.

A listing's SKUs, prices, stock levels and promotions used to become one strawberry object
each (``Price.from_record`` and two ``Money`` objects per SKU, a ``StockLevel`` per SKU, a
``Promotion`` per product's promotion), and the executor then read those objects'
attributes back one level later. A batch form may instead return the record itself, and
the executor completes the object from the record through the type's ``RecordForm``: a
table of GraphQL field -> function of the record, looked up once per plan. When every
field the query selects for that position is in the table (or ``__typename``), the
object's dict is made on the spot, nested objects included (``Price.list { amount
currency }``), without an object per value or a level of its own.

The strawberry type stays the source of truth: a field the table lacks (a resolver, a
staff-only field guarded by a permission extension, a field with arguments) makes the
position build the strawberry object from the record with ``build`` and run that field's
resolver as before, and a record the table cannot complete exactly (a null where the
schema forbids one, a leaf its serializer refuses) is built and completed the general
way, so the answer and its errors are the resolver's. The planner never reads a field
that carries strawberry field extensions (permission guards) from the table, whatever the
table says; tests/execution holds the tables to the types' own answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# (the position's value, the form's per-request environment) -> the field's value.
FieldFromRecord = Callable[[Any, Any], Any]


@dataclass(frozen=True, eq=False, slots=True)
class RecordForm:
    type_name: str  # the GraphQL object type
    record_class: type  # values of exactly this class are completed through the table
    # (value, environment) -> the strawberry object, for the fields the table lacks.
    build: Callable[[Any, Any], Any]
    fields: Mapping[str, FieldFromRecord]  # GraphQL field name -> its value from the record
    # Fields whose function returns the response's value itself (already serialized, e.g.
    # a money amount as its Decimal string): written as they are, when not null.
    serialized: frozenset[str] = field(default_factory=frozenset)
    # context -> what every function and ``build`` get as their second argument (the
    # viewer's stock view, say), made once per request; None: they get None.
    environment: Callable[[Any], Any] | None = None
    # One record stands at many positions of a response (a promotion on fifty products,
    # a category of many): its inline dict is made once per request and position and the
    # same dict written at each (it is complete when made: nothing writes into it later).
    shared: bool = False


_FORMS: dict[str, RecordForm] = {}


# A field function's body as source text (``expression``): compiled code inlines it.
_EXPRESSIONS: dict[FieldFromRecord, tuple[str, dict[str, Any]]] = {}


def expression(source: str, **names: Any) -> FieldFromRecord:
    """A field function written as one expression of ``{r}`` (the value) and ``{env}``
    (the environment), using ``names``: the function, and its text for the compiled code
    that reads a whole column of records (``column``) or writes a record's dict inline
    (writers.py), which then evaluates it in place of a call per record."""
    fn: FieldFromRecord = eval(f"lambda r, env: {source.format(r='r', env='env')}", dict(names))
    _EXPRESSIONS[fn] = (source, names)
    return fn


def expression_of(fn: FieldFromRecord) -> tuple[str, dict[str, Any]] | None:
    return _EXPRESSIONS.get(fn)


# (the position's values, the environment) -> the field's value for each.
Column = Callable[[list[Any], Any], list[Any]]


def column(fn: FieldFromRecord) -> Column | None:
    """A field's values for a list of records in one call, where ``fn`` is an
    ``expression``; None otherwise."""
    found = expression_of(fn)
    if found is None:
        return None
    source, names = found
    body = source.format(r="v", env="env")
    code = f"def column(values, env):\n    return [{body} for v in values]"
    scope = dict(names)
    exec(compile(code, f"<column {source}>", "exec"), scope)
    made: Column = scope["column"]
    return made


def record_form(form: RecordForm) -> RecordForm:
    """Register ``form`` for its type (one form per GraphQL type)."""
    _FORMS[form.type_name] = form
    return form


def record_form_for(type_name: str) -> RecordForm | None:
    return _FORMS.get(type_name)


def registered_forms() -> dict[str, RecordForm]:
    return dict(_FORMS)
