"""any-llm's batch names importable from the same places (issue 12, items 3, 4, 8), its error
families, its provider listing, and its provider-SDK client settings. Pure: no I/O."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import pytest

import any_llm
import any_llm.api
import any_llm.exceptions
import any_llm_sync
from any_llm import AnyLLM, errors
from any_llm._catalog import NO_BATCH_API, NOT_SERVED
from any_llm._config import resolve_config
from any_llm.errors import UnsupportedParameterError
from any_llm.types import LLMProvider

# The batch names of any-llm's top-level ``__all__`` (mozilla-ai/any-llm at HEAD,
# src/any_llm/__init__.py). Left out, as not batch API: completion, responses, messages,
# embedding, image, audio, moderation, rerank and list_models names and their a-twins, their
# Parsed*/Transcription*/AudioSpeechParams types, LengthFinishReasonError and
# ContentFilterFinishReasonError (structured-output parsing of a completion call).
ANYLLM_TOP_LEVEL = [
    "AnyLLM",
    "AnyLLMError",
    "AuthenticationError",
    "Batch",
    "BatchNotCompleteError",
    "BatchRequestCounts",
    "BatchResult",
    "BatchResultError",
    "BatchResultItem",
    "ContentFilterError",
    "ContextLengthExceededError",
    "InvalidRequestError",
    "LLMProvider",
    "MissingApiKeyError",
    "ModelNotFoundError",
    "ProviderError",
    "RateLimitError",
    "UnsupportedParameterError",
    "UnsupportedProviderError",
    "acancel_batch",
    "acreate_batch",
    "alist_batches",
    "aretrieve_batch",
    "aretrieve_batch_results",
    "cancel_batch",
    "create_batch",
    "list_batches",
    "retrieve_batch",
    "retrieve_batch_results",
]

# Every exception class of any-llm's src/any_llm/exceptions.py (it has no ``__all__``), less
# the structured-output ones named above (and their private base _FinishReasonError).
ANYLLM_EXCEPTIONS = [
    "AnyLLMError",
    "AuthenticationError",
    "BatchNotCompleteError",
    "ContentFilterError",
    "ContextLengthExceededError",
    "GatewayTimeoutError",
    "InsufficientFundsError",
    "InvalidRequestError",
    "MissingApiKeyError",
    "ModelNotFoundError",
    "ProviderError",
    "RateLimitError",
    "UnsupportedParameterError",
    "UnsupportedProviderError",
    "UpstreamProviderError",
]

# The batch functions of any-llm's src/any_llm/api.py (no ``__all__`` there either).
ANYLLM_API = [
    "acancel_batch",
    "acreate_batch",
    "alist_batches",
    "aretrieve_batch",
    "aretrieve_batch_results",
    "cancel_batch",
    "create_batch",
    "list_batches",
    "retrieve_batch",
    "retrieve_batch_results",
]

# any-llm's provider names: src/any_llm/constants.py LLMProvider and the rows of
# src/any_llm/providers/registry.py PROVIDER_REGISTRY.
ANYLLM_PROVIDERS = [
    "anthropic",
    "bedrock",
    "azure",
    "azureanthropic",
    "azureopenai",
    "atlascloud",
    "cascadia",
    "cerebras",
    "cohere",
    "databricks",
    "deepseek",
    "fireworks",
    "gemini",
    "github",
    "gmi",
    "groq",
    "huggingface",
    "inception",
    "kenari",
    "llama",
    "lmstudio",
    "llamafile",
    "llamacpp",
    "meta",
    "mistral",
    "moonshot",
    "mzai",
    "neosantara",
    "nebius",
    "ollama",
    "openai",
    "otari",
    "openrouter",
    "portkey",
    "qiniu",
    "requesty",
    "sambanova",
    "sagemaker",
    "together",
    "vertexai",
    "vertexaianthropic",
    "vllm",
    "voyage",
    "watsonx",
    "xai",
    "perplexity",
    "minimax",
    "dashscope",
    "deepinfra",
    "edenai",
    "zai",
    "telnyx",
    "ovhcloud",
]


@pytest.mark.parametrize("name", ANYLLM_TOP_LEVEL)
def test_anyllm_top_level_names_import(name: str) -> None:
    assert name in any_llm.__all__
    assert getattr(any_llm, name) is not None


@pytest.mark.parametrize("name", ANYLLM_EXCEPTIONS)
def test_anyllm_exception_names_import_from_exceptions(name: str) -> None:
    assert name in any_llm.exceptions.__all__
    cls = getattr(any_llm.exceptions, name)
    assert issubclass(cls, errors.AnyLLMError)
    if name in ANYLLM_TOP_LEVEL:
        assert getattr(any_llm, name) is cls


def test_every_name_of_ours_is_in_exceptions() -> None:
    for name in errors.__all__:
        if name != "raise_for_status":
            assert getattr(any_llm.exceptions, name) is getattr(errors, name)


@pytest.mark.parametrize("name", ANYLLM_API)
def test_anyllm_api_names_import(name: str) -> None:
    assert name in any_llm.api.__all__
    assert getattr(any_llm.api, name) is getattr(any_llm, name)
    home = any_llm_sync if not name.startswith("a") else importlib.import_module("any_llm._async")
    assert getattr(any_llm.api, name) is getattr(home, name)


def test_error_families_match_anyllm() -> None:
    e = any_llm.exceptions
    assert issubclass(e.PermissionDeniedError, e.AuthenticationError)  # any-llm: 401 and 403
    assert issubclass(e.BadRequestError, e.InvalidRequestError)  # 400
    # Refused before sending what any-llm would send and see refused with a 400:
    assert issubclass(e.InvalidArgumentError, e.InvalidRequestError)
    assert issubclass(e.InvalidArgumentError, e.ConfigurationError)
    assert issubclass(e.InputFileError, e.InvalidRequestError)
    assert not issubclass(e.MissingApiKeyError, e.InvalidRequestError)
    assert issubclass(e.UnprocessableEntityError, e.InvalidRequestError)  # 422
    assert e.ModelNotFoundError is e.NotFoundError  # 404
    for cls in (e.InternalServerError, e.APIConnectionError, e.APITimeoutError):
        assert issubclass(cls, e.ProviderError)
    assert issubclass(e.APIResponseValidationError, e.ProviderError)
    assert issubclass(e.UpstreamProviderError, e.InternalServerError)
    assert issubclass(e.GatewayTimeoutError, e.InternalServerError)
    assert not issubclass(e.RateLimitError, e.ProviderError)
    assert not issubclass(e.AuthenticationError, e.ProviderError)
    assert issubclass(e.BatchNotCompleteError, e.BatchError)
    assert issubclass(e.BatchFailedError, e.BatchNotCompleteError)
    assert issubclass(e.MissingApiKeyError, e.ConfigurationError)
    assert issubclass(e.UnsupportedParameterError, e.ConfigurationError)
    assert issubclass(e.BatchNotSupportedError, e.UnsupportedProviderError)
    assert issubclass(e.BatchNotSupportedError, NotImplementedError)
    for name in e.__all__:
        assert issubclass(getattr(e, name), errors.AnyLLMError)


def test_anyllm_fields_on_every_error() -> None:
    error = errors.ConfigurationError("openai: bad")
    assert error.message == "openai: bad"
    assert error.status_code is None and error.code is None and error.param is None
    assert error.error_type is None and error.provider_name is None
    assert error.original_exception is None
    cause = KeyError("x")
    wrapped = errors.APIConnectionError("down", provider="groq")
    wrapped.__cause__ = cause  # as ``raise wrapped from cause`` sets it
    assert wrapped.original_exception is cause
    assert wrapped.provider_name == "groq"


def test_supports_batch_and_provider_listing() -> None:
    for cls in (AnyLLM, any_llm_sync.AnyLLM):
        assert cls.SUPPORTS_BATCH is True
        assert cls.get_supported_providers() == [p.value for p in LLMProvider]
        metadata = cls.get_all_provider_metadata()
        assert [m.name for m in metadata] == sorted(p.value for p in LLMProvider)
        assert all(m.batch_completion for m in metadata)
        openai = next(m for m in metadata if m.name == "openai")
        assert openai.env_key == "OPENAI_API_KEY"
        assert cls.get_provider_enum(" Mistral ") is LLMProvider.MISTRAL
        assert cls.resolve_provider_key("groq") is LLMProvider.GROQ
        assert cls.split_model_provider("openai:gpt-4o-mini") == (LLMProvider.OPENAI, "gpt-4o-mini")
        with pytest.raises(ValueError, match="provider:model"):
            cls.split_model_provider("gpt-4o-mini")
        with pytest.warns(DeprecationWarning, match="provider:model"):
            assert cls.split_model_provider("mistral/mistral-small") == (
                LLMProvider.MISTRAL,
                "mistral-small",
            )
        with pytest.raises(NotImplementedError):
            cls.get_provider_enum("deepseek")


def test_instance_provider_metadata() -> None:
    llm = any_llm_sync.AnyLLM.create("together", api_key="k")
    with llm:
        metadata = llm.get_provider_metadata()
    assert metadata.name == "together" and metadata.env_key == "TOGETHER_API_KEY"


@pytest.mark.parametrize("name", ANYLLM_PROVIDERS)
def test_every_anyllm_provider_is_served_or_not_implemented(name: str) -> None:
    if name in {p.value for p in LLMProvider}:
        assert AnyLLM.get_provider_enum(name).value == name
        assert name not in NO_BATCH_API | NOT_SERVED
    else:
        assert name in NO_BATCH_API | NOT_SERVED
        with pytest.raises(NotImplementedError, match=name):
            resolve_config(name, api_key="k", api_base=None, client_args=None)


def _config(provider: str, **client_args: Any) -> Any:
    return resolve_config(provider, api_key="k", api_base=None, client_args=client_args)


def test_mistral_timeout_ms_is_mapped() -> None:
    assert _config("mistral", timeout_ms=2500).timeout.read == 2.5
    with pytest.raises(UnsupportedParameterError, match=r"timeout_ms.*Mistral.*timeout="):
        _config("openai", timeout_ms=2500)
    with pytest.raises(UnsupportedParameterError, match="not both"):
        _config("mistral", timeout_ms=2500, timeout=3)
    with pytest.raises(UnsupportedParameterError, match="milliseconds > 0"):
        _config("mistral", timeout_ms="soon")


class _HttpOptions:
    """Stands for google.genai.types.HttpOptions (a pydantic model)."""

    def model_dump(self, exclude_none: bool = False) -> dict[str, Any]:
        return {"timeout": 4000, "headers": {"x-a": "1"}}


def test_gemini_http_options_are_mapped() -> None:
    config = _config("gemini", http_options={"timeout": 1500, "headers": {"x-a": "1"}})
    assert config.timeout.read == 1.5
    assert config.default_headers["x-a"] == "1"
    assert _config("gemini", http_options=_HttpOptions()).timeout.read == 4.0
    merged = _config("gemini", http_options={"headers": {"x-a": "1"}}, default_headers={"x-b": "2"})
    assert dict(merged.default_headers) == {"x-a": "1", "x-b": "2"}
    with pytest.raises(UnsupportedParameterError, match=r"http_options\['api_version'\]") as info:
        _config("gemini", http_options={"api_version": "v1"})
    assert info.value.parameter_name == "http_options['api_version']"
    with pytest.raises(UnsupportedParameterError, match="api_base="):
        _config("gemini", http_options={"base_url": "https://x.example"})
    with pytest.raises(UnsupportedParameterError, match="Gemini"):
        _config("anthropic", http_options={"timeout": 1})


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("base_url", "api_base="),
        ("server_url", "api_base="),
        ("retry_config", "max_retries="),
        ("http_client", "own HTTP transport"),
        ("async_client", "own HTTP transport"),
        ("vertexai", "provider 'gemini'"),
    ],
)
def test_sdk_client_settings_are_refused_by_name(key: str, hint: str) -> None:
    with pytest.raises(UnsupportedParameterError, match=hint) as info:
        _config("mistral", **{key: object()})
    assert info.value.parameter_name == key
    assert repr(key) in str(info.value)


def test_no_warning_from_the_colon_form() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AnyLLM.split_model_provider("gemini:gemini-2.0-flash")


def test_anyllm_types_batch_path() -> None:
    batch_types = importlib.import_module("any_llm.types.batch")
    for name in (
        "Batch",
        "BatchRequestCounts",
        "BatchResult",
        "BatchResultItem",
        "BatchResultError",
    ):
        assert getattr(batch_types, name) is getattr(importlib.import_module("any_llm.types"), name)


def test_anyllm_types_completion_path() -> None:
    # The names any-llm's batch tests import from any_llm.types.completion (tests/unit/
    # providers/test_*_batch*.py at mozilla-ai/any-llm f9499232), built with any-llm's
    # arguments.
    from any_llm.types.completion import (
        ChatCompletion,
        ChatCompletionMessage,
        Choice,
        CompletionUsage,
    )

    completion = ChatCompletion(
        id="chatcmpl-1",
        created=1700000000,
        model="gpt-4",
        object="chat.completion",
        choices=[
            Choice(
                index=0,
                finish_reason="stop",
                message=ChatCompletionMessage(role="assistant", content="hi"),
            )
        ],
        usage=CompletionUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2),
    )
    assert completion.choices[0].message.content == "hi"
