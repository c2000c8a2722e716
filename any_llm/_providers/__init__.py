"""Provider registry: each provider's static facts (base URL, key variable, limits)."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from any_llm._jsonl import InputLimits
from any_llm.errors import UnsupportedProviderError
from any_llm.types import LLMProvider


@attrs.frozen(kw_only=True)
class ProviderSpec:
    """What any_llm needs to know about a provider before talking to it."""

    provider: LLMProvider
    default_api_base: str
    api_key_env: str
    limits: InputLimits
    completion_windows: frozenset[str]
    auth_headers: Callable[[str], dict[str, str]]
    metadata_max_pairs: int


def _specs() -> dict[LLMProvider, ProviderSpec]:
    from . import openai

    return {LLMProvider.OPENAI: openai.SPEC}


_SPECS: dict[LLMProvider, ProviderSpec] | None = None


def get_spec(provider: str | LLMProvider) -> ProviderSpec:
    """The spec of ``provider``; an unknown name raises UnsupportedProviderError."""
    global _SPECS
    if _SPECS is None:
        _SPECS = _specs()
    try:
        key = LLMProvider(provider.lower() if isinstance(provider, str) else provider)
    except ValueError:
        supported = ", ".join(p.value for p in LLMProvider)
        raise UnsupportedProviderError(
            f"unknown provider {provider!r}; supported providers: {supported}"
        ) from None
    return _SPECS[key]
