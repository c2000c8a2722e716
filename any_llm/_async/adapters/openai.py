"""The OpenAI batch protocol: Files + Batches, for OpenAI and every provider that speaks it
(Azure OpenAI, Groq, DashScope, Moonshot, Nebius, Cerebras), configured by an OpenAIProtocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from any_llm._args import path_id, provider_id, result_files
from any_llm._converter import structure, validation_error
from any_llm._jsonl import InputSource, InputSummary, StreamCheck
from any_llm._providers import (
    IDEMPOTENCY_PAGES,
    CreateLookup,
    InputRef,
    marked_filename,
)
from any_llm._providers import openai as wire
from any_llm._transport import multipart_file_body
from any_llm.errors import APIResponseValidationError
from any_llm.types import Batch, BatchPage, BatchResultItem

from ..http import AsyncHTTPClient
from ..listing import afind_stamped
from ..uploads import asend_upload


class AsyncOpenAIAdapter:
    """Upload, create, retrieve, cancel, list and read results on OpenAI's protocol, with
    one provider's differences (``protocol``)."""

    finds_by_key = True
    extra_body_refused: str | None = None

    def __init__(
        self, http: AsyncHTTPClient, protocol: wire.OpenAIProtocol = wire.OPENAI_PROTOCOL
    ) -> None:
        self.http = http
        self.protocol = protocol

    def _batch(self, data: Any) -> Batch:
        try:
            record = wire.batch_to_record(data, provider=self.http.provider)
        except (TypeError, ValueError) as exc:
            raise validation_error(self.http.provider, "Batch object", exc) from exc
        return structure(record, Batch, provider=self.http.provider, what="Batch object")

    async def aupload_input(self, source: InputSource, *, idempotency_key: str) -> InputRef:
        """Upload the JSONL file as is (purpose=batch), streamed from disk.

        A file whose start only was checked (an InputCheck) is checked while it is read: each
        chunk before it is sent, the whole file before the upload's last bytes. A bad line
        aborts the upload with InputFileError, so the provider never stores the file.
        """
        if isinstance(source, InputSummary):
            file_id = await self.aupload_file(source.path, idempotency_key=idempotency_key)
            return InputRef(summary=source, file_id=file_id)
        attempts: list[StreamCheck] = []

        def check() -> StreamCheck:  # one per attempt: a retry reads the file anew
            attempts.append(source.stream_check())
            return attempts[-1]

        file_id = await self.aupload_file(source.path, check=check, idempotency_key=idempotency_key)
        summary = attempts[-1].summary if attempts else None
        if summary is None:  # the server answered before reading the whole body
            await self.adelete_file(file_id)
            raise APIResponseValidationError(
                f"{self.http.provider}: POST /files answered before the whole of "
                f"{source.path} was sent, so the file was not checked to its end; the file "
                f"({file_id}) was deleted and no batch created",
                provider=self.http.provider,
            )
        return InputRef(summary=summary, file_id=file_id)

    async def aupload_file(
        self,
        path: Path,
        *,
        idempotency_key: str,
        check: Callable[[], StreamCheck] | None = None,
    ) -> str:
        """Upload a JSONL file (purpose=batch), its name marked with ``idempotency_key``;
        return its file id. With ``check``, every attempt checks the file's bytes before
        sending them (``multipart_file_body``)."""
        body = multipart_file_body(
            {"purpose": "batch"},
            file_field="file",
            path=path,
            filename=marked_filename(wire.upload_filename(path.name), idempotency_key),
            check=check,
        )
        request = self.http.request("POST", "/files", body=body)
        data = self.http.decode(await asend_upload(self, request, idempotency_key))
        try:
            return wire.parse_file_id(data)
        except TypeError as exc:
            raise validation_error(self.http.provider, "File object", exc) from exc

    async def adelete_file(self, file_id: str) -> None:
        """Delete an uploaded file."""
        segment = provider_id(self.http.provider, "file id", file_id)
        await self.http.asend(self.http.request("DELETE", f"/files/{segment}"))

    async def aforget_uploads(self, idempotency_key: str) -> None:
        """Delete every file whose name carries ``idempotency_key``."""
        for file_id in await self._marked_files(idempotency_key):
            await self.adelete_file(file_id)

    async def _marked_files(self, idempotency_key: str) -> list[str]:
        data = await self.http.ajson(self.http.request("GET", "/files"))
        try:
            return wire.marked_file_ids(data, idempotency_key)
        except TypeError as exc:
            raise validation_error(self.http.provider, "file list", exc) from exc

    async def arelease_input(self, input_ref: InputRef, *, used: bool) -> None:
        """Delete the uploaded file unless a batch was (or may have been) created from it."""
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
        """Create the batch from the uploaded file, in one attempt."""
        assert input_ref.file_id is not None
        if self.protocol.create_endpoint is not None:
            endpoint = self.protocol.create_endpoint(endpoint)
        body = wire.create_body(
            input_file_id=input_ref.file_id,
            endpoint=endpoint,
            completion_window=completion_window,
            metadata=metadata,
            idempotency_key=idempotency_key,
            extra=extra,
        )
        request = self.http.request("POST", "/batches", json_body=body)
        return self._batch(await self.http.ajson(request, retry=False))

    async def afind_created(
        self, idempotency_key: str, *, pages: int | None = IDEMPOTENCY_PAGES
    ) -> CreateLookup:
        """The batches with the key in their metadata, among the newest ``pages`` pages."""
        return await afind_stamped(self, idempotency_key, pages=pages)

    async def aretrieve_batch(self, batch_id: str) -> Batch:
        """The batch's current state."""
        segment = path_id(self.http.provider, "batch_id", batch_id)
        return self._batch(await self.http.ajson(self.http.request("GET", f"/batches/{segment}")))

    async def acancel_batch(self, batch_id: str) -> Batch:
        """Ask the provider to cancel the batch."""
        segment = path_id(self.http.provider, "batch_id", batch_id)
        return self._batch(
            await self.http.ajson(self.http.request("POST", f"/batches/{segment}/cancel"))
        )

    async def alist_batches(self, *, after: str | None, limit: int | None) -> BatchPage:
        """One page of batches, newest first."""
        if not self.protocol.paged_list:
            data = await self.http.ajson(self.http.request("GET", "/batches"))
            try:
                return wire.page_locally(
                    data, self._batch, after=after, limit=limit, provider=self.http.provider
                )
            except (TypeError, ValueError) as exc:
                raise validation_error(self.http.provider, "batch list", exc) from exc
        params: dict[str, str] = {}
        if after is not None:
            params["after"] = after
        if limit is not None:
            params["limit"] = str(limit)
        data = await self.http.ajson(self.http.request("GET", "/batches", params=params or None))
        try:
            return wire.parse_page(data, self._batch)
        except (TypeError, ValueError) as exc:
            raise validation_error(self.http.provider, "batch list", exc) from exc

    async def aiter_results(self, batch: Batch) -> AsyncIterator[BatchResultItem]:
        """Every line of the output file, then of the error file (either may be absent)."""
        for file_id, segment in result_files(self.http.provider, batch):
            number = 0
            async for line in self.http.aiter_lines(
                self.http.request("GET", f"/files/{segment}/content")
            ):
                number += 1
                item = wire.parse_result_line(
                    line, where=f"file {file_id} line {number}", provider=self.http.provider
                )
                if item is not None:
                    yield item

    async def aiter_input_custom_ids(self, batch: Batch) -> AsyncIterator[str]:
        """The custom_ids of the batch's input file, read back from the provider."""
        if not batch.input_file_id:
            return
        segment = provider_id(self.http.provider, "input_file_id", batch.input_file_id)
        request = self.http.request("GET", f"/files/{segment}/content")
        async for line in self.http.aiter_lines(request):
            custom_id = wire.input_custom_id(line)
            if custom_id is not None:
                yield custom_id
