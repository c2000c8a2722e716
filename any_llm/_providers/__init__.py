"""Provider registry: each provider's static facts (base URL, key variable, limits)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import attrs

from any_llm._jsonl import InputLimits, InputSummary
from any_llm.errors import UnsupportedProviderError
from any_llm.types import LLMProvider

IDEMPOTENCY_KEY = "any_llm_idempotency_key"
"""Stamped into each new batch (metadata, display name, ...) so that a retried create can find
what its first, ambiguous attempt made."""
IDEMPOTENCY_PAGES = 3
"""Pages of the newest batches searched for that key before a create is retried."""


@attrs.frozen(kw_only=True)
class ProviderSpec:
    """What any_llm needs to know about a provider before talking to it."""

    provider: LLMProvider
    default_api_base: str
    api_key_env: str
    limits: InputLimits
    """Checked, with ``limits.translate``, in the validating pass before any request."""
    completion_windows: frozenset[str]
    auth_headers: Callable[[str], dict[str, str]]
    metadata_max_pairs: int
    """How many metadata pairs the caller may pass (the idempotency key may take one more)."""
    api_base_env: str | None = None
    """The environment variable the provider's official SDK reads its base URL from."""


@attrs.frozen(kw_only=True)
class InputRef:
    """A validated input file made ready for a create request: uploaded (``file_id``) and/or
    staged as a translated local file (``staged_path``, removed once the create is done)."""

    summary: InputSummary
    file_id: str | None = None
    staged_path: Path | None = None


_SPECS: dict[LLMProvider, ProviderSpec] = {}


def get_spec(provider: str | LLMProvider) -> ProviderSpec:
    """The spec of ``provider``; an unknown name raises UnsupportedProviderError."""
    try:
        key = LLMProvider(provider.lower() if isinstance(provider, str) else provider)
    except ValueError:
        supported = ", ".join(p.value for p in LLMProvider)
        raise UnsupportedProviderError(
            f"unknown provider {provider!r}; supported providers: {supported}"
        ) from None
    spec = _SPECS.get(key)
    if spec is None:
        # Each provider's module is imported on first use only.
        module = importlib.import_module(f"{__name__}.{key.value}")
        spec = _SPECS[key] = module.SPEC
    return spec
