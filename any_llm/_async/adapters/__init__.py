"""One adapter per provider protocol; ``make_adapter`` picks it from the provider spec."""

from __future__ import annotations

from any_llm._providers import ProviderSpec
from any_llm.types import LLMProvider

from ..http import AsyncHTTPClient
from .base import AsyncBatchAdapter


def make_adapter(spec: ProviderSpec, http: AsyncHTTPClient) -> AsyncBatchAdapter:
    """The adapter speaking ``spec.provider``'s batch protocol over ``http`` (each adapter's
    module is imported on first use)."""
    if spec.provider is LLMProvider.OPENAI:
        from .openai import AsyncOpenAIAdapter

        return AsyncOpenAIAdapter(http)
    raise AssertionError(f"no adapter for {spec.provider}")
