"""acreate_batch leaves its event loop free (issue 11, item 17): the passes over the input file
run in a worker thread, an upload gives the loop a turn after each chunk, and cancelling a
create during a threaded pass stops it and leaves no staged file behind.

Not timed strictly (speed targets live in benchmarks/loop_block.py): the tests count the ticks
of a ticker task on the same loop while the pass runs. Async only (the sync twin runs the
passes inline), so written here rather than in tests/_async.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from any_llm import AnyLLM, _jsonl, acreate_batch
from any_llm._compat import PassStopped, arun_sync, check_stopped, run_sync
from any_llm.emulator import Emulator
from tests.helpers import CHAT, KEY, client_args, write_requests

TRANSLATED = ("mistral", "anthropic", "gemini", "together")


class Ticker:
    """A task on the running loop that counts its wake-ups (every ``interval`` seconds; with
    0, every turn of the loop)."""

    def __init__(self, interval: float = 0.001) -> None:
        self.ticks = 0
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.ticks += 1

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task


class LineSpy:
    """Wraps ``_jsonl._parse_line`` (every line of the validating pass of a translated input,
    and of Gemini's staging passes): notes the ticker's count and the thread of each call, and
    can hold the pass at one call until released."""

    def __init__(self, ticker: Ticker | None = None, *, hold_at: int | None = None) -> None:
        self.ticker = ticker
        self.calls: list[tuple[int, int]] = []
        self.hold_at = hold_at
        self.reached = threading.Event()
        self.release = threading.Event()
        self._real = _jsonl._parse_line

    def __call__(self, path: Path, number: int, raw: bytes | memoryview) -> dict[str, Any]:
        self.calls.append((self.ticker.ticks if self.ticker else 0, threading.get_ident()))
        if self.hold_at is not None and len(self.calls) == self.hold_at:
            self.reached.set()
            self.release.wait(2)  # before the fix this held the loop itself: not for long
        return self._real(path, number, raw)


def args(emu: Emulator, provider: str) -> dict[str, Any]:
    return {"api_key": KEY, "api_base": emu.api_base(provider), "client_args": client_args()}


@pytest.fixture
def staging_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's staged translations go (not the shared temporary directory)."""
    directory = tmp_path / "staging"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.mark.parametrize("provider", TRANSLATED)
async def test_the_loop_keeps_running_during_a_translated_pass(
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    staging_dir: Path,
    provider: str,
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 20_000, max_tokens=16)  # about 3 MB
    loop_thread = threading.get_ident()
    async with Ticker() as ticker:
        spy = LineSpy(ticker)
        monkeypatch.setattr(_jsonl, "_parse_line", spy)
        batch = await acreate_batch(provider, path, CHAT, **args(emu, provider))
    assert batch.provider == provider
    assert len(spy.calls) >= 20_000
    assert {thread for _, thread in spy.calls} != {loop_thread}  # off the loop
    assert loop_thread not in {thread for _, thread in spy.calls}
    first, last = spy.calls[0][0], spy.calls[-1][0]
    assert last - first >= 3, (first, last)  # the loop ran while the pass did
    assert os.listdir(staging_dir) == []


async def test_the_loop_gets_a_turn_between_the_chunks_of_an_upload(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file sent as is is checked chunk by chunk as it is read for sending; aiohttp writes to
    # a fast socket without yielding, so the upload itself hands the loop a turn per chunk.
    path = tmp_path / "requests.jsonl"
    write_requests(path, 45_000)  # about 7 MB: 7 chunks
    seen: list[int] = []
    real = _jsonl.StreamCheck.feed

    async with Ticker(interval=0) as ticker:

        def feed(self: _jsonl.StreamCheck, data: bytes) -> None:
            seen.append(ticker.ticks)
            real(self, data)

        monkeypatch.setattr(_jsonl.StreamCheck, "feed", feed)
        await acreate_batch("openai", path, CHAT, **args(emu, "openai"))
    assert len(seen) >= 6
    turns = sum(1 for a, b in itertools.pairwise(seen) if b > a)
    assert turns == len(seen) - 1, seen  # a turn of the loop between any two chunks


# (provider, the line call to hold the pass at, the line calls of a whole create)
@pytest.mark.parametrize(
    ("provider", "hold_at", "whole"),
    [
        ("mistral", 500, 20_000),
        ("anthropic", 500, 20_000),
        ("together", 500, 20_000),
        ("gemini", 500, 40_000),  # in the validating pass (which stages nothing)
        ("gemini", 20_500, 40_000),  # in the staging pass that follows it (wire.stage_input)
    ],
    ids=["mistral", "anthropic", "together", "gemini-validating", "gemini-staging"],
)
async def test_cancelling_a_create_during_a_threaded_pass_stops_it_and_stages_nothing(
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    staging_dir: Path,
    provider: str,
    hold_at: int,
    whole: int,
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 20_000, max_tokens=16)  # about 3 MB, read by 1 MiB chunks
    spy = LineSpy(hold_at=hold_at)
    monkeypatch.setattr(_jsonl, "_parse_line", spy)
    task = asyncio.create_task(acreate_batch(provider, path, CHAT, **args(emu, provider)))
    assert await asyncio.to_thread(spy.reached.wait, 10)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # the cancellation waits for the thread to stop
    spy.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert os.listdir(staging_dir) == []
    calls = len(spy.calls)
    assert calls < whole  # stopped (at the end of its chunk); before the fix it ran to the end
    await asyncio.sleep(0.1)
    assert len(spy.calls) == calls  # the thread has stopped
    assert emu.requests() == []
    gc.collect()
    assert not [fd for fd in os.listdir("/proc/self/fd") if _points_at(fd, path)]


def _points_at(fd: str, path: Path) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == str(path)
    except OSError:
        return False


async def test_a_client_stays_usable_after_a_cancelled_pass(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, staging_dir: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 5_000)
    spy = LineSpy(hold_at=100)
    monkeypatch.setattr(_jsonl, "_parse_line", spy)
    async with AnyLLM.create("mistral", **args(emu, "mistral")) as llm:
        task = asyncio.create_task(llm.acreate_batch(path, CHAT))
        assert await asyncio.to_thread(spy.reached.wait, 10)
        task.cancel()
        spy.release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        spy.hold_at = None
        batch = await llm.acreate_batch(path, CHAT)
    assert batch.request_counts.total in (0, 5_000)
    assert os.listdir(staging_dir) == []


# the helper itself (any_llm._compat)


async def test_arun_sync_runs_off_the_loop_in_the_callers_context() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller")
    loop_thread = threading.get_ident()
    thread, value = await arun_sync(lambda: (threading.get_ident(), var.get()))
    assert thread != loop_thread
    assert value == "caller"
    assert run_sync(lambda: threading.get_ident()) == loop_thread
    check_stopped()  # nothing outside a threaded pass


async def test_a_result_that_comes_after_the_cancel_is_discarded(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()
    made = tmp_path / "staged"
    discarded: list[Path] = []

    def work() -> Path:  # a pass that misses the stop request: it ends on its own
        started.set()
        release.wait(5)
        made.write_text("translation")
        return made

    def discard(result: Path) -> None:
        discarded.append(result)
        result.unlink()

    task = asyncio.create_task(arun_sync(work, discard=discard))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert discarded == [made]
    assert not made.exists()


async def test_a_stopped_pass_raises_pass_stopped_in_its_thread() -> None:
    started = threading.Event()
    outcome: list[BaseException] = []

    def work() -> None:
        started.set()
        try:
            for _ in range(500):
                check_stopped()
                threading.Event().wait(0.01)
        except BaseException as exc:
            outcome.append(exc)
            raise

    task = asyncio.create_task(arun_sync(work))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(outcome) == 1
    assert isinstance(outcome[0], PassStopped)
    assert not isinstance(outcome[0], Exception)  # no `except Exception` swallows it
