"""One adapter per provider protocol; ``make_adapter`` picks it from the provider spec."""

from __future__ import annotations

from any_llm._providers import ProviderSpec
from any_llm.types import LLMProvider

from ..http import AsyncHTTPClient
from .base import AsyncBatchAdapter


def make_adapter(spec: ProviderSpec, http: AsyncHTTPClient) -> AsyncBatchAdapter:
    """The adapter speaking ``spec.provider``'s batch protocol over ``http`` (each adapter's
    module is imported on first use)."""
    if spec.openai_protocol is not None:  # OpenAI and the providers speaking its protocol
        from .openai import AsyncOpenAIAdapter

        return AsyncOpenAIAdapter(http, spec.openai_protocol)
    if spec.provider is LLMProvider.MISTRAL:
        from .mistral import AsyncMistralAdapter

        return AsyncMistralAdapter(http)
    if spec.provider is LLMProvider.ANTHROPIC:
        from .anthropic import AsyncAnthropicAdapter

        return AsyncAnthropicAdapter(http)
    if spec.provider is LLMProvider.GEMINI:
        from .gemini import AsyncGeminiAdapter

        return AsyncGeminiAdapter(http)
    if spec.provider is LLMProvider.TOGETHER:
        from .together import AsyncTogetherAdapter

        return AsyncTogetherAdapter(http)
    raise AssertionError(f"no adapter for {spec.provider}")
