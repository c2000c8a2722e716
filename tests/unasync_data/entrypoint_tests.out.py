"""Entry points over the mock transport (the public API, as users import it)."""

from __future__ import annotations

from unittest.mock import Mock

import any_llm.errors
import pytest
from any_llm_sync import AnyLLM, create_batch, poll_batch
from any_llm._transport.mock import MockTransport
from any_llm.types import Batch

from tests._sync.helpers import make_batch


@pytest.fixture
def transport() -> MockTransport:
    return MockTransport()


def test_create_batch(transport: MockTransport) -> None:
    batch = create_batch("openai", "requests.jsonl", transport=transport)
    assert isinstance(batch, Batch)


def test_poll_batch_retries(transport: MockTransport) -> None:
    retrieve = Mock(return_value=make_batch(status="completed"))
    with AnyLLM("openai", transport=transport) as client:
        client.retrieve_batch = retrieve
        poll_batch("batch_1", client=client)
    retrieve.assert_called()
    retrieve.assert_called_once()
    retrieve.assert_called_with("batch_1")
    retrieve.assert_called_once_with("batch_1")


def test_not_found(transport: MockTransport) -> None:
    with pytest.raises(any_llm.errors.NotFoundError):
        create_batch("openai", "missing.jsonl", transport=transport)
