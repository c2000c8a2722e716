"""Closing a client while calls are in flight (issue 11, item 16): the calls end (with
ClientClosedError, or their own error), nothing reopens a session, nothing warns.

Concurrency-specific (tasks for the async core, threads for the sync twin), so written here
rather than in tests/_async. Warnings are errors in this suite; an unclosed aiohttp session is
also reported through the loop's exception handler, which the tests watch.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from pathlib import Path

import pytest

from any_llm import AnyLLM, RetryConfig
from any_llm.emulator import Emulator, Fault
from any_llm.errors import ClientClosedError
from tests.helpers import CHAT, KEY, client_args, write_requests

PACE = client_args(
    retry=RetryConfig(initial_delay=0, max_delay=0, poll_initial=0.05, poll_max=0.05)
)


def no_unclosed_reports(caplog: pytest.LogCaptureFixture) -> None:
    gc.collect()
    text = caplog.text
    assert "Unclosed" not in text, text
    assert "never retrieved" not in text, text


async def test_closing_during_a_wait_ends_it_and_polls_no_more(
    slow_emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncio")
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    llm = AnyLLM.create("openai", api_key=KEY, api_base=slow_emu.api_base(), client_args=PACE)
    batch = await llm.acreate_batch(path, CHAT)
    wait = asyncio.create_task(llm.apoll_batch(batch.id))
    await asyncio.sleep(0.3)  # a few polls (the batch never ends on the manual clock)
    assert not wait.done()
    await llm.aclose()
    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(wait, 2)
    slow_emu.clear_requests()
    await asyncio.sleep(0.3)
    assert slow_emu.requests() == []  # before the fix: polled on over a reopened session
    with pytest.raises(ClientClosedError):
        await llm.aretrieve_batch(batch.id)
    await llm.aclose()
    no_unclosed_reports(caplog)


async def test_closing_during_a_request_ends_it_with_the_closed_error(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncio")
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        emu.add_fault(Fault(method="GET", path="/v1/batches/*", kind="delay", delay=2.0))
        call = asyncio.create_task(llm.aretrieve_batch(batch.id))
        await asyncio.sleep(0.3)  # the request is on the wire, the server sits on it
        started = time.monotonic()
        await llm.aclose()
        with pytest.raises(ClientClosedError):
            await asyncio.wait_for(call, 2)
        assert time.monotonic() - started < 1.0  # not retried over a new session
    no_unclosed_reports(caplog)


def test_closing_the_sync_client_ends_a_wait_in_another_thread(
    slow_emu: Emulator, tmp_path: Path
) -> None:
    from any_llm_sync import AnyLLM as SyncAnyLLM

    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    llm = SyncAnyLLM.create("openai", api_key=KEY, api_base=slow_emu.api_base(), client_args=PACE)
    batch = llm.create_batch(path, CHAT)
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            llm.poll_batch(batch.id)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()
    llm.close()
    thread.join(2)
    assert not thread.is_alive()  # before the fix: the wait went on over a new pool
    assert len(outcome) == 1
    assert isinstance(outcome[0], ClientClosedError)
    slow_emu.clear_requests()
    time.sleep(0.2)
    assert slow_emu.requests() == []
    llm.close()
    gc.collect()


def test_closing_the_sync_client_during_a_request_lets_it_end(
    emu: Emulator, tmp_path: Path
) -> None:
    # A blocking request in another thread cannot be interrupted: it ends (with its answer or
    # an error), and the next request of that thread raises ClientClosedError.
    from any_llm_sync import AnyLLM as SyncAnyLLM

    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    llm = SyncAnyLLM.create("openai", api_key=KEY, api_base=emu.api_base(), client_args=PACE)
    batch = llm.create_batch(path, CHAT)
    emu.add_fault(Fault(method="GET", path="/v1/batches/*", kind="delay", delay=0.5, times=1))
    outcome: list[object] = []

    def calls() -> None:
        try:
            outcome.append(llm.retrieve_batch(batch.id).id)
            outcome.append(llm.retrieve_batch(batch.id).id)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=calls, daemon=True)
    thread.start()
    time.sleep(0.2)
    llm.close()
    thread.join(5)
    assert not thread.is_alive()
    assert outcome[-1].__class__ is ClientClosedError, outcome
    gets = [r for r in emu.requests() if r["method"] == "GET"]
    assert len(gets) <= 1  # the one in flight; nothing after the close
    gc.collect()
