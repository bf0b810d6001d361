"""The records' cheaper ``__init__`` (sources/common/fast_init.py) builds what the
dataclass's own did, takes the same parameters, keeps the record frozen, and costs no
Python call per field."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field

import pytest

import sources.catalog.records as catalog
import sources.common.translations as translations
import sources.inventory.records as inventory
import sources.orders.records as orders
import sources.pricing.records as pricing
from sources.common.fast_init import fast_init

MODULES = (catalog, inventory, orders, pricing, translations)


def _records() -> list[type]:
    return [
        value
        for module in MODULES
        for value in vars(module).values()
        if isinstance(value, type)
        and dataclasses.is_dataclass(value)
        and value.__module__ == module.__name__
    ]


def _plain_twin(cls: type) -> type:
    """The same fields as a dataclass of its own, with dataclasses' generated __init__."""
    return dataclass(frozen=True)(
        type(
            cls.__name__,
            (),
            {
                "__annotations__": {f.name: f.type for f in dataclasses.fields(cls)},
                **{
                    f.name: field(default=f.default, kw_only=f.kw_only)
                    if f.default is not dataclasses.MISSING
                    else field(kw_only=f.kw_only)
                    for f in dataclasses.fields(cls)
                },
            },
        )
    )


def _parameters(cls: type) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]


def test_every_plain_record_is_rewritten_with_the_same_signature() -> None:
    rewritten = [cls for cls in _records() if vars(cls).get("__fast_init__") is cls]
    assert len(rewritten) >= 90
    for cls in rewritten:
        twin = _plain_twin(cls)
        assert _parameters(cls) == _parameters(twin), cls
    # default_factory: left with the dataclass's own __init__
    assert "__fast_init__" not in vars(inventory.ReservationResult)


def test_a_record_is_built_frozen_and_compares_as_before() -> None:
    sku = catalog.Sku(1, 2, "c", "n", True, None)
    assert sku == catalog.Sku(1, 2, "c", "n", True, None, (), None)
    assert hash(sku) == hash(catalog.Sku(1, 2, "c", "n", True, None))
    assert repr(sku).startswith("Sku(id=1, product_id=2, code='c'")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sku.id = 3  # type: ignore[misc]
    assert dataclasses.replace(sku, id=5).id == 5
    assert pickle.loads(pickle.dumps(sku)) == sku
    with pytest.raises(TypeError):
        catalog.Sku(1, 2, "c")  # type: ignore[call-arg]


def test_keyword_only_defaults_and_the_cases_left_alone() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Keyed:
        a: int
        b: str = "x"

    fast_init(Keyed)
    assert vars(Keyed)["__fast_init__"] is Keyed
    assert Keyed(a=1) == Keyed(a=1, b="x")
    with pytest.raises(TypeError):
        Keyed(1)  # type: ignore[misc]

    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError

    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True, slots=True)
    class Own:
        a: int

        def __init__(self, a: int) -> None:
            object.__setattr__(self, "a", a * 2)

    assert fast_init(Own)(2).a == 4

    for cls in (Checked, Mutable, Own):
        init = cls.__init__
        assert fast_init(cls).__init__ is init


def test_a_field_is_set_by_its_slot_not_through_setattr() -> None:
    """Pinned: the rewritten __init__ names no ``__setattr__`` (the dataclass's looked it
    up on ``object`` once a field) and calls one bound slot setter per field."""
    code = catalog.Product.__init__.__code__
    assert "__setattr__" not in code.co_names
    assert "__dataclass_builtins_object__" not in code.co_names
    assert len(code.co_names) == len(dataclasses.fields(catalog.Product))
