"""Clocks that drive the emulator's batch state machine."""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """A source of the current time as unix seconds."""

    def now(self) -> float:
        """Return the current time in unix seconds."""
        ...


class SystemClock:
    """The wall clock (`time.time`)."""

    def now(self) -> float:
        """Return the current time in unix seconds."""
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to; safe to use from any thread."""

    def __init__(self, start: float = 1767225600.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the current time in unix seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds` and return the new time."""
        if seconds < 0:
            raise ValueError("a ManualClock cannot go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now()!r})"
