"""What differs between the twins beneath the I/O, written once for each (unasync turns
``asleep`` into ``sleep`` and ``arun_sync`` into ``run_sync``): pausing, and running a
CPU-bound pass over a file (off the event loop in the async twin, inline in the sync one)."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_STOP: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "any_llm_stop", default=None
)
"""Set in the worker thread of ``arun_sync``: set when the awaiting task was cancelled."""


class PassStopped(BaseException):
    """Raised inside a threaded pass (``check_stopped``) once the task that awaits it was
    cancelled. A BaseException, like the cancellation it stands for, so that no ``except
    Exception`` swallows it; the pass cleans up after itself (its ``finally`` blocks run) and
    ``arun_sync`` raises the task's CancelledError."""


def check_stopped() -> None:
    """Called by long passes between two pieces of work (a chunk, a line): raise PassStopped
    when the task awaiting this pass (``arun_sync``) was cancelled. Nothing in the sync twin."""
    stop = _STOP.get()
    if stop is not None and stop.is_set():
        raise PassStopped


async def asleep(seconds: float) -> None:
    """Pause the running task."""
    import asyncio  # not at import time: the sync twin never needs it

    await asyncio.sleep(seconds)


def sleep(seconds: float) -> None:
    """Pause the calling thread."""
    time.sleep(seconds)


async def arun_sync(func: Callable[[], T], *, discard: Callable[[T], None] | None = None) -> T:
    """Run ``func()`` (a CPU-bound pass over a file) in a worker thread, so that the event loop
    goes on serving other tasks meanwhile (Python switches threads every few milliseconds), and
    return its result; it runs in a copy of the caller's context.

    If the awaiting task is cancelled, the pass is told to stop (``check_stopped`` raises in
    it), and the cancellation waits until the thread has ended: a pass that already finished
    has its result handed to ``discard`` (to delete a file it staged), so nothing the pass made
    outlives the cancelled call.
    """
    import asyncio  # not at import time: the sync twin never needs it

    stop = threading.Event()
    context = contextvars.copy_context()
    context.run(_STOP.set, stop)
    future = asyncio.get_running_loop().run_in_executor(None, context.run, func)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        stop.set()

        def settle(done: asyncio.Future[T]) -> None:  # runs before this task resumes
            if not done.cancelled() and done.exception() is None and discard is not None:
                discard(done.result())

        future.add_done_callback(settle)
        await asyncio.wait([future])  # the thread stops at its next check_stopped()
        raise


def run_sync(func: Callable[[], T], *, discard: Callable[[T], None] | None = None) -> T:
    """Run ``func()`` in the calling thread (``discard`` is for the async twin's cancellation:
    here an interrupted pass cleans up after itself)."""
    del discard
    return func()
