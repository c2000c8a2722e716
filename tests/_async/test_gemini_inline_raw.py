"""An inline Gemini batch echoes its requests (and, once done, its answers) in every create,
retrieve and list answer: the client reads those operations without building those parts
(they stay ``msgspec.Raw`` bytes), and still gets every result and input key right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from any_llm import (
    AnyLLM,
    acreate_batch,
    alist_batches,
    apoll_batch,
    aretrieve_batch,
    aretrieve_batch_results,
)
from any_llm._providers import gemini as wire
from any_llm.emulator import Emulator
from any_llm.errors import APIResponseValidationError
from any_llm.types import BatchResultStatus, BatchStatus
from tests.gemini_answers import FixedAnswers
from tests.helpers import CHAT, KEY, client_args, write_requests

MODEL = "gemini-2.5-flash"
COUNT = 1200  # more than INLINE_ITEMS_PER_TURN: the readers give the loop turns


def common(emu: Emulator) -> dict[str, Any]:
    return {"api_key": KEY, "api_base": emu.api_base("gemini"), "client_args": client_args()}


class RecordSpy:
    """Wraps ``wire.batch_to_record``: keeps every operation the adapter read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[Any] = []
        self._real = wire.batch_to_record
        monkeypatch.setattr(wire, "batch_to_record", self)

    def __call__(self, data: Any) -> dict[str, Any]:
        self.seen.append(data)
        return self._real(data)


def inline_parts(data: dict[str, Any]) -> list[Any]:
    meta = data["metadata"]
    parts = [meta["inputConfig"]["requests"]]
    if "output" in meta:
        parts.append(meta["output"]["inlinedResponses"])
    if "response" in data:
        parts.append(data["response"]["inlinedResponses"])
    return parts


async def test_operations_keep_their_inline_parts_as_bytes(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, COUNT, model=MODEL, fail=(3,))
    spy = RecordSpy(monkeypatch)
    batch = await acreate_batch("gemini", path, CHAT, **common(emu))
    assert batch.input_file_id == batch.id + wire.INLINE_INPUT  # inline, not uploaded
    await aretrieve_batch("gemini", batch.id, **common(emu))
    done = await apoll_batch("gemini", batch.id, **common(emu))
    page = await alist_batches("gemini", **common(emu))
    assert [b.id for b in page.data] == [batch.id]
    assert done.output_file_id == batch.id + wire.INLINE_OUTPUT
    assert len(spy.seen) >= 4  # create, retrieve, poll, list
    for data in spy.seen:
        parts = inline_parts(data)
        assert parts and all(isinstance(part, msgspec.Raw) for part in parts)
    assert len(inline_parts(spy.seen[-1])) == 3  # the done batch's answers are bytes too

    result = await aretrieve_batch_results("gemini", done.id, **common(emu))
    assert sorted(item.custom_id for item in result.results) == sorted(ids)
    assert result.strays == []
    statuses = {item.custom_id: item.status for item in result.results}
    assert statuses[ids[3]] is BatchResultStatus.FAILED
    assert sum(s is BatchResultStatus.SUCCEEDED for s in statuses.values()) == COUNT - 1


@pytest.mark.parametrize("body", [b"not json", b'{"name": "batches/x"', b""])
async def test_an_answer_that_is_not_json_is_a_validation_error(body: bytes) -> None:
    routes = {"/v1beta/batches/x": body, "/v1beta/batches": body}
    with FixedAnswers(routes) as server:
        extra: dict[str, Any] = {
            "api_key": KEY,
            "api_base": server.url,
            "client_args": client_args(),
        }
        with pytest.raises(
            APIResponseValidationError, match=r"GET /v1beta/batches/x returned invalid JSON"
        ):
            await aretrieve_batch("gemini", "batches/x", **extra)
        with pytest.raises(
            APIResponseValidationError, match=r"GET /v1beta/batches returned invalid JSON"
        ):
            await alist_batches("gemini", **extra)


async def test_an_operation_of_another_shape_is_read_as_before() -> None:
    """A metadata that is no object: decoded whole (not by the typed decoder), read as before."""
    body = b'{"name": "batches/x", "metadata": "odd", "done": true}'
    with FixedAnswers({"/v1beta/batches/x": body}) as server:
        extra: dict[str, Any] = {
            "api_key": KEY,
            "api_base": server.url,
            "client_args": client_args(),
        }
        batch = await aretrieve_batch("gemini", "batches/x", **extra)
    assert batch.id == "batches/x"
    assert batch.status is BatchStatus.COMPLETED


async def test_an_ended_inline_batch_is_fetched_once_for_its_keys_and_results(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    ids = write_requests(path, 5, model=MODEL, max_tokens=16)
    batch = await acreate_batch("gemini", path, CHAT, **common(emu))
    batch = await apoll_batch("gemini", batch.id, **common(emu))
    assert batch.status is BatchStatus.COMPLETED
    emu.clear_requests()
    async with AnyLLM.create("gemini", **common(emu)) as llm:  # a Batch in hand: no retrieve
        result = await llm.aretrieve_batch_results(batch)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    reads = [r for r in emu.requests() if r["method"] == "GET" and batch.id in r["path"]]
    assert len(reads) == 1  # the operation, read once for the input keys and the results
