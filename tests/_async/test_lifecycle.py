"""The OpenAI batch lifecycle end to end, over loopback HTTP to the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from any_llm import (
    AnyLLM,
    acancel_batch,
    acreate_batch,
    aiter_batch_results,
    aiter_batches,
    alist_batches,
    apoll_batch,
    aretrieve_batch,
    aretrieve_batch_results,
)
from any_llm.emulator import Emulator, ManualClock
from any_llm.types import Batch, BatchResultStatus, BatchStatus
from tests.helpers import CHAT, EMBEDDINGS, KEY, MODEL, client_args, sha256, write_requests


async def test_module_functions_run_a_batch_end_to_end(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 25, fail=(3,), error=(7,))
    base = f"{emu.url}/v1"
    common: dict[str, Any] = {"api_key": KEY, "api_base": base, "client_args": client_args()}

    batch = await acreate_batch("openai", path, CHAT, metadata={"job": "nightly"}, **common)
    assert batch.provider == "openai"
    assert batch.status is BatchStatus.VALIDATING
    assert batch.provider_status == "validating"
    assert batch.metadata == {"job": "nightly"}  # as written: the stamp is idempotency_key
    assert batch.idempotency_key is not None and len(batch.idempotency_key) == 32
    assert batch.endpoint == CHAT

    stored = [f for f in emu.files() if f["id"] == batch.input_file_id]
    assert stored and stored[0]["sha256"] == sha256(path)
    assert stored[0]["purpose"] == "batch"

    done = await apoll_batch("openai", batch.id, **common)
    assert done.status is BatchStatus.COMPLETED
    assert done.request_counts.total == 25
    assert done.request_counts.failed == 2
    assert (await aretrieve_batch("openai", batch.id, **common)).id == batch.id

    result = await aretrieve_batch_results("openai", batch.id, **common)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == 23
    assert counts[BatchResultStatus.FAILED] == 2
    by_id = {item.custom_id: item for item in result}
    http_failure = by_id["req-3"]
    assert http_failure.status_code == 400
    assert http_failure.error is not None and http_failure.error.status_code == 400
    assert http_failure.response is None
    line_error = by_id["req-7"]
    assert line_error.error is not None and line_error.error.code == "emulated_error"
    completion = by_id["req-0"].chat_completion()
    assert completion.model.startswith(MODEL)
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.total_tokens > 0

    streamed = [item.custom_id async for item in aiter_batch_results("openai", batch.id, **common)]
    assert sorted(streamed) == sorted(ids)


async def test_client_holds_one_session_for_many_calls(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "embed.jsonl"
    ids = write_requests(path, 5, endpoint=EMBEDDINGS, model="text-embedding-3-small")
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=f"{emu.url}/v1", client_args=client_args()
    ) as llm:
        batch = await llm.acreate_batch(path, EMBEDDINGS)
        batch = await llm.apoll_batch(batch.id)
        result = await llm.aretrieve_batch_results(batch)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    embedding = result.results[0].embeddings()
    assert embedding.data and len(embedding.data[0].embedding) > 0
    with pytest.raises(ValueError, match=r"not .chat\.completion."):
        result.results[0].chat_completion()


async def test_every_output_failed_still_returns_every_item(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 4, fail=(0, 1, 2, 3))
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=f"{emu.url}/v1", client_args=client_args()
    ) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
        assert batch.output_file_id is None
        assert batch.error_file_id
        result = await llm.aretrieve_batch_results(batch)
    assert sorted(item.custom_id for item in result) == ids
    assert all(item.status is BatchResultStatus.FAILED for item in result)


async def test_list_pages_and_iterates_all(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 1)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=f"{emu.url}/v1", client_args=client_args()
    ) as llm:
        created = [(await llm.acreate_batch(path, CHAT)).id for _ in range(5)]
        page = await llm.alist_batches(limit=2)
        assert len(page) == 2
        assert page.has_more
        assert page.next_cursor == page[-1].id
        second = await llm.alist_batches(after=page.next_cursor, limit=2)
        assert {b.id for b in second}.isdisjoint({b.id for b in page})
        every = [b.id async for b in llm.aiter_batches(limit=2)]
    assert sorted(every) == sorted(created)
    assert len(every) == len(set(every))
    page = await alist_batches("openai", api_key=KEY, api_base=f"{emu.url}/v1")
    assert {b.id for b in page} == set(created)
    assert not page.has_more and page.next_cursor is None
    streamed = [
        b.id async for b in aiter_batches("openai", limit=3, api_key=KEY, api_base=f"{emu.url}/v1")
    ]
    assert sorted(streamed) == sorted(created)


async def test_cancel_keeps_partial_results(
    slow_emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 10)
    common: dict[str, Any] = {
        "api_key": KEY,
        "api_base": f"{slow_emu.url}/v1",
        "client_args": client_args(),
    }
    batch = await acreate_batch("openai", path, CHAT, **common)
    clock.advance(1 + 5)  # validating 1 s, then half of the 10 s in_progress phase
    running = await aretrieve_batch("openai", batch.id, **common)
    assert running.status is BatchStatus.IN_PROGRESS
    assert 0 < running.request_counts.completed < 10

    cancelling = await acancel_batch("openai", batch.id, **common)
    assert cancelling.status is BatchStatus.CANCELLING
    assert cancelling.cancelling_at is not None
    clock.advance(60)
    cancelled = await aretrieve_batch("openai", batch.id, **common)
    assert cancelled.status is BatchStatus.CANCELLED

    result = await aretrieve_batch_results("openai", batch.id, **common)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == running.request_counts.completed
    assert counts[BatchResultStatus.CANCELLED] == 10 - running.request_counts.completed
    # the local file gives the same answer without reading the input back
    local = await aretrieve_batch_results("openai", batch.id, input_file_path=path, **common)
    assert local.counts() == counts


async def test_expired_batch_reports_partial_output_and_expired_items(
    expiring_emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 10)
    common: dict[str, Any] = {
        "api_key": KEY,
        "api_base": f"{expiring_emu.url}/v1",
        "client_args": client_args(),
    }
    batch = await acreate_batch("openai", path, CHAT, **common)
    clock.advance(3600)
    expired = await aretrieve_batch("openai", batch.id, **common)
    assert expired.status is BatchStatus.EXPIRED
    assert expired.expired_at is not None
    result = await aretrieve_batch_results("openai", batch.id, **common)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] > 0
    assert counts[BatchResultStatus.EXPIRED] > 0
    assert counts[BatchResultStatus.SUCCEEDED] + counts[BatchResultStatus.EXPIRED] == 10


async def test_poll_reports_progress_and_times_out(
    slow_emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    from any_llm.errors import BatchTimeoutError

    path = tmp_path / "requests.jsonl"
    write_requests(path, 3)
    seen: list[Batch] = []
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=f"{slow_emu.url}/v1", client_args=client_args()
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        with pytest.raises(BatchTimeoutError) as info:
            await llm.apoll_batch(batch.id, timeout=0.2, on_progress=seen.append)
        assert info.value.batch is not None
        assert info.value.batch.status is BatchStatus.VALIDATING
        assert [b.status for b in seen] == [BatchStatus.VALIDATING]
        clock.advance(3600)
        done = await llm.apoll_batch(batch.id, on_progress=seen.append)
    assert done.status is BatchStatus.COMPLETED
    assert seen[-1].status is BatchStatus.COMPLETED


async def test_results_of_a_running_batch_are_refused(slow_emu: Emulator, tmp_path: Path) -> None:
    from any_llm.errors import BatchError

    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=f"{slow_emu.url}/v1", client_args=client_args()
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        with pytest.raises(BatchError, match="still validating"):
            await llm.aretrieve_batch_results(batch.id)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "mistral"])
async def test_upload_progress_reports_the_bytes_sent(
    emu: Emulator, tmp_path: Path, provider: str
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 500, max_tokens=8)
    sent: list[int] = []
    batch = await acreate_batch(
        provider,
        path,
        CHAT,
        api_key=KEY,
        api_base=emu.api_base(provider),
        client_args=client_args(),
        on_upload_progress=sent.append,
    )
    assert batch.provider == provider
    assert len(sent) >= 1
    if provider == "openai":  # the file itself, in a multipart body of a few hundred bytes more
        assert path.stat().st_size <= sum(sent) <= path.stat().st_size + 1024
    else:  # the translated form of the file
        assert sum(sent) > 10_000
