"""The errors an any-llm user catches, raised by real calls to the emulator (issue 12, item 3),
and provider names as any-llm accepts them (item 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

import any_llm.exceptions as anyllm_exceptions
from any_llm import AnyLLM, acreate_batch, aretrieve_batch, aretrieve_batch_results
from any_llm.emulator import Emulator, Fault
from any_llm.errors import (
    AnyLLMError,
    BatchError,
    ConfigurationError,
    PermissionDeniedError,
    UnsupportedProviderError,
)
from any_llm.types import BatchStatus
from tests.helpers import CHAT, KEY, client_args, write_requests


async def test_results_of_a_running_batch_raise_batch_not_complete(
    slow_emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    base = f"{slow_emu.url}/v1"
    args = client_args()
    async with AnyLLM.create("openai", api_key=KEY, api_base=base, client_args=args) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        with pytest.raises(anyllm_exceptions.BatchNotCompleteError) as info:
            await llm.aretrieve_batch_results(batch.id)
    error = info.value
    assert error.batch_id == batch.id
    assert error.batch_status == "validating"
    assert error.provider == "openai"
    assert error.provider_name == "openai"
    assert error.batch is not None and error.batch.status is BatchStatus.VALIDATING
    # Code that catches ours still catches it.
    assert isinstance(error, BatchError) and isinstance(error, AnyLLMError)
    assert "poll_batch" in str(error)

    with pytest.raises(anyllm_exceptions.BatchNotCompleteError, match="still validating"):
        await aretrieve_batch_results("openai", batch.id, api_key=KEY, api_base=base)


@pytest.mark.parametrize("provider", ["deepseek", "xai", "openrouter", " DeepSeek ", "bedrock"])
async def test_a_known_provider_without_batches_raises_not_implemented(
    tmp_path: Path, provider: str
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    with pytest.raises(NotImplementedError) as info:
        await acreate_batch(provider, path, CHAT, api_key=KEY, api_base="http://127.0.0.1:9")
    error = info.value
    assert isinstance(error, UnsupportedProviderError) and isinstance(error, AnyLLMError)
    assert error.provider_key == provider
    assert "openai" in error.supported_providers
    assert "openai" in str(error) and provider.strip().lower() in str(error)
    with pytest.raises(NotImplementedError):
        AnyLLM.create(provider, api_key=KEY)


async def test_an_unknown_provider_is_not_a_not_implemented_error() -> None:
    with pytest.raises(anyllm_exceptions.UnsupportedProviderError) as info:
        AnyLLM.create("no-such-provider", api_key=KEY)
    assert not isinstance(info.value, NotImplementedError)
    assert info.value.provider_key == "no-such-provider"


async def test_a_missing_key_raises_missing_api_key_error(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    with pytest.raises(anyllm_exceptions.MissingApiKeyError) as info:
        AnyLLM.create("openai", api_base=f"{emu.url}/v1")
    assert info.value.provider_name == "openai"
    assert info.value.env_var_name == "OPENAI_API_KEY"
    assert isinstance(info.value, ConfigurationError)
    assert "OPENAI_API_KEY" in str(info.value)

    with pytest.raises(anyllm_exceptions.MissingApiKeyError) as info:
        await aretrieve_batch("mistral", "job-1", api_base=f"{emu.url}/v1")
    assert info.value.env_var_name == "MISTRAL_API_KEY"


async def test_provider_names_are_trimmed_and_case_insensitive(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    base = f"{emu.url}/v1"
    async with AnyLLM.create(
        " OpenAI ", api_key=KEY, api_base=base, client_args=client_args()
    ) as llm:
        assert llm.provider == "openai"
        batch = await llm.acreate_batch(path, CHAT)
    again = await aretrieve_batch("\topenai\n", batch.id, api_key=KEY, api_base=base)
    assert again.id == batch.id and again.provider == "openai"


@pytest.mark.parametrize(
    ("status", "caught_as"),
    [
        (401, "AuthenticationError"),
        (403, "AuthenticationError"),
        (400, "InvalidRequestError"),
        (422, "InvalidRequestError"),
        (404, "ModelNotFoundError"),
        (429, "RateLimitError"),
        (402, "InsufficientFundsError"),
        (500, "ProviderError"),
        (502, "UpstreamProviderError"),
        (504, "GatewayTimeoutError"),
    ],
)
async def test_http_errors_are_caught_by_anyllm_names(
    emu: Emulator, status: int, caught_as: str
) -> None:
    emu.add_fault(Fault(method="GET", path="/v1/batches/*", status=status))
    expected: type[BaseException] = getattr(anyllm_exceptions, caught_as)
    with pytest.raises(expected) as info:
        await aretrieve_batch(
            "openai",
            "batch_abc",
            api_key=KEY,
            api_base=f"{emu.url}/v1",
            client_args=client_args(max_retries=0),
        )
    error = info.value
    assert isinstance(error, anyllm_exceptions.AnyLLMError)
    assert error.status_code == status
    assert error.provider_name == "openai"
    assert error.message == str(error)
    if status == 403:
        assert isinstance(error, PermissionDeniedError)
    if status == 429:
        assert error.code == "rate_limit_exceeded" and error.error_type == "requests"
    if status == 400:
        assert error.error_type == "invalid_request_error"
    if status >= 500:
        assert isinstance(error, anyllm_exceptions.ProviderError)


async def test_a_connection_error_is_a_provider_error(emu: Emulator) -> None:
    emu.add_fault(Fault(method="GET", path="/v1/batches/*", kind="reset"))
    with pytest.raises(anyllm_exceptions.ProviderError) as info:
        await aretrieve_batch(
            "openai",
            "batch_abc",
            api_key=KEY,
            api_base=f"{emu.url}/v1",
            client_args=client_args(max_retries=0),
        )
    assert info.value.status_code is None
    assert info.value.provider_name == "openai"


async def test_bad_arguments_refused_before_sending_are_invalid_request_errors(
    emu: Emulator, tmp_path: Path
) -> None:
    base = f"{emu.url}/v1"
    with pytest.raises(anyllm_exceptions.InvalidRequestError, match="batch_id") as info:
        await aretrieve_batch("openai", "../files", api_key=KEY, api_base=base)
    assert isinstance(info.value, ConfigurationError)
    assert info.value.status_code is None
    path = tmp_path / "requests.jsonl"
    path.write_text("not json\n")
    with pytest.raises(anyllm_exceptions.InvalidRequestError) as raised:
        await acreate_batch("openai", path, CHAT, api_key=KEY, api_base=base)
    assert isinstance(raised.value, anyllm_exceptions.InputFileError)
    write_requests(path, 2)
    with pytest.raises(anyllm_exceptions.InvalidRequestError, match="completion_window"):
        await acreate_batch(
            "openai", path, CHAT, completion_window="1h", api_key=KEY, api_base=base
        )
    assert emu.requests() == []
