"""Sleeping, written once for each twin (unasync turns ``asleep`` into ``sleep``)."""

from __future__ import annotations

import time


async def asleep(seconds: float) -> None:
    """Pause the running task."""
    import asyncio  # not at import time: the sync twin never needs it

    await asyncio.sleep(seconds)


def sleep(seconds: float) -> None:
    """Pause the calling thread."""
    time.sleep(seconds)
