"""Anthropic's pure provider code: request translation, batch records, result lines, the
create ledger. No network."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from any_llm._converter import structure
from any_llm._jsonl import TranslationError, validate_input_file
from any_llm._providers import anthropic as wire
from any_llm._providers import get_spec
from any_llm.errors import APIResponseValidationError, InputFileError
from any_llm.types import (
    Batch,
    BatchRequestCounts,
    BatchResultStatus,
    BatchStatus,
    LLMProvider,
)

CHAT = "/v1/chat/completions"


def body(**extra: Any) -> dict[str, Any]:
    """A minimal translatable body plus ``extra``."""
    base: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_completion_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    base.update(extra)
    return base


def refused(field: str, **extra: Any) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        wire.translate_body(body(**extra))
    assert info.value.field == field, str(info.value)
    return info.value


# --- spec --------------------------------------------------------------------------------------


def test_spec() -> None:
    spec = get_spec("anthropic")
    assert spec is wire.SPEC
    assert spec.provider is LLMProvider.ANTHROPIC
    assert spec.default_api_base == "https://api.anthropic.com"
    assert spec.api_key_env == "ANTHROPIC_API_KEY"
    assert spec.metadata_max_pairs == 0
    assert spec.completion_windows == frozenset({"24h"})
    assert spec.limits.max_requests == 100_000
    assert spec.limits.max_file_bytes == 256_000_000
    assert spec.limits.endpoints == frozenset({CHAT})
    assert not spec.limits.single_model
    assert spec.auth_headers("k") == {"x-api-key": "k", "anthropic-version": "2023-06-01"}


@pytest.mark.parametrize(
    ("custom_id", "ok"),
    [
        ("a", True),
        ("A-b_9", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("a b", False),
        ("a.b", False),
        ("é", False),
    ],
)
def test_custom_id_pattern(custom_id: str, ok: bool) -> None:
    pattern = wire.SPEC.limits.custom_id_pattern
    assert pattern is not None
    assert bool(pattern.fullmatch(custom_id)) is ok


# --- scalar fields -----------------------------------------------------------------------------


def test_minimal_body() -> None:
    assert wire.translate_body(body()) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_max_tokens() -> None:
    both = body(max_tokens=10)
    assert wire.translate_body(both)["max_tokens"] == 64  # max_completion_tokens wins
    legacy = body(max_tokens=10)
    del legacy["max_completion_tokens"]
    assert wire.translate_body(legacy)["max_tokens"] == 10
    neither = body()
    del neither["max_completion_tokens"]
    with pytest.raises(TranslationError, match="required by Anthropic") as info:
        wire.translate_body(neither)
    assert info.value.field == "body.max_tokens"
    for bad in (0, -1, True, "5", 1.5):
        refused("body.max_completion_tokens", max_completion_tokens=bad)
    refused("body.max_tokens", max_tokens="5")


def test_sampling_fields() -> None:
    params = wire.translate_body(body(temperature=0.7, top_p=1, stop="END"))
    assert (params["temperature"], params["top_p"]) == (0.7, 1)
    assert params["stop_sequences"] == ["END"]
    assert wire.translate_body(body(stop=["a", "b"]))["stop_sequences"] == ["a", "b"]
    assert "stop_sequences" not in wire.translate_body(body(stop=None))
    assert "stop_sequences" not in wire.translate_body(body(stop=[]))
    assert "temperature" not in wire.translate_body(body(temperature=None))
    assert "accepts 0 to 1, got 1.5" in str(refused("body.temperature", temperature=1.5))
    refused("body.temperature", temperature=-0.1)
    refused("body.temperature", temperature="hot")
    refused("body.top_p", top_p=2)
    refused("body.stop", stop=[1])


def test_user_becomes_metadata() -> None:
    assert wire.translate_body(body(user="u-1"))["metadata"] == {"user_id": "u-1"}
    refused("body.user", user=7)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", 42),
        ("n", 2),
        ("logprobs", True),
        ("top_logprobs", 3),
        ("logit_bias", {"1": 5}),
        ("presence_penalty", 0.5),
        ("frequency_penalty", -1),
        ("stream", True),
        ("modalities", ["text", "audio"]),
        ("audio", {"voice": "alloy"}),
        ("prediction", {"type": "content", "content": "x"}),
        ("web_search_options", {}),
        ("functions", [{"name": "f"}]),
        ("function_call", "auto"),
        ("verbosity", "low"),
        ("prompt_cache_key", "k"),
    ],
)
def test_untranslatable_fields_are_refused(field: str, value: Any) -> None:
    refused(f"body.{field}", **{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", None),
        ("n", 1),
        ("logprobs", False),
        ("top_logprobs", 0),
        ("logit_bias", {}),
        ("presence_penalty", 0),
        ("frequency_penalty", 0.0),
        ("stream", False),
        ("modalities", ["text"]),
        ("store", True),
        ("metadata", {"job": "x"}),
        ("stream_options", {"include_usage": True}),
        ("service_tier", "flex"),
        ("parallel_tool_calls", True),
    ],
)
def test_fields_without_effect_are_dropped(field: str, value: Any) -> None:
    assert wire.translate_body(body(**{field: value})) == wire.translate_body(body())


# --- messages ----------------------------------------------------------------------------------


def test_system_and_developer_messages_move_to_system() -> None:
    one = body(
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "q"}]
    )
    params = wire.translate_body(one)
    assert params["system"] == "be brief"
    assert params["messages"] == [{"role": "user", "content": "q"}]
    many = body(
        messages=[
            {"role": "system", "content": "a"},
            {"role": "developer", "content": [{"type": "text", "text": "b"}]},
            {"role": "user", "content": "q"},
            {"role": "system", "content": ""},  # empty: changes nothing
        ]
    )
    assert wire.translate_body(many)["system"] == [
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b"},
    ]
    image = {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
    refused("body.messages[0].content[0]", messages=[{"role": "system", "content": [image]}])
    refused("body.messages", messages=[{"role": "system", "content": "alone"}])
    refused("body.messages", messages=[])


def test_user_content_parts() -> None:
    parts = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        {
            "type": "file",
            "file": {"file_data": "data:application/pdf;base64,JVBER", "filename": "a.pdf"},
        },
    ]
    params = wire.translate_body(body(messages=[{"role": "user", "content": parts}]))
    assert params["messages"][0]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"},
            "title": "a.pdf",
        },
    ]


@pytest.mark.parametrize(
    ("part", "field"),
    [
        ({"type": "image_url", "image_url": {"url": "data:image/bmp;base64,AA"}}, ".image_url.url"),
        ({"type": "image_url", "image_url": {"url": "data:image/png,raw"}}, ".image_url.url"),
        ({"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}, ".image_url.url"),
        ({"type": "image_url", "image_url": "https://x/y.png"}, ".image_url"),
        ({"type": "image_url", "image_url": {"url": "https://x", "zoom": 2}}, ".image_url.zoom"),
        ({"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}, ""),
        ({"type": "file", "file": {"file_id": "file-1"}}, ".file.file_id"),
        ({"type": "file", "file": {"file_data": "data:text/plain;base64,AA"}}, ".file.file_data"),
        ({"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}, ".cache_control"),
        ({"type": "text", "text": 5}, ".text"),
    ],
)
def test_bad_user_parts_are_refused(part: dict[str, Any], field: str) -> None:
    refused(f"body.messages[0].content[0]{field}", messages=[{"role": "user", "content": [part]}])


def test_assistant_tool_calls_and_tool_results() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
    call2 = {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": ""}}
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "calling", "tool_calls": [call, call2]},
        {"role": "tool", "tool_call_id": "call_1", "content": "one"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "two"}]},
        {"role": "user", "content": "and?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "again"},
        {"role": "assistant", "content": "done"},
    ]
    assert wire.translate_body(body(messages=messages))["messages"] == [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "calling"},
                {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
                {"type": "tool_use", "id": "call_2", "name": "g", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "one"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_2",
                    "content": [{"type": "text", "text": "two"}],
                },
            ],
        },
        {"role": "user", "content": "and?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "again"}],
        },
        {"role": "assistant", "content": "done"},
    ]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "user", "content": "x", "name": "bob"}, "body.messages[0].name"),
        ({"role": "function", "name": "f", "content": "x"}, "body.messages[0].role"),
        ({"role": "robot", "content": "x"}, "body.messages[0].role"),
        ({"role": "assistant", "content": None}, "body.messages[0]"),
        ({"role": "assistant", "content": "x", "refusal": "no"}, "body.messages[0].refusal"),
        ({"role": "assistant", "content": "x", "audio": {"id": "a"}}, "body.messages[0].audio"),
        (
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{"}}],
            },
            "body.messages[0].tool_calls[0].function.arguments",
        ),
        (
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1]"}}],
            },
            "body.messages[0].tool_calls[0].function.arguments",
        ),
        (
            {"role": "assistant", "tool_calls": [{"type": "custom", "id": "c"}]},
            "body.messages[0].tool_calls[0]",
        ),
        ({"role": "tool", "content": "x"}, "body.messages[0].tool_call_id"),
        ({"role": "user", "content": "x", "extra": 1}, "body.messages[0].extra"),
        ({"role": "user", "content": 5}, "body.messages[0].content"),
    ],
)
def test_bad_messages_are_refused(message: dict[str, Any], field: str) -> None:
    refused(field, messages=[message, {"role": "user", "content": "q"}])


# --- tools and formats -------------------------------------------------------------------------


def test_tools_and_tool_choice() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "$defs": {"x": {}}}
    tools = [
        {
            "type": "function",
            "function": {
                "name": "search",
                "description": "d",
                "parameters": schema,
                "strict": True,
            },
        },
        {"type": "function", "function": {"name": "noargs"}},
    ]
    params = wire.translate_body(body(tools=tools, tool_choice="auto"))
    assert params["tools"] == [
        {"name": "search", "input_schema": schema, "description": "d", "strict": True},
        {"name": "noargs", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert params["tool_choice"] == {"type": "auto"}
    choices = {
        "none": {"type": "none"},
        "required": {"type": "any"},
        json.dumps({"type": "function", "function": {"name": "search"}}): {
            "type": "tool",
            "name": "search",
        },
    }
    for raw, native in choices.items():
        choice = json.loads(raw) if raw.startswith("{") else raw
        assert wire.translate_body(body(tools=tools, tool_choice=choice))["tool_choice"] == native
    refused("body.tool_choice", tools=tools, tool_choice={"type": "allowed_tools"})
    refused("body.tools[0]", tools=[{"type": "custom", "custom": {"name": "x"}}])
    bad_schema = [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]
    refused("body.tools[0].function.parameters", tools=bad_schema)
    refused("body.tools", tools={"name": "f"})


def test_parallel_tool_calls_false() -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    for choice, native in (
        (None, {"type": "auto", "disable_parallel_tool_use": True}),
        ("auto", {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", {"type": "any", "disable_parallel_tool_use": True}),
        ("none", {"type": "none"}),
    ):
        params = wire.translate_body(
            body(tools=tools, tool_choice=choice, parallel_tool_calls=False)
        )
        assert params["tool_choice"] == native
    assert "tool_choice" not in wire.translate_body(body(parallel_tool_calls=False))
    refused("body.parallel_tool_calls", parallel_tool_calls="no")


def test_response_format_and_effort() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "strict": True, "schema": schema}}
    assert wire.translate_body(body(response_format=fmt))["output_config"] == {
        "format": {"type": "json_schema", "schema": schema}
    }
    both = wire.translate_body(body(response_format=fmt, reasoning_effort="high"))
    assert both["output_config"] == {
        "format": {"type": "json_schema", "schema": schema},
        "effort": "high",
    }
    assert "output_config" not in wire.translate_body(body(response_format={"type": "text"}))
    refused("body.response_format", response_format={"type": "json_object"})
    refused(
        "body.response_format.json_schema.schema",
        response_format={"type": "json_schema", "json_schema": {"name": "n"}},
    )
    refused("body.response_format", response_format={"type": "xml"})
    refused("body.reasoning_effort", reasoning_effort="minimal")


def test_translate_line_and_the_validating_pass(tmp_path: Path) -> None:
    line = {"custom_id": "a", "method": "POST", "url": CHAT, "body": body(seed=None)}
    assert wire.translate_line(line) == {"custom_id": "a", "params": wire.translate_body(body())}
    path = tmp_path / "in.jsonl"
    good = json.dumps(line)
    bad = json.dumps({**line, "custom_id": "b", "body": body(seed=1)})
    path.write_text(f"{good}\n{bad}\n")
    with pytest.raises(InputFileError, match=r"body\.seed") as info:
        validate_input_file(path, endpoint=CHAT, limits=wire.SPEC.limits, provider="anthropic")
    assert (info.value.line, info.value.custom_id) == (2, "b")
    path.write_text(json.dumps({**line, "custom_id": "has space"}) + "\n")
    with pytest.raises(InputFileError, match="custom_ids matching") as info:
        validate_input_file(path, endpoint=CHAT, limits=wire.SPEC.limits, provider="anthropic")
    assert info.value.line == 1
    mixed = [
        json.dumps({**line, "custom_id": f"m{i}", "body": body(model=f"claude-{i}")})
        for i in range(2)
    ]
    path.write_text("\n".join(mixed) + "\n")
    summary = validate_input_file(
        path, endpoint=CHAT, limits=wire.SPEC.limits, provider="anthropic"
    )
    assert summary.requests == 2  # mixed models are allowed


def test_stage_requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        {"custom_id": f"r{i}", "method": "POST", "url": CHAT, "body": body(user=f"ü{i}")}
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    summary = validate_input_file(
        path, endpoint=CHAT, limits=wire.SPEC.limits, provider="anthropic"
    )
    staged = wire.staged_body(summary)
    try:
        assert staged.parent == tmp_path
        data = json.loads(staged.read_bytes())
        assert [r["custom_id"] for r in data["requests"]] == ["r0", "r1", "r2"]
        assert data["requests"][1]["params"]["metadata"] == {"user_id": "ü1"}
    finally:
        staged.unlink()
    summary = validate_input_file(
        path, endpoint=CHAT, limits=wire.SPEC.limits, provider="anthropic"
    )
    monkeypatch.setattr(wire, "MAX_BODY_BYTES", 100)
    with pytest.raises(InputFileError, match="over Anthropic's limit of 100 bytes") as info:
        wire.staged_body(summary)
    assert info.value.path == str(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


# --- batches -----------------------------------------------------------------------------------


def test_parse_time() -> None:
    assert wire.parse_time("1970-01-01T00:00:10Z", "t") == 10
    assert wire.parse_time("2024-09-24T18:37:24.100435Z", "t") == 1727203044
    assert wire.parse_time("2024-09-24T18:37:24.100435123Z", "t") == 1727203044
    assert wire.parse_time("2024-09-24T20:37:24+02:00", "t") == 1727203044
    assert wire.parse_time("2024-09-24T18:37:24", "t") == 1727203044
    assert wire.parse_time(None, "t") is None
    with pytest.raises(TypeError, match="created_at"):
        wire.parse_time("yesterday", "created_at")
    with pytest.raises(TypeError):
        wire.parse_time(5, "t")


def wire_batch(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "msgbatch_1",
        "type": "message_batch",
        "processing_status": "in_progress",
        "request_counts": {
            "processing": 4,
            "succeeded": 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        },
        "created_at": "1970-01-01T00:01:40Z",
        "expires_at": "1970-01-02T00:01:40Z",
        "ended_at": None,
        "cancel_initiated_at": None,
        "archived_at": None,
        "results_url": None,
    }
    data.update(extra)
    return data


def to_batch(data: dict[str, Any]) -> Batch:
    return structure(wire.batch_to_record(data), Batch, provider="anthropic", what="batch")


ENDED = {
    "processing_status": "ended",
    "ended_at": "1970-01-01T00:03:20Z",
    "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_1/results",
}


@pytest.mark.parametrize(
    ("extra", "status", "stamp"),
    [
        ({}, BatchStatus.IN_PROGRESS, None),
        (
            {"processing_status": "canceling", "cancel_initiated_at": "1970-01-01T00:02:00Z"},
            BatchStatus.CANCELLING,
            None,
        ),
        (ENDED, BatchStatus.COMPLETED, "completed_at"),
        (
            {**ENDED, "cancel_initiated_at": "1970-01-01T00:02:00Z"},
            BatchStatus.CANCELLED,
            "cancelled_at",
        ),
        (
            {
                **ENDED,
                "request_counts": {
                    "processing": 0,
                    "succeeded": 3,
                    "errored": 0,
                    "canceled": 0,
                    "expired": 1,
                },
            },
            BatchStatus.EXPIRED,
            "expired_at",
        ),
        ({"processing_status": "paused"}, BatchStatus.UNKNOWN, None),
    ],
)
def test_status_map(extra: dict[str, Any], status: BatchStatus, stamp: str | None) -> None:
    batch = to_batch(wire_batch(**extra))
    assert batch.status is status
    assert batch.provider_status == wire_batch(**extra)["processing_status"]
    for name in ("completed_at", "cancelled_at", "expired_at"):
        assert getattr(batch, name) == (200 if name == stamp else None)
    assert batch.output_file_id == ("msgbatch_1" if stamp else None)


def test_batch_record_fields() -> None:
    counts = {"processing": 0, "succeeded": 5, "errored": 2, "canceled": 1, "expired": 0}
    batch = to_batch(
        wire_batch(**ENDED, request_counts=counts, cancel_initiated_at="1970-01-01T00:02:00Z")
    )
    assert (batch.id, batch.provider, batch.object) == ("msgbatch_1", "anthropic", "batch")
    assert (batch.endpoint, batch.completion_window) == (CHAT, "24h")
    assert (batch.created_at, batch.in_progress_at, batch.expires_at) == (100, 100, 86_500)
    assert batch.cancelling_at == 120
    assert (batch.request_counts.total, batch.request_counts.completed) == (8, 5)
    assert batch.request_counts.failed == 3
    assert batch.metadata is None and batch.input_file_id == "" and batch.error_file_id is None
    assert batch.finalizing_at is None and batch.failed_at is None
    with pytest.raises(TypeError, match=r"request_counts\.errored"):
        wire.batch_to_record(wire_batch(request_counts={**counts, "errored": -1}))
    with pytest.raises(TypeError, match="no id"):
        wire.batch_to_record({})
    with pytest.raises(TypeError, match="created_at"):
        wire.batch_to_record(wire_batch(created_at=None))


def test_parse_page() -> None:
    data = {
        "data": [wire_batch(), wire_batch(id="msgbatch_2")],
        "has_more": True,
        "first_id": "msgbatch_1",
        "last_id": "msgbatch_2",
    }
    page = wire.parse_page(data, to_batch)
    assert [b.id for b in page] == ["msgbatch_1", "msgbatch_2"]
    assert (page.has_more, page.next_cursor) == (True, "msgbatch_2")
    last = wire.parse_page({**data, "has_more": False}, to_batch)
    assert (last.has_more, last.next_cursor) == (False, None)
    empty = wire.parse_page({"data": [], "has_more": True}, to_batch)
    assert (empty.has_more, empty.next_cursor) == (False, None)
    with pytest.raises(TypeError):
        wire.parse_page({"batches": []}, to_batch)


def test_results_url_stays_on_the_api_host() -> None:
    base = "https://api.anthropic.com"
    url = "https://api.anthropic.com/v1/messages/batches/b/results?x=1"
    assert wire.results_url({"results_url": url}, batch_id="b", api_base=base) == url
    assert wire.results_url({"results_url": None}, batch_id="b", api_base=base) is None
    assert (
        wire.results_url(
            {"results_url": "http://127.0.0.1:9/anthropic/v1/r"},
            batch_id="b",
            api_base="http://127.0.0.1:9/anthropic",
        )
        == "http://127.0.0.1:9/anthropic/v1/r"
    )
    for foreign in (
        "https://evil.example/v1/r",
        "http://api.anthropic.com/v1/r",
        "https://api.anthropic.com:444/r",
    ):
        with pytest.raises(APIResponseValidationError, match="does not send the API key"):
            wire.results_url({"results_url": foreign}, batch_id="b", api_base=base)
    with pytest.raises(TypeError):
        wire.results_url({"results_url": 5}, batch_id="b", api_base=base)


# --- results -----------------------------------------------------------------------------------


def line(custom_id: str, result: dict[str, Any]) -> bytes:
    return json.dumps({"custom_id": custom_id, "result": result}).encode()


def message(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 36},
    }
    data.update(extra)
    return data


def test_succeeded_line() -> None:
    item = wire.parse_result_line(
        line("a", {"type": "succeeded", "message": message()}), where="w", created=77
    )
    assert item is not None and item.status is BatchResultStatus.SUCCEEDED
    assert item.status_code == 200 and item.error is None
    completion = item.chat_completion()
    assert (completion.id, completion.model, completion.created) == ("msg_1", "claude-x", 77)
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].message.tool_calls is None
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (11, 36)
    assert completion.usage.total_tokens == 47


def test_tool_use_thinking_and_cache_usage() -> None:
    content = [
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "redacted_thinking", "data": "xx"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"q": "é"}},
    ]
    usage = {
        "input_tokens": 5,
        "output_tokens": 3,
        "cache_read_input_tokens": 7,
        "cache_creation_input_tokens": 2,
    }
    body_ = wire.message_to_completion(
        message(content=content, stop_reason="tool_use", usage=usage), created=0
    )
    reply = body_["choices"][0]["message"]
    assert reply["content"] is None
    assert reply["reasoning"] == "hmm"
    assert reply["tool_calls"] == [
        {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": '{"q": "é"}'}}
    ]
    assert body_["choices"][0]["finish_reason"] == "tool_calls"
    assert body_["usage"] == {
        "prompt_tokens": 14,
        "completion_tokens": 3,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 7},
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("something_new", "something_new"),
        (None, None),
    ],
)
def test_finish_reasons(stop_reason: str | None, finish: str | None) -> None:
    completion = wire.message_to_completion(message(stop_reason=stop_reason), created=0)
    assert completion["choices"][0]["finish_reason"] == finish


@pytest.mark.parametrize(
    ("error_type", "status"),
    [(t, s) for t, s in wire.ERROR_STATUS.items()] + [("brand_new_error", None)],
)
def test_errored_line(error_type: str, status: int | None) -> None:
    envelope = {
        "type": "error",
        "error": {"type": error_type, "message": "boom"},
        "request_id": "req_9",
    }
    item = wire.parse_result_line(
        line("b", {"type": "errored", "error": envelope}), where="w", created=0
    )
    assert item is not None and item.status is BatchResultStatus.FAILED
    assert item.response is None and item.error is not None
    assert (item.error.code, item.error.type, item.error.message) == (
        error_type,
        error_type,
        "boom",
    )
    assert item.error.status_code == item.status_code == status
    assert item.request_id == "req_9"


def test_canceled_expired_and_broken_lines(caplog: pytest.LogCaptureFixture) -> None:
    canceled = wire.parse_result_line(line("c", {"type": "canceled"}), where="w", created=0)
    assert canceled is not None and canceled.status is BatchResultStatus.CANCELLED
    assert canceled.error is not None and canceled.error.code == "canceled"
    expired = wire.parse_result_line(line("d", {"type": "expired"}), where="w", created=0)
    assert expired is not None and expired.status is BatchResultStatus.EXPIRED
    odd = wire.parse_result_line(line("e", {"type": "teleported"}), where="line 5", created=0)
    assert odd is not None and odd.status is BatchResultStatus.FAILED
    assert odd.error is not None and "line 5" in odd.error.message
    errored = wire.parse_result_line(line("f", {"type": "errored"}), where="w", created=0)
    assert errored is not None and errored.error is not None and errored.error.message
    caplog.set_level(logging.WARNING, logger="any_llm")
    assert wire.parse_result_line(b"  ", where="w", created=0) is None
    assert wire.parse_result_line(b"{nope", where="line 3", created=0) is None
    assert wire.parse_result_line(b'{"result": {}}', where="line 4", created=0) is None
    assert "line 3" in caplog.text and "line 4" in caplog.text


# --- the create ledger -------------------------------------------------------------------------


def batch(batch_id: str, created: int, total: int) -> Batch:
    return Batch(
        id=batch_id,
        provider="anthropic",
        status=BatchStatus.IN_PROGRESS,
        provider_status="in_progress",
        created_at=created,
        request_counts=BatchRequestCounts(total=total),
    )


def pending(requests: int, since: Batch | None, path: str = "/tmp/x") -> wire.PendingCreate:
    return wire.PendingCreate(requests=requests, since=since, staged_path=Path(path))


def test_ledger_names_the_new_batches_of_the_right_size() -> None:
    ledger = wire.CreateLedger()
    old = batch("old", 100, 3)
    ledger.begin("k", pending(3, old))
    newest_first = [batch("other-size", 105, 4), batch("mine", 104, 3), old, batch("older", 90, 3)]
    assert ledger.candidates("k", newest_first) == (newest_first[1],)
    assert ledger.pending("k") is not None  # a candidate settles nothing: it is only named
    several = [batch("b2", 2, 3), batch("b1", 1, 3)]
    ledger.begin("k2", pending(3, None))
    assert [b.id for b in ledger.candidates("k2", several)] == ["b2", "b1"]
    assert ledger.candidates("unknown", newest_first) == ()


def test_ledger_never_names_a_batch_older_than_the_first_attempt() -> None:
    ledger = wire.CreateLedger()
    since = batch("since", 100, 3)
    ledger.begin("k", pending(3, since))
    # the noted batch was deleted meanwhile: an older one of the same size is still not named
    assert ledger.candidates("k", [batch("older", 99, 3)]) == ()
    assert ledger.candidates("k", [since, batch("older", 99, 3)]) == ()
    ledger.begin("empty", pending(2, None))  # no batch existed before: every one is newer
    assert [b.id for b in ledger.candidates("empty", [batch("first", 1, 2)])] == ["first"]


def test_ledger_settle_and_release() -> None:
    ledger = wire.CreateLedger()
    ledger.begin("k", pending(1, None))
    ledger.begin("k", pending(9, None))  # a retry keeps the first attempt's note
    pend = ledger.pending("k")
    assert pend is not None and pend.requests == 1
    ledger.settle("k", "b1")
    assert ledger.pending("k") is None
    ledger.begin("k3", pending(1, None))
    assert ledger.candidates("k3", [batch("b1", 5, 1)]) == ()  # b1 belongs to k
    ledger.release(Path("/tmp/x"))
    assert ledger.pending("k3") is None
