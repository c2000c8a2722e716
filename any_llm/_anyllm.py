"""``any_llm.AnyLLM``: the async client with any-llm's sync methods beside its a-methods.

The a-methods are those of ``AsyncAnyLLM`` (one aiohttp session). The sync methods
(``create_batch``, ``retrieve_batch``, ...) run on the generated sync client,
``any_llm_sync.AnyLLM``, built from the same configuration on first use and held: its own
urllib3 pool, no event loop, no thread. ``with`` closes the sync client, ``async with`` both.
Defined here, outside ``_async``, so that the generated sync class keeps its own names.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from any_llm._async.client import AsyncAnyLLM
from any_llm._config import ClientConfig
from any_llm.types import Batch, BatchPage, BatchResult, BatchResultItem

if TYPE_CHECKING:
    from any_llm_sync.client import AnyLLM as SyncAnyLLM

# any-llm's sync methods take this (whether they may run their event loop inside a running
# one); ours run no event loop, so it changes nothing and is dropped.
_LOOP_ARG = "allow_running_loop"


class _SyncHolder:
    """The lazily built sync client, closed with the object or when it is collected."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.client: SyncAnyLLM | None = None
        self.closed = False
        self.lock = threading.Lock()

    def get(self) -> SyncAnyLLM:
        with self.lock:
            if self.client is None:
                from any_llm_sync.client import AnyLLM as SyncAnyLLM

                self.client = SyncAnyLLM(self.config)
                if self.closed:  # closed before first use: every call says so
                    self.client.close()
            return self.client

    def close(self) -> None:
        with self.lock:
            self.closed = True
            if self.client is not None:
                self.client.close()


class AnyLLM(AsyncAnyLLM):
    """A client for one provider's batch API: the a-methods (``acreate_batch``, ...) on an
    aiohttp session, and any-llm's sync methods (``create_batch``, ...) on a urllib3 pool.

    Build it with ``AnyLLM.create(provider, api_key, api_base, **client_settings)``. Close it
    with ``close()``/``with`` (the sync side), ``aclose()``/``async with`` (both); an object
    never closed releases its sync connections when collected.
    """

    def __init__(self, config: ClientConfig) -> None:
        super().__init__(config)
        self._sync = _SyncHolder(config)
        weakref.finalize(self, self._sync.close)

    def __enter__(self) -> AnyLLM:
        return self

    async def __aenter__(self) -> AnyLLM:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the sync methods' connections, for good (later sync calls raise
        ClientClosedError). The a-methods' session is closed by ``aclose()``."""
        self._sync.close()

    async def aclose(self) -> None:
        """Close both the a-methods' session and the sync methods' connections, for good."""
        try:
            await super().aclose()
        finally:
            self.close()

    def create_batch(
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
        """Create a batch job from a JSONL file of requests (see ``acreate_batch``)."""
        kwargs.pop(_LOOP_ARG, None)
        return self._sync.get().create_batch(
            input_file_path,
            endpoint,
            completion_window,
            metadata,
            on_upload_progress=on_upload_progress,
            idempotency_key=idempotency_key,
            **kwargs,
        )

    def retrieve_batch(self, batch_id: str, **kwargs: Any) -> Batch:
        """Retrieve a batch's current state (see ``aretrieve_batch``)."""
        kwargs.pop(_LOOP_ARG, None)
        return self._sync.get().retrieve_batch(batch_id, **kwargs)

    def cancel_batch(self, batch_id: str, **kwargs: Any) -> Batch:
        """Cancel a batch; partial results stay reachable."""
        kwargs.pop(_LOOP_ARG, None)
        return self._sync.get().cancel_batch(batch_id, **kwargs)

    def list_batches(
        self, after: str | None = None, limit: int | None = None, **kwargs: Any
    ) -> BatchPage:
        """One page of batches (newest first); ``page.next_cursor`` is the next ``after``."""
        kwargs.pop(_LOOP_ARG, None)
        return self._sync.get().list_batches(after, limit, **kwargs)

    def retrieve_batch_results(
        self,
        batch: str | Batch,
        *,
        input_file_path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> BatchResult:
        """Every result item of an ended batch (see ``aretrieve_batch_results``)."""
        kwargs.pop(_LOOP_ARG, None)
        return self._sync.get().retrieve_batch_results(
            batch, input_file_path=input_file_path, **kwargs
        )

    def iter_batch_results(
        self, batch: str | Batch, *, input_file_path: str | os.PathLike[str] | None = None
    ) -> Iterator[BatchResultItem]:
        """Stream one item per input request of an ended batch (see ``aiter_batch_results``)."""
        return self._sync.get().iter_batch_results(batch, input_file_path=input_file_path)

    def iter_batches(self, *, limit: int | None = None) -> Iterator[Batch]:
        """Every batch, page after page (see ``aiter_batches``)."""
        return self._sync.get().iter_batches(limit=limit)

    def poll_batch(
        self,
        batch_id: str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Batch], None] | None = None,
    ) -> Batch:
        """Poll the batch until it ends (see ``apoll_batch``)."""
        return self._sync.get().poll_batch(batch_id, timeout=timeout, on_progress=on_progress)

    def find_batch(self, idempotency_key: str) -> Batch | None:
        """The batch created with ``idempotency_key`` (see ``afind_batch``)."""
        return self._sync.get().find_batch(idempotency_key)
