"""A source's interface on the wire: every method of its Protocol, typed from its hints.

The service and the client are both built from the same ``Protocol`` (one per source, in
``sources/<name>/api.py``), so an interface method is remote the moment it is declared:
nobody writes a route or a client method by hand. Arguments travel as one JSON object by
parameter name, results as JSON, both encoded by msgspec from the type hints, so records
round-trip exactly: ``Decimal`` as its string (``"25.00"`` stays two places), datetimes as
ISO 8601 with their UTC offset (decoded back to ``datetime.UTC``), enums by value, int-keyed
dicts with their keys restored to ints, frozen dataclasses rebuilt.

A method whose types cannot be carried (a type msgspec does not know, ``*args``,
positional-only parameters, an unresolvable hint) raises :class:`UnservableMethod` when the
interface is read, i.e. when a service or client is built, never on the first call.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, Union

import msgspec
import msgspec.inspect as mi

F = TypeVar("F", bound=Callable[..., Any])

_READ_MARK = "__source_read__"


def read(method: F) -> F:
    """Marks an interface method as a read: the client may retry it freely and the service
    keeps no record of it. Unmarked methods are writes (the safe default: a forgotten mark
    costs a stored response, never a double write)."""
    setattr(method, _READ_MARK, True)
    return method


class UnservableMethod(TypeError):
    """An interface method that cannot travel over HTTP; raised at start-up."""


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    has_default: bool


@dataclass(frozen=True)
class MethodSpec:
    """One interface method: how its arguments and result are encoded and decoded."""

    name: str
    is_read: bool
    signature: inspect.Signature
    parameters: tuple[Parameter, ...]
    arguments: type[msgspec.Struct]
    result: msgspec.json.Decoder[Any]

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by name, defaults not applied: the service's store applies
        its own, so the interface's defaults cannot drift from the implementation's."""
        if not args:
            return kwargs
        names, required = self._binding
        if len(args) <= len(names) and not kwargs.keys() & names[: len(args)]:
            # zip, not Signature.bind (a tenth of its cost); anything unusual (a missing or
            # unknown argument) goes to bind below for its TypeError.
            bound = {**dict(zip(names, args, strict=False)), **kwargs}
            if required <= bound.keys() and bound.keys() <= self._names:
                return bound
        return dict(self.signature.bind(*args, **kwargs).arguments)

    @functools.cached_property
    def _binding(self) -> tuple[tuple[str, ...], frozenset[str]]:
        """The names a positional argument may bind to, in order; the required names."""
        params = self.signature.parameters.values()
        positional = tuple(p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD)
        return positional, frozenset(p.name for p in params if p.default is p.empty)

    @functools.cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(self.signature.parameters)

    def decode_arguments(self, body: bytes) -> dict[str, Any]:
        decoded = msgspec.json.decode(body, type=self.arguments)
        values = {p.name: getattr(decoded, p.name) for p in self.parameters}
        return {name: value for name, value in values.items() if value is not msgspec.UNSET}


def _encode_hook(value: Any) -> Any:
    # Callers pass whatever collection they hold (a set, a dict view, a generator of ids).
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Iterable):
        return list(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_encode_hook, decimal_format="string")


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def _unsupported(info: mi.Type, seen: set[int]) -> str | None:
    """The first type msgspec would not know how to decode, anywhere inside ``info``."""
    if id(info) in seen:
        return None
    seen.add(id(info))
    if isinstance(info, mi.CustomType):
        return repr(info.cls)
    children: list[mi.Type] = []
    if isinstance(info, mi.DataclassType | mi.StructType):
        children = [f.type for f in info.fields]
    elif isinstance(info, mi.UnionType):
        children = list(info.types)
    elif isinstance(info, mi.DictType):
        children = [info.key_type, info.value_type]
    elif isinstance(info, mi.TupleType):
        children = list(info.item_types)
    elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        children = [info.item_type]
    for child in children:
        found = _unsupported(child, seen)
        if found is not None:
            return found
    return None


def check_type(where: str, hint: Any) -> None:
    try:
        info = mi.type_info(hint)
    except (TypeError, ValueError) as exc:
        raise UnservableMethod(f"{where}: {exc}") from None
    bad = _unsupported(info, set())
    if bad is not None:
        raise UnservableMethod(f"{where}: {bad} cannot be encoded as JSON")


def method_spec(interface: type, name: str) -> MethodSpec:
    function = getattr(interface, name)
    where = f"{interface.__name__}.{name}"
    if not inspect.iscoroutinefunction(function):
        raise UnservableMethod(f"{where} is not a coroutine function")
    try:
        hints = typing.get_type_hints(function)
    except NameError as exc:
        raise UnservableMethod(f"{where}: unresolvable type hint ({exc})") from None
    signature = inspect.signature(function)
    params = list(signature.parameters.values())[1:]  # self
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    parameters: list[Parameter] = []
    for param in params:
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise UnservableMethod(f"{where}: parameter {param.name} is {param.kind.description}")
        if param.name not in hints:
            raise UnservableMethod(f"{where}: parameter {param.name} has no type hint")
        check_type(f"{where}({param.name})", hints[param.name])
        has_default = param.default is not param.empty
        parameters.append(Parameter(param.name, has_default))
        if has_default:
            optional: Any = Union.__getitem__((hints[param.name], msgspec.UnsetType))
            fields.append((param.name, optional, msgspec.UNSET))
        else:
            fields.append((param.name, hints[param.name]))
    if "return" not in hints:
        raise UnservableMethod(f"{where} has no return type hint")
    check_type(f"{where} -> ", hints["return"])
    arguments = msgspec.defstruct(
        f"{interface.__name__}_{name}", fields, kw_only=True, forbid_unknown_fields=True
    )
    return MethodSpec(
        name=name,
        is_read=bool(getattr(function, _READ_MARK, False)),
        signature=signature.replace(parameters=params),
        parameters=tuple(parameters),
        arguments=arguments,
        result=msgspec.json.Decoder(hints["return"]),
    )


@functools.cache
def interface_methods(interface: type) -> dict[str, MethodSpec]:
    """Every public coroutine method the Protocol declares, checked; raises
    :class:`UnservableMethod` for the first that cannot travel. Built once per interface
    (the service and every client share the specs; msgspec decoders are thread-safe)."""
    names: dict[str, None] = {}
    for cls in reversed(interface.__mro__):
        if cls in (object, Protocol) or not getattr(cls, "_is_protocol", False):
            continue
        for name, value in vars(cls).items():
            if not name.startswith("_") and inspect.iscoroutinefunction(value):
                names[name] = None
    return {name: method_spec(interface, name) for name in names}


def public_methods(implementation: object) -> set[str]:
    """The names ``count_calls`` would count: the implementation's public coroutines."""
    return {
        name
        for name, _ in inspect.getmembers(implementation, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }
