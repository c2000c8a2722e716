"""Groq: OpenAI's Files + Batches protocol under ``/openai/v1``, longer completion windows.

Ground truth: shared/providers/groq.md. Served by the OpenAI adapter; this module holds what
differs: the path, the ``24h``..``7d`` windows, the unpaged list, the limits.
"""

from __future__ import annotations

from any_llm._jsonl import InputLimits
from any_llm.errors import ConfigurationError
from any_llm.types import LLMProvider

from . import ProviderSpec, WindowRange
from .openai import OpenAIProtocol, auth_headers

PROVIDER = "groq"
API_PATH = "/openai/v1"


def resolve_api_base(api_base: str, api_version: str | None) -> str:
    """Both spellings reach the batch routes: the OpenAI client's
    ``https://api.groq.com/openai/v1`` as is, and the Groq SDK's host-only
    ``https://api.groq.com`` (its ``GROQ_BASE_URL``) with ``/openai/v1`` added."""
    if api_version is not None:
        raise ConfigurationError(
            f"{PROVIDER}: client_args['api_version'] is not used by this provider "
            "(azureopenai only)"
        )
    base = api_base.rstrip("/")
    return base if base.endswith(API_PATH) else base + API_PATH


SPEC = ProviderSpec(
    provider=LLMProvider.GROQ,
    default_api_base="https://api.groq.com/openai/v1",
    api_key_env="GROQ_API_KEY",
    api_base_env="GROQ_BASE_URL",
    limits=InputLimits(
        # Requests per batch are unverified; 50,000 (the commonly quoted figure, OpenAI's) is
        # enforced. Files up to 100 MB (SDK docstring). The SDK's endpoint literal is chat only.
        # Whether Groq needs one model per file is unverified: not enforced here.
        max_requests=50_000,
        max_file_bytes=100_000_000,
        endpoints=frozenset({"/v1/chat/completions"}),
    ),
    completion_windows=frozenset({"24h"}),
    # Any duration from 24h to 7d (SDK >= 0.23); only the Nh / Nd spellings are accepted, the
    # exact grammar beyond them being unverified.
    completion_window_range=WindowRange(24, 7 * 24),
    auth_headers=auth_headers,
    metadata_max_pairs=15,  # no published limit: OpenAI's 16, one of them the idempotency key
    resolve_api_base=resolve_api_base,
    openai_protocol=OpenAIProtocol(paged_list=False),
)
