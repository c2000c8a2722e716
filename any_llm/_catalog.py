"""Provider listing and metadata, as any-llm's ``AnyLLM`` classmethods offer them, answered
from our provider registry (``any_llm._providers``). Shared by both twins; ``AnyLLM`` only
delegates here."""

from __future__ import annotations

import warnings

import attrs

from any_llm._providers import get_spec
from any_llm.errors import BatchNotSupportedError, UnsupportedProviderError
from any_llm.types import LLMProvider

# Provider names any-llm (mozilla-ai/any-llm at HEAD: src/any_llm/constants.py LLMProvider and
# src/any_llm/providers/registry.py PROVIDER_REGISTRY) knows and we do not serve, split by
# that provider's SUPPORTS_BATCH there. Either way a batch call on one of them raises
# BatchNotSupportedError (a NotImplementedError) before anything is sent.
NO_BATCH_API = frozenset(
    {
        "atlascloud",
        "azure",
        "cascadia",
        "cohere",
        "databricks",
        "deepinfra",
        "deepseek",
        "edenai",
        "fireworks",
        "github",
        "gmi",
        "huggingface",
        "inception",
        "kenari",
        "llama",
        "llamacpp",
        "llamafile",
        "lmstudio",
        "meta",
        "minimax",
        "mzai",
        "ollama",
        "openrouter",
        "ovhcloud",
        "perplexity",
        "portkey",
        "qiniu",
        "requesty",
        "sagemaker",
        "sambanova",
        "telnyx",
        "vllm",
        "voyage",
        "watsonx",
        "xai",
        "zai",
    }
)
"""any-llm knows them and runs no batches on them (SUPPORTS_BATCH False)."""
NOT_SERVED = frozenset(
    {"azureanthropic", "bedrock", "neosantara", "otari", "vertexai", "vertexaianthropic"}
)
"""any-llm runs batches on them; this package does not (yet)."""

SUPPORTS_BATCH = True
"""Every provider this package serves runs batches (any-llm's ``AnyLLM.SUPPORTS_BATCH``)."""


@attrs.frozen(kw_only=True)
class ProviderMetadata:
    """What any-llm's ``get_provider_metadata()`` reports, as far as it concerns batches."""

    name: str
    env_key: str
    """The environment variable the API key is read from."""
    env_api_base: str | None
    """The environment variable the base URL is read from, if the provider has one."""
    api_base: str
    """The default base URL of the batch routes."""
    batch_completion: bool = True
    class_name: str = "AnyLLM"


def get_supported_providers() -> list[str]:
    """The names of the providers this package runs batches on."""
    return [provider.value for provider in LLMProvider]


def get_provider_enum(provider_key: str | LLMProvider) -> LLMProvider:
    """The ``LLMProvider`` for a name (trimmed, case-insensitive); else the error ``get_spec``
    raises for it (BatchNotSupportedError for a known provider without batches here)."""
    return get_spec(provider_key).provider


def provider_metadata(provider: str | LLMProvider) -> ProviderMetadata:
    """The metadata of one provider."""
    spec = get_spec(provider)
    return ProviderMetadata(
        name=spec.provider.value,
        env_key=spec.api_key_env,
        env_api_base=spec.api_base_env,
        api_base=spec.default_api_base,
    )


def get_all_provider_metadata() -> list[ProviderMetadata]:
    """The metadata of every provider served, sorted by name."""
    return sorted(
        (provider_metadata(name) for name in get_supported_providers()), key=lambda m: m.name
    )


def split_model_provider(model: str) -> tuple[LLMProvider, str]:
    """``"provider:model"`` (or the deprecated ``"provider/model"``) → ``(provider, model)``.

    The provider part is resolved as ``get_provider_enum`` does; a string without either
    separator, or with an empty side, is a ValueError (as in any-llm).
    """
    colon, slash = model.find(":"), model.find("/")
    if colon != -1 and (slash == -1 or colon < slash):
        provider, name = model.split(":", 1)
    elif slash != -1:
        warnings.warn(
            f"the 'provider/model' form is deprecated; write 'provider:model' (got {model!r})",
            DeprecationWarning,
            stacklevel=2,
        )
        provider, name = model.split("/", 1)
    else:
        raise ValueError(f"expected 'provider:model', got {model!r}")
    if not provider or not name:
        raise ValueError(f"expected 'provider:model', got {model!r}")
    return get_provider_enum(provider), name


def unsupported_provider(provider: object) -> UnsupportedProviderError:
    """The error for a provider name that is not one of ours (``get_spec`` raises it)."""
    supported = get_supported_providers()
    listed = ", ".join(supported)
    key = provider.strip().lower() if isinstance(provider, str) else ""
    if key in NO_BATCH_API:
        return BatchNotSupportedError(
            f"{key}: this provider has no batch API (any-llm's SUPPORTS_BATCH is False for it "
            f"too); providers that run batches: {listed}",
            provider_key=str(provider),
            supported_providers=supported,
        )
    if key in NOT_SERVED:
        return BatchNotSupportedError(
            f"{key}: any_llm does not run batches on this provider; providers that do: {listed}",
            provider_key=str(provider),
            supported_providers=supported,
        )
    return UnsupportedProviderError(
        f"unknown provider {provider!r}; supported providers: {listed}",
        provider_key=str(provider),
        supported_providers=supported,
    )
