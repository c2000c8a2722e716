"""Mistral's translation tables: requests, statuses, counts, cursors and result lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from any_llm._converter import structure
from any_llm._jsonl import TranslationError, validate_input_file
from any_llm._providers import IDEMPOTENCY_KEY, get_spec
from any_llm._providers import mistral as wire
from any_llm.errors import ConfigurationError, InputFileError
from any_llm.types import Batch, BatchResultStatus, BatchStatus, LLMProvider

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
MODEL = "mistral-small-latest"


def line(body: dict[str, Any], url: str = CHAT, custom_id: str = "a") -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": url,
        "body": {"model": MODEL, **body},
    }


def chat(**fields: Any) -> dict[str, Any]:
    body = {"messages": [{"role": "user", "content": "hi"}], **fields}
    return wire.translate_line(line(body))["body"]  # type: ignore[no-any-return]


def refused(body: dict[str, Any], url: str = CHAT) -> str:
    with pytest.raises(TranslationError) as info:
        wire.translate_line(line(body, url))
    return info.value.field


# requests


def test_spec_facts() -> None:
    spec = get_spec("Mistral")
    assert spec is wire.SPEC
    assert spec.provider is LLMProvider.MISTRAL
    assert spec.default_api_base == "https://api.mistral.ai"
    assert spec.api_key_env == "MISTRAL_API_KEY"
    assert spec.auth_headers("k") == {"Authorization": "Bearer k"}
    assert spec.limits.single_model
    assert {CHAT, EMBEDDINGS, "/v1/fim/completions", "/v1/ocr"} <= spec.limits.endpoints
    assert spec.limits.max_requests == 1_000_000
    assert spec.metadata_max_pairs == 15
    for window in ("1h", "24h", "167h", "1d", "6d"):
        spec.check_completion_window(window)
    for window in ("0h", "168h", "7d", "24", "1w"):
        with pytest.raises(ConfigurationError, match="from 1h to 167h"):
            spec.check_completion_window(window)
    assert wire.timeout_hours("2d") == 48


def test_line_is_stripped_to_custom_id_and_body() -> None:
    native = wire.translate_line(line({"messages": [{"role": "user", "content": "hi"}]}))
    assert native == {
        "custom_id": "a",
        "body": {"messages": [{"role": "user", "content": "hi"}]},
    }


def test_renamed_fields() -> None:
    assert chat(seed=7, max_completion_tokens=9) == {
        "messages": [{"role": "user", "content": "hi"}],
        "random_seed": 7,
        "max_tokens": 9,
    }
    assert chat(max_tokens=5)["max_tokens"] == 5
    assert chat(random_seed=3)["random_seed"] == 3
    assert chat(seed=3, random_seed=3)["random_seed"] == 3
    assert refused({"messages": [], "seed": 1}) == "body.messages"


@pytest.mark.parametrize(
    ("first", "second"), [("seed", "random_seed"), ("max_completion_tokens", "max_tokens")]
)
def test_conflicting_pairs_are_refused(first: str, second: str) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], first: 1, second: 2}
    assert refused(body) == f"body.{second}"


def test_same_name_fields_pass_through() -> None:
    fields = {
        "temperature": 0.2,
        "top_p": 0.9,
        "n": 2,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.1,
        "parallel_tool_calls": False,
        "stop": ["\n"],
        "metadata": {"k": "v"},
        "reasoning_effort": "high",
        "safe_prompt": True,
        "prompt_mode": "reasoning",
        "prompt_cache_key": "abc",
    }
    assert chat(**fields) == {"messages": [{"role": "user", "content": "hi"}], **fields}


def test_developer_becomes_system_and_parts_are_kept() -> None:
    body = chat(
        messages=[
            {"role": "developer", "content": "be brief"},
            {"role": "system", "content": [{"type": "text", "text": "really"}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                    {"type": "image_url", "image_url": "data:image/png;base64,AAAA"},
                    {"type": "image_url", "image_url": {"url": "https://x/z.png", "detail": None}},
                ],
            },
        ]
    )
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "system", "content": [{"type": "text", "text": "really"}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                {"type": "image_url", "image_url": "data:image/png;base64,AAAA"},
                {"type": "image_url", "image_url": {"url": "https://x/z.png"}},
            ],
        },
    ]


def test_tool_round_trip_keeps_pairing_with_mistral_ids() -> None:
    long_id = "call_abcdefghijklmnopqrstuvwx"
    body = chat(
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": long_id,
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "Ab3dE6gH9",
                        "type": "function",
                        "function": {"name": "time", "arguments": {"tz": "CET"}},
                    },
                ],
                "refusal": None,
            },
            {"role": "tool", "tool_call_id": long_id, "content": "sunny", "name": "weather"},
            {
                "role": "tool",
                "tool_call_id": "Ab3dE6gH9",
                "content": [{"type": "text", "text": "9"}],
            },
        ],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "d",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                    "strict": True,
                },
            },
            {"type": "function", "function": {"name": "time"}},
        ],
        tool_choice={"type": "function", "function": {"name": "weather"}},
    )
    assistant, first_tool, second_tool = body["messages"][1:]
    new_id = assistant["tool_calls"][0]["id"]
    assert new_id != long_id and len(new_id) == 9 and new_id.isalnum()
    assert new_id == wire.tool_call_id(long_id, "x")  # deterministic
    assert first_tool == {
        "role": "tool",
        "tool_call_id": new_id,
        "content": "sunny",
        "name": "weather",
    }
    assert assistant["tool_calls"][1]["id"] == "Ab3dE6gH9"  # already valid: kept
    assert assistant["tool_calls"][1]["function"]["arguments"] == {"tz": "CET"}
    assert second_tool["tool_call_id"] == "Ab3dE6gH9"
    assert "refusal" not in assistant
    assert body["tools"][0]["function"]["strict"] is True
    assert body["tools"][1]["function"]["parameters"] == {"type": "object", "properties": {}}
    assert body["tool_choice"] == {"type": "function", "function": {"name": "weather"}}


@pytest.mark.parametrize("choice", ["auto", "none", "required", "any"])
def test_tool_choice_strings(choice: str) -> None:
    assert chat(tool_choice=choice)["tool_choice"] == choice


@pytest.mark.parametrize(
    "value",
    [
        {"type": "text"},
        {"type": "json_object"},
        {
            "type": "json_schema",
            "json_schema": {"name": "n", "schema": {"type": "object"}, "strict": True},
        },
    ],
)
def test_response_formats(value: dict[str, Any]) -> None:
    assert chat(response_format=value)["response_format"] == value


def test_prediction_string_form() -> None:
    value = {"type": "content", "content": "draft"}
    assert chat(prediction=value)["prediction"] == value


def test_refused_null_or_false_values_ask_nothing() -> None:
    assert chat(logprobs=False, user=None, store=False, stream=False, functions=None) == chat()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"logprobs": True}, "body.logprobs"),
        ({"top_logprobs": 3}, "body.top_logprobs"),
        ({"logit_bias": {"1": 2}}, "body.logit_bias"),
        ({"user": "u1"}, "body.user"),
        ({"store": True}, "body.store"),
        ({"service_tier": "flex"}, "body.service_tier"),
        ({"modalities": ["text", "audio"]}, "body.modalities"),
        ({"audio": {"voice": "x"}}, "body.audio"),
        ({"web_search_options": {}}, "body.web_search_options"),
        ({"stream": True}, "body.stream"),
        ({"stream_options": {"include_usage": True}}, "body.stream_options"),
        ({"functions": [{"name": "f"}]}, "body.functions"),
        ({"function_call": "auto"}, "body.function_call"),
        ({"verbosity": "low"}, "body.verbosity"),
        (
            {"prediction": {"type": "content", "content": [{"type": "text", "text": "x"}]}},
            "body.prediction",
        ),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "body.tools[0].type"),
        (
            {"tools": [{"type": "function", "function": {"name": "x", "x": 1}}]},
            "body.tools[0].function.x",
        ),
        ({"tool_choice": {"type": "allowed_tools"}}, "body.tool_choice"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "n"}}},
            "body.response_format.json_schema.schema",
        ),
        ({"response_format": {"type": "xml"}}, "body.response_format.type"),
        (
            {"messages": [{"role": "function", "content": "x", "name": "f"}]},
            "body.messages[0].role",
        ),
        ({"messages": [{"role": "user", "content": "x", "name": "bob"}]}, "body.messages[0].name"),
        ({"messages": [{"role": "user"}]}, "body.messages[0].content"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}
                ]
            },
            "body.messages[0].content[0].type",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}
                ]
            },
            "body.messages[0].content[0].type",
        ),
        (
            {
                "messages": [
                    {"role": "system", "content": [{"type": "image_url", "image_url": "u"}]}
                ]
            },
            "body.messages[0].content[0].type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "x", "cache_control": {}}],
                    }
                ]
            },
            "body.messages[0].content[0].cache_control",
        ),
        (
            {
                "messages": [
                    {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}
                ]
            },
            "body.messages[0].content[0].type",
        ),
        ({"messages": [{"role": "assistant", "audio": {"id": "a"}}]}, "body.messages[0].audio"),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom"}]}]},
            "body.messages[0].tool_calls[0].type",
        ),
        (
            {
                "messages": [
                    {"role": "assistant", "tool_calls": [{"id": "", "function": {"name": "f"}}]}
                ]
            },
            "body.messages[0].tool_calls[0].id",
        ),
        ({"messages": "hi"}, "body.messages"),
    ],
)
def test_untranslatable_fields_are_named(extra: dict[str, Any], field: str) -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}], **extra}
    assert refused(body) == field


def test_unknown_line_fields_are_refused() -> None:
    obj = line({"messages": [{"role": "user", "content": "hi"}]})
    obj["priority"] = "high"
    with pytest.raises(TranslationError) as info:
        wire.translate_line(obj)
    assert info.value.field == "priority"


def test_embeddings() -> None:
    native = wire.translate_line(
        line({"input": ["a", "b"], "dimensions": 16, "encoding_format": "float"}, EMBEDDINGS)
    )
    assert native["body"] == {
        "input": ["a", "b"],
        "output_dimension": 16,
        "encoding_format": "float",
    }
    assert refused({"input": "a", "user": "u"}, EMBEDDINGS) == "body.user"
    assert refused({"input": [1, 2, 3]}, EMBEDDINGS) == "body.input"
    assert refused({"input": "a", "encoding_format": "int8"}, EMBEDDINGS) == "body.encoding_format"
    assert refused({"inputs": "a"}, EMBEDDINGS) == "body.inputs"
    assert refused({}, EMBEDDINGS) == "body.input"


def test_other_endpoints_pass_through_without_model() -> None:
    body = {"prompt": "def f(", "suffix": "return 1", "max_tokens": 5}
    native = wire.translate_line(line(body, "/v1/fim/completions"))
    assert native["body"] == body


def test_validating_pass_names_file_line_custom_id_and_field(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    good = line({"messages": [{"role": "user", "content": "hi"}]}, custom_id="ok")
    bad = line({"messages": [{"role": "user", "content": "hi"}], "logprobs": True}, custom_id="x")
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(InputFileError) as info:
        validate_input_file(path, endpoint=CHAT, limits=wire.SPEC.limits, provider="mistral")
    assert (info.value.path, info.value.line, info.value.custom_id) == (str(path), 2, "x")
    assert "body.logprobs" in str(info.value) and "mistral" in str(info.value)


def test_stage_input_writes_native_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        line({"messages": [{"role": "user", "content": f"q{i}"}], "seed": i}, custom_id=f"r{i}")
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    summary = validate_input_file(path, endpoint=CHAT, limits=wire.SPEC.limits, provider="mistral")
    staged = summary.staged_path  # the validating pass writes the native lines as it goes
    assert staged is not None
    try:
        written = [json.loads(x) for x in staged.read_text().splitlines()]
    finally:
        staged.unlink()
    assert written == [
        {
            "custom_id": f"r{i}",
            "body": {"messages": [{"role": "user", "content": f"q{i}"}], "random_seed": i},
        }
        for i in range(3)
    ]
    assert staged.name.startswith("any-llm-mistral-") and staged.suffix == ".jsonl"


def test_create_body() -> None:
    body = wire.create_body(
        input_file_id="f1",
        endpoint=CHAT,
        model=MODEL,
        completion_window="36h",
        metadata={"job": "x"},
        idempotency_key="k1",
        extra={"agent_id": None},
    )
    assert body == {
        "input_files": ["f1"],
        "endpoint": CHAT,
        "model": MODEL,
        "metadata": {"job": "x", IDEMPOTENCY_KEY: "k1"},
        "timeout_hours": 36,
        "agent_id": None,
    }
    with pytest.raises(ConfigurationError, match="from 1h to 167h"):
        wire.timeout_hours("168h")


# statuses and batch objects


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("QUEUED", BatchStatus.VALIDATING),
        ("RUNNING", BatchStatus.IN_PROGRESS),
        ("SUCCESS", BatchStatus.COMPLETED),
        ("FAILED", BatchStatus.FAILED),
        ("TIMEOUT_EXCEEDED", BatchStatus.EXPIRED),
        ("CANCELLATION_REQUESTED", BatchStatus.CANCELLING),
        ("CANCELLED", BatchStatus.CANCELLED),
        ("PAUSED", BatchStatus.UNKNOWN),
    ],
)
def test_status_map(raw: str, status: BatchStatus) -> None:
    batch = to_batch(job(status=raw))
    assert batch.status is status
    assert batch.provider_status == raw


def job(**fields: Any) -> dict[str, Any]:
    return {
        "id": "0b5c-uuid",
        "object": "batch",
        "input_files": ["f-in"],
        "endpoint": CHAT,
        "errors": [],
        "status": "RUNNING",
        "created_at": 1_700_000_000,
        "total_requests": 10,
        "completed_requests": 6,
        "succeeded_requests": 4,
        "failed_requests": 2,
        **fields,
    }


def to_batch(data: dict[str, Any], window: str | None = None) -> Batch:
    record = wire.batch_to_record(data, completion_window=window)
    return structure(record, Batch, provider="mistral", what="BatchJob")


def test_counts_use_succeeded_not_completed() -> None:
    counts = to_batch(job()).request_counts
    assert (counts.total, counts.completed, counts.failed) == (10, 4, 2)


def test_every_field_is_mapped() -> None:
    batch = to_batch(
        job(
            status="SUCCESS",
            metadata={"a": "b", "n": 3},
            model=MODEL,
            output_file="f-out",
            error_file="f-err",
            started_at=1_700_000_010,
            completed_at=1_700_000_020,
            outputs=None,
            agent_id=None,
        ),
        window="2h",
    )
    assert batch.id == "0b5c-uuid" and batch.provider == "mistral"
    assert (batch.input_file_id, batch.output_file_id, batch.error_file_id) == (
        "f-in",
        "f-out",
        "f-err",
    )
    assert (batch.created_at, batch.in_progress_at, batch.completed_at) == (
        1_700_000_000,
        1_700_000_010,
        1_700_000_020,
    )
    assert batch.completion_window == "2h" and batch.expires_at == 1_700_000_000 + 7200
    assert batch.metadata == {"a": "b", "n": "3"}
    assert batch.model == MODEL and batch.endpoint == CHAT
    assert batch.errors is None and batch.usage is None


@pytest.mark.parametrize(
    ("raw", "stamp"),
    [("FAILED", "failed_at"), ("TIMEOUT_EXCEEDED", "expired_at"), ("CANCELLED", "cancelled_at")],
)
def test_end_stamp_follows_status(raw: str, stamp: str) -> None:
    batch = to_batch(job(status=raw, completed_at=1_700_000_500))
    assert getattr(batch, stamp) == 1_700_000_500
    assert batch.completed_at is None


def test_errors_become_openai_error_data() -> None:
    batch = to_batch(
        job(status="FAILED", errors=[{"message": "bad line", "count": 3}, {"message": "no model"}])
    )
    assert batch.errors is not None
    assert [(e.code, e.message) for e in batch.errors.data] == [
        ("batch_error", "bad line (3 times)"),
        ("batch_error", "no model"),
    ]


def test_a_timestamp_without_offset_is_utc_in_any_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        batch = to_batch({"id": "j", "status": "QUEUED", "created_at": "2026-01-01T00:00:00"})
    finally:
        monkeypatch.undo()
        time.tzset()
    assert batch.created_at == 1_767_225_600


def test_defensive_shapes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="any_llm")
    batch = to_batch(
        {
            "id": "j",
            "status": "QUEUED",
            "input_files": ["f1", "f2"],
            "created_at": "2026-01-01T00:00:00Z",
            "timeout_hours": 5,
        }
    )
    assert batch.input_file_id == "f1" and "2 input files" in caplog.text
    assert batch.created_at == 1_767_225_600
    assert batch.completion_window == "5h"
    assert batch.request_counts.total == 0
    with pytest.raises(TypeError):
        wire.batch_to_record(["not", "a", "job"])


# listing


def test_cursors() -> None:
    assert wire.page_cursor(2, 20) == "page:2:20"
    assert wire.parse_cursor("page:2:20", None) == (2, 20)
    assert wire.parse_cursor("page:2:20", 20) == (2, 20)
    assert wire.parse_cursor("page:2:20", 10) == (4, 10)
    assert wire.parse_cursor("page:2:20", 40) == (1, 40)
    with pytest.raises(ConfigurationError, match="page boundary"):
        wire.parse_cursor("page:1:20", 15)
    with pytest.raises(ConfigurationError, match="invalid list cursor"):
        wire.parse_cursor("page:1:0", None)
    assert wire.parse_cursor("5e74d127-4f7f-4d87-b117-3033b7b57504", 10) is None
    assert wire.list_params(1, 5, {"k": "v"}) == {
        "page": "1",
        "page_size": "5",
        "order_by": "-created",
        "k": "v",
    }
    with pytest.raises(ValueError, match="collides"):
        wire.list_params(0, 5, {"page": "x"})


def test_pages_use_total_or_a_full_page() -> None:
    jobs = [job(id=f"j{i}") for i in range(2)]
    page = wire.parse_page({"object": "list", "total": 5, "data": jobs}, to_batch, page=1, size=2)
    assert [b.id for b in page] == ["j0", "j1"]
    assert page.has_more and page.next_cursor == "page:2:2"
    last = wire.parse_page({"total": 5, "data": jobs[:1]}, to_batch, page=2, size=2)
    assert not last.has_more and last.next_cursor is None
    untotalled = wire.parse_page({"data": jobs}, to_batch, page=0, size=2)
    assert untotalled.has_more and untotalled.next_cursor == "page:1:2"
    empty = wire.parse_page({"total": 0}, to_batch, page=0, size=2)
    assert len(empty) == 0 and not empty.has_more
    with pytest.raises(TypeError):
        wire.parse_page({"data": {}}, to_batch, page=0, size=2)


# result lines


def result(obj: dict[str, Any], endpoint: str = CHAT) -> Any:
    return wire.parse_result_line(json.dumps(obj).encode(), where="f line 1", endpoint=endpoint)


def completion(**message: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hi", **message},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


def test_success_is_an_openai_chat_completion() -> None:
    item = result({"custom_id": "a", "response": {"status_code": 200, "body": completion()}})
    assert item.status is BatchResultStatus.SUCCEEDED and item.status_code == 200
    typed = item.chat_completion()
    assert typed.choices[0].message.content == "hi"
    assert typed.usage is not None and typed.usage.total_tokens == 4


def test_model_length_becomes_length() -> None:
    body = completion()
    body["choices"][0]["finish_reason"] = "model_length"
    item = result({"custom_id": "a", "response": {"status_code": 200, "body": body}})
    assert item.chat_completion().choices[0].finish_reason == "length"


def test_chunk_content_is_joined_and_thinking_kept_apart() -> None:
    chunks = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
        {"type": "text", "text": "Par"},
        {"type": "reference", "reference_ids": [1]},
        {"type": "text", "text": "is"},
    ]
    item = result(
        {"custom_id": "a", "response": {"status_code": 200, "body": completion(content=chunks)}}
    )
    message = item.response["choices"][0]["message"]
    assert message["content"] == "Paris"
    assert message["reasoning_content"] == "hmm"
    assert message["provider_content"] == chunks
    assert item.chat_completion().choices[0].message.content == "Paris"


def test_tool_call_arguments_become_json_strings() -> None:
    calls = [
        {"id": "abcdefghi", "function": {"name": "f", "arguments": {"x": 1}}, "index": 0},
        {"id": "bcdefghij", "type": "function", "function": {"name": "g", "arguments": "{}"}},
    ]
    item = result(
        {"custom_id": "a", "response": {"status_code": 200, "body": completion(tool_calls=calls)}}
    )
    fixed = item.chat_completion().choices[0].message.tool_calls
    assert fixed is not None
    assert fixed[0]["function"]["arguments"] == '{"x":1}' and fixed[0]["type"] == "function"
    assert fixed[1]["function"]["arguments"] == "{}"


def test_finish_reason_error_fails_the_item() -> None:
    body = completion()
    body["choices"][0]["finish_reason"] = "error"
    item = result({"custom_id": "a", "response": {"status_code": 200, "body": body}})
    assert item.status is BatchResultStatus.FAILED and item.response is None
    assert item.error.code == "generation_error" and "finish_reason 'error'" in item.error.message


def test_missing_usage_counts_default_to_zero() -> None:
    body = completion()
    body["usage"] = {"prompt_tokens": 2, "prompt_audio_seconds": None}
    item = result({"custom_id": "a", "response": {"status_code": 200, "body": body}})
    assert item.response["usage"]["total_tokens"] == 2
    assert item.response["usage"]["completion_tokens"] == 0


def test_embeddings_are_openai_shaped() -> None:
    body = {
        "id": "e1",
        "object": "list",
        "model": "mistral-embed",
        "data": [{"embedding": [0.1, 0.2], "index": 0}],
        "usage": {"prompt_tokens": 2, "total_tokens": 2, "completion_tokens": 0},
    }
    item = result({"custom_id": "a", "response": {"status_code": 200, "body": body}}, EMBEDDINGS)
    typed = item.embeddings()
    assert typed.data[0].embedding == [0.1, 0.2] and typed.data[0].object == "embedding"
    assert typed.usage is not None and typed.usage.prompt_tokens == 2


@pytest.mark.parametrize(
    ("obj", "code", "message", "status_code"),
    [
        (
            {"custom_id": "a", "error": {"code": "3000", "message": "boom"}},
            "3000",
            "boom",
            None,
        ),
        (
            {
                "custom_id": "a",
                "response": {
                    "status_code": 400,
                    "body": {
                        "object": "error",
                        "message": "bad",
                        "type": "invalid_request_error",
                        "code": None,
                    },
                },
            },
            None,
            "bad",
            400,
        ),
        (
            {
                "custom_id": "a",
                "response": {
                    "status_code": 422,
                    "body": {
                        "detail": [
                            {"loc": ["body", "seed"], "msg": "Extra inputs are not permitted"}
                        ]
                    },
                },
            },
            "validation_error",
            "body.seed: Extra inputs are not permitted",
            422,
        ),
        (
            {
                "custom_id": "a",
                "response": {
                    "status_code": 500,
                    "body": {"error": {"message": "down", "code": "x"}},
                },
            },
            "x",
            "down",
            500,
        ),
        (
            {"custom_id": "a", "response": {"status_code": 503}},
            None,
            "request failed with HTTP 503",
            503,
        ),
        (
            {"custom_id": "a", "response": {"status_code": 200}},
            None,
            "request returned no response body",
            200,
        ),
        ({"custom_id": "a", "error": "plain text"}, None, "plain text", None),
        ({"custom_id": "a"}, None, "malformed result line", None),
    ],
)
def test_failures(
    obj: dict[str, Any], code: str | None, message: str, status_code: int | None
) -> None:
    item = result(obj)
    assert item.status is BatchResultStatus.FAILED and item.response is None
    assert item.error.code == (code or "unknown")  # never None
    assert message in item.error.message
    assert item.error.status_code == status_code == item.status_code


def test_unreadable_lines_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="any_llm")
    assert wire.parse_result_line(b"not json", where="f line 3", endpoint=CHAT) is None
    assert wire.parse_result_line(b'{"response": {}}', where="f line 4", endpoint=CHAT) is None
    assert wire.parse_result_line(b"   ", where="f line 5", endpoint=CHAT) is None
    assert "f line 3" in caplog.text and "f line 4" in caplog.text
    assert wire.input_custom_id(b'{"custom_id": "x", "body": {}}') == "x"
    assert wire.input_custom_id(b"oops") is None
