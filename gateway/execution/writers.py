"""Inline writers: an inline position's response dict made by code compiled for its plan.

A position whose fields all come from its record form (``ObjectPlan.inline``) used to be
written by a loop over its fields' descriptions, deciding per field and per record what
kind of field it was, and by one more call of that loop per nested object (a price's two
amounts). A listing writes some 600 such dicts. The plan is fixed once planned, so the
planner compiles it instead: one function per inline position, its fields' steps written
out in order, nested inline objects written in place, the field functions and constants
bound as globals of the compiled code. What it writes is exactly what the loop wrote,
key order included, and where the loop gave up (a function raised, a null where the
schema forbids one, a nested value of another class, a leaf its serializer refuses) the
writer returns None as well, and the executor builds the strawberry object instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .records import expression_of

if TYPE_CHECKING:
    from .plan import ObjectPlan

# (record, the form's environment, the executor) -> the dict, or None: build the object.
InlineWriter = Callable[[Any, Any, Any], "dict[str, Any] | None"]


def compile_writer(object_plan: ObjectPlan) -> InlineWriter:
    """The writer of an inline ``object_plan`` (its nested inline objects' included)."""
    constants: dict[str, Any] = {}
    lines = ["def write(r0, env, executor):", "    try:", "        o0 = {}"]
    _emit(object_plan, 0, "env", 8, lines, constants)
    lines += ["        return o0", "    except Exception:", "        return None"]
    code = compile("\n".join(lines), f"<inline writer of {object_plan.type.name}>", "exec")
    exec(code, constants)
    writer: InlineWriter = constants["write"]
    return writer


def _emit(
    object_plan: ObjectPlan,
    depth: int,
    environment: str,
    indent: int,
    lines: list[str],
    constants: dict[str, Any],
) -> None:
    from .plan import (
        INLINE_LEAF,
        INLINE_OBJECT,
        INLINE_SERIALIZED,
        INLINE_TYPENAME,
        INT_MAX,
        INT_MIN,
        INT_NAME,
    )

    def const(value: Any) -> str:
        name = f"c{len(constants)}"
        constants[name] = value
        return name

    pad = " " * indent
    record, out, v = f"r{depth}", f"o{depth}", f"v{depth}"
    for name, fn, mode, nullable, a, b, c, inner, field_plan in object_plan.inline_fields:
        key = repr(name)  # a GraphQL response name: [_A-Za-z][_0-9A-Za-z]*
        if mode == INLINE_TYPENAME:
            lines.append(f"{pad}{out}[{key}] = {const(a)}")
            continue
        lines.append(f"{pad}{v} = {_value_of(fn, record, environment, constants, const)}")
        if mode == INLINE_SERIALIZED:
            if not nullable:
                lines += [f"{pad}if {v} is None:", f"{pad}    return None"]
            lines.append(f"{pad}{out}[{key}] = {v}")
            continue
        lines.append(f"{pad}if {v} is None:")
        lines.append(f"{pad}    {out}[{key}] = None" if nullable else f"{pad}    return None")
        if mode == INLINE_OBJECT:  # a: the child's (inline) ObjectPlan
            form = a.form
            child_environment = (
                "None" if form.environment is None else f"executor._environment({const(form)})"
            )
            lines += [
                f"{pad}elif type({v}) is not {const(form.record_class)}:",
                f"{pad}    return None",
                f"{pad}else:",
                f"{pad}    r{depth + 1} = {v}",
                f"{pad}    o{depth + 1} = {out}[{key}] = {{}}",
            ]
            _emit(a, depth + 1, child_environment, indent + 4, lines, constants)
            continue
        assert mode == INLINE_LEAF  # a: the type written as it is, b: the enum, c: its names
        if a is not None:
            lines += [f"{pad}elif type({v}) is {const(a)}:", f"{pad}    {out}[{key}] = {v}"]
        elif inner.leaf is not None and inner.leaf.name == INT_NAME:  # as _complete does
            lines += [
                f"{pad}elif type({v}) is int and {INT_MIN} <= {v} <= {INT_MAX}:",
                f"{pad}    {out}[{key}] = {v}",
            ]
        if b is not None:
            names = const(c)
            lines += [
                f"{pad}elif type({v}) is {const(b)} and {v} in {names}:",
                f"{pad}    {out}[{key}] = {names}[{v}]",
            ]
        lines += [
            f"{pad}else:",
            f"{pad}    {out}[{key}] = executor._complete("
            f"{const(inner)}, {v}, {out}, {key}, None, {const(field_plan)}, True)",
        ]


def _value_of(fn: Any, record: str, environment: str, constants: dict[str, Any], const: Any) -> str:
    """The code giving a field's value: the function's expression written in place
    (records.py, ``expression``), else a call of the function."""
    found = expression_of(fn)
    if found is not None:
        source, names = found
        if all(constants.get(n, value) is value for n, value in names.items()):
            constants.update(names)
            return f"({source.format(r=record, env=environment)})"
    return f"{const(fn)}({record}, {environment})"
