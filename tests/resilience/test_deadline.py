"""The guard's per-call timer (gateway/resilience/deadline.py) behaves as ``asyncio.timeout``:
a call past its time ends in ``TimeoutError`` and leaves its task uncancelled; a call in
time keeps its answer and leaves no timer behind; a cancellation from elsewhere stays a
cancellation, inside an ``asyncio.timeout`` too."""

from __future__ import annotations

import asyncio

import pytest

from gateway.resilience.deadline import deadline


def test_a_call_past_its_time_raises_timeout_error_and_its_task_goes_on() -> None:
    async def go() -> None:
        task = asyncio.current_task()
        assert task is not None
        with pytest.raises(TimeoutError), deadline(0.01):
            await asyncio.sleep(5)
        assert task.cancelling() == 0  # the timer's cancel taken back: the task goes on
        await asyncio.sleep(0)  # and is not cancelled at its next await

    asyncio.run(go())


def test_a_call_in_time_answers_and_its_timer_is_gone() -> None:
    async def go() -> None:
        limit = deadline(0.05)
        with limit:
            await asyncio.sleep(0)
        assert limit._timer.cancelled()
        await asyncio.sleep(0.1)  # past the limit: nothing fires

    asyncio.run(go())


def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def go() -> None:
        started = asyncio.Event()

        async def call() -> None:
            with deadline(5):
                started.set()
                await asyncio.sleep(5)

        task = asyncio.create_task(call())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())


def test_an_outer_timeout_that_fires_first_is_the_outer_ones() -> None:
    async def go() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01) as outer:
                with deadline(5):
                    await asyncio.sleep(5)
        assert outer.expired()

    asyncio.run(go())


def test_a_deadline_that_fired_under_another_cancellation_keeps_the_cancellation() -> None:
    """The timer fired, but the task was cancelled from elsewhere as well: as with
    ``asyncio.timeout``, the cancellation wins (``uncancel()`` does not reach 0)."""

    async def call() -> None:
        with deadline(0.01):
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:  # the timer's
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                raise

    async def go() -> None:
        with pytest.raises(asyncio.CancelledError):
            await asyncio.create_task(call())

    asyncio.run(go())


def test_outside_a_task_it_refuses() -> None:
    with pytest.raises(RuntimeError), deadline(1):
        pass
