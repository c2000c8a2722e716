"""Alibaba Cloud Model Studio (DashScope): OpenAI's Files + Batches protocol, compatible mode.

Ground truth: shared/providers/dashscope.md (Alibaba's docs; no SDK source). Served by the
OpenAI adapter unchanged; this module holds the base URL, the key variable and the limits.
"""

from __future__ import annotations

from any_llm._jsonl import InputLimits
from any_llm.types import LLMProvider

from . import ProviderSpec
from .openai import OpenAIProtocol, auth_headers

PROVIDER = "dashscope"

ENDPOINTS = frozenset({"/v1/chat/completions", "/v1/embeddings", "/v1/chat/ds-test"})
"""``/v1/chat/ds-test`` is the url of DashScope's free test model ``batch-test-model`` (at most
1 MB and 100 lines, checked by the service)."""

SPEC = ProviderSpec(
    provider=LLMProvider.DASHSCOPE,
    # International (Singapore); mainland China: https://dashscope.aliyuncs.com/compatible-mode/v1
    default_api_base="https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    api_key_env="DASHSCOPE_API_KEY",
    # 50,000 requests and 100 MB per file (older doc; newer limits unverified); one model.
    limits=InputLimits(
        max_requests=50_000, max_file_bytes=100_000_000, endpoints=ENDPOINTS, single_model=True
    ),
    # Older doc: 24h only; longer windows are mentioned without values (unverified).
    completion_windows=frozenset({"24h"}),
    auth_headers=auth_headers,
    metadata_max_pairs=15,  # limits unpublished: OpenAI's 16, one of them the idempotency key
    openai_protocol=OpenAIProtocol(),
)
