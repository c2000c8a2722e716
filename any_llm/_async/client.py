"""``AnyLLM``: one provider, one HTTP connection pool, every batch operation."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from tenacity import AsyncRetrying, retry_if_result, stop_after_delay, stop_never

from any_llm._args import check_create, check_listing, check_results
from any_llm._config import ClientConfig, resolve_config
from any_llm._jsonl import (
    InputSource,
    InputSummary,
    check_input_start,
    iter_custom_ids,
    validate_input_file,
)
from any_llm._providers import InputRef
from any_llm._results import check_results_ready, unreturned_item
from any_llm._retry import poll_wait, request_policy
from any_llm._transport import UPLOAD_PROGRESS
from any_llm._transport._aiohttp import AiohttpTransport
from any_llm.errors import (
    APIError,
    BatchTimeoutError,
)
from any_llm.types import (
    Batch,
    BatchPage,
    BatchResult,
    BatchResultItem,
    LLMProvider,
)

from .adapters import make_adapter
from .http import AsyncHTTPClient

logger = logging.getLogger("any_llm")


class AsyncAnyLLM:
    """A client for one provider's batch API, holding one HTTP session.

    Build it with ``AnyLLM.create(provider, api_key=..., api_base=...)`` and close it (or use it
    as a context manager) when done.
    """

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._transport = AiohttpTransport(
            max_connections=config.max_connections,
            max_connections_per_host=config.max_connections_per_host,
            ssl_context=config.ssl_context,
        )
        headers = {**config.spec.auth_headers(config.api_key), **config.default_headers}
        self._http = AsyncHTTPClient(
            self._transport,
            provider=config.provider,
            base_url=config.api_base,
            headers=headers,
            retry=config.retry,
            timeout=config.timeout,
        )
        self._adapter = make_adapter(config.spec, self._http)

    @classmethod
    def create(
        cls,
        provider: str | LLMProvider,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        client_args: Mapping[str, Any] | None = None,
    ) -> AsyncAnyLLM:
        """Create a client; the key is ``api_key`` or the provider's environment variable."""
        return cls(
            resolve_config(provider, api_key=api_key, api_base=api_base, client_args=client_args)
        )

    @property
    def provider(self) -> str:
        """The provider's name."""
        return self.config.provider

    def __repr__(self) -> str:
        return f"<AnyLLM provider={self.provider!r} api_base={self.config.api_base!r}>"

    async def __aenter__(self) -> AsyncAnyLLM:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._transport.aclose()

    async def acreate_batch(
        self,
        input_file_path: str | os.PathLike[str],
        endpoint: str,
        *,
        completion_window: str = "24h",
        metadata: dict[str, str] | None = None,
        on_upload_progress: Callable[[int], None] | None = None,
        **kwargs: Any,
    ) -> Batch:
        """Create a batch job from a JSONL file of requests.

        The file is validated line by line, uploaded (streamed from disk), then the batch is
        created. Bad input raises InputFileError naming the file and line; the provider never
        stores a file that failed. A file uploaded as is (OpenAI's protocol) is checked while
        it is read for sending: its first MiB before any request, each later chunk before it
        is sent, the whole file before the upload's last bytes. A file the provider takes
        translated is checked whole, and staged, before any request.

        ``on_upload_progress`` is told the size of every chunk sent from disk (a retried upload
        counts again). Extra ``kwargs`` are sent in the create request.
        """
        spec = self.config.spec
        check_create(
            spec,
            input_file_path=input_file_path,
            endpoint=endpoint,
            completion_window=completion_window,
            metadata=metadata,
            on_upload_progress=on_upload_progress,
            extra=kwargs,
        )
        source: InputSource
        if spec.sends_input_as_is:
            source = check_input_start(
                input_file_path, endpoint=endpoint, limits=spec.limits, provider=self.provider
            )
        else:
            source = validate_input_file(
                input_file_path, endpoint=endpoint, limits=spec.limits, provider=self.provider
            )
        # Every body streamed from disk for this call reports its reads (retries included).
        progress = UPLOAD_PROGRESS.set(on_upload_progress)
        try:
            input_ref = await self._adapter.aupload_input(source)
            created: Batch | None = None
            try:
                created = await self._create_once(
                    input_ref, endpoint, completion_window, metadata, kwargs
                )
            finally:
                await self._release(input_ref, created)
            return created
        finally:
            UPLOAD_PROGRESS.reset(progress)
            if isinstance(source, InputSummary) and source.staged_path is not None:
                source.staged_path.unlink(missing_ok=True)  # the translation staged by the pass

    async def _create_once(
        self,
        input_ref: InputRef,
        endpoint: str,
        completion_window: str,
        metadata: dict[str, str] | None,
        extra: dict[str, Any],
    ) -> Batch:
        """Create the batch; after an ambiguous failure, look for it before trying again."""
        key = uuid.uuid4().hex
        async for attempt in AsyncRetrying(**request_policy(self.config.retry)):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    earlier = await self._adapter.afind_created(key)
                    if earlier is not None:
                        logger.warning(
                            "%s: a create request failed ambiguously but batch %s exists; "
                            "returning it instead of creating a second one",
                            self.provider,
                            earlier.id,
                        )
                        return earlier
                return await self._adapter.acreate_batch(
                    input_ref=input_ref,
                    endpoint=endpoint,
                    completion_window=completion_window,
                    metadata=metadata,
                    idempotency_key=key,
                    extra=extra,
                )
        raise AssertionError("unreachable")

    async def _release(self, input_ref: InputRef, batch: Batch | None) -> None:
        """Let the adapter clean up at the provider, then delete any staged local file."""
        try:
            await self._adapter.arelease_input(input_ref, created=batch is not None)
        except APIError as exc:
            logger.warning(
                "%s: could not clean up the input %s after %s (%s); delete it yourself",
                self.provider,
                input_ref.file_id,
                "creating the batch" if batch is not None else "a failed create",
                exc.__class__.__name__,
            )
        finally:
            if input_ref.staged_path is not None:
                input_ref.staged_path.unlink(missing_ok=True)

    async def aretrieve_batch(self, batch_id: str) -> Batch:
        """Retrieve a batch's current state."""
        return await self._adapter.aretrieve_batch(batch_id)

    async def acancel_batch(self, batch_id: str) -> Batch:
        """Cancel a batch; partial results stay reachable."""
        return await self._adapter.acancel_batch(batch_id)

    async def alist_batches(
        self, *, after: str | None = None, limit: int | None = None
    ) -> BatchPage:
        """One page of batches (newest first); ``page.next_cursor`` is the next ``after``."""
        check_listing(self.provider, after=after, limit=limit)
        return await self._adapter.alist_batches(after=after, limit=limit)

    async def aiter_batches(self, *, limit: int | None = None) -> AsyncIterator[Batch]:
        """Every batch, page after page (``limit`` is the page size)."""
        check_listing(self.provider, limit=limit)
        after: str | None = None
        while True:
            page = await self.alist_batches(after=after, limit=limit)
            for batch in page:
                yield batch
            if not page.has_more or page.next_cursor is None:
                return
            after = page.next_cursor

    async def apoll_batch(
        self,
        batch_id: str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Batch], None] | None = None,
    ) -> Batch:
        """Poll the batch until it ends, with jittered exponential pauses between polls.

        ``on_progress`` receives the batch each time its status or counts change. After
        ``timeout`` seconds a BatchTimeoutError carrying the last state is raised.
        """
        last: list[Batch] = []

        async def poll_once() -> Batch:
            batch = await self.aretrieve_batch(batch_id)
            previous = last[-1] if last else None
            if on_progress is not None and (
                previous is None
                or previous.status != batch.status
                or previous.request_counts != batch.request_counts
            ):
                on_progress(batch)
            last[:] = [batch]
            return batch

        retrying = AsyncRetrying(
            retry=retry_if_result(lambda b: not b.is_terminal),
            wait=poll_wait(self.config.retry),
            stop=stop_after_delay(timeout) if timeout is not None else stop_never,
            retry_error_callback=lambda state: None,
        )
        batch: Batch | None = await retrying(poll_once)
        if batch is None:
            raise BatchTimeoutError(
                f"{self.provider}: batch {batch_id} did not end within {timeout}s "
                f"(last status {last[-1].status if last else 'unknown'})",
                batch=last[-1] if last else None,
            )
        return batch

    async def aiter_batch_results(
        self,
        batch: str | Batch,
        *,
        input_file_path: str | os.PathLike[str] | None = None,
    ) -> AsyncIterator[BatchResultItem]:
        """Stream one item per input ``custom_id``, merging the output and error files.

        Requests the provider returned no line for are reported as cancelled, expired or
        missing (by the batch's final status). Their custom_ids come from ``input_file_path``
        when given, else from the input file stored at the provider, which is read only when
        the returned lines do not cover every request.
        """
        check_results(self.provider, batch, input_file_path)
        if isinstance(batch, str):
            batch = await self.aretrieve_batch(batch)
        check_results_ready(batch)
        seen: set[str] = set()
        async for item in self._adapter.aiter_results(batch):
            if item.custom_id in seen:
                logger.warning(
                    "%s: batch %s returned custom_id %r twice; kept the first",
                    self.provider,
                    batch.id,
                    item.custom_id,
                )
                continue
            seen.add(item.custom_id)
            yield item
        if (
            input_file_path is None
            and batch.request_counts.total
            and len(seen) >= batch.request_counts.total
        ):
            return
        async for custom_id in self._unreturned_ids(batch, input_file_path):
            if custom_id not in seen:
                seen.add(custom_id)
                yield unreturned_item(batch, custom_id)

    async def _unreturned_ids(
        self, batch: Batch, input_file_path: str | os.PathLike[str] | None
    ) -> AsyncIterator[str]:
        if input_file_path is not None:
            for custom_id in iter_custom_ids(Path(input_file_path)):
                yield custom_id
        else:
            async for custom_id in self._adapter.aiter_input_custom_ids(batch):
                yield custom_id

    async def aretrieve_batch_results(
        self,
        batch: str | Batch,
        *,
        input_file_path: str | os.PathLike[str] | None = None,
    ) -> BatchResult:
        """Collect every result item of an ended batch (see ``aiter_batch_results``)."""
        check_results(self.provider, batch, input_file_path)
        if isinstance(batch, str):
            batch = await self.aretrieve_batch(batch)
        items = [
            item async for item in self.aiter_batch_results(batch, input_file_path=input_file_path)
        ]
        return BatchResult(batch=batch, results=items)
