"""The module-level batch functions: each opens a client, makes the call and closes it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from any_llm.types import Batch, BatchPage, BatchResult, BatchResultItem, LLMProvider

from .client import AsyncAnyLLM


async def acreate_batch(
    provider: str | LLMProvider,
    input_file_path: str | os.PathLike[str],
    endpoint: str,
    *,
    completion_window: str = "24h",
    metadata: dict[str, str] | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    client_args: Mapping[str, Any] | None = None,
    on_upload_progress: Callable[[int], None] | None = None,
    idempotency_key: str | None = None,
    **kwargs: Any,
) -> Batch:
    """Create a batch job from a JSONL file of requests.

    Args:
        provider: Provider name (``"openai"``) or ``LLMProvider`` member.
        input_file_path: Path to the JSONL file, one request per line in OpenAI's batch format.
        endpoint: The endpoint every line targets, e.g. ``"/v1/chat/completions"``.
        completion_window: How long the provider may take (``"24h"``).
        metadata: Key/value strings stored on the batch.
        api_key: The key; defaults to the provider's environment variable.
        api_base: The provider's base URL, as its official SDK spells it.
        client_args: Client settings (timeout, max_retries, retry, default_headers, ...).
        on_upload_progress: Told the size of every chunk sent from disk (for a progress bar).
        idempotency_key: The key stamped on the batch (1 to 64 letters, digits, ``_``, ``-``;
            random when None). A batch that already carries it is returned instead of
            creating another.
        **kwargs: Extra fields sent in the create request; the openai SDK's per-request
            options ``timeout``, ``extra_headers``, ``extra_query`` apply to every request of
            the call, and ``extra_body``'s fields are merged into the create body.

    Returns:
        The created batch.
    """
    async with AsyncAnyLLM.create(
        provider, api_key=api_key, api_base=api_base, client_args=client_args
    ) as llm:
        return await llm.acreate_batch(
            input_file_path,
            endpoint,
            completion_window=completion_window,
            metadata=metadata,
            on_upload_progress=on_upload_progress,
            idempotency_key=idempotency_key,
            **kwargs,
        )


async def aretrieve_batch(
    provider: str | LLMProvider,
    batch_id: str,
    *,
    api_key: str | None = None,
    api_base: str | None = None,
    client_args: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Batch:
    """Retrieve a batch's current state. ``kwargs``: the openai SDK's per-request options
    ``timeout``, ``extra_headers`` and ``extra_query`` (anything else is refused)."""
    async with AsyncAnyLLM.create(
        provider, api_key=api_key, api_base=api_base, client_args=client_args
    ) as llm:
        return await llm.aretrieve_batch(batch_id, **kwargs)


async def afind_batch(
    provider: str | LLMProvider,
    idempotency_key: str,
    *,
    api_key: str | None = None,
    api_base: str | None = None,
    client_args: Mapping[str, Any] | None = None,
) -> Batch | None:
    """The batch created with ``idempotency_key`` (the key a BatchMayExistError carries), or
    None when the provider lists none."""
    async with AsyncAnyLLM.create(
        provider, api_key=api_key, api_base=api_base, client_args=client_args
    ) as llm:
        return await llm.afind_batch(idempotency_key)


async def acancel_batch(
    provider: str | LLMProvider,
    batch_id: str,
    *,
    api_key: str | None = None,
    api_base: str | None = None,
    client_args: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Batch:
    """Cancel a batch; results produced before the cancel stay reachable."""
    async with AsyncAnyLLM.create(
        provider, api_key=api_key, api_base=api_base, client_args=client_args
    ) as llm:
        return await llm.acancel_batch(batch_id, **kwargs)


async def alist_batches(
    provider: str | LLMProvider,
    *,
    after: str | None = None,
    limit: int | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    client_args: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> BatchPage:
    """One page of batches, newest first: a sequence with ``has_more`` and ``next_cursor``."""
    async with AsyncAnyLLM.create(
        provider, api_key=api_key, api_base=api_base, client_args=client_args
    ) as llm:
        return await llm.alist_batches(after=after, limit=limit, **kwargs)


async def aiter_batches(
    provider: str | LLMProvider,
    *,
    limit: int | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    client_args: Mapping[str, Any] | None = None,
) -> AsyncIterator[Batch]:
    """Every batch of the account, fetching page after page (``limit`` is the page size)."""
    async with AsyncAnyLLM.create(
        provider, api_key=api_key, api_base=api_base, client_args=client_args
    ) as llm:
        async for batch in llm.aiter_batches(limit=limit):
            yield batch


async def apoll_batch(
    provider: str | LLMProvider,
    batch_id: str,
    *,
    timeout: float | None = None,
    on_progress: Callable[[Batch], None] | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    client_args: Mapping[str, Any] | None = None,
) -> Batch:
    """Wait for a batch to end (see ``AnyLLM.poll_batch``)."""
    async with AsyncAnyLLM.create(
        provider, api_key=api_key, api_base=api_base, client_args=client_args
    ) as llm:
        return await llm.apoll_batch(batch_id, timeout=timeout, on_progress=on_progress)


async def aiter_batch_results(
    provider: str | LLMProvider,
    batch_id: str,
    *,
    input_file_path: str | os.PathLike[str] | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    client_args: Mapping[str, Any] | None = None,
) -> AsyncIterator[BatchResultItem]:
    """Stream one result item per input request of an ended batch, in constant memory."""
    async with AsyncAnyLLM.create(
        provider, api_key=api_key, api_base=api_base, client_args=client_args
    ) as llm:
        async for item in llm.aiter_batch_results(batch_id, input_file_path=input_file_path):
            yield item


async def aretrieve_batch_results(
    provider: str | LLMProvider,
    batch_id: str,
    *,
    input_file_path: str | os.PathLike[str] | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    client_args: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> BatchResult:
    """Every result of an ended batch: one item per input custom_id, output and errors merged."""
    async with AsyncAnyLLM.create(
        provider, api_key=api_key, api_base=api_base, client_args=client_args
    ) as llm:
        return await llm.aretrieve_batch_results(
            batch_id, input_file_path=input_file_path, **kwargs
        )
