"""Shared (non-I/O) code: records and converter, retry policy, line splitting, limits."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from any_llm._converter import converter, structure
from any_llm._jsonl import (
    InputLimits,
    LineBuffer,
    TranslationError,
    validate_input_file,
    write_translated,
)
from any_llm._providers import get_spec, openai
from any_llm._retry import RetryConfig, is_retryable
from any_llm.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    InputFileError,
    parse_retry_after,
)
from any_llm.types import Batch, BatchResultStatus, BatchStatus, LLMProvider

SPEC_EXAMPLE = {
    "id": "batch_3kq",
    "object": "batch",
    "endpoint": "/v1/chat/completions",
    "model": "gpt-4o-mini-2024-07-18",
    "errors": None,
    "input_file_id": "file-in1",
    "completion_window": "24h",
    "status": "completed",
    "output_file_id": "file-out1",
    "error_file_id": "file-err1",
    "created_at": 1767225600,
    "in_progress_at": 1767225610,
    "expires_at": 1767312000,
    "finalizing_at": 1767229200,
    "completed_at": 1767229260,
    "failed_at": None,
    "expired_at": None,
    "cancelling_at": None,
    "cancelled_at": None,
    "request_counts": {"total": 3, "completed": 2, "failed": 1},
    "usage": {
        "input_tokens": 90,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 40,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 130,
    },
    "metadata": {"job": "nightly"},
}


def _batch(data: dict[str, Any]) -> Batch:
    return structure(openai.batch_to_record(data), Batch, provider="openai", what="Batch")


def test_batch_round_trips_to_openai_json() -> None:
    batch = _batch(SPEC_EXAMPLE)
    assert batch.status is BatchStatus.COMPLETED
    assert batch.request_counts.failed == 1
    assert batch.usage is not None and batch.usage.total_tokens == 130
    out = converter.unstructure(batch)
    assert out.pop("provider") == "openai"
    assert out.pop("provider_status") == "completed"
    assert out.pop("idempotency_key") is None
    assert out == SPEC_EXAMPLE


def test_unknown_status_is_kept_raw() -> None:
    batch = _batch({**SPEC_EXAMPLE, "status": "paused_by_operator"})
    assert batch.status is BatchStatus.UNKNOWN
    assert batch.provider_status == "paused_by_operator"


def test_minimal_batch_is_accepted_and_bad_shapes_are_explained() -> None:
    minimal = {
        "id": "b",
        "object": "batch",
        "endpoint": "/v1/embeddings",
        "input_file_id": "f",
        "completion_window": "24h",
        "status": "validating",
        "created_at": 1,
    }
    assert _batch(minimal).request_counts.total == 0
    with pytest.raises(APIResponseValidationError, match="openai: unexpected Batch"):
        _batch({**minimal, "request_counts": {"total": "many"}})


@pytest.mark.parametrize(
    ("line", "status", "code"),
    [
        (
            b'{"custom_id":"a","response":{"status_code":200,"body":{"object":"chat.completion"}},'
            b'"error":null}',
            BatchResultStatus.SUCCEEDED,
            None,
        ),
        (
            b'{"custom_id":"a","response":{"status_code":400,"body":{"error":{"message":"m",'
            b'"type":"invalid_request_error","code":"bad"}}},"error":null}',
            BatchResultStatus.FAILED,
            "bad",
        ),
        (
            b'{"custom_id":"a","response":null,"error":{"code":"batch_expired","message":"m"}}',
            BatchResultStatus.FAILED,
            "batch_expired",
        ),
        (b'{"custom_id":"a"}', BatchResultStatus.FAILED, None),
    ],
)
def test_result_line_shapes(line: bytes, status: BatchResultStatus, code: str | None) -> None:
    item = openai.parse_result_line(line, where="test")
    assert item is not None
    assert item.status is status
    expected = code or ("unknown" if item.error else None)  # a failure's code is never None
    assert (item.error.code if item.error else None) == expected
    assert (item.response is None) == (status is not BatchResultStatus.SUCCEEDED)


def test_unattributable_result_lines_are_skipped() -> None:
    assert openai.parse_result_line(b"{broken", where="t") is None
    assert openai.parse_result_line(b'{"response": {}}', where="t") is None
    assert openai.parse_result_line(b"", where="t") is None


def test_line_buffer_handles_long_and_split_lines() -> None:
    buffer = LineBuffer()
    long_line = b"x" * 300_000
    lines: list[bytes] = []
    for chunk in (long_line[:100], long_line[100:], b"\nab", b"c\n\nde"):
        lines += buffer.feed(chunk)
    assert lines == [long_line, b"abc", b""]
    assert buffer.flush() == b"de"
    assert buffer.flush() is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"Retry-After": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def _status(code: int, retry_after: float | None = None) -> APIStatusError:
    return APIStatusError("x", status_code=code, retry_after=retry_after)


def test_what_is_retried() -> None:
    cfg = RetryConfig(max_retry_after=60)
    assert is_retryable(APIConnectionError("x"), cfg)
    assert is_retryable(APITimeoutError("x"), cfg)
    for code in (408, 429, 500, 502, 503, 504, 529):
        assert is_retryable(_status(code), cfg), code
    for code in (400, 401, 403, 404, 409, 413, 422):
        assert not is_retryable(_status(code), cfg), code
    assert is_retryable(_status(429, retry_after=60), cfg)
    assert not is_retryable(_status(429, retry_after=61), cfg)
    assert not is_retryable(ValueError("x"), cfg)


def test_file_over_the_size_limit_is_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    path.touch()
    os.truncate(path, 200_000_001)  # sparse: costs no disk
    spec = get_spec(LLMProvider.OPENAI)
    with pytest.raises(InputFileError, match="over the provider's limit of 200,000,000 bytes"):
        validate_input_file(
            path, endpoint="/v1/chat/completions", limits=spec.limits, provider="openai"
        )


def test_provider_names() -> None:
    assert get_spec("OpenAI").provider is LLMProvider.OPENAI
    assert get_spec(LLMProvider.OPENAI).default_api_base == "https://api.openai.com/v1"


def _limits(**kwargs: Any) -> InputLimits:
    return InputLimits(
        max_requests=10, max_file_bytes=10_000, endpoints=frozenset({CHAT_ENDPOINT}), **kwargs
    )


CHAT_ENDPOINT = "/v1/chat/completions"


def _write(path: Path, *custom_ids: str, extra: dict[str, Any] | None = None) -> None:
    lines = []
    for custom_id in custom_ids:
        body = {"model": "m", "messages": [], **(extra or {})}
        line = {"custom_id": custom_id, "method": "POST", "url": CHAT_ENDPOINT, "body": body}
        lines.append(json.dumps(line))
    path.write_text("\n".join(lines) + "\n")


def _translate(line: dict[str, Any]) -> dict[str, Any]:
    if "logprobs" in line["body"]:
        raise TranslationError("body.logprobs", "has no equivalent")
    return {"id": line["custom_id"], "params": {"model": line["body"]["model"]}}


def test_translation_runs_in_the_validating_pass(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    _write(path, "a", "b", extra={"logprobs": True})
    with pytest.raises(InputFileError, match=r"r.jsonl:1 \(custom_id 'a'\): .*body.logprobs"):
        validate_input_file(
            path,
            endpoint=CHAT_ENDPOINT,
            limits=_limits(translate=_translate),
            provider="p",
        )


def test_custom_id_pattern(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    _write(path, "ok-1", "not ok!")
    with pytest.raises(InputFileError, match="custom_ids matching") as info:
        validate_input_file(
            path,
            endpoint=CHAT_ENDPOINT,
            limits=_limits(custom_id_pattern=re.compile(r"[a-z0-9-]{1,8}")),
            provider="p",
        )
    assert info.value.line == 2


def test_write_translated_streams_an_envelope(tmp_path: Path) -> None:
    source, target = tmp_path / "r.jsonl", tmp_path / "out.json"
    _write(source, "a", "b", "c")
    size = write_translated(
        source, target, _translate, head=b'{"requests":[', separator=b",", tail=b"]}"
    )
    assert size == target.stat().st_size
    assert json.loads(target.read_bytes()) == {
        "requests": [{"id": i, "params": {"model": "m"}} for i in "abc"]
    }


def test_redirects_keep_credentials_on_their_origin() -> None:
    from any_llm._transport import FileBody, Request, redirect_request

    def nothing() -> BinaryIO:
        return io.BytesIO(b"")

    body = FileBody(open=nothing, length=0, content_type="x")
    request = Request(
        method="POST",
        url="https://api.example.com/v1/files",
        headers={"Authorization": "Bearer k", "Content-Type": "x", "User-Agent": "u"},
        params={"api-version": "1"},
        body=body,
    )
    creds = frozenset({"authorization"})
    same = redirect_request(request, 307, "/v1/files2", credentials=creds)
    assert same.url == "https://api.example.com/v1/files2"
    assert same.headers["Authorization"] == "Bearer k"
    assert same.method == "POST" and same.body is body and same.params is None
    other = redirect_request(
        request, 307, "https://bucket.example.net/put?sig=1", credentials=creds
    )
    assert "Authorization" not in other.headers and other.headers["User-Agent"] == "u"
    assert other.body is body
    moved = redirect_request(request, 303, "https://api.example.com/v1/x", credentials=creds)
    assert moved.method == "GET" and moved.body is None and "Content-Type" not in moved.headers
    assert moved.headers["Authorization"] == "Bearer k"
    scheme_change = redirect_request(request, 302, "http://api.example.com/v1/x", credentials=creds)
    assert "Authorization" not in scheme_change.headers
