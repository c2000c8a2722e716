"""One adapter per provider protocol; ``make_adapter`` picks it from the provider spec."""

from __future__ import annotations

from any_llm._providers import ProviderSpec
from any_llm.types import LLMProvider

from ..http import AsyncHTTPClient
from .base import AsyncBatchAdapter
from .openai import AsyncOpenAIAdapter

_ADAPTERS: dict[LLMProvider, type[AsyncOpenAIAdapter]] = {
    LLMProvider.OPENAI: AsyncOpenAIAdapter,
}


def make_adapter(spec: ProviderSpec, http: AsyncHTTPClient) -> AsyncBatchAdapter:
    """The adapter speaking ``spec.provider``'s batch protocol over ``http``."""
    return _ADAPTERS[spec.provider](http)
