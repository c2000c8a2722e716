"""Provider adapter: transport, retries, uploads, streaming downloads.

Mentions of AsyncTransport, aclose() or await in prose are copied as is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

from tenacity import AsyncRetrying

from any_llm._compat import arun_sync, asleep
from any_llm._retry import poll_policy, request_policy
from any_llm._transport import AsyncTransport, Request, Response
from any_llm._transport._aiohttp import AiohttpTransport
from any_llm.types import Batch, BatchStatus

from .base import AsyncBaseAdapter
from .listing import afind_stamped, aiter_listed
from .uploads import asend_upload


class AsyncOpenAIAdapter(AsyncBaseAdapter):
    """Talk to the OpenAI batch endpoints."""

    def __init__(self, transport: AsyncTransport | None = None) -> None:
        self._transport: AsyncTransport = transport or AiohttpTransport()

    async def asend(self, request: Request) -> Response:
        async for attempt in AsyncRetrying(**request_policy(self._retry)):
            with attempt:
                return await self._transport.asend(request)
        raise AssertionError("unreachable")

    async def aupload_file(self, path: str) -> str:
        response = await self.asend(self._upload_request(path))
        body = await response.aread()
        return self._file_id(body)

    async def acreate_batch(self, file_id: str) -> Batch:
        response = await self.asend(self._create_request(file_id))
        return self._batch(await response.aread())

    async def aretrieve_batch(self, batch_id: str) -> Batch:
        return self._batch(await (await self.asend(self._get_request(batch_id))).aread())

    async def acancel_batch(self, batch_id: str) -> Batch:
        return self._batch(await (await self.asend(self._cancel_request(batch_id))).aread())

    async def apoll_batch(self, batch_id: str) -> Batch:
        batch: Batch = await AsyncRetrying(**poll_policy(self._retry))(
            self.aretrieve_batch, batch_id
        )
        return batch

    async def await_terminal(self, batch_id: str, interval: float) -> Batch:
        while True:
            batch = await self.aretrieve_batch(batch_id)
            if batch.status is not BatchStatus.IN_PROGRESS:
                return batch
            await asleep(interval)

    async def aiter_input_custom_ids(self, file_id: str) -> AsyncIterator[bytes]:
        response = await self.ajson(self._download_request(file_id))
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        finally:
            await response.aclose()

    async def aiter_results(self, file_id: str) -> AsyncIterator[str]:
        response = await self.ajson(self._download_request(file_id))
        async for line in response.aiter_lines():
            yield line

    async def ajson(self, request: Request) -> Response:
        return await self._transport.ajson(request)

    async def adelete_file(self, file_id: str) -> None:
        await self.asend(self._delete_request(file_id))

    async def stage_and_upload(self, path: str) -> str:
        staged = await arun_sync(partial(self._stage, path), discard=self._discard)
        return await self.aupload_file(staged)

    async def aupload_input(self, summary: InputSummary) -> InputRef:
        ref = await self.afind_created(summary.path.name)
        await self.arelease_input(ref, created=False)
        return ref

    async def aforget_uploads(self, key: str) -> None:
        await asend_upload(self, self._delete_request(key), key)
        async for batch in aiter_listed(self):
            await self.afind_batch(batch.id)
        await afind_stamped(self, key)

    async def aclose(self) -> None:
        await self._transport.aclose()
