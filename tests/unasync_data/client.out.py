"""The client: owns the transport, closes it, iterates over pages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, closing, contextmanager
from types import TracebackType

from any_llm.types import Batch, BatchResult

from .adapters import get_adapter

__all__ = ["BatchPager", "Client", "create_batch"]


class BatchPager:
    """Pages of batches; `async for batch in pager` walks them all."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._pending: list[Batch] = []
        self._after: str | None = None

    def __iter__(self) -> BatchPager:
        return self

    def __next__(self) -> Batch:
        if not self._pending:
            page = self._client.list_batches(after=self._after)
            if not page:
                raise StopIteration
            self._pending = page
            self._after = page[-1].id
        return self._pending.pop(0)


class Client:
    """One provider, one transport; use it as a context manager."""

    def __init__(self, provider: str) -> None:
        self._adapter = get_adapter(provider)
        self._stack = ExitStack()

    def __enter__(self) -> Client:
        self._stack.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.__exit__(exc_type, exc, tb)
        self.close()

    def close(self) -> None:
        # comments are copied as is: AsyncClient, aclose, await
        self._adapter.close()

    def create_batch(self, path: str) -> Batch:
        file_id = self._adapter.upload_file(path)
        return self._adapter.create_batch(file_id)

    def list_batches(self, after: str | None = None) -> list[Batch]:
        return self._adapter.list_batches(after=after)

    def iter_batches(self) -> Iterable[Batch]:
        return BatchPager(self)

    def retrieve_batch_results(self, batch_id: str) -> list[BatchResult]:
        return [result for result in self.iter_batch_results(batch_id)]

    def iter_batch_results(self, batch_id: str) -> Iterator[BatchResult]:
        with closing(self._adapter.iter_results(batch_id)) as results:
            for line in results:
                yield BatchResult.from_line(line)


@contextmanager
def open_client(provider: str) -> Iterator[Client]:
    with Client(provider) as client:
        yield client


def create_batch(provider: str, path: str) -> Batch:
    """Create a batch (see AsyncClient.acreate_batch)."""
    with open_client(provider) as client:
        return client.create_batch(path)
