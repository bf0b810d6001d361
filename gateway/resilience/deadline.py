"""``asyncio.timeout`` for the one place that runs it on every source call, at half its cost.

Python 3.11's ``asyncio.timeout`` is an async context manager: its ``__aenter__`` and
``__aexit__`` are coroutines, and its state an enum checked at each step. Around a source
call that came to some 26,800 instructions, of which the timer itself (the loop's
``call_at`` and the handle's ``cancel``) is about 7,400; ``deadline`` costs 13,400 (callgrind,
uvloop). A checkout makes seven or eight such calls (bench/RESULTS.md, "Issue 15/17, pass
h23g"). It is the same timer in a plain context manager: nothing in it awaits, so nothing
needs to be a coroutine.

Behaviour is ``asyncio.timeout``'s (3.11): the timer cancels the running task; on the way
out, a ``CancelledError`` that the timer caused, with no other cancellation outstanding
(``uncancel()`` reaches 0), becomes ``TimeoutError``; any other cancellation passes through.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class deadline:
    """``with deadline(seconds): await ...``: at most ``seconds``, else ``TimeoutError``."""

    __slots__ = ("_expired", "_seconds", "_task", "_timer")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._expired = False

    def __enter__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("deadline should be used inside a task")
        self._task = task
        loop = task.get_loop()
        self._timer = loop.call_at(loop.time() + self._seconds, self._expire)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        if self._expired and self._task.uncancel() == 0 and exc_type is asyncio.CancelledError:
            raise TimeoutError

    def _expire(self) -> None:
        self._task.cancel()
        self._expired = True
