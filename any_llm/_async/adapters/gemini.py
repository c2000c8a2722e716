"""The Gemini Developer API batch protocol: batchGenerateContent, resumable Files uploads."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from any_llm._converter import structure, validation_error
from any_llm._jsonl import InputSource, validated
from any_llm._providers import IDEMPOTENCY_KEY, IDEMPOTENCY_PAGES, InputRef
from any_llm._providers import gemini as wire
from any_llm._transport import Request
from any_llm.errors import (
    APIResponseValidationError,
    APIStatusError,
    ConfigurationError,
)
from any_llm.types import Batch, BatchPage, BatchResultItem, BatchStatus

from ..http import AsyncHTTPClient

logger = logging.getLogger("any_llm")

CREATE_OPTIONS = ("display_name", "priority")
"""Keyword arguments of ``create_batch`` that Gemini takes."""


class AsyncGeminiAdapter:
    """Create, retrieve, cancel, list and read results on the Gemini Developer API.

    Small inputs travel inline in the create request; inputs whose create request would pass
    ``wire.INLINE_MAX_BYTES`` are uploaded first (resumable protocol, by chunks read from disk).
    """

    def __init__(self, http: AsyncHTTPClient) -> None:
        self.http = http
        self._root, self._version, self._api = wire.split_api_base(http.base_url)

    def _batch(self, data: Any) -> Batch:
        try:
            record = wire.batch_to_record(data)
        except TypeError as exc:
            raise validation_error(self.http.provider, "batch operation", exc) from exc
        return structure(record, Batch, provider=self.http.provider, what="batch operation")

    def _at(self, request: Request, url: str) -> Request:
        """``request`` sent to ``url``, outside the versioned API paths (uploads)."""
        return attrs.evolve(request, url=url)

    # input

    async def aupload_input(self, source: InputSource) -> InputRef:
        """Stage the translated requests; upload them when they are too big to go inline."""
        summary = validated(source)
        staged, inline, size = wire.stage_input(summary.path)
        if inline:
            return InputRef(summary=summary, staged_path=staged)
        try:
            file_name = await self._upload(staged, size, summary.path.name)
        finally:
            wire.discard(staged)
        return InputRef(summary=summary, file_id=file_name)

    async def _upload(self, path: Path, size: int, display: str) -> str:
        """Upload a staged JSONL file with the resumable protocol; return its ``files/`` name."""
        start = self.http.request(
            "POST",
            "",
            json_body={"file": {"displayName": display, "mimeType": wire.INPUT_MIME_TYPE}},
            headers={
                "X-Goog-Upload-Protocol": "resumable",
                "X-Goog-Upload-Command": "start",
                "X-Goog-Upload-Header-Content-Length": str(size),
                "X-Goog-Upload-Header-Content-Type": wire.INPUT_MIME_TYPE,
            },
        )
        url = f"{self._root}/upload/{self._version}/files"
        response = await self.http.asend(self._at(start, url))
        session = response.headers.get("x-goog-upload-url")
        if not session:
            raise APIResponseValidationError(
                f"{self.http.provider}: POST {urlsplit(url).path} returned no x-goog-upload-url",
                provider=self.http.provider,
                method="POST",
                url=url,
            )
        # As the official SDK does: the session URL is reached on the api_base's host (a proxy
        # or emulator may answer with another), and it is its own credential, so the key is
        # not sent with the chunks.
        base = urlsplit(self._root)
        target = urlunsplit(urlsplit(session)._replace(scheme=base.scheme, netloc=base.netloc))
        offset = 0
        chunk = max(1, wire.UPLOAD_CHUNK_BYTES)
        while True:
            length = min(chunk, size - offset)
            last = offset + length >= size
            command = "upload, finalize" if last else "upload"
            request = self.http.external_request(
                "POST",
                target,
                body=wire.segments_body([(path, offset, length)], "application/octet-stream"),
                headers={"X-Goog-Upload-Command": command, "X-Goog-Upload-Offset": str(offset)},
            )
            # A failed chunk is sent again from the file, from the same offset.
            response = await self.http.asend(request)
            status = response.headers.get("x-goog-upload-status", "")
            if status != ("final" if last else "active"):
                raise APIResponseValidationError(
                    f"{self.http.provider}: upload chunk at byte {offset:,} answered "
                    f"x-goog-upload-status {status!r}",
                    provider=self.http.provider,
                    method="POST",
                    url=urlsplit(target)._replace(query="").geturl(),
                )
            offset += length
            if last:
                break
        data = self.http.decode(response)
        try:
            return wire.parse_file_name(data)
        except (TypeError, ValueError) as exc:
            raise validation_error(self.http.provider, "uploaded File", exc) from exc

    async def arelease_input(self, input_ref: InputRef, *, created: bool) -> None:
        """Delete the uploaded file if no batch was created from it."""
        if not created and input_ref.file_id:
            path = self._api + wire.file_path(input_ref.file_id, "uploaded file name")
            await self.http.asend(self.http.request("DELETE", path))

    # batches

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
        """Create the batch (inline requests or an uploaded file), in one attempt.

        ``display_name`` and ``priority`` are the keyword arguments Gemini takes; the display
        name carries the idempotency key. ``completion_window`` is not sent: Gemini has none.
        """
        del endpoint, completion_window  # one endpoint; no window on the wire
        unknown = sorted(set(extra) - set(CREATE_OPTIONS))
        if unknown or metadata:
            raise ConfigurationError(
                f"{self.http.provider}: create_batch takes no {unknown or 'metadata'}; "
                f"Gemini batches accept: {', '.join(CREATE_OPTIONS)}"
            )
        model = input_ref.summary.model
        assert model is not None
        try:
            display = wire.display_name(idempotency_key, extra.get("display_name"))
            priority = extra.get("priority")
            path = f"{self._api}/{wire.model_resource(model)}:batchGenerateContent"
            if input_ref.file_id is not None:
                body = wire.file_create_body(input_ref.file_id, display, priority)
                request = self.http.request("POST", path, json_body=body)
            else:
                assert input_ref.staged_path is not None
                head, tail = wire.inline_envelope(display, priority)
                staged = (input_ref.staged_path, 0, wire.staged_size(input_ref.staged_path))
                content = wire.segments_body([head, staged, tail], "application/json")
                request = self.http.request("POST", path, body=content)
        except ValueError as exc:
            raise ConfigurationError(f"{self.http.provider}: {exc}") from None
        return self._batch(await self.http.ajson(request, retry=False))

    async def afind_created(self, idempotency_key: str) -> Batch | None:
        """Search the newest pages of batches for the key in their display name."""
        after: str | None = None
        for _ in range(IDEMPOTENCY_PAGES):
            page = await self.alist_batches(after=after, limit=None)
            for batch in page:
                if batch.metadata and batch.metadata.get(IDEMPOTENCY_KEY) == idempotency_key:
                    return batch
            if not page.has_more or page.next_cursor is None:
                return None
            after = page.next_cursor
        return None

    async def aretrieve_batch(self, batch_id: str) -> Batch:
        """The batch's current state."""
        return self._batch(await self._operation(batch_id))

    async def _operation(self, batch_id: str) -> Any:
        path = self._api + wire.batch_path(batch_id)
        return await self.http.ajson(self.http.request("GET", path))

    async def acancel_batch(self, batch_id: str) -> Batch:
        """Ask Gemini to cancel the batch, then read it back.

        Gemini has no cancelling state: a batch that has not ended yet is reported
        ``cancelling`` here (its ``provider_status`` stays the raw state).
        """
        path = f"{self._api}{wire.batch_path(batch_id)}:cancel"
        await self.http.asend(self.http.request("POST", path, json_body={}))
        batch = await self.aretrieve_batch(batch_id)
        if batch.is_terminal:
            return batch
        return attrs.evolve(batch, status=BatchStatus.CANCELLING)

    async def alist_batches(self, *, after: str | None, limit: int | None) -> BatchPage:
        """One page of batches; ``after`` is the previous page's ``nextPageToken``."""
        params: dict[str, str] = {}
        if after is not None:
            params["pageToken"] = after
        if limit is not None:
            params["pageSize"] = str(limit)
        request = self.http.request("GET", f"{self._api}/batches", params=params or None)
        data = await self.http.ajson(request)
        try:
            return wire.parse_page(data, self._batch)
        except (TypeError, ValueError) as exc:
            raise validation_error(self.http.provider, "batch list", exc) from exc

    # results

    def _download(self, file_name: str, field: str) -> Request:
        path = f"{self._api}{wire.file_path(file_name, field)}:download"
        return self.http.request("GET", path, params={"alt": "media"})

    async def aiter_results(self, batch: Batch) -> AsyncIterator[BatchResultItem]:
        """The responses file, streamed line by line, or the results inside the batch.

        Inline results come in the batch object itself, read in one piece: their size is
        bounded by the inline input limit (plus the answers).
        """
        output = batch.output_file_id
        if not output:
            return
        if output.endswith(wire.INLINE_OUTPUT):
            data = await self._operation(batch.id)
            for inline in wire.inline_results(data, batch=batch):
                yield inline
            return
        number = 0
        async for line in self.http.aiter_lines(self._download(output, "responsesFile")):
            number += 1
            item = wire.parse_result_line(line, batch=batch, where=f"{output} line {number}")
            if item is not None:
                yield item

    async def aiter_input_custom_ids(self, batch: Batch) -> AsyncIterator[str]:
        """The keys of the batch's input: from the uploaded file, or from the inline requests
        the batch echoes. When Gemini gives neither back, nothing is yielded: pass
        ``input_file_path=`` to the results call to tell unreturned requests apart."""
        source = batch.input_file_id
        found = False
        if source and source.endswith(wire.INLINE_INPUT):
            for key in wire.inline_input_keys(await self._operation(batch.id)):
                found = True
                yield key
        elif source:
            try:
                async for line in self.http.aiter_lines(self._download(source, "fileName")):
                    line_key = wire.input_custom_id(line)
                    if line_key is not None:
                        found = True
                        yield line_key
            except APIStatusError as exc:
                if found or exc.status_code >= 500:
                    raise
                logger.warning(
                    "%s: the input %s of batch %s cannot be read back (HTTP %d)",
                    self.http.provider,
                    source,
                    batch.id,
                    exc.status_code,
                )
        if not found:
            logger.warning(
                "%s: batch %s gives no input keys back; pass input_file_path= to report "
                "the requests it did not return",
                self.http.provider,
                batch.id,
            )
