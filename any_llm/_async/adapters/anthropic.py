"""The Anthropic Message Batches protocol: requests inline in the create body, one results
stream per batch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs

from any_llm._args import path_id
from any_llm._converter import structure, validation_error
from any_llm._jsonl import InputSource, validated
from any_llm._providers import IDEMPOTENCY_PAGES, CreateLookup, InputRef
from any_llm._providers import anthropic as wire
from any_llm._transport import FileBody
from any_llm.errors import BatchError, ConfigurationError
from any_llm.types import Batch, BatchPage, BatchResultItem

from ..http import AsyncHTTPClient
from ..listing import aiter_listed


class AsyncAnthropicAdapter:
    """Create, retrieve, cancel, list and read results on Anthropic's protocol."""

    finds_by_key = False
    """Anthropic's batches carry no key: only a create of this process can be looked for."""
    extra_body_refused: str | None = (
        "Anthropic's create body is the staged request list, streamed from disk, and "
        "Anthropic's batch create takes no other field"
    )

    def __init__(self, http: AsyncHTTPClient) -> None:
        self.http = http
        self._ledger = wire.LEDGER

    def _batch(self, data: Any) -> Batch:
        try:
            record = wire.batch_to_record(data)
        except TypeError as exc:
            raise validation_error(self.http.provider, "MessageBatch object", exc) from exc
        return structure(record, Batch, provider=self.http.provider, what="MessageBatch object")

    async def aupload_input(self, source: InputSource, *, idempotency_key: str) -> InputRef:
        """Check the create body the validating pass staged and note the newest batch, which
        the search for an ambiguous create's batch starts after. Nothing is uploaded."""
        summary = validated(source)
        staged = wire.staged_body(summary)
        page = await self.alist_batches(after=None, limit=1)
        return InputRef(
            summary=summary, staged_path=staged, newest_batch=page[0] if len(page) else None
        )

    async def arelease_input(self, input_ref: InputRef, *, used: bool) -> None:
        """Forget this create in the ledger of pending creates (nothing lives at Anthropic)."""
        self._ledger.release(input_ref.staged_path)

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
        """Send the staged body in one attempt. Anthropic batches take no metadata (the client
        refuses it) and no other create parameter."""
        if extra:
            raise ConfigurationError(
                f"{self.http.provider}: a batch create takes no extra parameters; "
                f"got {sorted(extra)}"
            )
        path = input_ref.staged_path
        assert path is not None, "aupload_input stages the body"
        self._ledger.begin(
            idempotency_key,
            wire.PendingCreate(
                requests=input_ref.summary.requests,
                since=input_ref.newest_batch,
                staged_path=path,
            ),
        )
        body = FileBody(
            open=lambda: path.open("rb"),
            length=path.stat().st_size,
            content_type="application/json",
        )
        request = self.http.request("POST", wire.BATCHES_PATH, body=body)
        batch = self._batch(await self.http.ajson(request, retry=False))
        self._ledger.settle(idempotency_key, batch.id)
        return batch

    async def afind_created(
        self, idempotency_key: str, *, pages: int | None = IDEMPOTENCY_PAGES
    ) -> CreateLookup:
        """The batches an unanswered create of this process may have made, told by position
        and size (see ``CreateLedger``): newer than the batch noted before its first attempt,
        with as many requests as the input. They are only candidates: never ``ours``."""
        pending = self._ledger.pending(idempotency_key)
        if pending is None:
            return CreateLookup()
        seen: list[Batch] = []
        since = pending.since
        async for batch in aiter_listed(self, limit=100, max_pages=pages):
            if since is not None and (batch.id == since.id or batch.created_at < since.created_at):
                break
            seen.append(batch)
        return CreateLookup(candidates=self._ledger.candidates(idempotency_key, seen))

    async def aretrieve_batch(self, batch_id: str) -> Batch:
        """The batch's current state."""
        return self._batch(await self._get_batch(batch_id))

    async def _get_batch(self, batch_id: str) -> Any:
        segment = path_id(self.http.provider, "batch_id", batch_id)
        return await self.http.ajson(self.http.request("GET", f"{wire.BATCHES_PATH}/{segment}"))

    async def acancel_batch(self, batch_id: str) -> Batch:
        """Ask Anthropic to cancel the batch; it stays ``cancelling`` until it ends."""
        segment = path_id(self.http.provider, "batch_id", batch_id)
        return self._batch(
            await self.http.ajson(
                self.http.request("POST", f"{wire.BATCHES_PATH}/{segment}/cancel")
            )
        )

    async def alist_batches(self, *, after: str | None, limit: int | None) -> BatchPage:
        """One page of batches, newest first; the cursor is passed as ``after_id``."""
        params: dict[str, str] = {}
        if after is not None:
            params["after_id"] = after
        if limit is not None:
            params["limit"] = str(limit)
        data = await self.http.ajson(
            self.http.request("GET", wire.BATCHES_PATH, params=params or None)
        )
        try:
            return wire.parse_page(data, self._batch)
        except (TypeError, ValueError) as exc:
            raise validation_error(self.http.provider, "batch list", exc) from exc

    async def aiter_results(self, batch: Batch) -> AsyncIterator[BatchResultItem]:
        """Every line of the batch's results stream. Its ``results_url`` is read afresh (as
        the official SDK does) and used verbatim, on the API's host only."""
        data = await self._get_batch(batch.id)
        try:
            url = wire.results_url(data, batch_id=batch.id, api_base=self.http.base_url)
        except TypeError as exc:
            raise validation_error(self.http.provider, "MessageBatch object", exc) from exc
        if url is None:
            raise BatchError(
                f"{self.http.provider}: batch {batch.id} has no results_url (processing status "
                f"{data.get('processing_status')!r}, archived_at {data.get('archived_at')!r}); "
                "its results are not available",
                batch=batch,
            )
        created = batch.completed_at or batch.cancelled_at or batch.expired_at or batch.created_at
        request = attrs.evolve(
            self.http.request("GET", "", headers={"Accept": "application/binary"}), url=url
        )
        number = 0
        async for line in self.http.aiter_lines(request):
            number += 1
            item = wire.parse_result_line(
                line, where=f"batch {batch.id} results line {number}", created=created
            )
            if item is not None:
                yield item

    async def aiter_input_custom_ids(self, batch: Batch) -> AsyncIterator[str]:
        """Nothing: Anthropic cannot give a batch's input back. Every request gets a result
        line once the batch has ended (canceled and expired ones included), so none is
        missed; pass ``input_file_path=`` to check against the local file."""
        nothing: tuple[str, ...] = ()
        for custom_id in nothing:
            yield custom_id
