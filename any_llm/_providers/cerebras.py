"""Cerebras (private preview): OpenAI's Files + Batches protocol.

Ground truth: shared/providers/cerebras.md (Cerebras docs; the public SDK has no batches
resource yet). Served by the OpenAI adapter; its ``queued`` status and string ``errors`` are
read by the shared parser (``any_llm._providers.openai``). This module holds the base URL, the
key variable and the limits, including the minimum of 10 requests per batch.
"""

from __future__ import annotations

from any_llm._jsonl import InputLimits
from any_llm.types import LLMProvider

from . import ProviderSpec
from .openai import OpenAIProtocol, auth_headers

PROVIDER = "cerebras"

SPEC = ProviderSpec(
    provider=LLMProvider.CEREBRAS,
    default_api_base="https://api.cerebras.ai/v1",
    api_key_env="CEREBRAS_API_KEY",
    # 10 to 50,000 requests, 200 MB (decimal) per file. Whether one model per file is required
    # is not documented: not enforced.
    limits=InputLimits(
        max_requests=50_000,
        min_requests=10,
        max_file_bytes=200_000_000,
        endpoints=frozenset({"/v1/chat/completions"}),
    ),
    completion_windows=frozenset({"24h"}),
    auth_headers=auth_headers,
    metadata_max_pairs=15,  # limits unpublished: OpenAI's 16, one of them the idempotency key
    openai_protocol=OpenAIProtocol(),
)
