"""any-llm's batch record and error expectations (mozilla-ai/any-llm,
tests/unit/test_batch_types.py), written fresh: records built with any-llm's arguments."""

from __future__ import annotations

from any_llm.exceptions import BatchNotCompleteError
from any_llm.types.batch import BatchResult, BatchResultError, BatchResultItem
from any_llm.types.completion import ChatCompletion, ChatCompletionMessage, Choice, CompletionUsage


def test_batch_result_error_keeps_code_and_message() -> None:
    # Mirrors tests/unit/test_batch_types.py::test_batch_result_error_construction.
    error = BatchResultError(code="invalid_request", message="Bad input")
    assert (error.code, error.message) == ("invalid_request", "Bad input")


def test_batch_result_item_with_a_typed_completion() -> None:
    # Mirrors tests/unit/test_batch_types.py::test_batch_result_item_with_result.
    completion = ChatCompletion(
        id="chatcmpl-1",
        model="gpt-4",
        created=1700000000,
        object="chat.completion",
        choices=[
            Choice(
                index=0,
                finish_reason="stop",
                message=ChatCompletionMessage(role="assistant", content="Hello"),
            )
        ],
        usage=CompletionUsage(prompt_tokens=5, completion_tokens=1, total_tokens=6),
    )
    item = BatchResultItem(custom_id="req-1", result=completion)
    assert item.custom_id == "req-1"
    assert isinstance(item.result, ChatCompletion) and item.result.id == "chatcmpl-1"
    assert item.error is None


def test_batch_result_item_with_an_error() -> None:
    # Mirrors tests/unit/test_batch_types.py::test_batch_result_item_with_error.
    item = BatchResultItem(
        custom_id="req-2", error=BatchResultError(code="rate_limit", message="Rate limit exceeded")
    )
    assert item.custom_id == "req-2"
    assert item.result is None
    assert item.error is not None and item.error.code == "rate_limit"


def test_batch_result_item_defaults_to_no_result_and_no_error() -> None:
    # Mirrors tests/unit/test_batch_types.py::test_batch_result_item_defaults.
    item = BatchResultItem(custom_id="req-3")
    assert item.result is None
    assert item.error is None


def test_batch_result_holds_its_items() -> None:
    # Mirrors tests/unit/test_batch_types.py::test_batch_result_construction.
    result = BatchResult(
        results=[BatchResultItem(custom_id="req-1"), BatchResultItem(custom_id="req-2")]
    )
    assert len(result.results) == 2
    assert result.results[0].custom_id == "req-1"


def test_batch_result_defaults_to_empty() -> None:
    # Mirrors tests/unit/test_batch_types.py::test_batch_result_empty.
    assert BatchResult().results == []


def test_batch_not_complete_error_built_with_any_llm_keywords() -> None:
    # Mirrors tests/unit/test_batch_types.py::test_batch_not_complete_error_message.
    error = BatchNotCompleteError(batch_id="batch-123", status="in_progress")
    assert "batch-123" in str(error)
    assert "in_progress" in str(error)
    assert "retrieve_batch()" in str(error)
    assert error.batch_id == "batch-123"
    assert error.batch_status == "in_progress"


def test_batch_not_complete_error_names_the_provider() -> None:
    # Mirrors tests/unit/test_batch_types.py::test_batch_not_complete_error_with_provider; the
    # "[openai]" prefix is "openai: ..." here (docs/migrating-from-any-llm.md: str(e)).
    error = BatchNotCompleteError(batch_id="batch-456", status="validating", provider_name="openai")
    assert str(error).startswith("openai: ")
    assert "batch-456" in str(error)
    assert error.provider_name == "openai"
