"""Waiting for a batch (its deadline, transient errors while polling) and a closed client.

Issue 11, items 15 and 16. The concurrent cases (closing a client while a call is in flight)
need tasks or threads: they are in tests/test_closed_client.py.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from any_llm import AnyLLM, RetryConfig
from any_llm.emulator import Emulator, Fault
from any_llm.errors import (
    BatchTimeoutError,
    ClientClosedError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
)
from any_llm.types import BatchStatus
from tests.helpers import CHAT, KEY, client_args, write_requests

RETRIEVE = "/v1/batches/*"


def polls(emu: Emulator, batch_id: str) -> int:
    """How many times the batch was retrieved."""
    return sum(
        1 for r in emu.requests() if r["method"] == "GET" and r["path"] == f"/v1/batches/{batch_id}"
    )


def pace(**kwargs: Any) -> dict[str, Any]:
    """client_args with no request backoff and the given polling pace."""
    return client_args(retry=RetryConfig(initial_delay=0, max_delay=0, **kwargs))


# 15: the deadline


async def test_a_wait_ends_within_its_timeout_plus_one_request(
    slow_emu: Emulator, tmp_path: Path
) -> None:
    # The first pause (1 s and more) is longer than the whole timeout: it is cut to end at the
    # deadline, where one last poll is made. Before, the wait slept the full pause first.
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    args = pace(poll_initial=1.0, poll_max=5.0)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=slow_emu.api_base(), client_args=args
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        started = time.monotonic()
        with pytest.raises(BatchTimeoutError) as info:
            await llm.apoll_batch(batch.id, timeout=0.5)
        elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 0.9, elapsed  # the deadline, plus one request on loopback
    assert polls(slow_emu, batch.id) == 2  # at the start and at the deadline
    assert info.value.batch is not None
    assert info.value.batch.status is BatchStatus.VALIDATING
    assert "did not end within 0.5s (last status validating)" in str(info.value)


async def test_a_retry_after_longer_than_the_time_left_is_cut_to_the_deadline(
    slow_emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=slow_emu.api_base(), client_args=pace(poll_initial=0.1)
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        slow_emu.add_fault(
            Fault(method="GET", path=RETRIEVE, status=429, headers={"Retry-After": "3"}, times=1)
        )
        started = time.monotonic()
        with pytest.raises(BatchTimeoutError):
            await llm.apoll_batch(batch.id, timeout=0.5)
        elapsed = time.monotonic() - started
    assert elapsed < 1.2, elapsed  # not the 3 s the server asked for


async def test_timeout_zero_polls_once(slow_emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=slow_emu.api_base(), client_args=pace(poll_initial=5.0)
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        started = time.monotonic()
        with pytest.raises(BatchTimeoutError):
            await llm.apoll_batch(batch.id, timeout=0)
        assert time.monotonic() - started < 0.5
    assert polls(slow_emu, batch.id) == 1


# 15: transient errors follow the waiting policy


async def test_a_burst_of_503_longer_than_a_request_budget_does_not_end_a_wait(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 8 failures in a row: more than one request's 5 attempts. The wait goes on polling, logs
    # each failure, and returns the batch once the server answers again.
    caplog.set_level(logging.WARNING, logger="any_llm")
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        emu.add_fault(Fault(method="GET", path=RETRIEVE, status=503, times=8))
        done = await llm.apoll_batch(batch.id)
    assert done.status is BatchStatus.COMPLETED
    assert polls(emu, batch.id) == 9
    waiting = [r for r in caplog.records if "while waiting for the batch" in r.getMessage()]
    assert len(waiting) == 8
    assert all(r.levelno == logging.WARNING for r in waiting)
    assert "InternalServerError" in waiting[0].getMessage()
    assert KEY not in caplog.text


async def test_transient_errors_until_the_deadline_raise_the_timeout_with_the_last_error(
    slow_emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=slow_emu.api_base(), client_args=pace(poll_initial=0.05)
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        slow_emu.add_fault(Fault(method="GET", path=RETRIEVE, status=503))
        started = time.monotonic()
        with pytest.raises(BatchTimeoutError) as info:
            await llm.apoll_batch(batch.id, timeout=0.6)
        elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 1.0, elapsed
    assert isinstance(info.value.__cause__, InternalServerError)
    assert "the last poll failed" in str(info.value)
    assert "HTTP 503" in str(info.value)
    assert info.value.batch is None  # no poll succeeded
    assert polls(slow_emu, batch.id) >= 3


async def test_a_non_retryable_error_ends_the_wait_at_once(emu: Emulator, tmp_path: Path) -> None:
    # After 6 transient failures (more than one request's budget) comes a 404: it is raised,
    # and nothing more is polled.
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        emu.add_fault(Fault(method="GET", path=RETRIEVE, status=503, times=6))
        emu.add_fault(Fault(method="GET", path=RETRIEVE, status=404, times=1))
        with pytest.raises(NotFoundError):
            await llm.apoll_batch(batch.id, timeout=30)
    assert polls(emu, batch.id) == 7


async def test_a_single_retrieve_keeps_its_own_retries(emu: Emulator, tmp_path: Path) -> None:
    # Outside a wait a request is still retried by the request policy (5 attempts).
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        emu.add_fault(Fault(method="GET", path=RETRIEVE, status=503, times=4))
        assert (await llm.aretrieve_batch(batch.id)).id == batch.id
        emu.add_fault(Fault(method="GET", path=RETRIEVE, status=503, times=5))
        with pytest.raises(InternalServerError):
            await llm.aretrieve_batch(batch.id)
    assert polls(emu, batch.id) == 10


# 16: a closed client


async def test_every_call_on_a_closed_client_raises_and_sends_nothing(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    llm = AnyLLM.create("openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args())
    batch = await llm.acreate_batch(path, CHAT)
    await llm.aclose()
    sent = len(emu.requests())
    with pytest.raises(ClientClosedError) as info:
        await llm.aretrieve_batch(batch.id)
    assert isinstance(info.value, ConfigurationError)
    message = str(info.value)
    assert message.startswith(f"openai: cannot send GET /v1/batches/{batch.id}: the client is")
    assert "create a new one" in message
    with pytest.raises(ClientClosedError):
        await llm.acancel_batch(batch.id)
    with pytest.raises(ClientClosedError):
        await llm.alist_batches()
    with pytest.raises(ClientClosedError):
        async for _ in llm.aiter_batches():
            pass
    with pytest.raises(ClientClosedError):
        await llm.apoll_batch(batch.id, timeout=5)
    with pytest.raises(ClientClosedError):
        await llm.aretrieve_batch_results(batch.id)
    with pytest.raises(ClientClosedError) as created:
        await llm.acreate_batch(tmp_path / "missing.jsonl", CHAT)  # before the file is read
    assert "cannot create a batch" in str(created.value)
    await llm.aclose()  # twice is fine
    assert len(emu.requests()) == sent


async def test_a_client_closed_before_its_first_call_never_connects(
    emu: Emulator, tmp_path: Path
) -> None:
    llm = AnyLLM.create("openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args())
    await llm.aclose()
    with pytest.raises(ClientClosedError):
        await llm.alist_batches()
    assert emu.requests() == []


async def test_the_end_of_the_with_block_closes_the_client_for_good(
    emu: Emulator, tmp_path: Path
) -> None:
    async with AnyLLM.create(
        "mistral", api_key=KEY, api_base=emu.api_base("mistral"), client_args=client_args()
    ) as llm:
        await llm.alist_batches()
    sent = len(emu.requests())
    with pytest.raises(
        ClientClosedError,
        match=r"^mistral: cannot send GET /mistral/v1/batch/jobs: the client is closed",
    ):
        await llm.alist_batches()
    assert len(emu.requests()) == sent
