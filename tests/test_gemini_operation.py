"""Gemini batch operations are decoded without building their inline requests and responses
(an inline batch echoes up to 20 MB of them on every poll): the decoder keeps those parts as
``msgspec.Raw`` bytes and only the results and input-keys readers parse them, entry by entry.
Everything read from an operation is the same as from the operation decoded whole."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from any_llm import _json
from any_llm._converter import structure
from any_llm._providers import gemini as wire
from any_llm.types import Batch, BatchResultStatus

N = 300


def operation(count: int = N, *, done: bool = True) -> dict[str, Any]:
    requests = [
        {
            "request": {"contents": [{"role": "user", "parts": [{"text": f"question {i}"}]}]},
            "metadata": {"key": f"r{i}"},
        }
        for i in range(count)
    ]
    responses = [
        {
            "metadata": {"key": f"r{i}"},
            "response": {
                "candidates": [{"content": {"role": "model", "parts": [{"text": f"answer {i}"}]}}],
                "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2},
            },
        }
        if i % 3
        else {"metadata": {"key": f"r{i}"}, "error": {"code": 400, "message": "bad"}}
        for i in range(count)
    ]
    meta: dict[str, Any] = {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
        "model": "models/gemini-2.5-flash",
        "displayName": "mine [any-llm-0123456789abcdef]",
        "inputConfig": {"requests": {"requests": requests}},
        "createTime": "2025-07-01T12:00:00.123456Z",
        "updateTime": "2025-07-01T12:05:00Z",
        "batchStats": {"requestCount": str(count), "successfulRequestCount": "2"},
        "state": "BATCH_STATE_SUCCEEDED" if done else "BATCH_STATE_RUNNING",
        "priority": "0",
    }
    data: dict[str, Any] = {"name": "batches/abc", "metadata": meta, "done": done}
    if done:
        meta["endTime"] = "2025-07-01T12:05:00Z"
        output = {"inlinedResponses": {"inlinedResponses": responses}}
        meta["output"] = output
        data["response"] = {"@type": "GenerateContentBatchOutput", **output}
    return data


def batch_of(data: Any) -> Batch:
    return structure(wire.batch_to_record(data), Batch, provider="gemini", what="test")


def test_the_inline_requests_and_responses_stay_bytes() -> None:
    content = _json.dumps(operation())
    data = wire.decode_operation(content)
    requests = data["metadata"]["inputConfig"]["requests"]
    assert isinstance(requests, msgspec.Raw)
    assert isinstance(data["metadata"]["output"]["inlinedResponses"], msgspec.Raw)
    assert isinstance(data["response"]["inlinedResponses"], msgspec.Raw)
    assert json.loads(bytes(requests))["requests"][5]["metadata"] == {"key": "r5"}


@pytest.mark.parametrize("done", [True, False])
def test_the_batch_record_is_that_of_the_whole_operation(done: bool) -> None:
    content = _json.dumps(operation(done=done))
    whole = _json.loads(content)
    assert wire.batch_to_record(wire.decode_operation(content)) == wire.batch_to_record(whole)
    batch = batch_of(wire.decode_operation(content))
    assert batch.input_file_id == "batches/abc" + wire.INLINE_INPUT
    assert batch.output_file_id == ("batches/abc" + wire.INLINE_OUTPUT if done else None)
    assert batch.metadata == {"displayName": "mine"}
    assert batch.idempotency_key == "0123456789abcdef"


def test_results_and_keys_are_those_of_the_whole_operation() -> None:
    content = _json.dumps(operation())
    whole = _json.loads(content)
    data = wire.decode_operation(content)
    batch = batch_of(whole)
    assert list(wire.inline_input_keys(data)) == [f"r{i}" for i in range(N)]
    assert list(wire.inline_input_keys(data)) == list(wire.inline_input_keys(whole))
    items = list(wire.inline_results(data, batch=batch))
    assert items == list(wire.inline_results(whole, batch=batch))
    assert [item.custom_id for item in items] == [f"r{i}" for i in range(N)]
    assert items[1].status is BatchResultStatus.SUCCEEDED
    assert items[1].response is not None
    assert items[1].response["choices"][0]["message"]["content"] == "answer 1"
    assert items[0].status is BatchResultStatus.FAILED
    assert items[0].error is not None and items[0].error.message == "bad"


def test_results_are_parsed_one_entry_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first result comes after one entry is parsed, not the whole list."""
    data = wire.decode_operation(_json.dumps(operation()))
    batch = batch_of(data)
    parsed: list[Any] = []
    loads = _json.loads

    def spy(raw: Any) -> Any:
        parsed.append(raw)
        return loads(raw)

    monkeypatch.setattr(_json, "loads", spy)
    results = wire.inline_results(data, batch=batch)
    first = next(results)
    assert first.custom_id == "r0"
    assert len(parsed) == 1 and len(bytes(parsed[0])) < 500
    assert len(list(results)) == N - 1
    assert len(parsed) == N


