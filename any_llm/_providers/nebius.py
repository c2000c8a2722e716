"""Nebius Token Factory (formerly AI Studio): OpenAI's Files + Batches protocol.

Ground truth: shared/providers/nebius.md (Nebius docs; no SDK source). Served by the OpenAI
adapter unchanged (``override_settings`` passes through the create's extra keyword
arguments); this module holds the base URL, the key variable and the far larger limits.
"""

from __future__ import annotations

from any_llm._jsonl import InputLimits
from any_llm.types import LLMProvider

from . import ProviderSpec
from .openai import OpenAIProtocol, auth_headers

PROVIDER = "nebius"

SPEC = ProviderSpec(
    provider=LLMProvider.NEBIUS,
    # Older docs: https://api.studio.nebius.com/v1
    default_api_base="https://api.tokenfactory.nebius.com/v1",
    api_key_env="NEBIUS_API_KEY",
    # 5,000,000 requests and 10 GB (decimal) per file; one model per file.
    limits=InputLimits(
        max_requests=5_000_000,
        max_file_bytes=10_000_000_000,
        endpoints=frozenset({"/v1/chat/completions", "/v1/embeddings"}),
        single_model=True,
    ),
    completion_windows=frozenset({"24h"}),
    auth_headers=auth_headers,
    metadata_max_pairs=15,  # limits unpublished: OpenAI's 16, one of them the idempotency key
    openai_protocol=OpenAIProtocol(),
)
