"""The OpenAI-family providers' static facts and the shared parser's tolerance of their quirks,
as plain unit tests (no I/O)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from any_llm._config import CLIENT_ARGS, resolve_config
from any_llm._converter import structure
from any_llm._jsonl import validate_input_file
from any_llm._providers import WindowRange, get_spec, openai
from any_llm._providers.azureopenai import create_endpoint
from any_llm.errors import APIResponseValidationError, ConfigurationError, InputFileError
from any_llm.types import Batch, BatchStatus, LLMProvider

FAMILY = ("azureopenai", "groq", "dashscope", "moonshot", "nebius", "cerebras")

FACTS = [
    # provider, key variable, default api_base, requests, min, bytes, single model
    ("azureopenai", "AZURE_OPENAI_API_KEY", "", 100_000, 1, 200_000_000, True),
    ("groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1", 50_000, 1, 100_000_000, False),
    (
        "dashscope",
        "DASHSCOPE_API_KEY",
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        50_000,
        1,
        100_000_000,
        True,
    ),
    ("moonshot", "MOONSHOT_API_KEY", "https://api.moonshot.ai/v1", 50_000, 1, 100_000_000, True),
    (
        "nebius",
        "NEBIUS_API_KEY",
        "https://api.tokenfactory.nebius.com/v1",
        5_000_000,
        1,
        10_000_000_000,
        True,
    ),
    ("cerebras", "CEREBRAS_API_KEY", "https://api.cerebras.ai/v1", 50_000, 10, 200_000_000, False),
]


@pytest.mark.parametrize(
    ("provider", "env", "base", "requests", "minimum", "size", "single"),
    FACTS,
    ids=[fact[0] for fact in FACTS],
)
def test_each_spec_states_its_documented_facts(
    provider: str, env: str, base: str, requests: int, minimum: int, size: int, single: bool
) -> None:
    spec = get_spec(provider)
    assert spec.provider is LLMProvider(provider)
    assert (spec.api_key_env, spec.default_api_base) == (env, base)
    limits = spec.limits
    assert (limits.max_requests, limits.min_requests, limits.max_file_bytes) == (
        requests,
        minimum,
        size,
    )
    assert limits.single_model is single
    assert "/v1/chat/completions" in limits.endpoints
    assert spec.completion_windows == frozenset({"24h"})
    assert spec.metadata_max_pairs == 15
    assert spec.openai_protocol is not None  # served by the OpenAI adapter


def test_auth_headers() -> None:
    assert get_spec("azureopenai").auth_headers("k") == {"api-key": "k"}
    for provider in FAMILY[1:]:
        assert get_spec(provider).auth_headers("k") == {"Authorization": "Bearer k"}


def test_endpoints_per_provider() -> None:
    assert get_spec("azureopenai").limits.endpoints == {
        "/v1/chat/completions",
        "/chat/completions",
        "/v1/responses",
    }
    assert "/v1/embeddings" in get_spec("nebius").limits.endpoints
    assert "/v1/chat/ds-test" in get_spec("dashscope").limits.endpoints
    for provider in ("groq", "moonshot", "cerebras"):
        assert get_spec(provider).limits.endpoints == {"/v1/chat/completions"}


def test_protocol_options() -> None:
    groq = get_spec("groq").openai_protocol
    assert groq is not None and groq.paged_list is False
    azure = get_spec("azureopenai").openai_protocol
    assert azure is not None and azure.create_endpoint is create_endpoint
    assert create_endpoint("/v1/chat/completions") == "/chat/completions"
    assert create_endpoint("/chat/completions") == "/chat/completions"
    assert create_endpoint("/v1/responses") == "/v1/responses"
    for provider in ("openai", "dashscope", "moonshot", "nebius", "cerebras"):
        assert get_spec(provider).openai_protocol == openai.OpenAIProtocol()


# base URLs


@pytest.mark.parametrize(
    ("api_base", "version", "expected"),
    [
        ("https://r.openai.azure.com", None, "https://r.openai.azure.com/openai/v1"),
        (
            "https://r.openai.azure.com",
            "2024-10-21",
            "https://r.openai.azure.com/openai?api-version=2024-10-21",
        ),
        ("https://r.openai.azure.com/openai/v1", None, "https://r.openai.azure.com/openai/v1"),
        (
            "https://r.openai.azure.com/openai/v1",
            "preview",
            "https://r.openai.azure.com/openai/v1?api-version=preview",
        ),
        (
            "https://r.openai.azure.com/openai",
            "2025-04-01-preview",
            "https://r.openai.azure.com/openai?api-version=2025-04-01-preview",
        ),
    ],
)
def test_azure_surface_follows_api_base_and_version(
    api_base: str, version: str | None, expected: str
) -> None:
    args = {} if version is None else {"api_version": version}
    config = resolve_config("azureopenai", api_key="k", api_base=api_base + "/", client_args=args)
    assert config.api_base == expected


def test_azure_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(ConfigurationError, match=r"no api_base.*AZURE_OPENAI_ENDPOINT"):
        resolve_config("azureopenai", api_key="k", api_base=None, client_args=None)
    with pytest.raises(ConfigurationError, match=r"needs client_args\[.api_version.\]"):
        resolve_config(
            "azureopenai", api_key="k", api_base="https://r.openai.azure.com/openai", client_args={}
        )
    with pytest.raises(ConfigurationError, match="must not carry a query"):
        resolve_config(
            "azureopenai",
            api_key="k",
            api_base="https://r.openai.azure.com/openai?api-version=2024-10-21",
            client_args={},
        )
    with pytest.raises(ConfigurationError, match="non-empty string"):
        resolve_config(
            "azureopenai",
            api_key="k",
            api_base="https://r.openai.azure.com",
            client_args={"api_version": ""},
        )
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://env.openai.azure.com/")
    config = resolve_config("azureopenai", api_key="k", api_base=None, client_args=None)
    assert config.api_base == "https://env.openai.azure.com/openai/v1"


def test_api_version_is_for_azure_only() -> None:
    assert "api_version" in CLIENT_ARGS
    for provider in ("openai", "groq", "nebius"):
        with pytest.raises(ConfigurationError, match="azureopenai only"):
            resolve_config(
                provider, api_key="k", api_base=None, client_args={"api_version": "2024-10-21"}
            )


@pytest.mark.parametrize(
    "api_base",
    [
        "https://api.groq.com",
        "https://api.groq.com/",
        "https://api.groq.com/openai/v1",
        "https://api.groq.com/openai/v1/",
    ],
)
def test_groq_accepts_both_sdk_spellings(api_base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_BASE_URL", raising=False)
    config = resolve_config("groq", api_key="k", api_base=api_base, client_args=None)
    assert config.api_base == "https://api.groq.com/openai/v1"
    monkeypatch.setenv("GROQ_BASE_URL", api_base)
    assert resolve_config("groq", api_key="k", api_base=None, client_args=None).api_base == (
        "https://api.groq.com/openai/v1"
    )


# completion windows


@pytest.mark.parametrize(
    ("window", "accepted"),
    [
        ("24h", True),
        ("25h", True),
        ("48h", True),
        ("1d", True),
        ("3d", True),
        ("7d", True),
        ("168h", True),
        ("23h", False),
        ("169h", False),
        ("8d", False),
        ("0h", False),
        ("1w", False),
        ("24", False),
        ("24 h", False),
        ("", False),
        ("07d", False),
    ],
)
def test_groq_window_rule(window: str, accepted: bool) -> None:
    spec = get_spec("groq")
    assert spec.completion_window_range == WindowRange(24, 168)
    if accepted:
        spec.check_completion_window(window)
    else:
        with pytest.raises(ConfigurationError, match="a duration from 24h to 7d"):
            spec.check_completion_window(window)


def test_other_providers_take_24h_only() -> None:
    for provider in ("openai", *FAMILY[:1], *FAMILY[2:]):
        spec = get_spec(provider)
        spec.check_completion_window("24h")
        with pytest.raises(ConfigurationError, match=r"use one of: 24h$"):
            spec.check_completion_window("48h")


# the validation pass


def _write(path: Path, count: int, model: str = "m") -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
            line = {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions"}
            out.write(json.dumps({**line, "body": body}) + "\n")
    return path


def test_cerebras_needs_ten_requests(tmp_path: Path) -> None:
    limits = get_spec("cerebras").limits
    with pytest.raises(
        InputFileError, match="holds 9 requests; a cerebras batch needs at least 10"
    ):
        validate_input_file(
            _write(tmp_path / "nine.jsonl", 9),
            endpoint="/v1/chat/completions",
            limits=limits,
            provider="cerebras",
        )
    summary = validate_input_file(
        _write(tmp_path / "ten.jsonl", 10),
        endpoint="/v1/chat/completions",
        limits=limits,
        provider="cerebras",
    )
    assert summary.requests == 10


def test_azure_deployment_is_the_same_on_every_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "mixed.jsonl", 2)
    with path.open("a", encoding="utf-8") as out:
        body = {"model": "other-deployment", "messages": []}
        line = {"custom_id": "x", "method": "POST", "url": "/v1/chat/completions", "body": body}
        out.write(json.dumps(line) + "\n")
    with pytest.raises(InputFileError, match="azureopenai batches take one model") as info:
        validate_input_file(
            path,
            endpoint="/v1/chat/completions",
            limits=get_spec("azureopenai").limits,
            provider="azureopenai",
        )
    assert (info.value.line, info.value.custom_id) == (3, "x")


def test_azure_takes_100000_requests(tmp_path: Path) -> None:
    limits = get_spec("azureopenai").limits
    path = _write(tmp_path / "many.jsonl", 100_001)
    with pytest.raises(InputFileError, match="more than 100,000 requests") as info:
        validate_input_file(
            path, endpoint="/v1/chat/completions", limits=limits, provider="azureopenai"
        )
    assert info.value.line == 100_001


# the shared parser


MINIMAL: dict[str, Any] = {
    "id": "batch_1",
    "object": "batch",
    "endpoint": "/v1/chat/completions",
    "input_file_id": "file-in",
    "completion_window": "24h",
    "status": "validating",
    "created_at": 1767225600,
}


def _batch(data: dict[str, Any], provider: str = "azureopenai") -> Batch:
    record = openai.batch_to_record(data, provider=provider)
    return structure(record, Batch, provider=provider, what="Batch")


def test_azure_empty_file_ids_and_null_counts() -> None:
    batch = _batch(
        {
            **MINIMAL,
            "output_file_id": "",
            "error_file_id": "",
            "endpoint": None,
            "request_counts": {"total": None, "completed": None, "failed": None},
        }
    )
    assert batch.provider == "azureopenai"
    assert (batch.output_file_id, batch.error_file_id) == (None, None)
    assert batch.request_counts.total == 0
    assert batch.endpoint == ""


def test_azure_iso_timestamps_and_capitalised_status() -> None:
    batch = _batch(
        {
            **MINIMAL,
            "status": "Validating",
            "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-02T00:00:00.2491382+00:00",
            "in_progress_at": "2026-01-01T00:01:00",
            "completed_at": 1767225700.9,
        }
    )
    assert batch.status is BatchStatus.VALIDATING
    assert batch.provider_status == "Validating"
    assert batch.created_at == 1767225600
    assert batch.expires_at == 1767225600 + 86400
    assert batch.in_progress_at == 1767225660
    assert batch.completed_at == 1767225700


def test_bad_timestamps_are_explained() -> None:
    with pytest.raises(ValueError, match="neither unix seconds nor ISO 8601"):
        openai.unix_seconds("yesterday")
    with pytest.raises(TypeError, match="not a number or a string"):
        openai.unix_seconds({"at": 1})
    with pytest.raises(TypeError):
        openai.unix_seconds(True)


def test_cerebras_queued_status_and_string_errors() -> None:
    queued = _batch({**MINIMAL, "status": "queued", "expires_at": None}, "cerebras")
    assert queued.status is BatchStatus.IN_PROGRESS
    assert queued.provider_status == "queued"
    assert queued.expires_at is None
    failed = _batch(
        {**MINIMAL, "status": "failed", "errors": "Model llama-x is not supported for batch"},
        "cerebras",
    )
    assert failed.status is BatchStatus.FAILED
    assert failed.errors is not None
    assert [e.message for e in failed.errors.data] == ["Model llama-x is not supported for batch"]
    assert _batch({**MINIMAL, "errors": ""}, "cerebras").errors is None
    listed = _batch({**MINIMAL, "errors": [{"code": "c", "message": "m", "line": None}]})
    assert listed.errors is not None and listed.errors.data[0].code == "c"


def test_cerebras_list_metadata_becomes_json_text() -> None:
    batch = _batch({**MINIMAL, "metadata": {"custom_tags": ["legal-review", "q3"], "a": "b"}})
    assert batch.metadata == {"custom_tags": '["legal-review","q3"]', "a": "b"}


def test_unknown_status_stays_unknown_with_its_raw_value() -> None:
    batch = _batch({**MINIMAL, "status": "Paused"})
    assert batch.status is BatchStatus.UNKNOWN
    assert batch.provider_status == "Paused"


def test_groq_batch_without_model_and_usage() -> None:
    batch = _batch({**MINIMAL, "completion_window": "3d"}, "groq")
    assert (batch.model, batch.usage, batch.completion_window) == (None, None, "3d")


def test_result_lines_of_each_provider_parse() -> None:
    azure = (
        b'{"custom_id":"task-0","response":{"body":{"id":"chatcmpl-1","object":"chat.completion",'
        b'"created":1,"model":"gpt-4o","choices":[{"index":0,"finish_reason":"stop","message":'
        b'{"role":"assistant","content":"1975."},"content_filter_results":{}}],'
        b'"prompt_filter_results":[],"usage":{"prompt_tokens":2,"completion_tokens":1,'
        b'"total_tokens":3}},"request_id":"3f1c2a9e-0d4b-4c7e-9a51-6b2f8e0c1d77",'
        b'"status_code":200},"error":null}'
    )
    groq = (
        b'{"id":"batch_req_out_1","custom_id":"request-1","response":{"status_code":200,'
        b'"request_id":"req_1","body":{"id":"chatcmpl-2","object":"chat.completion","created":1,'
        b'"model":"llama","choices":[{"index":0,"message":{"role":"assistant","content":"4"},'
        b'"logprobs":null,"finish_reason":"stop"}],"usage":{"queue_time":0.2,"prompt_tokens":40,'
        b'"prompt_time":0.002,"completion_tokens":2,"completion_time":0.003,"total_tokens":42,'
        b'"total_time":0.005},"x_groq":{"id":"req_1"}}},"error":null}'
    )
    for line, content, tokens in ((azure, "1975.", 3), (groq, "4", 42)):
        item = openai.parse_result_line(line, where="t", provider="x")
        assert item is not None and item.succeeded
        completion = item.chat_completion()
        assert completion.choices[0].message.content == content
        assert completion.usage is not None and completion.usage.total_tokens == tokens


def test_local_paging_of_an_unpaged_list() -> None:
    data = {"object": "list", "data": [{**MINIMAL, "id": f"b{i}"} for i in range(5)]}

    def parse(raw: Any) -> Batch:
        return _batch(raw, "groq")

    whole = openai.page_locally(data, parse, after=None, limit=None)
    assert [b.id for b in whole] == ["b0", "b1", "b2", "b3", "b4"]
    assert (whole.has_more, whole.next_cursor) == (False, None)
    first = openai.page_locally(data, parse, after=None, limit=2)
    assert ([b.id for b in first], first.has_more, first.next_cursor) == (["b0", "b1"], True, "b1")
    last = openai.page_locally(data, parse, after="b3", limit=2)
    assert ([b.id for b in last], last.has_more, last.next_cursor) == (["b4"], False, None)
    exact = openai.page_locally(data, parse, after="b2", limit=2)
    assert (exact.has_more, exact.next_cursor) == (False, None)
    # keys Groq does not send are ignored: the request asked for everything
    assert not openai.page_locally({**data, "has_more": True}, parse, after="b4", limit=None)
    with pytest.raises(ConfigurationError, match="groq: after='gone' names no batch"):
        openai.page_locally(data, parse, after="gone", limit=None, provider="groq")
    with pytest.raises(TypeError):
        openai.page_locally([], parse, after=None, limit=None)


def test_a_bad_shape_names_the_provider() -> None:
    with pytest.raises(APIResponseValidationError, match="groq: unexpected Batch"):
        _batch({**MINIMAL, "request_counts": {"total": "many"}}, "groq")
