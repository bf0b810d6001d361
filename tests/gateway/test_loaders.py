"""The loader core (gateway/loaders/base.py): one call per batch of keys, a memo per request,
per-key and per-call failures, prime and clear, and cancellation that stays with its waiter.
A plain fetch function stands in for a store: what is tested is the loader's bookkeeping."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from gateway.loaders.base import Loader
from gateway.metrics import Metrics


class Source:
    """Records each call's keys; ``fail`` makes a call raise, ``broken`` keys come back as
    exceptions in place of their values, ``gate`` holds calls until it is set."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.fail: Exception | None = None
        self.broken: set[int] = set()
        self.gate: asyncio.Event | None = None
        self.called = asyncio.Event()

    async def fetch(self, keys: Sequence[int]) -> dict[int, object]:
        self.calls.append(list(keys))
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return {k: (LookupError(f"no {k}") if k in self.broken else k * 10) for k in keys if k != 0}


def loader(source: Source, *, batching: bool = True, default: object = None) -> Loader:
    return Loader(
        "test",
        source.fetch,
        metrics=Metrics(),
        batching=batching,
        default=default,  # type: ignore[arg-type]
    )


async def test_keys_asked_together_go_out_in_one_call_each_once() -> None:
    source = Source()
    load = loader(source)
    a, b, c = await asyncio.gather(load.load_all([1, 2, 2]), load.load_each([2, 3]), load.load(4))
    assert (a, b, c) == ([10, 20, 20], [20, 30], 40)
    assert source.calls == [[1, 2, 3, 4]]
    assert await load.load_all([4, 3, 1]) == [40, 30, 10]  # memoised: no call
    assert await load.load_many([5]) == [50]
    assert source.calls == [[1, 2, 3, 4], [5]]
    assert load.requested([1, 6, 5]) == [1, 5]


async def test_keys_asked_ahead_go_out_with_the_next_keys_and_are_not_read_twice() -> None:
    """``ask`` queues without waiting: two loaders asked in turn call their sources side by
    side, and awaiting each afterwards reads nothing again."""
    prices, stock = Source(), Source()
    price_loader, stock_loader = loader(prices), loader(stock)
    price_loader.ask([1, 2, 2])
    stock_loader.ask([1, 2])
    price_loader.ask([1, 3])  # one more key joins the call not yet made
    assert await price_loader.load_all([3, 2, 1]) == [30, 20, 10]
    assert stock.called.is_set()  # went out with the prices, before anyone awaited it
    assert await stock_loader.load_all([2, 1]) == [20, 10]
    assert (prices.calls, stock.calls) == ([[1, 2, 3]], [[1, 2]])
    price_loader.ask([2])  # read already: no call
    assert await price_loader.load(2) == 20
    assert prices.calls == [[1, 2, 3]]


async def test_a_missing_key_is_none_or_the_default() -> None:
    source = Source()
    assert await loader(source).load_all([0, 1]) == [None, 10]
    assert await loader(source, default=list).load_all([0]) == [[]]


async def test_a_key_that_failed_fails_alone_and_stays_failed() -> None:
    source = Source()
    source.broken = {2}
    load = loader(source)
    each = await load.load_each([1, 2, 3])
    assert each[0] == 10 and each[2] == 30 and isinstance(each[1], LookupError)
    with pytest.raises(LookupError, match="no 2"):
        await load.load_all([1, 2])
    with pytest.raises(LookupError):
        await load.load(2)
    assert source.calls == [[1, 2, 3]]  # the failure is memoised like a value


async def test_a_failed_call_fails_its_waiters_and_is_not_kept() -> None:
    source = Source()
    source.fail = RuntimeError("down")
    load = loader(source)
    first = await asyncio.gather(load.load_all([1, 2]), load.load_each([2]), return_exceptions=True)
    assert isinstance(first[0], RuntimeError)
    assert isinstance(first[1], list) and isinstance(first[1][0], RuntimeError)
    source.fail = None
    assert await load.load_all([1, 2]) == [10, 20]  # read again
    assert source.calls == [[1, 2], [1, 2]]


async def test_prime_never_overwrites_and_clear_forgets() -> None:
    source = Source()
    load = loader(source)
    load.prime(1, 99)
    assert await load.load(1) == 99
    load.prime(1, 5)
    assert await load.load(1) == 99
    load.clear(1)
    assert await load.load(1) == 10
    assert source.calls == [[1]]


async def test_a_key_cleared_while_its_call_runs_is_not_kept() -> None:
    source = Source()
    source.gate = asyncio.Event()
    load = loader(source)
    waiting = asyncio.ensure_future(load.load(1))
    await source.called.wait()
    load.clear(1)  # written meanwhile: the value on its way is the old one
    source.gate.set()
    assert await waiting == 10
    assert await load.load(1) == 10
    assert source.calls == [[1], [1]]


async def test_a_cancelled_waiter_leaves_the_others_their_values() -> None:
    source = Source()
    source.gate = asyncio.Event()
    load = loader(source)
    cancelled = asyncio.ensure_future(load.load_all([1, 2]))
    other = asyncio.ensure_future(load.load_all([2, 3]))
    await source.called.wait()
    cancelled.cancel()
    await asyncio.sleep(0)
    source.gate.set()
    assert await other == [20, 30]
    assert cancelled.cancelled()
    assert source.calls == [[1, 2, 3]]


async def test_without_batching_every_key_is_its_own_call_and_nothing_is_kept() -> None:
    source = Source()
    load = loader(source, batching=False)
    assert await load.load_all([1, 1, 2]) == [10, 10, 20]
    assert await load.load(1) == 10
    load.prime(3, 7)
    assert await load.load(3) == 30
    assert sorted(source.calls) == [[1], [1], [1], [2], [3]]