@pytest.mark.parametrize(
    "requests",
    [
        {"requests": [1, "x", None, {"request": {}}, {"metadata": {"key": "k"}}]},
        {"requests": None},
        {"requests": "not a list"},
        [],
        None,
        "text",
    ],
)
def test_odd_inline_entries_are_skipped_as_before(requests: Any) -> None:
    data = operation(2)
    data["metadata"]["inputConfig"]["requests"] = requests
    data["metadata"]["output"]["inlinedResponses"] = requests
    data["response"]["inlinedResponses"] = requests
    content = _json.dumps(data)
    whole = _json.loads(content)
    decoded = wire.decode_operation(content)
    batch = batch_of(whole)
    assert list(wire.inline_input_keys(decoded)) == list(wire.inline_input_keys(whole))
    assert list(wire.inline_results(decoded, batch=batch)) == list(
        wire.inline_results(whole, batch=batch)
    )


@pytest.mark.parametrize(
    "change",
    [
        {"metadata": "a string"},
        {"metadata": {"inputConfig": ["a list"]}},
        {"metadata": {"output": 3, "state": "BATCH_STATE_SUCCEEDED"}, "done": True},
        {"response": "text"},
        {"name": 7},
    ],
)
def test_an_operation_of_another_shape_reads_as_when_decoded_whole(
    change: dict[str, Any],
) -> None:
    data = {**operation(2), **change}
    content = _json.dumps(data)
    whole = _json.loads(content)
    decoded = wire.decode_operation(content)
    try:
        expected: Any = wire.batch_to_record(whole)
    except TypeError as exc:
        with pytest.raises(TypeError, match=str(exc)):
            wire.batch_to_record(decoded)
    else:
        assert wire.batch_to_record(decoded) == expected


@pytest.mark.parametrize("content", [b"", b"{", b"not json", b'{"name": "x"} trailing'])
def test_what_is_not_json_raises_value_error(content: bytes) -> None:
    with pytest.raises(ValueError, match=r"truncated|malformed"):
        wire.decode_operation(content)
    with pytest.raises(ValueError, match=r"truncated|malformed"):
        wire.decode_page(content)


def test_a_page_keeps_each_operations_inline_parts_as_bytes() -> None:
    page = {"operations": [operation(3), operation(2, done=False)], "nextPageToken": "t2"}
    content = _json.dumps(page)
    data = wire.decode_page(content)
    assert data["nextPageToken"] == "t2"
    first = data["operations"][0]
    assert isinstance(first["metadata"]["inputConfig"]["requests"], msgspec.Raw)
    parsed = wire.parse_page(data, batch_of)
    assert parsed == wire.parse_page(_json.loads(content), batch_of)
    assert parsed.next_cursor == "t2" and len(parsed.data) == 2
    assert wire.decode_page(b"{}") == {}
    assert wire.decode_page(b'{"operations": "x"}') == {"operations": "x"}
