"""Hypothesis strategies for random operations over a schema: random selections, aliases
(sometimes two aliases of one field with different arguments, sometimes one response name
asked twice to be merged), named and inline fragments (on the type itself, on an
interface's implementations), ``__typename``, and ``@include``/``@skip`` with variables.

Arguments come from ``arguments``: a table ``(TypeName, fieldName) -> function of a
Random giving argument text`` (e.g. ``first: 5``); a field with a required argument
missing from it is never chosen. The operation is built from one hypothesis-drawn Random
(drawing every choice through hypothesis is 50x slower here, for little shrinking gain).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_composite_type,
    is_non_null_type,
)
from hypothesis import strategies as st

ArgumentTable = Mapping[tuple[str, str], Callable[[random.Random], str]]


@dataclass
class Operation:
    text: str
    variables: dict[str, Any]


@dataclass
class _Doc:
    rng: random.Random
    fragments: list[str] = field(default_factory=list)
    variables: dict[str, bool] = field(default_factory=dict)
    aliases: int = 0


class Generator:
    def __init__(
        self,
        schema: GraphQLSchema,
        arguments: ArgumentTable,
        *,
        max_depth: int,
        skip_fields: Callable[[str, str], bool],
    ) -> None:
        self.schema = schema
        self.arguments = arguments
        self.max_depth = max_depth
        self.skip_fields = skip_fields

    def operation(self, rng: random.Random, root: str) -> Operation:
        doc = _Doc(rng)
        root_type = self.schema.get_type(root)
        assert root_type is not None
        body = self.selection(root_type, self.max_depth, doc)
        variables = ", ".join(f"${name}: Boolean!" for name in doc.variables)
        head = f"query Generated({variables})" if variables else "query Generated"
        return Operation("\n".join([f"{head} {body}", *doc.fragments]), dict(doc.variables))

    def fields(self, type_: GraphQLNamedType, depth: int) -> list[str]:
        assert isinstance(type_, GraphQLObjectType | GraphQLInterfaceType)
        usable = []
        for name, f in type_.fields.items():
            required = [a for a, d in f.args.items() if is_non_null_type(d.type)]
            if required and (type_.name, name) not in self.arguments:
                continue
            if self.skip_fields(type_.name, name):
                continue
            if depth <= 0 and is_composite_type(get_named_type(f.type)):
                continue
            usable.append(name)
        return sorted(usable)

    def selection(self, type_: GraphQLNamedType, depth: int, doc: _Doc) -> str:
        rng = doc.rng
        names = self.fields(type_, depth)
        parts = (
            [self.field(type_, n, depth, doc) for n in rng.choices(names, k=rng.randint(1, 3))]
            if names
            else []
        )
        if not parts or rng.random() < 0.15:
            parts.append("__typename")
        possible = self.possible_types(type_)
        if depth > 0 and possible and rng.random() < 0.25:
            on = rng.choice(possible)
            parts.append(
                f"... on {on.name}{self.directive(doc)} {self.selection(on, depth - 1, doc)}"
            )
        if depth > 0 and rng.random() < 0.2:
            index = len(doc.fragments)
            doc.fragments.append("")  # reserve the name before recursing
            inner = self.selection(type_, depth - 1, doc)
            doc.fragments[index] = f"fragment F{index} on {type_.name} {inner}"
            parts.append(f"...F{index}{self.directive(doc)}")
        rng.shuffle(parts)
        return "{ " + " ".join(parts) + " }"

    def field(self, type_: GraphQLNamedType, name: str, depth: int, doc: _Doc) -> str:
        rng = doc.rng
        definition = type_.fields[name]  # type: ignore[union-attr]
        text = name
        key = (type_.name, name)
        if key in self.arguments and (
            any(is_non_null_type(a.type) for a in definition.args.values()) or rng.random() < 0.5
        ):
            args = self.arguments[key](rng)
            if args:
                text += f"({args})"
        alias = rng.choice(["", "", "", "a", "b", "same"])
        if alias == "same" and "(" not in text:
            text = f"{name}: {text}"  # an alias equal to the name: merged with its twin
        elif alias in ("a", "b"):
            doc.aliases += 1
            text = f"{alias}{doc.aliases}_{name}: {text}"
        text += self.directive(doc)
        inner_type = get_named_type(definition.type)
        if is_composite_type(inner_type):
            text += " " + self.selection(inner_type, depth - 1, doc)
        return text

    def directive(self, doc: _Doc) -> str:
        rng = doc.rng
        choice = rng.randint(0, 9)
        if choice > 2:
            return ""
        if choice == 2:
            return rng.choice([" @include(if: true)", " @skip(if: false)", " @skip(if: true)"])
        variable = f"v{len(doc.variables)}"
        doc.variables[variable] = rng.random() < 0.7
        return f" @{rng.choice(['include', 'skip'])}(if: ${variable})"

    def possible_types(self, type_: GraphQLNamedType) -> list[GraphQLObjectType]:
        if isinstance(type_, GraphQLInterfaceType):
            return sorted(self.schema.get_possible_types(type_), key=lambda t: t.name)
        if isinstance(type_, GraphQLObjectType):
            return [type_]
        return []


def operations(
    schema: GraphQLSchema,
    arguments: ArgumentTable,
    *,
    root: str = "Query",
    max_depth: int = 4,
    skip_fields: Callable[[str, str], bool] = lambda _t, _f: False,
) -> st.SearchStrategy[Operation]:
    generator = Generator(schema, arguments, max_depth=max_depth, skip_fields=skip_fields)
    return st.randoms(use_true_random=False).map(lambda rng: generator.operation(rng, root))
