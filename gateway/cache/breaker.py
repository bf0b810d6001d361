"""A circuit breaker: after repeated Redis failures, stop trying for a while (each try
would cost a request its socket timeout), then let one probe through to see if it is back."""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        failures_to_open: int,
        reset_after: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_to_open = failures_to_open
        self.reset_after = reset_after
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def allow(self) -> bool:
        """May a call go to Redis now? While open, only one probe per ``reset_after``."""
        if self.opened_at is None:
            return True
        if self._probing or self.clock() - self.opened_at < self.reset_after:
            return False
        self._probing = True
        return True

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._probing = False

    def failed(self) -> None:
        self.failures += 1
        if self._probing or self.failures >= self.failures_to_open:
            self.opened_at = self.clock()
        self._probing = False
