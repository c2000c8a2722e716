"""Provider registry: each provider's static facts (base URL, key variable, limits)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from any_llm._jsonl import InputLimits, InputSummary
from any_llm.errors import InvalidArgumentError
from any_llm.types import Batch, LLMProvider

if TYPE_CHECKING:
    from .openai import OpenAIProtocol

IDEMPOTENCY_KEY = "any_llm_idempotency_key"
"""Stamped into each new batch (metadata, display name, ...) so that a retried create can find
what its first, ambiguous attempt made."""
IDEMPOTENCY_PAGES = 3
"""Pages of the newest batches searched for that key before a create is retried."""


def unstamp(record: dict[str, Any]) -> dict[str, Any]:
    """A Batch record (the dict the converter structures) with the idempotency key moved from
    its ``metadata`` to ``idempotency_key``, so that the metadata is what the user wrote.

    Metadata that held only the key becomes None, as for a batch created without metadata
    (any_llm sends the key alone then). A key already in ``idempotency_key`` wins.
    """
    metadata = record.get("metadata")
    if not isinstance(metadata, dict) or IDEMPOTENCY_KEY not in metadata:
        return record
    out = dict(record)
    rest = {k: v for k, v in metadata.items() if k != IDEMPOTENCY_KEY}
    out["metadata"] = rest or None
    if out.get("idempotency_key") is None:
        out["idempotency_key"] = metadata[IDEMPOTENCY_KEY]
    return out


def marked_filename(name: str, idempotency_key: str) -> str:
    """The upload's filename, marked with the create call's key (``requests.<key>.jsonl``), so
    that an upload whose answer was lost can be found and deleted (providers' files carry no
    metadata, only a name)."""
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else name
    return f"{stem}.{idempotency_key}.jsonl"


def has_marker(filename: object, idempotency_key: str) -> bool:
    """True when ``filename`` was made by ``marked_filename`` with ``idempotency_key``."""
    return isinstance(filename, str) and filename.endswith(f".{idempotency_key}.jsonl")


def oldest_first(batches: Iterable[Batch]) -> tuple[Batch, ...]:
    """``batches`` by creation time, oldest first (ties by id)."""
    return tuple(sorted(batches, key=lambda b: (b.created_at, b.id)))


@attrs.frozen(kw_only=True)
class CreateLookup:
    """What a search for the batches of one create call found (``afind_created``)."""

    ours: tuple[Batch, ...] = ()
    """Batches shown to be made by that call (they carry its key), oldest first."""
    candidates: tuple[Batch, ...] = ()
    """Batches that may be its batch but cannot be shown to be (Anthropic's carry no key):
    never returned as the call's batch, only named to the user."""

    def __bool__(self) -> bool:
        return bool(self.ours or self.candidates)


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
    resolve_api_base: Callable[[str, str | None], str] | None = None
    """``(api_base, client_args['api_version'])`` → the base URL of the batch routes, with
    any query every request must carry (Azure's ``?api-version=``); it raises
    ConfigurationError for a combination it cannot serve. None: ``api_base`` is used as given
    and ``api_version`` is refused."""
    completion_window_range: WindowRange | None = None
    """Durations accepted as ``completion_window`` besides ``completion_windows`` (Groq)."""
    openai_protocol: OpenAIProtocol | None = None
    """Set for the providers that speak OpenAI's Files + Batches protocol: how theirs differs.
    The OpenAI adapter serves every one of them."""

    @property
    def sends_input_as_is(self) -> bool:
        """The input file is uploaded unchanged (OpenAI's protocol), so it can be checked
        while it is read for sending instead of in a pass of its own before."""
        return self.openai_protocol is not None

    def check_completion_window(self, window: str) -> None:
        """Raise InvalidArgumentError (a ConfigurationError) unless the provider accepts
        ``window``."""
        if window in self.completion_windows:
            return
        rule = self.completion_window_range
        if rule is not None and rule.accepts(window):
            return
        allowed = ", ".join(sorted(self.completion_windows))
        if rule is not None:
            allowed = f"{allowed}, or {rule}"
        raise InvalidArgumentError(
            f"{self.provider.value}: completion_window {window!r} is not accepted; "
            f"use one of: {allowed}"
        )


_DURATION = re.compile(r"([1-9][0-9]{0,3})([hd])")


@attrs.frozen
class WindowRange:
    """``completion_window`` durations written ``<N>h`` or ``<N>d``, from ``min_hours`` to
    ``max_hours`` inclusive."""

    min_hours: int
    max_hours: int

    def hours(self, window: str) -> int | None:
        """The hours ``window`` stands for, or None if it is not ``<N>h`` / ``<N>d``."""
        match = _DURATION.fullmatch(window) if isinstance(window, str) else None
        if match is None:
            return None
        return int(match.group(1)) * (24 if match.group(2) == "d" else 1)

    def accepts(self, window: str) -> bool:
        """True when ``window`` is a duration within the range."""
        hours = self.hours(window)
        return hours is not None and self.min_hours <= hours <= self.max_hours

    def __str__(self) -> str:
        def spell(hours: int) -> str:
            return f"{hours // 24}d" if hours % 24 == 0 and hours > 24 else f"{hours}h"

        return (
            f"a duration from {spell(self.min_hours)} to {spell(self.max_hours)} written "
            "<N>h or <N>d"
        )


@attrs.frozen(kw_only=True)
class InputRef:
    """A validated input file made ready for a create request: uploaded (``file_id``) and/or
    staged as a translated local file (``staged_path``, removed once the create is done)."""

    summary: InputSummary
    file_id: str | None = None
    staged_path: Path | None = None
    newest_batch: Batch | None = None
    """The provider's newest batch before the create, for providers whose batches cannot carry
    the idempotency key (Anthropic): ``afind_created`` then looks only at newer ones."""


_SPECS: dict[LLMProvider, ProviderSpec] = {}


def get_spec(provider: str | LLMProvider) -> ProviderSpec:
    """The spec of ``provider`` (a name is trimmed and matched case-insensitively).

    A provider known to any-llm that runs no batches here raises BatchNotSupportedError (also
    a NotImplementedError); any other unknown name raises UnsupportedProviderError.
    """
    try:
        key = LLMProvider(provider.strip().lower() if isinstance(provider, str) else provider)
    except ValueError:
        from any_llm._catalog import unsupported_provider

        raise unsupported_provider(provider) from None
    spec = _SPECS.get(key)
    if spec is None:
        # Each provider's module is imported on first use only.
        module = importlib.import_module(f"{__name__}.{key.value}")
        spec = _SPECS[key] = module.SPEC
    return spec
