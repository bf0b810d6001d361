"""A cheaper ``__init__`` for the sources' frozen, slotted record dataclasses.

Why: ``@dataclass(frozen=True)`` sets each field in ``__init__`` through
``object.__setattr__(self, name, value)``: a look-up of ``__setattr__`` on ``object``, a
call of that wrapper descriptor (which slices a new argument tuple), then the generic
attribute lookup of ``name`` on the class, about 1,350 instructions a field. A checkout
builds some thousand fields of records (a product alone is 26: 54,000 instructions). The
slot's own member descriptor, its ``__set__`` bound once per class, sets the same slot
in about 650 (bench/RESULTS.md, "Issue 15, pass h22c").

Nothing else changes: the class stays the dataclass it was (frozen: assigning to a field
still raises ``FrozenInstanceError``; the same ``__eq__``, ``__hash__``, ``__repr__``,
``replace``, pickling), and ``__init__`` takes the same parameters with the same defaults.
Only classes whose generated ``__init__`` does nothing but set fields are rewritten: no
``__post_init__``, no ``InitVar``, no ``init=False`` field, no ``default_factory``; any
other is left as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

_MARK = "__fast_init__"


def fast_init(cls: type) -> type:
    """Give ``cls`` the cheaper ``__init__`` when it is a frozen, slotted dataclass whose
    ``__init__`` only sets its fields; return it either way."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or not params.init or "__slots__" not in vars(cls):
        return cls
    if getattr(cls, _MARK, None) is cls or hasattr(cls, "__post_init__"):
        return cls
    generated = getattr(vars(cls).get("__init__"), "__code__", None)
    if generated is None or generated.co_filename != "<string>":  # an __init__ of its own
        return cls
    every = cls.__dataclass_fields__  # type: ignore[attr-defined]
    if any(f._field_type is not dataclasses._FIELD for f in every.values()):  # type: ignore[attr-defined]
        # an InitVar (a ClassVar is no parameter, but keep to the plain case)
        return cls
    fields = dataclasses.fields(cls)
    if any(not f.init or f.default_factory is not dataclasses.MISSING for f in fields):
        return cls
    names = [f.name for f in fields]
    namespace: dict[str, Any] = {}
    positional: list[str] = []
    keyword: list[str] = []
    for f in fields:
        namespace[f"_set_{f.name}"] = vars(cls)[f.name].__set__
        text = f.name
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            text += f"=_default_{f.name}"
        (keyword if f.kw_only else positional).append(text)
    parameters = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    body = "".join(f"\n    _set_{name}(self, {name})" for name in names) or "\n    pass"
    exec(f"def __init__({parameters}):{body}", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = vars(cls)["__init__"].__doc__
    type.__setattr__(cls, "__init__", init)
    setattr(cls, _MARK, cls)
    return cls


def fast_inits(namespace: Mapping[str, Any]) -> None:
    """``fast_init`` for every class a module defines (call at its end with ``globals()``)."""
    module = namespace.get("__name__")
    for value in list(namespace.values()):
        if isinstance(value, type) and value.__module__ == module:
            fast_init(value)
