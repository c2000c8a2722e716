"""Entry points over the mock transport (the public API, as users import it)."""

from __future__ import annotations

from unittest.mock import AsyncMock

import any_llm.errors
import pytest
from any_llm import AnyLLM, acreate_batch, apoll_batch
from any_llm._transport.mock import AsyncMockTransport
from any_llm.types import Batch

from tests._async.helpers import make_batch


@pytest.fixture
async def transport() -> AsyncMockTransport:
    return AsyncMockTransport()


async def test_create_batch(transport: AsyncMockTransport) -> None:
    batch = await acreate_batch("openai", "requests.jsonl", transport=transport)
    assert isinstance(batch, Batch)


async def test_poll_batch_retries(transport: AsyncMockTransport) -> None:
    retrieve = AsyncMock(return_value=make_batch(status="completed"))
    async with AnyLLM("openai", transport=transport) as client:
        client.aretrieve_batch = retrieve
        await apoll_batch("batch_1", client=client)
    retrieve.assert_awaited()
    retrieve.assert_awaited_once()
    retrieve.assert_awaited_with("batch_1")
    retrieve.assert_awaited_once_with("batch_1")


async def test_not_found(transport: AsyncMockTransport) -> None:
    with pytest.raises(any_llm.errors.NotFoundError):
        await acreate_batch("openai", "missing.jsonl", transport=transport)
