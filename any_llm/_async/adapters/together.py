"""The Together AI batch protocol: Files (purpose batch-api) + Batches."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from any_llm._args import path_id, provider_id, result_files
from any_llm._converter import structure, validation_error
from any_llm._jsonl import InputSource, validated
from any_llm._providers import (
    IDEMPOTENCY_PAGES,
    CreateLookup,
    InputRef,
    marked_filename,
    oldest_first,
    openai,
)
from any_llm._providers import together as wire
from any_llm._transport import REDIRECT_STATUSES, multipart_file_body
from any_llm.errors import APIError, APIResponseValidationError
from any_llm.types import Batch, BatchPage, BatchResultItem

from ..http import AsyncHTTPClient
from ..uploads import asend_upload

logger = logging.getLogger("any_llm")


class AsyncTogetherAdapter:
    """Upload, create, retrieve, cancel, list and read results on Together's protocol.

    Input lines are translated to Together's ``{custom_id, body}`` form in a staged temporary
    file, which is what gets uploaded. Together batches carry no metadata or name, so the
    idempotency key cannot be stamped on them: it is in the uploaded file's name instead, and a
    batch is recognised by its input file, which is unique to that create call.
    """

    finds_by_key = True
    extra_body_refused: str | None = None

    def __init__(self, http: AsyncHTTPClient) -> None:
        self.http = http

    def _batch(self, data: Any) -> Batch:
        try:
            record = wire.batch_to_record(data)
        except TypeError as exc:
            raise validation_error(self.http.provider, "BatchJob object", exc) from exc
        return structure(record, Batch, provider=self.http.provider, what="BatchJob object")

    def _file_id(self, data: Any) -> str:
        try:
            return wire.parse_file_id(data)
        except TypeError as exc:
            raise validation_error(self.http.provider, "File object", exc) from exc

    async def aupload_input(self, source: InputSource, *, idempotency_key: str) -> InputRef:
        """Stage the translated file, then upload it (purpose batch-api)."""
        summary = validated(source)
        assert summary.staged_path is not None  # staged by the validating pass
        file_id = await self.aupload_file(
            summary.staged_path, filename=summary.path.name, idempotency_key=idempotency_key
        )
        return InputRef(summary=summary, file_id=file_id)

    async def aupload_file(
        self, path: Path, *, idempotency_key: str, filename: str | None = None
    ) -> str:
        """Upload a JSONL file by the documented ``POST /files/upload`` (multipart: purpose,
        file_name, file), streamed from disk; return its file id.

        A redirect answer with ``X-Together-File-Id`` is Together's presigned flow: the bytes
        are PUT to the ``Location`` without any credential, then ``POST
        /files/{id}/preprocess`` makes the file usable. The file's name carries
        ``idempotency_key`` (``marked_filename``).
        """
        name = marked_filename(wire.upload_filename(filename or path.name), idempotency_key)
        body = multipart_file_body(
            wire.upload_fields(name), file_field="file", path=path, filename=name
        )
        request = self.http.request("POST", "/files/upload", body=body)
        response = await asend_upload(self, request, idempotency_key, follow_redirects=False)
        if response.status not in REDIRECT_STATUSES:
            return self._file_id(self.http.decode(response))
        target = wire.presigned_target(response.headers)
        if target is None:
            raise APIResponseValidationError(
                f"{self.http.provider}: POST {request.path} answered HTTP {response.status} "
                "without both Location and X-Together-File-Id; cannot tell where the file goes",
                provider=self.http.provider,
                method="POST",
                url=response.url,
            )
        file_id, location = target
        return await self._upload_presigned(path, file_id, urljoin(request.url, location))

    async def _upload_presigned(self, path: Path, file_id: str, url: str) -> str:
        segment = provider_id(self.http.provider, "X-Together-File-Id", file_id)
        body = wire.raw_file_body(path)
        try:
            # A presigned URL is its own credential: the request carries no client header.
            await self.http.asend(self.http.external_request("PUT", url, body=body))
            data = await self.http.ajson(self.http.request("POST", f"/files/{segment}/preprocess"))
        except APIError:
            await self._forget_file(file_id)
            raise
        return self._file_id(data)

    async def _forget_file(self, file_id: str) -> None:
        try:
            await self.adelete_file(file_id)
        except APIError as exc:
            logger.warning(
                "%s: could not delete the unfinished upload %s (%s); delete it yourself",
                self.http.provider,
                file_id,
                exc.__class__.__name__,
            )

    async def adelete_file(self, file_id: str) -> None:
        """Delete an uploaded file."""
        segment = provider_id(self.http.provider, "file id", file_id)
        await self.http.asend(self.http.request("DELETE", f"/files/{segment}"))

    async def _marked_files(self, idempotency_key: str) -> list[str]:
        data = await self.http.ajson(self.http.request("GET", "/files"))
        try:
            return openai.marked_file_ids(data, idempotency_key)
        except TypeError as exc:
            raise validation_error(self.http.provider, "file list", exc) from exc

    async def aforget_uploads(self, idempotency_key: str) -> None:
        """Delete every file whose name carries ``idempotency_key``."""
        for file_id in await self._marked_files(idempotency_key):
            await self.adelete_file(file_id)

    async def arelease_input(self, input_ref: InputRef, *, used: bool) -> None:
        """Delete the upload unless a batch was (or may have been) created from it."""
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
        """Create the batch from the uploaded file, in one attempt (no metadata: Together has
        none, and the client refuses it before anything is sent)."""
        assert input_ref.file_id is not None
        body = wire.create_body(
            input_file_id=input_ref.file_id,
            endpoint=endpoint,
            completion_window=completion_window,
            model=input_ref.summary.model,
            extra=extra,
        )
        request = self.http.request("POST", "/batches", json_body=body)
        data = await self.http.ajson(request, retry=False)
        try:
            job, warning = wire.created_job(data)
        except TypeError as exc:
            raise validation_error(self.http.provider, "create answer", exc) from exc
        if job is None:
            raise APIError(
                f"{self.http.provider}: POST {request.path} created no batch: "
                f"{warning or 'no reason given'}",
                provider=self.http.provider,
                method="POST",
                url=request.url,
            )
        batch = self._batch(job)
        if warning:
            logger.warning(
                "%s: batch %s created with a warning: %s", batch.provider, batch.id, warning
            )
        return batch

    async def afind_created(
        self, idempotency_key: str, *, pages: int | None = IDEMPOTENCY_PAGES
    ) -> CreateLookup:
        """The batches made from a file whose name carries the key (Together lists every
        file and batch at once, so ``pages`` does not apply)."""
        del pages
        files = set(await self._marked_files(idempotency_key))
        if not files:
            return CreateLookup()
        ours = [b for b in await self._all_batches() if b.input_file_id in files]
        return CreateLookup(ours=oldest_first(ours))

    async def _all_batches(self) -> list[Batch]:
        data = await self.http.ajson(self.http.request("GET", "/batches"))
        try:
            return wire.parse_list(data, self._batch)
        except TypeError as exc:
            raise validation_error(self.http.provider, "batch list", exc) from exc

    async def aretrieve_batch(self, batch_id: str) -> Batch:
        """The batch's current state."""
        segment = path_id(self.http.provider, "batch_id", batch_id)
        return self._batch(await self.http.ajson(self.http.request("GET", f"/batches/{segment}")))

    async def acancel_batch(self, batch_id: str) -> Batch:
        """Ask Together to cancel the batch."""
        segment = path_id(self.http.provider, "batch_id", batch_id)
        return self._batch(
            await self.http.ajson(self.http.request("POST", f"/batches/{segment}/cancel"))
        )

    async def alist_batches(self, *, after: str | None, limit: int | None) -> BatchPage:
        """One page of batches, newest first. Together lists every batch at once; the pages
        (``after`` = the last id of the previous one) are cut here."""
        return wire.page_of(await self._all_batches(), after=after, limit=limit)

    async def aiter_results(self, batch: Batch) -> AsyncIterator[BatchResultItem]:
        """Every line of the output file, then of the error file (either may be absent)."""
        for file_id, segment in result_files(self.http.provider, batch):
            number = 0
            async for line in self.http.aiter_lines(
                self.http.request("GET", f"/files/{segment}/content")
            ):
                number += 1
                item = wire.parse_result_line(line, where=f"file {file_id} line {number}")
                if item is not None:
                    yield item

    async def aiter_input_custom_ids(self, batch: Batch) -> AsyncIterator[str]:
        """The custom_ids of the batch's input file, read back from Together (Together reports
        no request counts, so this is read whenever ``input_file_path`` is not given)."""
        if not batch.input_file_id:
            return
        segment = provider_id(self.http.provider, "input_file_id", batch.input_file_id)
        request = self.http.request("GET", f"/files/{segment}/content")
        async for line in self.http.aiter_lines(request):
            custom_id = wire.input_custom_id(line)
            if custom_id is not None:
                yield custom_id
