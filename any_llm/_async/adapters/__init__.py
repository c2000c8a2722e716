"""One adapter per provider protocol; ``make_adapter`` picks it from the provider spec."""

from __future__ import annotations

from any_llm._providers import ProviderSpec
from any_llm.types import LLMProvider

from ..http import AsyncHTTPClient
from .openai import AsyncOpenAIAdapter


def make_adapter(spec: ProviderSpec, http: AsyncHTTPClient) -> AsyncOpenAIAdapter:
    """The adapter speaking ``spec.provider``'s batch protocol over ``http``."""
    if spec.provider is LLMProvider.OPENAI:
        return AsyncOpenAIAdapter(http)
    raise AssertionError(f"no adapter for {spec.provider}")
