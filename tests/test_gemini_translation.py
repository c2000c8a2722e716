"""The Gemini translation tables, as plain unit tests of ``any_llm._providers.gemini``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from any_llm._converter import structure
from any_llm._jsonl import TranslationError
from any_llm._providers import gemini as wire
from any_llm._providers import get_spec
from any_llm.errors import ConfigurationError, InputFileError
from any_llm.types import Batch, BatchResultStatus, BatchStatus, LLMProvider

MODEL = "gemini-2.5-flash"
USER = {"role": "user", "content": "hi"}


def translate(**body: Any) -> dict[str, Any]:
    return wire.translate_body({"model": MODEL, "messages": [USER], **body})


def refused(body: dict[str, Any]) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        wire.translate_body({"model": MODEL, **body})
    return info.value


def batch(**fields: Any) -> Batch:
    record = {
        "id": "batches/b1",
        "provider": "gemini",
        "status": "completed",
        "provider_status": "BATCH_STATE_SUCCEEDED",
        "created_at": 1000,
        "completed_at": 2000,
        "model": MODEL,
        **fields,
    }
    return structure(record, Batch, provider="gemini", what="test batch")


# spec


def test_spec() -> None:
    spec = get_spec("gemini")
    assert spec is wire.SPEC
    assert spec.provider is LLMProvider.GEMINI
    assert spec.default_api_base == "https://generativelanguage.googleapis.com"
    assert spec.api_key_env == "GEMINI_API_KEY"
    assert spec.auth_headers(" k \n") == {"x-goog-api-key": "k"}
    assert spec.metadata_max_pairs == 0
    assert spec.completion_windows == {"24h", "48h"}
    assert spec.limits.single_model
    assert spec.limits.endpoints == {"/v1/chat/completions"}
    assert spec.limits.translate is wire.file_line


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://generativelanguage.googleapis.com", ("", "v1beta", "/v1beta")),
        ("https://generativelanguage.googleapis.com/", ("", "v1beta", "/v1beta")),
        ("https://generativelanguage.googleapis.com/v1beta", ("", "v1beta", "")),
        ("https://generativelanguage.googleapis.com/v1", ("", "v1", "")),
        ("http://127.0.0.1:9/gemini/v1/", ("/gemini", "v1", "")),
    ],
)
def test_api_version_comes_from_the_base(base: str, expected: tuple[str, str, str]) -> None:
    root, version, prefix = wire.split_api_base(base)
    assert (root.split("googleapis.com")[-1].split(":9")[-1], version, prefix) == expected


def test_paths() -> None:
    assert wire.model_resource("gemini-2.5-flash") == "models/gemini-2.5-flash"
    assert wire.model_resource("models/x") == "models/x"
    assert wire.model_resource("tunedModels/t") == "tunedModels/t"
    assert wire.batch_path("batches/abc") == wire.batch_path("abc") == "/batches/abc"
    with pytest.raises(ConfigurationError, match="batch_id contains '/'"):
        wire.batch_path("../x")  # refused, not encoded: issue 11, item 10
    assert wire.file_path("files/f1") == "/files/f1"


# messages


def test_system_and_developer_become_the_system_instruction() -> None:
    request = wire.translate_body(
        {
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Use English."}]},
                USER,
            ],
        }
    )
    assert request == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Use English."}]},
    }


def test_user_parts() -> None:
    content = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "auto"}},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;name=x.jpg;base64,BBBB"}},
        {
            "type": "image_url",
            "image_url": {"url": "https://generativelanguage.googleapis.com/v1beta/files/abc123"},
        },
        {"type": "input_audio", "input_audio": {"data": "CCCC", "format": "mp3"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,DDDD"}},
    ]
    request = wire.translate_body(
        {"model": MODEL, "messages": [{"role": "user", "content": content}]}
    )
    assert request["contents"][0]["parts"] == [
        {"text": "look"},
        {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
        {"inlineData": {"mimeType": "image/jpeg", "data": "BBBB"}},
        {"fileData": {"fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc123"}},
        {"inlineData": {"mimeType": "audio/mp3", "data": "CCCC"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "DDDD"}},
    ]


@pytest.mark.parametrize(
    ("part", "field"),
    [
        ({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}, "url"),
        ({"type": "image_url", "image_url": {"url": "gs://bucket/a.png"}}, "url"),
        ({"type": "image_url", "image_url": {"url": "data:image/png,AAAA"}}, "url"),
        ({"type": "image_url", "image_url": {"url": "data:,x", "detail": "high"}}, "detail"),
        ({"type": "image_url", "image_url": "data:image/png;base64,AA"}, "image_url"),
        ({"type": "input_audio", "input_audio": {"data": "A", "format": "flac"}}, "format"),
        ({"type": "file", "file": {"file_id": "file-123"}}, "file"),
        ({"type": "refusal", "refusal": "no"}, "content[0]"),
    ],
)
def test_unsendable_parts_are_refused(part: dict[str, Any], field: str) -> None:
    error = refused({"messages": [{"role": "user", "content": [part]}]})
    assert error.field.startswith("body.messages[0].content[0]")
    assert error.field.endswith(field)


def test_tool_round_trip() -> None:
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
        {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "{}"}},
    ]
    messages = [
        USER,
        {"role": "assistant", "content": "calling", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c1", "content": '{"ok": true}'},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "42"}]},
        {"role": "user", "content": "thanks"},
    ]
    request = wire.translate_body({"model": MODEL, "messages": messages})
    assert request["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {
            "role": "model",
            "parts": [
                {"text": "calling"},
                {"functionCall": {"name": "f", "args": {"a": 1}}},
                {"functionCall": {"name": "g", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "f", "response": {"ok": True}}},
                {"functionResponse": {"name": "g", "response": {"result": "42"}}},
            ],
        },
        {"role": "user", "parts": [{"text": "thanks"}]},
    ]


def test_gemini_3_replayed_calls_carry_the_skip_signature() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [USER, {"role": "assistant", "tool_calls": [call, {**call, "id": "c2"}]}]
    request = wire.translate_body({"model": "gemini-3-pro-preview", "messages": messages})
    first, second = request["contents"][1]["parts"]
    assert first["thoughtSignature"] == "skip_thought_signature_validator"
    assert "thoughtSignature" not in second
    older = wire.translate_body({"model": MODEL, "messages": messages})
    assert all("thoughtSignature" not in p for p in older["contents"][1]["parts"])


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "body.messages"),
        ([{"role": "system", "content": "only a system prompt"}], "body.messages"),
        ([{"role": "function", "content": "x", "name": "f"}], "body.messages[0].role"),
        ([{"role": "user", "content": "x", "name": "bob"}], "body.messages[0].name"),
        ([USER, {"role": "assistant", "content": None}], "body.messages[1]"),
        ([USER, {"role": "assistant", "refusal": "no"}], "body.messages[1].refusal"),
        ([USER, {"role": "tool", "tool_call_id": "x", "content": "1"}], "tool_call_id"),
        (
            [
                USER,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "[]"},
                        }
                    ],
                },
            ],
            "body.messages[1].tool_calls[0].function.arguments",
        ),
        ([{"role": "user", "content": [{"type": "image_url"}]}], "image_url"),
        ([{"role": "system", "content": [{"type": "image_url"}]}], "content[0]"),
    ],
)
def test_untranslatable_messages(messages: list[Any], field: str) -> None:
    assert refused({"messages": messages}).field.endswith(field)


# tools and options


PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}}}
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather.",
        "parameters": PARAMETERS,
        "strict": False,
    },
}


def test_tools_and_tool_choice() -> None:
    request = translate(tools=[TOOL], tool_choice="auto", parallel_tool_calls=True)
    assert request["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather.",
                    "parametersJsonSchema": PARAMETERS,
                }
            ]
        }
    ]
    assert request["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    assert translate(tools=[TOOL], tool_choice="none")["toolConfig"] == {
        "functionCallingConfig": {"mode": "NONE"}
    }
    assert translate(tools=[TOOL], tool_choice="required")["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY"}
    }
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert translate(tools=[TOOL], tool_choice=named)["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tools": [{"type": "web_search"}]}, "body.tools[0]"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "strict": True}}]},
            "body.tools[0].function.strict",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "extra": 1}}]},
            "body.tools[0].function.extra",
        ),
        ({"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "x"}}}, ""),
        ({"tool_choice": "required"}, "body.tool_choice"),
        ({"tools": [TOOL], "tool_choice": {"type": "allowed_tools"}}, "body.tool_choice"),
        ({"tools": [TOOL], "parallel_tool_calls": False}, "body.parallel_tool_calls"),
    ],
)
def test_untranslatable_tools(body: dict[str, Any], field: str) -> None:
    assert refused({"messages": [USER], **body}).field.endswith(field)


def test_generation_config() -> None:
    request = translate(
        temperature=0.5,
        top_p=0.9,
        max_tokens=100,
        max_completion_tokens=100,
        stop="END",
        n=2,
        seed=-3,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        logprobs=False,
        stream=False,
        service_tier="auto",
        modalities=["text"],
        store=True,
        metadata={"a": "b"},
        user=None,
    )
    assert request["generationConfig"] == {
        "temperature": 0.5,
        "topP": 0.9,
        "maxOutputTokens": 100,
        "stopSequences": ["END"],
        "candidateCount": 2,
        "seed": -3,
        "presencePenalty": 0.1,
        "frequencyPenalty": 0.2,
    }
    assert translate(stop=["a", "b"])["generationConfig"] == {"stopSequences": ["a", "b"]}
    assert "generationConfig" not in translate(response_format={"type": "text"})


def test_response_formats() -> None:
    assert translate(response_format={"type": "json_object"})["generationConfig"] == {
        "responseMimeType": "application/json"
    }
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "strict": True, "schema": schema}}
    assert translate(response_format=fmt)["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"logit_bias": {"1": 1}}, "body.logit_bias"),
        ({"user": "u1"}, "body.user"),
        ({"logprobs": True}, "body.logprobs"),
        ({"top_logprobs": 2}, "body.top_logprobs"),
        ({"stream": True}, "body.stream"),
        ({"stream_options": {"include_usage": True}}, "body.stream_options"),
        ({"reasoning_effort": "low"}, "body.reasoning_effort"),
        ({"audio": {"voice": "x"}}, "body.audio"),
        ({"modalities": ["text", "audio"]}, "body.modalities"),
        ({"prediction": {"type": "content"}}, "body.prediction"),
        ({"web_search_options": {}}, "body.web_search_options"),
        ({"functions": [{"name": "f"}]}, "body.functions"),
        ({"function_call": "auto"}, "body.function_call"),
        ({"service_tier": "flex"}, "body.service_tier"),
        ({"max_tokens": 10, "max_completion_tokens": 20}, "max_completion_tokens"),
        ({"max_tokens": 0}, "body.max_tokens"),
        ({"temperature": "hot"}, "body.temperature"),
        ({"n": True}, "body.n"),
        ({"stop": [1]}, "body.stop"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, "schema"),
        ({"response_format": {"type": "xml"}}, "body.response_format"),
        ({"safety_settings": []}, "body.safety_settings"),
    ],
)
def test_refused_fields(body: dict[str, Any], field: str) -> None:
    assert refused({"messages": [USER], **body}).field.endswith(field)


def test_lines_and_models() -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions"}
    body = {"model": MODEL, "messages": [USER]}
    request = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    assert wire.file_line({**line, "body": body}) == {"key": "a", "request": request}
    assert wire.inline_item({**line, "body": body}) == {
        "request": request,
        "metadata": {"key": "a"},
    }
    for model in ("models/gemini-2.5-pro", "tunedModels/my-model-1"):
        assert wire.file_line({**line, "body": {**body, "model": model}})["key"] == "a"
    for bad in ("google/gemini", "", "a b", None):
        with pytest.raises(TranslationError, match=r"body\.model"):
            wire.file_line({**line, "body": {**body, "model": bad}})


# create bodies


def test_display_name_and_envelope(tmp_path: Path) -> None:
    key = "0123456789abcdef0123456789abcdef"
    assert wire.display_name(key, None) == f"any-llm-{key}"
    assert wire.display_name(key, "nightly") == f"nightly [any-llm-{key}]"
    with pytest.raises(ValueError, match="display_name"):
        wire.display_name(key, "")
    with pytest.raises(ValueError, match="at most"):
        wire.display_name(key, "x" * 500)
    head, tail = wire.inline_envelope("n", 3)
    items = b'{"request":{"contents":[]},"metadata":{"key":"a"}},{"request":{}}'
    staged = tmp_path / "staged.json"
    staged.write_bytes(b"junk" + items + b"junk")
    body = wire.segments_body([head, (staged, 4, len(items)), tail], "application/json")
    assert body.length == len(head) + len(items) + len(tail)
    with body.open() as stream:
        data = stream.read()
    assert len(data) == body.length
    assert json.loads(data) == {
        "batch": {
            "displayName": "n",
            "priority": "3",
            "inputConfig": {
                "requests": {
                    "requests": [
                        {"request": {"contents": []}, "metadata": {"key": "a"}},
                        {"request": {}},
                    ]
                }
            },
        }
    }
    assert wire.file_create_body("files/f", "n") == {
        "batch": {"displayName": "n", "inputConfig": {"fileName": "files/f"}}
    }
    with pytest.raises(ValueError, match="priority"):
        wire.inline_envelope("n", "high")


def test_segments_body_reopens_on_every_attempt(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(bytes(range(256)) * 40)
    body = wire.segments_body([(source, 1000, 5000)], "application/octet-stream")
    for _ in range(2):
        with body.open() as stream:
            chunks = iter(lambda: stream.read(777), b"")
            assert b"".join(chunks) == source.read_bytes()[1000:6000]
    short = wire.segments_body([(source, 10_000, 5000)], "application/octet-stream")
    with short.open() as stream, pytest.raises(OSError, match="shorter"):
        stream.read()


def test_staging_picks_inline_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": MODEL, "messages": [USER]},
        }
        for i in range(3)
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    path, inline, size = wire.stage_input(source)
    assert inline and size == path.stat().st_size
    assert json.loads(b"[" + path.read_bytes() + b"]")[2]["metadata"] == {"key": "r2"}
    wire.discard(path)
    assert not path.exists()
    monkeypatch.setattr(wire, "INLINE_MAX_BYTES", size + wire.INLINE_ENVELOPE_BYTES - 1)
    path, inline, size = wire.stage_input(source)
    assert not inline
    assert [json.loads(x)["key"] for x in path.read_text().splitlines()] == ["r0", "r1", "r2"]
    wire.discard(path)
    monkeypatch.setattr(wire, "MAX_FILE_BYTES", 10)
    with pytest.raises(InputFileError, match="over its limit") as info:
        wire.stage_input(source)
    assert str(source) in str(info.value)


# statuses and batch objects


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("BATCH_STATE_PENDING", BatchStatus.VALIDATING),
        ("BATCH_STATE_RUNNING", BatchStatus.IN_PROGRESS),
        ("BATCH_STATE_SUCCEEDED", BatchStatus.COMPLETED),
        ("BATCH_STATE_FAILED", BatchStatus.FAILED),
        ("BATCH_STATE_CANCELLED", BatchStatus.CANCELLED),
        ("BATCH_STATE_EXPIRED", BatchStatus.EXPIRED),
        ("BATCH_STATE_UNSPECIFIED", BatchStatus.IN_PROGRESS),
        ("JOB_STATE_PENDING", BatchStatus.VALIDATING),
        ("JOB_STATE_RUNNING", BatchStatus.IN_PROGRESS),
        ("JOB_STATE_SUCCEEDED", BatchStatus.COMPLETED),
        ("JOB_STATE_FAILED", BatchStatus.FAILED),
        ("JOB_STATE_CANCELLED", BatchStatus.CANCELLED),
        ("JOB_STATE_EXPIRED", BatchStatus.EXPIRED),
        ("BATCH_STATE_SOMETHING_NEW", BatchStatus.IN_PROGRESS),
        (None, BatchStatus.IN_PROGRESS),
    ],
)
def test_status_map(state: str | None, status: BatchStatus) -> None:
    assert wire.map_status(state) is status


def test_done_without_a_known_state() -> None:
    assert wire.map_status("WEIRD", done=True) is BatchStatus.COMPLETED
    assert wire.map_status(None, done=True, error={"code": 3}) is BatchStatus.FAILED
    assert wire.map_status("BATCH_STATE_UNSPECIFIED", done=True) is BatchStatus.COMPLETED


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2025-07-01T12:00:00Z", 1751371200),
        ("2025-07-01T12:00:00.123456789Z", 1751371200),
        ("2025-07-01T14:00:00.5+02:00", 1751371200),
        ("2025-07-01t12:00:00z", 1751371200),
        ("yesterday", None),
        (None, None),
        (1751371200, None),
    ],
)
def test_rfc3339(value: Any, seconds: int | None) -> None:
    assert wire.rfc3339_seconds(value) == seconds


KEY = "0123456789abcdef0123456789abcdef"


def operation(state: str, **extra: Any) -> dict[str, Any]:
    meta = {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
        "name": "batches/b1",
        "displayName": f"nightly [any-llm-{KEY}]",
        "model": "models/gemini-2.5-flash",
        "createTime": "2025-07-01T12:00:00.5Z",
        "updateTime": "2025-07-01T12:30:00Z",
        "batchStats": {
            "requestCount": "5",
            "successfulRequestCount": "3",
            "failedRequestCount": "1",
            "pendingRequestCount": "1",
        },
        "state": state,
        **extra.pop("metadata", {}),
    }
    return {"name": "batches/b1", "metadata": meta, **extra}


def record(data: Any) -> Batch:
    return structure(wire.batch_to_record(data), Batch, provider="gemini", what="batch")


def test_running_batch_record() -> None:
    b = record(operation("BATCH_STATE_RUNNING", done=False))
    assert b.id == "batches/b1"
    assert (b.status, b.provider_status) == (BatchStatus.IN_PROGRESS, "BATCH_STATE_RUNNING")
    assert (b.request_counts.total, b.request_counts.completed, b.request_counts.failed) == (
        5,
        3,
        1,
    )
    assert b.created_at == 1751371200
    assert b.expires_at == 1751371200 + 48 * 3600
    assert b.completed_at is None
    assert b.model == "gemini-2.5-flash"
    assert b.endpoint == "/v1/chat/completions"
    assert b.metadata == {"displayName": "nightly"} and b.idempotency_key == KEY
    assert b.input_file_id is None and b.output_file_id is None
    assert b.errors is None


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ("BATCH_STATE_SUCCEEDED", "completed_at"),
        ("BATCH_STATE_FAILED", "failed_at"),
        ("BATCH_STATE_CANCELLED", "cancelled_at"),
        ("BATCH_STATE_EXPIRED", "expired_at"),
    ],
)
def test_end_time_lands_by_state(state: str, field: str) -> None:
    data = operation(state, done=True, metadata={"endTime": "2025-07-01T13:00:00Z"})
    assert getattr(record(data), field) == 1751371200 + 3600


def test_file_and_inline_sources_and_outputs() -> None:
    filed = record(
        operation(
            "BATCH_STATE_SUCCEEDED",
            done=True,
            metadata={
                "inputConfig": {"fileName": "files/in1"},
                "output": {"responsesFile": "files/out1"},
            },
        )
    )
    assert (filed.input_file_id, filed.output_file_id) == ("files/in1", "files/out1")
    # the guide reads results from the operation's response: that is enough too
    inline = record(
        operation(
            "BATCH_STATE_SUCCEEDED",
            done=True,
            response={"inlinedResponses": {"inlinedResponses": []}},
        )
    )
    assert inline.input_file_id == "batches/b1:inlinedRequests"
    assert inline.output_file_id == "batches/b1:inlinedResponses"
    pending = record(
        operation("BATCH_STATE_PENDING", metadata={"inputConfig": {"requests": {"requests": []}}})
    )
    assert pending.input_file_id == "batches/b1:inlinedRequests"
    assert pending.output_file_id is None


def test_failed_batch_carries_its_error() -> None:
    failed = record(
        operation("BATCH_STATE_FAILED", done=True, error={"code": 3, "message": "bad input"})
    )
    assert failed.status is BatchStatus.FAILED
    assert failed.errors is not None
    [error] = failed.errors.data
    assert (error.code, error.message) == ("INVALID_ARGUMENT", "bad input")


def test_odd_batch_objects() -> None:
    bare = record({"name": "batches/x"})
    assert bare.status is BatchStatus.IN_PROGRESS
    assert bare.created_at == 0 and bare.expires_at is None
    assert bare.metadata is None
    assert bare.request_counts.total == 0
    weird = record(operation("BATCH_STATE_RUNNING", metadata={"batchStats": {"requestCount": "x"}}))
    assert weird.request_counts.total == 0
    with pytest.raises(TypeError):
        wire.batch_to_record({"metadata": {}})
    with pytest.raises(TypeError):
        wire.batch_to_record([])


def test_pages() -> None:
    page = wire.parse_page(
        {"operations": [operation("BATCH_STATE_PENDING")], "nextPageToken": "t2"}, record
    )
    assert [b.id for b in page] == ["batches/b1"]
    assert (page.has_more, page.next_cursor) == (True, "t2")
    last = wire.parse_page({}, record)
    assert (len(last), last.has_more, last.next_cursor) == (0, False, None)
    with pytest.raises(TypeError):
        wire.parse_page({"operations": {}}, record)
    assert wire.parse_file_name({"file": {"name": "files/abc"}}) == "files/abc"
    with pytest.raises(TypeError):
        wire.parse_file_name({"name": "files/abc"})


# results


def response(*parts: dict[str, Any], finish: str = "STOP", **extra: Any) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": list(parts)}, "finishReason": finish}
        ],
        "usageMetadata": {
            "promptTokenCount": 8,
            "candidatesTokenCount": 3,
            "thoughtsTokenCount": 5,
            "cachedContentTokenCount": 2,
            "totalTokenCount": 16,
        },
        "modelVersion": "gemini-2.5-flash-001",
        "responseId": "resp-1",
        **extra,
    }


def test_text_response_becomes_a_chat_completion() -> None:
    body = wire.completion_from_response(
        response({"text": "thinking", "thought": True}, {"text": "Par"}, {"text": "is"}),
        custom_id="a",
        batch=batch(),
    )
    assert body == {
        "id": "resp-1",
        "object": "chat.completion",
        "created": 2000,
        "model": "gemini-2.5-flash-001",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Paris",
                    "refusal": None,
                    "reasoning_content": "thinking",
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 8,
            "completion_tokens": 8,
            "total_tokens": 16,
            "prompt_tokens_details": {"cached_tokens": 2},
            "completion_tokens_details": {"reasoning_tokens": 5},
        },
    }


def test_function_calls_become_tool_calls() -> None:
    body = wire.completion_from_response(
        response(
            {"functionCall": {"name": "f", "args": {"x": 1}}},
            {"functionCall": {"name": "g"}},
        ),
        custom_id="a",
        batch=batch(),
    )
    [choice] = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [c["function"] for c in calls] == [
        {"name": "f", "arguments": '{"x": 1}'},
        {"name": "g", "arguments": "{}"},
    ]
    assert len({c["id"] for c in calls}) == 2
    assert all(c["type"] == "function" for c in calls)


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("LANGUAGE", "stop"),
        ("OTHER", "stop"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("FINISH_REASON_UNSPECIFIED", "stop"),
    ],
)
def test_finish_reasons(reason: str, finish: str) -> None:
    body = wire.completion_from_response(
        response({"text": "x"}, finish=reason), custom_id="a", batch=batch()
    )
    assert body["choices"][0]["finish_reason"] == finish


def test_blocked_prompt_and_bare_response() -> None:
    blocked = wire.completion_from_response(
        {"promptFeedback": {"blockReason": "SAFETY"}}, custom_id="a", batch=batch()
    )
    [choice] = blocked["choices"]
    assert choice["finish_reason"] == "content_filter"
    assert choice["message"]["content"] is None
    assert "SAFETY" in choice["message"]["refusal"]
    assert blocked["id"].startswith("chatcmpl-")
    assert blocked["model"] == MODEL
    assert blocked["usage"]["total_tokens"] == 0
    two = wire.completion_from_response(
        {"candidates": [{"content": {"parts": [{"text": "a"}]}, "index": 1}, {}]},
        custom_id="a",
        batch=batch(),
    )
    assert [c["index"] for c in two["choices"]] == [1, 1]
    assert two["choices"][1]["message"]["content"] == ""


def test_result_lines() -> None:
    b = batch()
    ok = wire.parse_result_line(
        json.dumps({"key": "a", "response": response({"text": "hi"})}).encode(), batch=b, where="l1"
    )
    assert ok is not None and ok.status is BatchResultStatus.SUCCEEDED
    assert ok.custom_id == "a" and ok.status_code == 200
    assert ok.chat_completion().choices[0].message.content == "hi"
    http = wire.parse_result_line(
        b'{"key":"b","error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}',
        batch=b,
        where="l2",
    )
    assert http is not None and http.status is BatchResultStatus.FAILED
    assert http.error is not None
    assert (http.error.code, http.error.message, http.error.status_code) == (
        "INVALID_ARGUMENT",
        "bad",
        400,
    )
    assert http.status_code == 400
    grpc = wire.parse_result_line(
        b'{"key":"c","status":{"code":8,"message":"slow down"}}', batch=b, where="l3"
    )
    assert grpc is not None and grpc.error is not None
    assert (grpc.error.code, grpc.error.status_code, grpc.status_code) == (
        "RESOURCE_EXHAUSTED",
        None,
        None,
    )
    odd = wire.parse_result_line(b'{"key":"d"}', batch=b, where="l4")
    assert odd is not None and odd.status is BatchResultStatus.FAILED
    assert odd.error is not None and "neither" in odd.error.message
    keyed = wire.parse_result_line(
        b'{"metadata":{"key":"e"},"error":{"code":13}}', batch=b, where="l5"
    )
    assert keyed is not None and keyed.custom_id == "e"
    assert keyed.error is not None and keyed.error.message == "no message given"
    for junk in (b"", b"   ", b"not json", b'{"response":{}}', b"[1]"):
        assert wire.parse_result_line(junk, batch=b, where="l6") is None


def test_inline_results_join_on_the_key() -> None:
    data = operation(
        "BATCH_STATE_SUCCEEDED",
        done=True,
        metadata={
            "inputConfig": {
                "requests": {
                    "requests": [
                        {"request": {}, "metadata": {"key": "a"}},
                        {"request": {}, "metadata": {"custom_id": "b"}},
                        {"request": {}},
                    ]
                }
            },
            "output": {
                "inlinedResponses": {
                    "inlinedResponses": [
                        {"metadata": {"key": "b"}, "error": {"code": 3, "message": "no"}},
                        {"metadata": {"key": "a"}, "response": response({"text": "A"})},
                        {"response": response({"text": "orphan"})},
                    ]
                }
            },
        },
    )
    items = list(wire.inline_results(data, batch=batch()))
    assert [(i.custom_id, i.status) for i in items] == [
        ("b", BatchResultStatus.FAILED),
        ("a", BatchResultStatus.SUCCEEDED),
    ]
    assert list(wire.inline_input_keys(data)) == ["a", "b"]
    assert list(wire.inline_results({}, batch=batch())) == []
    assert list(wire.inline_input_keys({"name": "x"})) == []


def test_input_lines() -> None:
    assert wire.input_custom_id(b'{"key":"a","request":{}}') == "a"
    assert wire.input_custom_id(b'{"request":{}}') is None
    assert wire.input_custom_id(b"nope") is None
