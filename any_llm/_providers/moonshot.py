"""Moonshot AI (Kimi): OpenAI's Files + Batches protocol.

Ground truth: shared/providers/moonshot.md (Kimi platform docs; no SDK source). Served by the
OpenAI adapter unchanged (its list has ``has_more`` but no ``last_id``: the cursor is the last
batch's id); this module holds the base URL, the key variable and the limits.
"""

from __future__ import annotations

from any_llm._jsonl import InputLimits
from any_llm.types import LLMProvider

from . import ProviderSpec
from .openai import OpenAIProtocol, auth_headers

PROVIDER = "moonshot"

SPEC = ProviderSpec(
    provider=LLMProvider.MOONSHOT,
    # Global; China: https://api.moonshot.cn/v1
    default_api_base="https://api.moonshot.ai/v1",
    api_key_env="MOONSHOT_API_KEY",
    # 100 MB per file, one model per file. No request count is documented: OpenAI's 50,000 is
    # enforced (unverified).
    limits=InputLimits(
        max_requests=50_000,
        max_file_bytes=100_000_000,
        endpoints=frozenset({"/v1/chat/completions"}),
        single_model=True,
    ),
    # Windows from 12h to 7d appear only in a third-party copy of the docs (unverified).
    completion_windows=frozenset({"24h"}),
    auth_headers=auth_headers,
    metadata_max_pairs=15,  # 16 documented, one of them the idempotency key
    openai_protocol=OpenAIProtocol(),
)
