"""``AnyLLM``: one provider, one HTTP connection pool, every batch operation."""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from tenacity import AsyncRetrying, retry_if_result, stop_after_delay

import any_llm._catalog as _catalog
from any_llm._args import check_create, check_idempotency_key, check_listing, check_results
from any_llm._call_options import call_scope, split_call_options
from any_llm._compat import arun_sync
from any_llm._config import ClientConfig, merge_client_kwargs, resolve_config
from any_llm._jsonl import InputSummary, check_input, discard_input, iter_custom_ids
from any_llm._providers import CreateLookup, InputRef
from any_llm._results import check_results_ready, stray_item, unreturned_item
from any_llm._retry import backoff, create_doubt, poll_policy, request_policy, single_attempts
from any_llm._transport import UPLOAD_PROGRESS
from any_llm._transport._aiohttp import AiohttpTransport
from any_llm.errors import (
    APIError,
    BatchMayExistError,
    BatchTimeoutError,
    ConfigurationError,
)
from any_llm.types import (
    Batch,
    BatchPage,
    BatchResult,
    BatchResultItem,
    BatchResultStatus,
    LLMProvider,
)

from .adapters import make_adapter
from .http import AsyncHTTPClient
from .listing import aiter_listed

logger = logging.getLogger("any_llm")

