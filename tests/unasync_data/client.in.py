"""The client: owns the transport, closes it, iterates over pages."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from types import TracebackType

from any_llm.types import Batch, BatchResult

from .adapters import get_adapter

__all__ = ["AsyncBatchPager", "AsyncClient", "acreate_batch"]


class AsyncBatchPager:
    """Pages of batches; `async for batch in pager` walks them all."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._pending: list[Batch] = []
        self._after: str | None = None

    def __aiter__(self) -> AsyncBatchPager:
        return self

    async def __anext__(self) -> Batch:
        if not self._pending:
            page = await self._client.alist_batches(after=self._after)
            if not page:
                raise StopAsyncIteration
            self._pending = page
            self._after = page[-1].id
        return self._pending.pop(0)


class AsyncClient:
    """One provider, one transport; use it as a context manager."""

    def __init__(self, provider: str) -> None:
        self._adapter = get_adapter(provider)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> AsyncClient:
        await self._stack.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)
        await self.aclose()

    async def aclose(self) -> None:
        # comments are copied as is: AsyncClient, aclose, await
        await self._adapter.aclose()

    async def acreate_batch(self, path: str) -> Batch:
        file_id = await self._adapter.aupload_file(path)
        return await self._adapter.acreate_batch(file_id)

    async def alist_batches(self, after: str | None = None) -> list[Batch]:
        return await self._adapter.alist_batches(after=after)

    def aiter_batches(self) -> AsyncIterable[Batch]:
        return AsyncBatchPager(self)

    async def aretrieve_batch_results(self, batch_id: str) -> list[BatchResult]:
        return [result async for result in self.aiter_batch_results(batch_id)]

    async def aiter_batch_results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        async with aclosing(self._adapter.aiter_results(batch_id)) as results:
            async for line in results:
                yield BatchResult.from_line(line)


@asynccontextmanager
async def open_client(provider: str) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(provider) as client:
        yield client


async def acreate_batch(provider: str, path: str) -> Batch:
    """Create a batch (see AsyncClient.acreate_batch)."""
    async with open_client(provider) as client:
        return await client.acreate_batch(path)
