"""What every provider adapter provides to the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from any_llm._jsonl import InputSource
from any_llm._providers import InputRef
from any_llm.types import Batch, BatchPage, BatchResultItem

from ..http import AsyncHTTPClient


class AsyncBatchAdapter(Protocol):
    """One provider's batch protocol. Requests go through ``http`` (retried there), except
    ``acreate_batch``, which makes one attempt: the client retries it after asking
    ``afind_created`` whether an ambiguous attempt created the batch after all."""

    http: AsyncHTTPClient

    async def aupload_input(self, source: InputSource) -> InputRef:
        """Make the input ready for a create request (upload and/or stage it). ``source`` is
        an InputCheck only for a provider whose spec ``sends_input_as_is``; the others get the
        file validated whole (``validated``)."""
        ...

    async def acreate_batch(
        self,
        *,
        input_ref: InputRef,
        endpoint: str,
        completion_window: str,
        metadata: dict[str, str] | None,
        idempotency_key: str,
        extra: dict[str, Any],
    ) -> Batch:
        """Create the batch in one attempt, stamped with ``idempotency_key``."""
        ...

    async def afind_created(self, idempotency_key: str) -> Batch | None:
        """The batch stamped with ``idempotency_key``, if one exists."""
        ...

    async def arelease_input(self, input_ref: InputRef, *, created: bool) -> None:
        """Clean up at the provider after the create (an upload no batch was created from).
        The client deletes ``input_ref.staged_path`` itself afterwards."""
        ...

    async def aretrieve_batch(self, batch_id: str) -> Batch:
        """The batch's current state."""
        ...

    async def acancel_batch(self, batch_id: str) -> Batch:
        """Ask the provider to cancel the batch."""
        ...

    async def alist_batches(self, *, after: str | None, limit: int | None) -> BatchPage:
        """One page of batches, newest first, with the cursor of the next."""
        ...

    def aiter_results(self, batch: Batch) -> AsyncIterator[BatchResultItem]:
        """Every result line the provider returned for an ended batch, as items."""
        ...

    def aiter_input_custom_ids(self, batch: Batch) -> AsyncIterator[str]:
        """The custom_ids of the batch's input, as stored at the provider."""
        ...
