"""The Mistral batch protocol: Files + Batch Jobs (one model per job, page-numbered lists)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from any_llm._args import path_id, provider_id, result_files
from any_llm._converter import structure, validation_error
from any_llm._jsonl import InputSource, validated
from any_llm._providers import (
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_PAGES,
    CreateLookup,
    InputRef,
    marked_filename,
    oldest_first,
    openai,
)
from any_llm._providers import mistral as wire
from any_llm._transport import multipart_file_body
from any_llm.errors import ConfigurationError
from any_llm.types import Batch, BatchPage, BatchResultItem

from ..http import AsyncHTTPClient
from ..uploads import asend_upload

JOBS = "/v1/batch/jobs"


class AsyncMistralAdapter:
    """Upload, create, retrieve, cancel, list and read results on Mistral's protocol."""

    finds_by_key = True
    extra_body_refused: str | None = None

    def __init__(self, http: AsyncHTTPClient) -> None:
        self.http = http

    def _batch(self, data: Any, completion_window: str | None = None) -> Batch:
        try:
            record = wire.batch_to_record(data, completion_window=completion_window)
        except TypeError as exc:
            raise validation_error(self.http.provider, "BatchJob object", exc) from exc
        return structure(record, Batch, provider=self.http.provider, what="BatchJob object")

    async def aupload_input(self, source: InputSource, *, idempotency_key: str) -> InputRef:
        """Upload Mistral's lines, staged by the validating pass (the client deletes them)."""
        summary = validated(source)
        assert summary.staged_path is not None
        file_id = await self.aupload_file(
            summary.staged_path,
            filename=wire.upload_filename(summary.path.name),
            idempotency_key=idempotency_key,
        )
        return InputRef(summary=summary, file_id=file_id)

    async def aupload_file(
        self, path: Path, *, idempotency_key: str, filename: str | None = None
    ) -> str:
        """Upload a JSONL file (purpose=batch), streamed from disk, its name marked with
        ``idempotency_key``; return its file id."""
        name = filename or wire.upload_filename(path.name)
        body = multipart_file_body(
            {"purpose": "batch"},
            file_field="file",
            path=path,
            filename=marked_filename(name, idempotency_key),
        )
        request = self.http.request("POST", "/v1/files", body=body)
        data = self.http.decode(await asend_upload(self, request, idempotency_key))
        try:
            return wire.parse_file_id(data)
        except TypeError as exc:
            raise validation_error(self.http.provider, "file object", exc) from exc

    async def adelete_file(self, file_id: str) -> None:
        """Delete an uploaded file."""
        segment = provider_id(self.http.provider, "file id", file_id)
        await self.http.asend(self.http.request("DELETE", f"/v1/files/{segment}"))

    async def aforget_uploads(self, idempotency_key: str) -> None:
        """Delete every batch file whose name carries ``idempotency_key`` (Mistral searches
        the names itself; the marker is checked again here)."""
        params = {"purpose": "batch", "search": idempotency_key, "page_size": "100"}
        data = await self.http.ajson(self.http.request("GET", "/v1/files", params=params))
        try:
            marked = openai.marked_file_ids(data, idempotency_key)
        except TypeError as exc:
            raise validation_error(self.http.provider, "file list", exc) from exc
        for file_id in marked:
            await self.adelete_file(file_id)

    async def arelease_input(self, input_ref: InputRef, *, used: bool) -> None:
        """Delete the upload unless a job was (or may have been) created from it."""
        if not used and input_ref.file_id:
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

    async def afind_created(
        self, idempotency_key: str, *, pages: int | None = IDEMPOTENCY_PAGES
    ) -> CreateLookup:
        """The jobs filtered by the key in their metadata, checked one by one (so that a
        server ignoring the filter is searched as OpenAI's newest pages are), among ``pages``
        pages (all when None). A page that brings no job not seen before ends the search."""
        seen: set[str] = set()
        ours: list[Batch] = []
        page = 0
        while pages is None or page < pages:
            found = await self._list_page(
                page, wire.DEFAULT_PAGE_SIZE, {IDEMPOTENCY_KEY: idempotency_key}
            )
            fresh = [batch for batch in found if batch.id not in seen]
            seen.update(batch.id for batch in fresh)
            ours += [b for b in fresh if wire.has_idempotency_key(b, idempotency_key)]
            if not found.has_more or not fresh:
                break
            page += 1
        return CreateLookup(ours=oldest_first(ours))

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
                    found[rest:], has_more=found.has_more, next_cursor=found.next_cursor
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
