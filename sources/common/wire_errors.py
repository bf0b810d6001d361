"""Domain exceptions across the wire: raised by the store in the service, raised again as the
same class by the client, so code above the interface catches ``CartNotFound`` whether the
source is embedded or remote.

An exception travels as ``{"type": name, "message": str(exc), "fields": {...}}``: its
``__init__`` parameters read back from the attributes of the same name (``cart_id``,
``line_ids``), typed by the ``__init__`` hints; a class without its own ``__init__`` travels
by its ``args``. Each source declares the classes it raises (``ERRORS`` in its api module);
the common ones are here. An unlisted exception is a bug: the service answers 500 with its
class name only, and the client raises :class:`RemoteSourceError`.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterable
from typing import Any

import msgspec

from .idempotency import IdempotencyKeyReused
from .pagination import InvalidCursor
from .wire import UnservableMethod, check_type

# The error type of a service whose database cannot serve (a 503; see service.py).
UNAVAILABLE = "Unavailable"
# ValueError last: it is the contract-breach catch-all, matched after its subclasses.
COMMON_ERRORS: tuple[type[Exception], ...] = (InvalidCursor, IdempotencyKeyReused, ValueError)


class RemoteSourceError(Exception):
    """A remote source failed in a way no domain exception describes (a bug, an outage).
    ``lasting``: the service said its database is missing or refuses it (someone must act
    before a retry can help)."""

    def __init__(
        self, source: str, message: str, *, status: int | None = None, lasting: bool = False
    ) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.status = status
        self.lasting = lasting


class ErrorCodec:
    """The exception classes one source raises, by name."""

    def __init__(self, classes: Iterable[type[Exception]]) -> None:
        self.classes: dict[str, type[Exception]] = {}
        self._fields: dict[str, dict[str, Any] | None] = {}
        for cls in (*classes, *COMMON_ERRORS):
            if cls.__name__ in self.classes:
                continue
            self.classes[cls.__name__] = cls
            self._fields[cls.__name__] = _init_fields(cls)

    def known(self, exc: BaseException) -> str | None:
        """The name ``exc`` travels under: its class, or its nearest listed base."""
        for cls in type(exc).__mro__:
            if self.classes.get(cls.__name__) is cls:
                return cls.__name__
        return None

    def encode(self, exc: Exception, name: str) -> dict[str, Any]:
        fields = self._fields[name]
        body: dict[str, Any] = {"type": name, "message": str(exc)}
        if fields is None or type(exc).__name__ != name:
            plain = (str, int, float, bool)
            body["args"] = [a if isinstance(a, plain) else str(a) for a in exc.args]
        else:
            body["fields"] = {field: getattr(exc, field) for field in fields}
        return body

    def decode(self, source: str, body: dict[str, Any]) -> Exception:
        name = body.get("type")
        cls = self.classes.get(name) if isinstance(name, str) else None
        if cls is None:
            return RemoteSourceError(source, f"{name}: {body.get('message', '')}")
        fields = self._fields[cls.__name__]
        if fields is None or "fields" not in body:
            return cls(*body.get("args", [body.get("message", "")]))
        values = {
            field: msgspec.convert(body["fields"].get(field), hint, strict=False)
            for field, hint in fields.items()
        }
        return cls(**values)


def _init_fields(cls: type[Exception]) -> dict[str, Any] | None:
    """``__init__`` parameters and hints, or None when the class keeps Exception's."""
    if not inspect.isfunction(vars(cls).get("__init__")):
        return None
    hints = typing.get_type_hints(cls.__init__)
    fields: dict[str, Any] = {}
    for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise UnservableMethod(f"{cls.__name__}.__init__: {param.name} cannot travel")
        hint = hints.get(param.name)
        if hint is None:
            raise UnservableMethod(f"{cls.__name__}.__init__: {param.name} has no type hint")
        check_type(f"{cls.__name__}({param.name})", hint)
        fields[param.name] = hint
    return fields
