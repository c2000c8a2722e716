"""Together's translation tables, as plain unit tests of ``any_llm._providers.together``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from any_llm._converter import structure
from any_llm._jsonl import TranslationError, validate_input_file
from any_llm._providers import get_spec
from any_llm._providers import together as wire
from any_llm.errors import ConfigurationError
from any_llm.types import Batch, BatchResultStatus, BatchStatus, LLMProvider

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


def body(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **fields}


def refused(data: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(TranslationError, match=message) as info:
        wire.translate_body(data)
    assert info.value.field == field


# the spec


def test_spec_facts() -> None:
    spec = get_spec("together")
    assert spec is wire.SPEC
    assert spec.provider is LLMProvider.TOGETHER
    assert spec.default_api_base == "https://api.together.xyz/v1"
    assert spec.api_key_env == "TOGETHER_API_KEY"
    assert spec.auth_headers("k") == {"Authorization": "Bearer k"}
    assert spec.metadata_max_pairs == 0
    assert spec.completion_windows == frozenset({"24h"})
    limits = spec.limits
    assert (limits.max_requests, limits.max_file_bytes) == (50_000, 100_000_000)
    assert limits.endpoints == frozenset({"/v1/chat/completions"})
    assert limits.single_model is True
    assert limits.translate is wire.translate_request


# input lines


def test_request_line_drops_method_and_url() -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": body()}
    assert wire.translate_request(line) == {"custom_id": "a", "body": body()}


def test_custom_id_is_at_most_64_characters() -> None:
    assert wire.translate_request({"custom_id": "x" * 64, "body": body()})["custom_id"] == "x" * 64
    with pytest.raises(TranslationError, match="is 65 characters; Together takes at most 64"):
        wire.translate_request({"custom_id": "x" * 65, "body": body()})


def test_stage_input_writes_native_lines(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body()}
        for i in range(3)
    ]
    source.write_text("".join(json.dumps(item) + "\n" for item in lines))
    summary = validate_input_file(
        source, endpoint="/v1/chat/completions", limits=wire.SPEC.limits, provider="together"
    )
    staged = summary.staged_path  # the validating pass writes the native lines as it goes
    assert staged is not None
    try:
        written = [json.loads(raw) for raw in staged.read_bytes().splitlines()]
        assert written == [{"custom_id": f"r{i}", "body": body()} for i in range(3)]
        assert staged.read_bytes().endswith(b"}\n")
        assert staged.suffix == ".jsonl"
    finally:
        staged.unlink()
    assert wire.raw_file_body(source).length == source.stat().st_size
    with wire.raw_file_body(source).open() as stream:
        assert stream.read() == source.read_bytes()


# body fields


def test_plain_fields_pass_and_together_fields_pass_through() -> None:
    data = body(
        temperature=0.2,
        top_p=0.9,
        n=2,
        seed=1,
        presence_penalty=0.1,
        frequency_penalty=0.1,
        logit_bias={"1": 2.0},
        max_tokens=10,
        top_k=40,
        repetition_penalty=1.1,
        min_p=0.05,
        safety_model="meta-llama/LlamaGuard-2-8b",
    )
    assert wire.translate_body(data) == data


def test_nulls_and_openai_defaults_are_left_out() -> None:
    data = body(
        user=None,
        metadata=None,
        stream=False,
        store=False,
        logprobs=False,
        parallel_tool_calls=True,
        service_tier="auto",
        modalities=["text"],
    )
    assert wire.translate_body(data) == body()


def test_max_completion_tokens_becomes_max_tokens() -> None:
    assert wire.translate_body(body(max_completion_tokens=5)) == body(max_tokens=5)
    assert wire.translate_body(body(max_completion_tokens=5, max_tokens=5)) == body(max_tokens=5)
    refused(body(max_completion_tokens=5, max_tokens=6), "body.max_completion_tokens", "differs")


def test_stop_string_becomes_a_list() -> None:
    assert wire.translate_body(body(stop="END"))["stop"] == ["END"]
    assert wire.translate_body(body(stop=["a", "b"]))["stop"] == ["a", "b"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("audio", {"voice": "alloy", "format": "wav"}, "audio output"),
        ("modalities", ["text", "audio"], "text only"),
        ("prediction", {"type": "content", "content": "x"}, "predicted outputs"),
        ("metadata", {"a": "b"}, "no metadata"),
        ("store", True, "does not store"),
        ("service_tier", "flex", "service tiers"),
        ("stream", True, "cannot stream"),
        ("stream_options", {"include_usage": True}, "cannot stream"),
        ("web_search_options", {}, "web search"),
        ("verbosity", "low", "verbosity"),
        ("prompt_cache_key", "k", "prompt cache"),
        ("safety_identifier", "s", "safety identifier"),
        ("user", "u-1", "end-user identifier"),
        ("functions", [{"name": "f"}], "use tools"),
        ("parallel_tool_calls", False, "cannot be turned off"),
        ("logprobs", True, "own shape"),
        ("top_logprobs", 3, "own shape"),
    ],
)
def test_openai_fields_together_lacks_are_refused(field: str, value: Any, message: str) -> None:
    refused(body(**{field: value}), f"body.{field}", message)


def test_reasoning_effort() -> None:
    for effort in ("low", "medium", "high"):
        assert wire.translate_body(body(reasoning_effort=effort))["reasoning_effort"] == effort
    refused(body(reasoning_effort="minimal"), "body.reasoning_effort", "not 'minimal'")


def test_response_formats() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "a", "schema": {}, "strict": True}}
    for fmt in ({"type": "text"}, {"type": "json_object"}, schema):
        assert wire.translate_body(body(response_format=fmt))["response_format"] == fmt
    refused(body(response_format={"type": "grammar"}), "body.response_format", "'grammar'")


FUNCTION: dict[str, Any] = {"name": "f", "parameters": {"type": "object"}}
TOOL: dict[str, Any] = {"type": "function", "function": FUNCTION}


def test_tools_and_tool_choice() -> None:
    out = wire.translate_body(body(tools=[TOOL], tool_choice="auto"))
    assert out["tools"] == [TOOL] and out["tool_choice"] == "auto"
    loose = {"type": "function", "function": {**FUNCTION, "strict": False}}
    assert wire.translate_body(body(tools=[loose]))["tools"] == [TOOL]
    named = {"type": "function", "function": {"name": "f"}}
    for choice in ("none", "required", named):
        assert wire.translate_body(body(tools=[TOOL], tool_choice=choice))["tool_choice"] == choice
    strict = {"type": "function", "function": {**FUNCTION, "strict": True}}
    refused(body(tools=[strict]), "body.tools[0].function.strict", "no strict mode")
    refused(body(tools=[{"type": "custom", "custom": {}}]), "body.tools[0].type", "'custom'")
    refused(body(tools=[{"type": "function"}]), "body.tools[0].function", "object")
    refused(body(tools=TOOL), "body.tools", "must be a list")
    refused(
        body(tools=[TOOL], tool_choice={"type": "allowed_tools", "allowed_tools": {}}),
        "body.tool_choice",
        "auto, none, required or one function",
    )


# messages


def test_developer_and_system_messages() -> None:
    out = wire.translate_body(
        body(
            messages=[
                {"role": "developer", "content": "Be brief."},
                {
                    "role": "system",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                },
                {"role": "user", "content": "hi", "name": "ann"},
            ]
        )
    )
    assert out["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "a\nb"},
        {"role": "user", "content": "hi", "name": "ann"},
    ]
    refused(
        body(messages=[{"role": "system", "content": [{"type": "image_url", "image_url": {}}]}]),
        "body.messages[0].content[0]",
        "only text in system messages",
    )


def test_user_content_parts() -> None:
    parts = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "auto"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    ]
    out = wire.translate_body(body(messages=[{"role": "user", "content": parts}]))
    assert out["messages"][0]["content"] == [
        parts[0],
        {"type": "image_url", "image_url": {"url": "https://x/a.png"}},
        parts[2],
        parts[3],
    ]
    where = "body.messages[0].content[0]"

    def user(part: Any) -> dict[str, Any]:
        return body(messages=[{"role": "user", "content": [part]}])

    refused(
        user({"type": "image_url", "image_url": {"url": "u", "detail": "low"}}),
        f"{where}.image_url.detail",
        "detail",
    )
    refused(
        user({"type": "image_url", "image_url": {"url": "u", "x": 1}}),
        f"{where}.image_url",
        "unknown fields",
    )
    refused(user({"type": "image_url", "image_url": "u"}), f"{where}.image_url", "'url'")
    refused(
        user({"type": "input_audio", "input_audio": {"data": "x", "format": "mp3"}}),
        f"{where}.input_audio.format",
        "wav audio only",
    )
    refused(user({"type": "file", "file": {"file_id": "f"}}), f"{where}.type", "'file'")
    refused(user("text"), where, "must be an object")


def test_assistant_and_tool_messages() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call], "refusal": None},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "42"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "it is 42"}]},
    ]
    out = wire.translate_body(body(messages=messages))["messages"]
    assert out[1] == {"role": "assistant", "content": None, "tool_calls": [call]}
    assert out[2] == {"role": "tool", "tool_call_id": "c1", "content": "42"}
    assert out[3] == {"role": "assistant", "content": "it is 42"}
    for field, value, message in (
        ("refusal", "no", "no refusal"),
        ("audio", {"id": "a"}, "audio replies"),
        ("function_call", {"name": "f", "arguments": "{}"}, "use tool_calls"),
    ):
        refused(
            body(messages=[{"role": "assistant", "content": "x", field: value}]),
            f"body.messages[0].{field}",
            message,
        )
    refused(
        body(messages=[{"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}]),
        "body.messages[0].content[0]",
        "'refusal' part",
    )
    refused(
        body(messages=[{"role": "function", "name": "f", "content": "x"}]),
        "body.messages[0].role",
        "not 'function'",
    )
    refused(body(messages=[]), "body.messages", "non-empty list")
    refused(body(messages=["hi"]), "body.messages[0]", "must be an object")


# batch objects


JOB: dict[str, Any] = {
    "id": "5c1c0f6e-1f2b-4b8e-9d4e-2a1b3c4d5e6f",
    "user_id": "u_123",
    "input_file_id": "file-in",
    "file_size_bytes": 2048,
    "status": "IN_PROGRESS",
    "job_deadline": "2026-08-13T11:59:59.999877Z",
    "created_at": "2026-08-12T12:00:00Z",
    "completed_at": None,
    "endpoint": "/v1/chat/completions",
    "progress": 42.5,
    "model_id": MODEL,
    "output_file_id": None,
    "error_file_id": None,
    "error": None,
}
CREATED = 1786536000  # 2026-08-12T12:00:00Z


def batch(**changes: Any) -> Batch:
    record = wire.batch_to_record({**JOB, **changes})
    return structure(record, Batch, provider="together", what="BatchJob object")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("VALIDATING", BatchStatus.VALIDATING),
        ("IN_PROGRESS", BatchStatus.IN_PROGRESS),
        ("COMPLETED", BatchStatus.COMPLETED),
        ("FAILED", BatchStatus.FAILED),
        ("EXPIRED", BatchStatus.EXPIRED),
        ("CANCELING", BatchStatus.CANCELLING),
        ("CANCELLING", BatchStatus.CANCELLING),
        ("CANCELLED", BatchStatus.CANCELLED),
        ("completed", BatchStatus.COMPLETED),
        ("QUEUED", BatchStatus.UNKNOWN),
        (None, BatchStatus.UNKNOWN),
    ],
)
def test_statuses(raw: Any, status: BatchStatus) -> None:
    assert wire.map_status(raw) is status
    parsed = batch(status=raw)
    assert parsed.status is status
    assert parsed.provider_status == str(raw)


def test_batch_record() -> None:
    parsed = batch()
    assert parsed.id == JOB["id"]
    assert parsed.provider == "together"
    assert parsed.created_at == CREATED
    assert parsed.expires_at == CREATED + 86_399
    assert parsed.completion_window == "24h"
    assert parsed.model == MODEL
    assert parsed.endpoint == "/v1/chat/completions"
    assert parsed.input_file_id == "file-in"
    assert parsed.output_file_id is None and parsed.error_file_id is None
    assert parsed.errors is None and parsed.metadata is None and parsed.usage is None
    assert parsed.request_counts.total == 0  # Together reports progress only
    assert parsed.completed_at is None


@pytest.mark.parametrize(
    ("status", "field"),
    [
        ("COMPLETED", "completed_at"),
        ("FAILED", "failed_at"),
        ("EXPIRED", "expired_at"),
        ("CANCELLED", "cancelled_at"),
    ],
)
def test_the_end_time_goes_to_the_terminal_states_timestamp(status: str, field: str) -> None:
    parsed = batch(status=status, completed_at="2026-08-12T13:00:00.5Z")
    ends = {
        name: getattr(parsed, name)
        for name in ("completed_at", "failed_at", "expired_at", "cancelled_at")
    }
    assert ends == {name: CREATED + 3600 if name == field else None for name in ends}


def test_failed_batch_error_string_becomes_its_error() -> None:
    parsed = batch(status="FAILED", error="Line 3: invalid JSON")
    assert parsed.errors is not None
    assert [e.message for e in parsed.errors.data] == ["Line 3: invalid JSON"]
    shaped = batch(status="FAILED", error={"message": "bad model"})
    assert shaped.errors is not None and shaped.errors.data[0].message == "bad model"


def test_malformed_batch_objects() -> None:
    with pytest.raises(TypeError, match="BatchJob"):
        wire.batch_to_record([JOB])
    with pytest.raises(TypeError, match="no 'id'"):
        wire.batch_to_record({**JOB, "id": None})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-08-12T12:00:00Z", CREATED),
        ("2026-08-12T12:00:00.123456789Z", CREATED),
        ("2026-08-12T12:00:00", CREATED),
        ("2026-08-12 12:00:00+00:00", CREATED),
        ("2026-08-12T14:00:00+02:00", CREATED),
        ("2026-08-12T06:30:00-05:30", CREATED),
        ("2026-08-12T12:00:00+0000", CREATED),
        (CREATED, CREATED),
        (float(CREATED) + 0.7, CREATED),
        (None, None),
        ("0001-01-01T00:00:00Z", None),
        (0, None),
        (True, None),
    ],
)
def test_timestamps(value: Any, expected: int | None) -> None:
    assert wire.parse_timestamp(value) == expected


def test_unreadable_timestamp_is_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="any_llm")
    assert wire.parse_timestamp("yesterday") is None
    assert "unreadable timestamp 'yesterday'" in caplog.text


def test_completion_window_is_whole_hours() -> None:
    assert wire.completion_window(CREATED, CREATED + 86_399) == "24h"
    assert wire.completion_window(CREATED, CREATED + 72 * 3600) == "72h"
    assert wire.completion_window(CREATED, None) == "24h"
    assert wire.completion_window(CREATED, CREATED + 60) == "24h"


def test_create_answer() -> None:
    assert wire.created_job({"job": JOB, "warning": None}) == (JOB, None)
    assert wire.created_job({"job": JOB, "warning": "slow model"}) == (JOB, "slow model")
    assert wire.created_job({"job": None, "warning": "model not batchable"}) == (
        None,
        "model not batchable",
    )
    with pytest.raises(TypeError, match="'job'"):
        wire.created_job({"job": "x"})
    with pytest.raises(TypeError, match="POST /batches"):
        wire.created_job([JOB])


def test_create_body() -> None:
    assert wire.create_body(
        input_file_id="file-1",
        endpoint="/v1/chat/completions",
        completion_window="24h",
        model=MODEL,
        extra={"priority": 1},
    ) == {
        "input_file_id": "file-1",
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        "model_id": MODEL,
        "priority": 1,
    }


def test_upload_helpers() -> None:
    assert wire.upload_fields("in.jsonl") == {"purpose": "batch-api", "file_name": "in.jsonl"}
    assert wire.upload_filename("requests") == "requests.jsonl"
    assert wire.upload_filename("r.jsonl") == "r.jsonl"
    headers = {"location": "http://127.0.0.1:9/put?sig=1", "x-together-file-id": "file-1"}
    assert wire.presigned_target(headers) == ("file-1", "http://127.0.0.1:9/put?sig=1")
    assert wire.presigned_target({"location": "http://x/"}) is None
    assert wire.parse_file_id({"id": "file-1", "object": "file"}) == "file-1"
    with pytest.raises(TypeError):
        wire.parse_file_id({"object": "file"})


# lists and pages


def test_list_is_a_bare_array_sorted_newest_first() -> None:
    def parse(data: Any) -> Batch:
        return structure(wire.batch_to_record(data), Batch, provider="together", what="x")

    old = {**JOB, "id": "old", "created_at": "2026-08-11T12:00:00Z"}
    new = {**JOB, "id": "new"}
    assert [b.id for b in wire.parse_list([old, new], parse)] == ["new", "old"]
    assert [b.id for b in wire.parse_list({"data": [new]}, parse)] == ["new"]
    with pytest.raises(TypeError, match="JSON array"):
        wire.parse_list({"object": "list"}, parse)


def test_pages_are_cut_from_the_whole_list() -> None:
    batches = [batch(id=f"b{i}") for i in range(5)]
    first = wire.page_of(batches, after=None, limit=2)
    assert [b.id for b in first] == ["b0", "b1"]
    assert first.has_more and first.next_cursor == "b1"
    last = wire.page_of(batches, after="b3", limit=2)
    assert [b.id for b in last] == ["b4"]
    assert not last.has_more and last.next_cursor is None
    whole = wire.page_of(batches, after=None, limit=None)
    assert len(whole) == 5 and not whole.has_more
    assert len(wire.page_of(batches, after="b4", limit=None)) == 0
    with pytest.raises(ConfigurationError, match="names no batch"):
        wire.page_of(batches, after="gone", limit=2)
    with pytest.raises(ConfigurationError, match="at least 1"):
        wire.page_of(batches, after=None, limit=0)


# results


def result(obj: Any) -> Any:
    return wire.parse_result_line(json.dumps(obj).encode(), where="file f line 1")


COMPLETION = {
    "id": "8f-x",
    "object": "chat.completion",
    "created": 1,
    "model": MODEL,
    "prompt": [],
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "eos"}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


def test_success_line_is_an_openai_chat_completion() -> None:
    item = result({"custom_id": "a", "response": {"status_code": 200, "body": COMPLETION}})
    assert item.status is BatchResultStatus.SUCCEEDED
    assert item.status_code == 200 and item.error is None
    completion = item.chat_completion()
    assert completion.choices[0].finish_reason == "stop"  # Together's eos is OpenAI's stop
    assert completion.usage is not None and completion.usage.total_tokens == 2


def test_error_line_shapes() -> None:
    item = result({"custom_id": "a", "error": {"message": "Request timeout", "code": "timeout"}})
    assert item.status is BatchResultStatus.FAILED and item.response is None
    assert item.error.message == "Request timeout" and item.error.code == "timeout"
    assert item.status_code is None

    envelope = {"error": {"message": "bad", "type": "invalid_request_error", "code": None}}
    item = result({"custom_id": "b", "response": {"status_code": 422, "body": envelope}})
    assert item.status is BatchResultStatus.FAILED
    assert item.status_code == 422 and item.error.status_code == 422
    assert (item.error.message, item.error.type) == ("bad", "invalid_request_error")

    item = result({"custom_id": "c", "response": {"status_code": 500, "body": "oops"}})
    assert item.error.message == "oops" and item.error.status_code == 500

    item = result({"custom_id": "d"})
    assert item.status is BatchResultStatus.FAILED
    assert "malformed result line at file f line 1" in item.error.message

    item = result({"custom_id": "e", "error": {"message": "x", "code": 429}})
    assert item.error.code == "429"


def test_unreadable_result_lines_are_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="any_llm")
    assert wire.parse_result_line(b"", where="w") is None
    assert wire.parse_result_line(b"{not json", where="file f line 2") is None
    assert result({"response": {"status_code": 200, "body": COMPLETION}}) is None
    assert "together: file f line 2: result line is not JSON" in caplog.text
    assert "result line has no custom_id" in caplog.text


def test_input_custom_id() -> None:
    assert wire.input_custom_id(b'{"custom_id": "a", "body": {}}') == "a"
    assert wire.input_custom_id(b"not json") is None
    assert wire.input_custom_id(b'{"custom_id": ""}') is None
