"""The Mistral batch protocol: Files + Batch Jobs (one model per job, page-numbered lists)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from any_llm._args import path_id, provider_id, result_files
from any_llm._converter import structure, validation_error
from any_llm._jsonl import InputSource, validated
from any_llm._providers import IDEMPOTENCY_KEY, IDEMPOTENCY_PAGES, InputRef
from any_llm._providers import mistral as wire
from any_llm._transport import multipart_file_body
from any_llm.errors import ConfigurationError
from any_llm.types import Batch, BatchPage, BatchResultItem

from ..http import AsyncHTTPClient

JOBS = "/v1/batch/jobs"


class AsyncMistralAdapter:
    """Upload, create, retrieve, cancel, list and read results on Mistral's protocol."""

    def __init__(self, http: AsyncHTTPClient) -> None:
        self.http = http

    def _batch(self, data: Any, completion_window: str | None = None) -> Batch:
        try:
            record = wire.batch_to_record(data, completion_window=completion_window)
        except TypeError as exc:
            raise validation_error(self.http.provider, "BatchJob object", exc) from exc
        return structure(record, Batch, provider=self.http.provider, what="BatchJob object")

    async def aupload_input(self, source: InputSource) -> InputRef:
        """Upload Mistral's lines, staged by the validating pass (the client deletes them)."""
        summary = validated(source)
        assert summary.staged_path is not None
        file_id = await self.aupload_file(
            summary.staged_path, filename=wire.upload_filename(summary.path.name)
        )
        return InputRef(summary=summary, file_id=file_id)

    async def aupload_file(self, path: Path, *, filename: str | None = None) -> str:
        """Upload a JSONL file (purpose=batch), streamed from disk; return its file id."""
        body = multipart_file_body(
            {"purpose": "batch"},
            file_field="file",
            path=path,
            filename=filename or wire.upload_filename(path.name),
        )
        data = await self.http.ajson(self.http.request("POST", "/v1/files", body=body))
        try:
            return wire.parse_file_id(data)
        except TypeError as exc:
            raise validation_error(self.http.provider, "file object", exc) from exc

    async def adelete_file(self, file_id: str) -> None:
        """Delete an uploaded file."""
        segment = provider_id(self.http.provider, "file id", file_id)
        await self.http.asend(self.http.request("DELETE", f"/v1/files/{segment}"))

    async def arelease_input(self, input_ref: InputRef, *, created: bool) -> None:
        """Delete the upload when no job was created from it."""
        if not created and input_ref.file_id:
            await self.adelete_file(input_ref.file_id)

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
        """Create the job from the uploaded file, in one attempt."""
        assert input_ref.file_id is not None
        body = wire.create_body(
            input_file_id=input_ref.file_id,
            endpoint=endpoint,
            model=input_ref.summary.model,
            completion_window=completion_window,
            metadata=metadata,
            idempotency_key=idempotency_key,
            extra=extra,
        )
        request = self.http.request("POST", JOBS, json_body=body)
        return self._batch(await self.http.ajson(request, retry=False), completion_window)

    async def afind_created(self, idempotency_key: str) -> Batch | None:
        """The newest jobs, filtered by the key in their metadata, checked one by one (so that
        a server ignoring the filter is searched as OpenAI's newest pages are)."""
        for page in range(IDEMPOTENCY_PAGES):
            found = await self._list_page(
                page, wire.DEFAULT_PAGE_SIZE, {IDEMPOTENCY_KEY: idempotency_key}
            )
            for batch in found:
                if wire.has_idempotency_key(batch, idempotency_key):
                    return batch
            if not found.has_more:
                return None
        return None

    async def aretrieve_batch(self, batch_id: str) -> Batch:
        """The job's current state."""
        segment = path_id(self.http.provider, "batch_id", batch_id)
        return self._batch(await self.http.ajson(self.http.request("GET", f"{JOBS}/{segment}")))

    async def acancel_batch(self, batch_id: str) -> Batch:
        """Ask Mistral to cancel the job."""
        segment = path_id(self.http.provider, "batch_id", batch_id)
        return self._batch(
            await self.http.ajson(self.http.request("POST", f"{JOBS}/{segment}/cancel"))
        )

    async def _list_page(
        self, page: int, size: int, filters: dict[str, str] | None = None
    ) -> BatchPage:
        params = wire.list_params(page, size, filters)
        data = await self.http.ajson(self.http.request("GET", JOBS, params=params))
        try:
            return wire.parse_page(data, self._batch, page=page, size=size)
        except (TypeError, ValueError) as exc:
            raise validation_error(self.http.provider, "batch job list", exc) from exc

    async def alist_batches(self, *, after: str | None, limit: int | None) -> BatchPage:
        """One page of jobs, newest first.

        ``next_cursor`` is ``"page:<n>:<size>"``; ``after`` takes such a cursor or, as with
        OpenAI, the id of a job, in which case pages are read until that job is passed.
        """
        if after is None:
            return await self._list_page(0, limit or wire.DEFAULT_PAGE_SIZE)
        position = wire.parse_cursor(after, limit)
        if position is not None:
            return await self._list_page(*position)
        return await self._page_after_id(after, limit or wire.DEFAULT_PAGE_SIZE)

    async def _page_after_id(self, batch_id: str, size: int) -> BatchPage:
        page = 0
        while True:
            found = await self._list_page(page, size)
            ids = [batch.id for batch in found]
            if batch_id in ids:
                rest = ids.index(batch_id) + 1
                if rest == len(ids) and found.has_more:
                    return await self._list_page(page + 1, size)
                return BatchPage(
                    data=found.data[rest:], has_more=found.has_more, next_cursor=found.next_cursor
                )
            if not found.has_more:
                raise ConfigurationError(
                    f"{self.http.provider}: after={batch_id!r} is neither a cursor returned by "
                    "list_batches nor the id of a listed batch job"
                )
            page += 1

    async def aiter_results(self, batch: Batch) -> AsyncIterator[BatchResultItem]:
        """Every line of the output file, then of the error file (either may be absent)."""
        for file_id, segment in result_files(self.http.provider, batch):
            number = 0
            async for line in self.http.aiter_lines(
                self.http.request("GET", f"/v1/files/{segment}/content")
            ):
                number += 1
                item = wire.parse_result_line(
                    line, where=f"file {file_id} line {number}", endpoint=batch.endpoint
                )
                if item is not None:
                    yield item

    async def aiter_input_custom_ids(self, batch: Batch) -> AsyncIterator[str]:
        """The custom_ids of the job's (translated) input file, read back from Mistral."""
        if not batch.input_file_id:
            return
        segment = provider_id(self.http.provider, "input_file_id", batch.input_file_id)
        request = self.http.request("GET", f"/v1/files/{segment}/content")
        async for line in self.http.aiter_lines(request):
            custom_id = wire.input_custom_id(line)
            if custom_id is not None:
                yield custom_id
