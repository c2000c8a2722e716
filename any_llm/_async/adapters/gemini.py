"""The Gemini Developer API batch protocol: batchGenerateContent, resumable Files uploads."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs
from tenacity import AsyncRetrying

from any_llm._compat import arun_sync, asleep
from any_llm._converter import structure, validation_error
from any_llm._jsonl import InputSource, validated
from any_llm._providers import (
    IDEMPOTENCY_PAGES,
    CreateLookup,
    InputRef,
)
from any_llm._providers import gemini as wire
from any_llm._retry import request_policy
from any_llm._transport import Request, Response, strip_query
from any_llm.errors import (
    APIResponseValidationError,
    APIStatusError,
    ConfigurationError,
)
from any_llm.types import Batch, BatchPage, BatchResultItem, BatchStatus

from ..http import AsyncHTTPClient
from ..listing import afind_stamped

logger = logging.getLogger("any_llm")

CREATE_OPTIONS = ("display_name", "priority")
"""Keyword arguments of ``create_batch`` that Gemini takes."""


class AsyncGeminiAdapter:
    """Create, retrieve, cancel, list and read results on the Gemini Developer API.

    Small inputs travel inline in the create request; inputs whose create request would pass
    ``wire.INLINE_MAX_BYTES`` are uploaded first (resumable protocol, by chunks read from disk).
    """

    finds_by_key = True
    extra_body_refused: str | None = (
        "a Gemini create body is a fixed envelope around the requests (inline ones streamed "
        "from a staged file); pass display_name= or priority= as keyword arguments instead"
    )

    def __init__(self, http: AsyncHTTPClient) -> None:
        self.http = http
        self._root, self._version, self._api = wire.split_api_base(http.base_url)
        self._echo: tuple[str, Any] | None = None
        """(batch id, operation) read for an ended inline batch's input keys, kept for the
        results read that follows (``aiter_results`` takes it): one fetch of the operation,
        which echoes up to 20 MB of requests and answers, instead of two."""

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

    async def aupload_input(self, source: InputSource, *, idempotency_key: str) -> InputRef:
        """Stage the translated requests; upload them when they are too big to go inline.
        (A lost chunk answer is resolved by the resumable protocol itself: no orphan.)"""
        del idempotency_key
        summary = validated(source)
        # Two passes over the file, off the event loop (inline in the sync twin).
        staged, inline, size = await arun_sync(
            partial(wire.stage_input, summary.path), discard=lambda done: wire.discard(done[0])
        )
        if inline:
            return InputRef(summary=summary, staged_path=staged)
        try:
            file_name = await self._upload(staged, size, summary.path.name)
        finally:
            wire.discard(staged)
        return InputRef(summary=summary, file_id=file_name)

    async def _upload(self, path: Path, size: int, display: str) -> str:
        """Upload a staged JSONL file with the resumable protocol; return its ``files/`` name.

        Chunks go one after the other from the file; each has the retry policy's attempts
        (``_send_chunk``). The last one's answer, or a query's once the session is final,
        carries the File.
        """
        target = await self._start_upload(size, display)
        offset = 0
        while True:
            sent, length, answer = await self._send_chunk(target, path, size, offset)
            last = sent + length >= size
            status, received = self._progress(answer, target, most=sent + length)
            if status != ("final" if last else "active"):
                raise self._upload_error(
                    target, f"the chunk at byte {sent:,} answered x-goog-upload-status {status!r}"
                )
            if last:
                if received is not None and received != size:
                    raise self._upload_error(
                        target, f"the session finished with {received:,} of the {size:,} bytes"
                    )
                break
            # The session says how much of the chunk it kept; without the header, all of it.
            offset = sent + length if received is None else received
            if offset <= sent:
                raise self._upload_error(
                    target, f"the chunk at byte {sent:,} was answered without progress"
                )
        try:
            return wire.parse_file_name(self.http.decode(answer))
        except (TypeError, ValueError) as exc:
            raise validation_error(self.http.provider, "uploaded File", exc) from exc

    async def _start_upload(self, size: int, display: str) -> str:
        """Open a resumable upload session; return the URL its chunks go to."""
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
        return urlunsplit(urlsplit(session)._replace(scheme=base.scheme, netloc=base.netloc))

    async def _send_chunk(
        self, target: str, path: Path, size: int, offset: int
    ) -> tuple[int, int, Response]:
        """Send the chunk at ``offset``: ``(offset it went at, its length, the answer)``.

        A failed attempt (a reset, a timeout, a 5xx) may have stored the chunk, in whole or in
        part, with its answer lost: before the next attempt the session is asked how many
        bytes it holds (``X-Goog-Upload-Command: query``) and the chunk is sent from there.
        A session that says ``final`` holds the whole file: its answer comes back as that of
        an empty last chunk, for its File (unverified for Gemini, the defensive reading:
        Google's own resumable client takes a final query's answer as the upload's result;
        an answer without a File ends the upload with APIResponseValidationError). Errors
        that are not retried (a 4xx) end the upload.
        """
        chunk = max(1, wire.UPLOAD_CHUNK_BYTES)
        sent_end = offset  # no byte past this one has been sent
        failed = False
        async for attempt in AsyncRetrying(**request_policy(self.http.retry)):
            with attempt:
                if failed:
                    query = self.http.external_request(
                        "POST", target, headers={"X-Goog-Upload-Command": "query"}
                    )
                    answer = await self.http.asend(query, retry=False)
                    status, received = self._progress(answer, target, most=sent_end)
                    if status == "final":
                        return size, 0, answer
                    if status != "active" or received is None:
                        raise self._upload_error(
                            target,
                            f"the session answered a query with x-goog-upload-status {status!r}"
                            f" and x-goog-upload-size-received {received!r}",
                        )
                    offset = received
                failed = True
                length = min(chunk, size - offset)
                sent_end = max(sent_end, offset + length)
                command = "upload, finalize" if offset + length >= size else "upload"
                request = self.http.external_request(
                    "POST",
                    target,
                    body=wire.segments_body([(path, offset, length)], "application/octet-stream"),
                    headers={"X-Goog-Upload-Command": command, "X-Goog-Upload-Offset": str(offset)},
                )
                return offset, length, await self.http.asend(request, retry=False)
        raise AssertionError("unreachable")

    def _progress(self, answer: Response, target: str, *, most: int) -> tuple[str, int | None]:
        """The session's status and byte count in ``answer`` (at most ``most``, the bytes sent)."""
        try:
            return wire.upload_progress(answer.headers, most=most)
        except ValueError as exc:
            raise self._upload_error(target, str(exc)) from None

    def _upload_error(self, target: str, problem: str) -> APIResponseValidationError:
        return APIResponseValidationError(
            f"{self.http.provider}: resumable upload: {problem}; the upload was stopped",
            provider=self.http.provider,
            method="POST",
            url=strip_query(target),
        )

    async def arelease_input(self, input_ref: InputRef, *, used: bool) -> None:
        """Delete the uploaded file unless a batch was (or may have been) created from it."""
        if not used and input_ref.file_id:
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
        return self._batch(await self.http.ajson(request, retry=False, load=wire.decode_operation))

    async def afind_created(
        self, idempotency_key: str, *, pages: int | None = IDEMPOTENCY_PAGES
    ) -> CreateLookup:
        """The batches with the key in their display name (read into their metadata), among
        the newest ``pages`` pages."""
        return await afind_stamped(self, idempotency_key, pages=pages)

    async def aretrieve_batch(self, batch_id: str) -> Batch:
        """The batch's current state."""
        return self._batch(await self._operation(batch_id))

    async def _operation(self, batch_id: str) -> Any:
        """The batch operation, its inline requests and responses kept as bytes (an inline
        batch echoes up to 20 MB of them on every poll: building them would block the loop)."""
        path = self._api + wire.batch_path(batch_id)
        return await self.http.ajson(self.http.request("GET", path), load=wire.decode_operation)

    async def acancel_batch(self, batch_id: str) -> Batch:
        """Ask Gemini to cancel the batch, then read it back.

        Gemini has no cancelling state: a batch that has not ended yet is reported
        ``cancelling`` here (its ``provider_status`` stays the raw state).
        """
        path = f"{self._api}{wire.batch_path(batch_id)}:cancel"
        # No body and no Content-Type: the API defines none (a spec-driven server answers a
        # JSON body with 415); the official SDK sends none either.
        await self.http.asend(self.http.request("POST", path))
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
        data = await self.http.ajson(request, load=wire.decode_page)
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

        Inline results come in the batch object itself, fetched in one piece (their size is
        bounded by the inline input limit, plus the answers) and parsed one at a time.
        """
        output = batch.output_file_id
        if not output:
            return
        if output.endswith(wire.INLINE_OUTPUT):
            echo, self._echo = self._echo, None
            data = echo[1] if echo and echo[0] == batch.id else await self._operation(batch.id)
            for number, inline in enumerate(wire.inline_results(data, batch=batch), start=1):
                if number % wire.INLINE_ITEMS_PER_TURN == 0:
                    await asleep(0)  # the loop's turn: parsing tens of thousands takes a while
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
            data = await self._operation(batch.id)
            if batch.is_terminal:  # an ended batch's operation no longer changes
                self._echo = (batch.id, data)
            keys = wire.inline_input_keys(data)
            for number, key in enumerate(keys, start=1):
                if number % wire.INLINE_ITEMS_PER_TURN == 0:
                    await asleep(0)
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
