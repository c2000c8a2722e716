"""What every provider adapter provides to the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from any_llm._jsonl import InputSource
from any_llm._providers import IDEMPOTENCY_PAGES, CreateLookup, InputRef
from any_llm.types import Batch, BatchPage, BatchResultItem

from ..http import AsyncHTTPClient


class AsyncBatchAdapter(Protocol):
    """One provider's batch protocol. Requests go through ``http`` (retried there), except
    ``acreate_batch``, which makes one attempt: the client retries it after asking
    ``afind_created`` whether an ambiguous attempt created the batch after all."""

    http: AsyncHTTPClient
    finds_by_key: bool
    """``afind_created`` can find a batch by its key alone, in any process, at any time (not
    only a create of this process in flight)."""
    extra_body_refused: str | None
    """Why ``extra_body`` cannot be merged into this provider's create body (None: the extra
    fields go into a JSON create body as they are)."""

    async def aupload_input(self, source: InputSource, *, idempotency_key: str) -> InputRef:
        """Make the input ready for a create request (upload and/or stage it). ``source`` is
        an InputCheck only for a provider whose spec ``sends_input_as_is``; the others get the
        file validated whole (``validated``). An upload's filename carries the key, so that
        one whose answer was lost is found and deleted (``uploads.asend_upload``)."""
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

    async def afind_created(
        self, idempotency_key: str, *, pages: int | None = IDEMPOTENCY_PAGES
    ) -> CreateLookup:
        """The batches stamped with ``idempotency_key`` among the newest ``pages`` pages of
        the list (every page when None), or those that may be its batch."""
        ...

    async def arelease_input(self, input_ref: InputRef, *, used: bool) -> None:
        """Clean up at the provider after the create: an upload is deleted unless a batch was
        (or may have been) created from it (``used``). The client deletes
        ``input_ref.staged_path`` itself afterwards."""
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