_Client = TypeVar("_Client", bound="AsyncAnyLLM")


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
        # A client never closed (as any-llm's examples use it) releases its connections when
        # it is collected, without a warning.
        weakref.finalize(self, self._transport.abandon)

    @classmethod
    def create(
        cls: type[_Client],
        provider: str | LLMProvider,
        api_key: str | None = None,
        api_base: str | None = None,
        *,
        client_args: Mapping[str, Any] | None = None,
        **client_kwargs: Any,
    ) -> _Client:
        """Create a client; the key is ``api_key`` or the provider's environment variable.

        Client settings (``timeout``, ``max_retries``, ``default_headers``, OpenAI's
        ``organization`` and ``project``, ...: see ``client_args``) may be passed directly as
        keyword arguments, as in any-llm, or in ``client_args``; a setting given both ways is
        refused."""
        args = merge_client_kwargs(provider, client_args, client_kwargs)
        return cls(resolve_config(provider, api_key=api_key, api_base=api_base, client_args=args))

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
        """Close the HTTP session, for good: calls in flight end, and every later call raises
        ClientClosedError (create a new client instead). Closing twice is harmless."""
        await self._transport.aclose()

    async def acreate_batch(
        self,
        input_file_path: str | os.PathLike[str],
        endpoint: str,
        completion_window: str = "24h",
        metadata: dict[str, str] | None = None,
        *,
        on_upload_progress: Callable[[int], None] | None = None,
        idempotency_key: str | None = None,
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
        counts again). Extra ``kwargs`` are sent in the create request, but for the openai
        SDK's per-request options: ``timeout`` (seconds, or an ``httpx.Timeout``-like object),
        ``extra_headers`` and ``extra_query`` apply to every request of the call, and the
        fields of ``extra_body`` are merged into the create body.

        Each call stamps its batch (and its upload) with an idempotency key: a random one, or
        ``idempotency_key`` when given, in which case a batch already carrying that key (among
        the newest listed) is returned instead of creating another. When the outcome of the
        create stays unknown (its answer was lost and no batch could be found),
        BatchMayExistError carries the key: ``afind_batch(key)`` finds the batch later; the
        uploaded input is kept.
        """
        refused = self._adapter.extra_body_refused
        if kwargs.get("extra_body") is not None and refused is not None:
            raise ConfigurationError(
                f"{self.provider}: create_batch cannot take extra_body: {refused}"
            )
        options, kwargs = split_call_options(
            self.provider, "create_batch", kwargs, body_fields=True
        )
        with call_scope(options):
            return await self._new_batch(
                input_file_path,
                endpoint,
                completion_window,
                metadata,
                on_upload_progress,
                idempotency_key,
                kwargs,
            )

    async def _new_batch(
        self,
        input_file_path: str | os.PathLike[str],
        endpoint: str,
        completion_window: str,
        metadata: dict[str, str] | None,
        on_upload_progress: Callable[[int], None] | None,
        idempotency_key: str | None,
        kwargs: dict[str, Any],
    ) -> Batch:
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
        key = check_idempotency_key(idempotency_key)
        self._http.check_open("create a batch")
        # The pass over the file runs off the event loop (inline in the sync twin).
        source = await arun_sync(
            partial(
                check_input,
                input_file_path,
                endpoint=endpoint,
                limits=spec.limits,
                provider=self.provider,
                as_is=spec.sends_input_as_is,
            ),
            discard=discard_input,
        )
        # Every body streamed from disk for this call reports its reads (retries included).
        progress = UPLOAD_PROGRESS.set(on_upload_progress)
        try:
            if idempotency_key is not None and self._adapter.finds_by_key:
                earlier = await self._adapter.afind_created(key)  # among the newest batches
                if earlier.ours:
                    return earlier.ours[0]
            input_ref = await self._adapter.aupload_input(source, idempotency_key=key)
            used = True  # until shown otherwise, a batch may hold the upload: keep it
            try:
                batch = await self._create(
                    input_ref, endpoint, completion_window, metadata, kwargs, key
                )
            except BatchMayExistError:
                raise
            except APIError:
                used = False  # the create failed and provably made no batch
                raise
            except BaseException:  # cancelled, interrupted: the outcome is not known
                logger.warning(
                    "%s: the create was interrupted; a batch may exist with idempotency key %s "
                    "(input %s kept): find it with find_batch(%r, %r)",
                    self.provider,
                    key,
                    input_ref.file_id or input_ref.summary.path,
                    self.provider,
                    key,
                )
                raise
            finally:
                await self._release(input_ref, used=used)
            return batch
        finally:
            UPLOAD_PROGRESS.reset(progress)
            if isinstance(source, InputSummary) and source.staged_path is not None:
                source.staged_path.unlink(missing_ok=True)  # the translation staged by the pass

    async def _create(
        self,
        input_ref: InputRef,
        endpoint: str,
        completion_window: str,
        metadata: dict[str, str] | None,
        extra: dict[str, Any],
        key: str,
    ) -> Batch:
        """Create the batch. An attempt whose outcome is unknown is never followed by another
        before the batch it may have made has been looked for; when the last attempt leaves
        the outcome unknown, BatchMayExistError is raised."""
        doubt: APIError | None = None  # the last attempt that may have made a batch
        try:
            async for attempt in AsyncRetrying(**request_policy(self.config.retry)):
                with attempt:
                    if doubt is not None:
                        earlier = await self._find_own(key, doubt)
                        if earlier is not None:
                            return earlier
                    try:
                        batch = await self._adapter.acreate_batch(
                            input_ref=input_ref,
                            endpoint=endpoint,
                            completion_window=completion_window,
                            metadata=metadata,
                            idempotency_key=key,
                            extra=extra,
                        )
                    except APIError as exc:
                        if create_doubt(exc) != "none":
                            doubt = exc
                        raise
                    if doubt is not None and create_doubt(doubt) == "committing":
                        # an earlier attempt, its answer lost, may have made one meanwhile
                        await self._cancel_extras(key, keep=batch)
                    return batch
        except BatchMayExistError:
            raise
        except APIError as exc:
            if doubt is None:
                raise
            try:
                earlier = await self._find_own(key, exc if doubt is exc else None)
            except BatchMayExistError:
                raise
            except APIError as lookup:
                raise self._may_exist(key, input_ref, exc, f"the search failed: {lookup}") from exc
            if earlier is not None:
                return earlier
            raise self._may_exist(key, input_ref, exc, "no batch carries its key yet") from exc
        raise AssertionError("unreachable")

    async def _find_own(self, key: str, doubt: APIError | None) -> Batch | None:
        """The batch a doubtful attempt made, if the provider shows one. After a lost answer
        (``doubt`` is ``"committing"``) the search goes on for ``RetryConfig.create_settle``
        seconds while nothing is found, so no attempt races one still being committed."""
        settle = 0.0
        if doubt is not None and create_doubt(doubt) == "committing":
            settle = self.config.retry.create_settle
        found: CreateLookup = await AsyncRetrying(
            retry=retry_if_result(lambda lookup: not lookup),
            stop=stop_after_delay(settle),
            wait=backoff(settle / 10, settle / 3),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )(self._adapter.afind_created, key)
        if found.candidates:
            ids = ", ".join(b.id for b in found.candidates)
            raise BatchMayExistError(
                f"{self.provider}: a create request got no answer, and batch {ids} of as "
                "many requests was created since; its batches carry no key, so it cannot be "
                "shown to be this one, and the create was not sent again. Check it "
                "(retrieve_batch) and cancel it if it is not yours",
                idempotency_key=key,
                batch_id=found.candidates[0].id,
                provider=self.provider,
            )
        if not found.ours:
            return None
        first = found.ours[0]
        logger.warning(
            "%s: a create request got no answer, but batch %s carries its idempotency key %s; "
            "returning it instead of creating another",
            self.provider,
            first.id,
            key,
        )
        await self._cancel_extras(key, keep=first, found=found)
        return first

    async def _cancel_extras(
        self, key: str, *, keep: Batch, found: CreateLookup | None = None
    ) -> None:
        """Cancel every batch but ``keep`` that carries ``key``: they were made by attempts of
        this call whose answers were lost, and would bill the same requests twice."""
        if found is None:
            found = await self._adapter.afind_created(key)
        for extra in found.ours:
            if extra.id == keep.id:
                continue
            logger.warning(
                "%s: batch %s also carries idempotency key %s (an attempt whose answer was "
                "lost); cancelling it and keeping %s",
                self.provider,
                extra.id,
                key,
                keep.id,
            )
            try:
                await self._adapter.acancel_batch(extra.id)
            except APIError as exc:
                logger.warning(
                    "%s: could not cancel batch %s (%s); it runs the same requests as %s: "
                    "cancel it yourself",
                    self.provider,
                    extra.id,
                    exc,
                    keep.id,
                )

    def _may_exist(
        self, key: str, input_ref: InputRef, exc: APIError, why: str
    ) -> BatchMayExistError:
        kept = f"; the input {input_ref.file_id} was kept" if input_ref.file_id else ""
        return BatchMayExistError(
            f"{self.provider}: the create request's outcome is unknown ({exc}); {why}. A "
            f"batch may exist with idempotency key {key}{kept}. Do not create it again: find "
            f"it with find_batch({self.provider!r}, {key!r}) or `any-llm batch find {key} "
            f"--provider {self.provider}`",
            idempotency_key=key,
            input_file_id=input_ref.file_id,
            provider=self.provider,
            method=exc.method,
            url=exc.url,
        )

    async def _release(self, input_ref: InputRef, *, used: bool) -> None:
        """Let the adapter clean up at the provider, then delete any staged local file."""
        try:
            await self._adapter.arelease_input(input_ref, used=used)
        except APIError as exc:
            logger.warning(
                "%s: could not clean up the input %s after %s (%s); delete it yourself",
                self.provider,
                input_ref.file_id,
                "creating the batch" if used else "a failed create",
                exc.__class__.__name__,
            )
        finally:
            if input_ref.staged_path is not None:
                input_ref.staged_path.unlink(missing_ok=True)

    async def afind_batch(self, idempotency_key: str) -> Batch | None:
        """The batch created with ``idempotency_key`` (the key a BatchMayExistError carries),
        or None when the provider lists none. Every page of the list is searched."""
        key = check_idempotency_key(idempotency_key)
        if not self._adapter.finds_by_key:
            raise ConfigurationError(
                f"{self.provider}: batches carry no idempotency key here, so none can be found "
                "by one; list_batches shows them (a BatchMayExistError names the batch that "
                "may be yours)"
            )
        found = await self._adapter.afind_created(key, pages=None)
        return found.ours[0] if found.ours else None

    async def aretrieve_batch(self, batch_id: str, **kwargs: Any) -> Batch:
        """Retrieve a batch's current state.

        ``kwargs``: the openai SDK's per-request options ``timeout``, ``extra_headers``,
        ``extra_query`` (so for every call below); anything else is a ConfigurationError."""
        options, _ = split_call_options(self.provider, "retrieve_batch", kwargs)
        with call_scope(options):
            return await self._adapter.aretrieve_batch(batch_id)

    async def acancel_batch(self, batch_id: str, **kwargs: Any) -> Batch:
        """Cancel a batch; partial results stay reachable."""
        options, _ = split_call_options(self.provider, "cancel_batch", kwargs)
        with call_scope(options):
            return await self._adapter.acancel_batch(batch_id)

    async def alist_batches(
        self, after: str | None = None, limit: int | None = None, **kwargs: Any
    ) -> BatchPage:
        """One page of batches (newest first); ``page.next_cursor`` is the next ``after``."""
        check_listing(self.provider, after=after, limit=limit)
        options, _ = split_call_options(self.provider, "list_batches", kwargs)
        with call_scope(options):
            return await self._adapter.alist_batches(after=after, limit=limit)

    async def aiter_batches(self, *, limit: int | None = None) -> AsyncIterator[Batch]:
        """Every batch, page after page (``limit`` is the page size). A list that repeats
        itself (a server ignoring the cursor) ends with a warning instead of never ending."""
        check_listing(self.provider, limit=limit)
        async for batch in aiter_listed(self._adapter, limit=limit):
            yield batch

    async def apoll_batch(
        self,
        batch_id: str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Batch], None] | None = None,
    ) -> Batch:
        """Poll the batch until it ends, with jittered exponential pauses between polls.

        ``on_progress`` receives the batch each time its status or counts change. After
        ``timeout`` seconds a BatchTimeoutError carrying the last state is raised: the pauses
        are cut to end at the deadline, where one last poll is made, so the call ends within
        ``timeout`` plus one request. Each poll is one request; one that fails with a
        connection error, a timeout, 408, 429 or 5xx is logged (WARNING) and followed by the
        next poll, until the deadline (or forever without ``timeout``); any other error (404,
        401, ...) is raised at once.
        """
        last: list[Batch] = []
        failures: list[APIError] = []

        async def poll_once() -> Batch:
            try:
                with single_attempts():
                    batch = await self.aretrieve_batch(batch_id)
            except APIError as exc:
                failures[:] = [exc]
                raise
            failures.clear()
            previous = last[-1] if last else None
            if on_progress is not None and (
                previous is None
                or previous.status != batch.status
                or previous.request_counts != batch.request_counts
            ):
                on_progress(batch)
            last[:] = [batch]
            return batch

        retrying = AsyncRetrying(**poll_policy(self.config.retry, timeout=timeout))
        batch: Batch | None = await retrying(poll_once)
        if batch is None:
            status = last[-1].status.value if last else "unknown: no poll succeeded"
            message = f"{self.provider}: batch {batch_id} did not end within {timeout}s "
            message += f"(last status {status})"
            if failures:
                message += f"; the last poll failed: {failures[-1]}"
            raise BatchTimeoutError(message, batch=last[-1] if last else None) from (
                failures[-1] if failures else None
            )
        return batch

    async def aiter_batch_results(
        self,
        batch: str | Batch,
        *,
        input_file_path: str | os.PathLike[str] | None = None,
    ) -> AsyncIterator[BatchResultItem]:
        """Stream one item per input ``custom_id``, merging the output and error files.

        The input's custom_ids come from ``input_file_path`` when given, else from the input
        stored at the provider; they are read first, so that the items are exactly the input's
        requests, each once, whatever the provider returns. Requests the provider returned no
        line for are reported as cancelled, expired or missing (by the batch's final status),
        after the returned ones. A returned line whose custom_id the input does not hold is
        logged and yielded marked ``stray``; it never stands for a request. (Where the input
        cannot be read back, as on Anthropic without ``input_file_path``, every returned line
        counts.)
        """
        check_results(self.provider, batch, input_file_path)
        if isinstance(batch, str):
            batch = await self.aretrieve_batch(batch)
        check_results_ready(batch)
        wanted: dict[str, None] = {}  # the input's custom_ids, in input order
        async for custom_id in self._input_ids(batch, input_file_path):
            wanted[custom_id] = None
        seen: set[str] = set()
        async for item in self._adapter.aiter_results(batch):
            if wanted and item.custom_id not in wanted:
                logger.warning(
                    "%s: batch %s returned custom_id %r, which is not in its input; "
                    "yielded as a stray",
                    self.provider,
                    batch.id,
                    item.custom_id,
                )
                yield stray_item(item)
                continue
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
        for custom_id in wanted:
            if custom_id not in seen:
                yield unreturned_item(batch, custom_id)

    async def _input_ids(
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
        **kwargs: Any,
    ) -> BatchResult:
        """Collect every result item of an ended batch (see ``aiter_batch_results``)."""
        check_results(self.provider, batch, input_file_path)
        options, _ = split_call_options(self.provider, "retrieve_batch_results", kwargs)
        with call_scope(options):
            return await self._collect_results(batch, input_file_path)

    async def _collect_results(
        self, batch: str | Batch, input_file_path: str | os.PathLike[str] | None
    ) -> BatchResult:
        if isinstance(batch, str):
            batch = await self.aretrieve_batch(batch)
        items: list[BatchResultItem] = []
        strays: list[BatchResultItem] = []
        async for item in self.aiter_batch_results(batch, input_file_path=input_file_path):
            (strays if item.status is BatchResultStatus.STRAY else items).append(item)
        return BatchResult(batch=batch, results=items, strays=strays)

    # any-llm's provider listing (any_llm/_catalog.py holds the logic).
    SUPPORTS_BATCH = _catalog.SUPPORTS_BATCH
    get_supported_providers = staticmethod(_catalog.get_supported_providers)
    get_all_provider_metadata = staticmethod(_catalog.get_all_provider_metadata)
    get_provider_enum = staticmethod(_catalog.get_provider_enum)
    resolve_provider_key = staticmethod(_catalog.get_provider_enum)
    split_model_provider = staticmethod(_catalog.split_model_provider)

    def get_provider_metadata(self) -> _catalog.ProviderMetadata:
        """This client's provider's metadata (any-llm's ``get_provider_metadata``)."""
        return _catalog.provider_metadata(self.provider)
