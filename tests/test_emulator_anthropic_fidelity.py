"""The official Anthropic SDK drives the emulator's /anthropic mount: every batch operation it
offers (create, retrieve, list with paging, cancel, results, delete), and every answer must
parse into its typed models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from importlib.metadata import entry_points
from typing import Any

import anthropic
import pytest
from anthropic.types import Message, TextBlock, ToolUseBlock
from anthropic.types.messages import (
    DeletedMessageBatch,
    MessageBatch,
    MessageBatchIndividualResponse,
)

from any_llm.emulator import Emulator, EmulatorConfig, Fault, ManualClock
from any_llm.testing import EmulatorFactory

if not any(ep.value == "any_llm.testing" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["any_llm.testing"]  # not installed: load the plugin from the source tree

BATCHES = "/anthropic/v1/messages/batches"


def params(text: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
    }
    body.update(extra)
    return body


def requests(count: int, suffix: dict[int, str] | None = None) -> Any:
    suffix = suffix or {}
    return [
        {"custom_id": f"req-{i}", "params": params(f"what is {i} + {i}? {suffix.get(i, '')}")}
        for i in range(count)
    ]


def sdk(emulator: Emulator, **kwargs: Any) -> anthropic.Anthropic:
    options: dict[str, Any] = {"api_key": "sk-test", "max_retries": 0, **kwargs}
    return anthropic.Anthropic(base_url=emulator.api_base("anthropic"), **options)


@pytest.fixture
def client(any_llm_emulator: Emulator) -> Iterator[anthropic.Anthropic]:
    with sdk(any_llm_emulator) as opened:
        yield opened


def test_round_trip(client: anthropic.Anthropic) -> None:
    reqs = requests(5, {1: "[[fail]]", 3: "[[error]]"})
    reqs.append({"custom_id": "no-max-tokens", "params": {"model": "m", "messages": []}})
    reqs.append(
        {
            "custom_id": "tool",
            "params": params(
                "look up kiwi",
                system=[{"type": "text", "text": "be brief"}],
                tools=[{"name": "lookup", "input_schema": {"type": "object"}}],
                tool_choice={"type": "tool", "name": "lookup"},
            ),
        }
    )
    raw = client.messages.batches.with_raw_response.create(requests=reqs)
    assert raw.headers["request-id"].startswith("req_")
    batch = raw.parse()
    assert isinstance(batch, MessageBatch)
    MessageBatch.model_validate(json.loads(raw.http_response.text))  # validated, not constructed
    assert batch.type == "message_batch"
    assert batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 7
    assert batch.results_url is None and batch.ended_at is None
    assert batch.expires_at - batch.created_at == timedelta(hours=24)

    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    counts = ended.request_counts
    assert (counts.processing, counts.succeeded, counts.errored) == (0, 4, 3)
    assert (counts.canceled, counts.expired) == (0, 0)
    assert ended.ended_at is not None and ended.cancel_initiated_at is None
    assert ended.results_url == f"{client.base_url}v1/messages/batches/{batch.id}/results"

    results = list(client.messages.batches.results(batch.id))
    assert all(isinstance(r, MessageBatchIndividualResponse) for r in results)
    by_id = {r.custom_id: r.result for r in results}
    assert sorted(by_id) == sorted(r["custom_id"] for r in reqs)
    assert [r.custom_id for r in results] != [r["custom_id"] for r in reqs]  # not in order
    first = by_id["req-0"]
    assert first.type == "succeeded"
    assert isinstance(first.message, Message)
    assert first.message.stop_reason == "end_turn"
    [block] = first.message.content
    assert isinstance(block, TextBlock) and block.text == "echo: what is 0 + 0?"
    assert first.message.usage.output_tokens > 0
    tool = by_id["tool"]
    assert tool.type == "succeeded" and tool.message.stop_reason == "tool_use"
    [use] = tool.message.content
    assert isinstance(use, ToolUseBlock) and use.name == "lookup"
    kinds = {
        cid: (r.error.error.type, r.error.error.message)
        for cid, r in by_id.items()
        if r.type == "errored"
    }
    assert kinds["req-1"][0] == "invalid_request_error"
    assert kinds["req-3"][0] == "api_error"
    assert kinds["no-max-tokens"] == ("invalid_request_error", "max_tokens: Field required")

    lines = client.messages.batches.with_raw_response.retrieve(batch.id)
    MessageBatch.model_validate(json.loads(lines.http_response.text))
    for line in client.get(ended.results_url, cast_to=str).splitlines():
        MessageBatchIndividualResponse.model_validate(json.loads(line))


def test_list_pagination(client: anthropic.Anthropic) -> None:
    created = [client.messages.batches.create(requests=requests(1)).id for _ in range(5)]
    newest_first = created[::-1]
    page = client.messages.batches.list(limit=2)
    assert page.has_more is True
    assert [b.id for b in page.data] == newest_first[:2]
    assert (page.first_id, page.last_id) == (newest_first[0], newest_first[1])
    assert [b.id for b in page] == newest_first  # auto-paging with after_id
    assert len(list(page.iter_pages())) == 3
    assert all(b.processing_status == "ended" for b in client.messages.batches.list())
    before = client.messages.batches.list(before_id=newest_first[3], limit=2)
    assert [b.id for b in before.data] == newest_first[1:3]
    assert before.has_more is True
    with pytest.raises(anthropic.BadRequestError):
        client.messages.batches.list(limit=1001)


def test_cancel_and_delete(any_llm_emulator_factory: EmulatorFactory) -> None:
    clock = ManualClock()
    config = EmulatorConfig(validating_seconds=0, in_progress_seconds=10, cancelling_seconds=2)
    emulator = any_llm_emulator_factory(config=config, clock=clock)
    with sdk(emulator) as client:
        batch = client.messages.batches.create(requests=requests(10))
        clock.advance(5)
        with pytest.raises(anthropic.BadRequestError, match="still processing"):
            client.messages.batches.delete(batch.id)
        with pytest.raises(anthropic.NotFoundError, match="no results yet"):
            client.get(f"/v1/messages/batches/{batch.id}/results", cast_to=str)
        cancelling = client.messages.batches.cancel(batch.id)
        assert cancelling.processing_status == "canceling"
        assert cancelling.cancel_initiated_at == batch.created_at + timedelta(seconds=5)
        assert client.messages.batches.cancel(batch.id).processing_status == "canceling"
        clock.advance(2)
        ended = client.messages.batches.retrieve(batch.id)
        assert ended.processing_status == "ended"
        assert (ended.request_counts.succeeded, ended.request_counts.canceled) == (5, 5)
        results = list(client.messages.batches.results(batch.id))
        assert sorted(r.result.type for r in results) == ["canceled"] * 5 + ["succeeded"] * 5
        with pytest.raises(anthropic.BadRequestError, match="already ended"):
            client.messages.batches.cancel(batch.id)
        deleted = client.messages.batches.delete(batch.id)
        assert isinstance(deleted, DeletedMessageBatch)
        assert (deleted.id, deleted.type) == (batch.id, "message_batch_deleted")
        with pytest.raises(anthropic.NotFoundError):
            client.messages.batches.retrieve(batch.id)
        assert list(client.messages.batches.list()) == []


def test_expiry_and_archival(any_llm_emulator_factory: EmulatorFactory) -> None:
    clock = ManualClock()
    config = EmulatorConfig(
        validating_seconds=0, in_progress_seconds=100, completion_window_seconds=50
    )
    emulator = any_llm_emulator_factory(config=config, clock=clock)
    with sdk(emulator) as client:
        batch = client.messages.batches.create(requests=requests(4))
        assert batch.expires_at - batch.created_at == timedelta(seconds=50)
        clock.advance(60)
        ended = client.messages.batches.retrieve(batch.id)
        assert ended.processing_status == "ended"
        assert (ended.request_counts.succeeded, ended.request_counts.expired) == (2, 2)
        assert ended.ended_at == ended.expires_at
        kinds = sorted(r.result.type for r in client.messages.batches.results(batch.id))
        assert kinds == ["expired", "expired", "succeeded", "succeeded"]
        clock.advance(29 * 86_400)
        archived = client.messages.batches.retrieve(batch.id)
        assert archived.archived_at is not None and archived.results_url is None
        with pytest.raises(anthropic.AnthropicError, match="No `results_url`"):
            list(client.messages.batches.results(batch.id))


def test_envelope_errors(client: anthropic.Anthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (
            [{"custom_id": "x" * 65, "params": params("hi")}],
            {},
            "requests.0.custom_id: String should have at most 64 characters",
        ),
        ([{"custom_id": "a b", "params": params("hi")}], {}, "String should match pattern"),
        (
            [{"custom_id": "a", "params": params("hi")}, {"custom_id": "a", "params": params("x")}],
            {},
            "requests.1.custom_id",
        ),
        ([{"custom_id": "a"}], {}, "requests.0.params: Field required"),
        ([], {}, "at least 1 item"),
        ([{"custom_id": "a", "params": params("hi")}], {"extra_body": {"x": 1}}, "x: Extra inputs"),
    ]
    for reqs, options, message in cases:
        with pytest.raises(anthropic.BadRequestError, match=message) as bad:
            client.messages.batches.create(requests=reqs, **options)
        assert isinstance(bad.value.body, dict)
        assert bad.value.body["type"] == "error"
        assert bad.value.body["error"]["type"] == "invalid_request_error"
    monkeypatch.setattr("any_llm.emulator.anthropic.MAX_BODY_BYTES", 1000)
    with pytest.raises(anthropic.ContentTooLargeError) as large:
        client.messages.batches.create(requests=requests(40))
    assert large.value.status_code == 413
    assert client.messages.batches.list().data == []


def test_errors_map_to_sdk_exceptions(
    client: anthropic.Anthropic, any_llm_emulator: Emulator
) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.batches.retrieve("msgbatch_missing")
    assert missing.value.response.headers["request-id"].startswith("req_")
    assert isinstance(missing.value.body, dict)
    assert missing.value.body["error"]["type"] == "not_found_error"

    cases: list[tuple[int, type[anthropic.APIStatusError], str]] = [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (504, anthropic.GatewayTimeoutError, "timeout_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
    ]
    for status, error, kind in cases:
        any_llm_emulator.add_fault(
            Fault(method="GET", path=BATCHES, status=status, headers={"retry-after": "7"}, times=1)
        )
        with pytest.raises(error) as caught:
            client.messages.batches.list()
        assert caught.value.status_code == status
        assert isinstance(caught.value.body, dict)
        assert caught.value.body["error"]["type"] == kind
        assert caught.value.response.headers["retry-after"] == "7"

    any_llm_emulator.add_fault(Fault(method="GET", path=BATCHES, kind="reset", times=1))
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.batches.list()

    no_key: Any = {"X-Api-Key": anthropic.omit, "Authorization": anthropic.omit}
    keyless = client.with_options(default_headers=no_key)
    with pytest.raises(anthropic.AuthenticationError, match="x-api-key header is required"):
        keyless.messages.batches.list()
    no_version: Any = {"anthropic-version": anthropic.omit}
    versionless = client.with_options(default_headers=no_version)
    with pytest.raises(anthropic.BadRequestError, match="anthropic-version"):
        versionless.messages.batches.list()


def test_wrong_key(any_llm_emulator_factory: EmulatorFactory) -> None:
    emulator = any_llm_emulator_factory(config=EmulatorConfig(api_key="sk-right"))
    with sdk(emulator, api_key="sk-wrong") as client, pytest.raises(anthropic.AuthenticationError):
        client.messages.batches.list()
    with sdk(emulator, api_key="sk-right") as client:
        assert client.messages.batches.list().data == []


def test_sdk_retries_honour_retry_after(any_llm_emulator: Emulator) -> None:
    any_llm_emulator.add_fault(
        Fault(method="POST", path=BATCHES, status=529, headers={"retry-after-ms": "10"}, times=2)
    )
    with sdk(any_llm_emulator, max_retries=2) as client:
        batch = client.messages.batches.create(requests=requests(1))
    attempts = [r for r in any_llm_emulator.requests() if r["method"] == "POST"]
    assert [r["status"] for r in attempts] == [529, 529, 200]
    assert [r["headers"]["x-stainless-retry-count"] for r in attempts] == ["0", "1", "2"]
    assert [b["id"] for b in any_llm_emulator.batches()] == [batch.id]


def test_requests_reader_splits_the_body_at_any_chunking() -> None:
    from any_llm.emulator.anthropic import RequestsReader
    from any_llm.emulator.web_support import ApiError

    items = [
        {"custom_id": "a", "params": {"s": 'x"}]{[\\', "n": [1, [2, {"k": "]"}]], "u": "é\u2028"}},
        {"custom_id": "b", "params": {}},
    ]
    body = ('  {"requests" :\n [ ' + " ,\n".join(json.dumps(i) for i in items) + " ] }\n").encode()
    for size in (1, 2, 3, 7, len(body)):
        reader = RequestsReader()
        found: list[bytes] = []
        for start in range(0, len(body), size):
            found += reader.feed(body[start : start + size])
        reader.close()
        assert [json.loads(raw) for raw in found] == items, size
    bad_bodies = {
        b"[]": "must be a JSON object",
        b'{"requests": {}}': "valid list",
        b'{"requests": [1]}': "requests.0: Input should be a valid dictionary",
        b'{"other": 1}': "other: Extra inputs",
        b'{"requests": [{}] ': "ends too early",
        b'{"requests": [{}],}': "not valid JSON",
        b"{}": "requests: Field required",
        b'{"requests": [{}]} x': "not valid JSON",
    }

    def read(raw: bytes) -> None:
        reader = RequestsReader()
        reader.feed(raw)
        reader.close()

    for raw, message in bad_bodies.items():
        with pytest.raises(ApiError, match=message):
            read(raw)
