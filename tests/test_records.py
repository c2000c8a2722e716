"""Records as any-llm users know them (issue 12, items 5, 6, 7): Batch and BatchRequestCounts
serialize like openai's pydantic models, a list page is a list, result items are built with
any-llm's arguments, and the idempotency stamp is not part of the user's metadata."""

from __future__ import annotations

import json
from typing import Any, cast

import openai.types
import pytest
from openai.types.batch_request_counts import BatchRequestCounts as OpenAIRequestCounts

from any_llm._converter import converter
from any_llm._providers import IDEMPOTENCY_KEY, gemini, mistral
from any_llm._providers import openai as openai_wire
from any_llm.types import (
    Batch,
    BatchPage,
    BatchRequestCounts,
    BatchResult,
    BatchResultError,
    BatchResultItem,
    BatchResultStatus,
    BatchStatus,
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionMessage,
    CreateEmbeddingResponse,
)

# A Batch as OpenAI's API reference shows it, every field set.
OPENAI_BATCH: dict[str, Any] = {
    "id": "batch_abc123",
    "object": "batch",
    "endpoint": "/v1/chat/completions",
    "errors": {
        "object": "list",
        "data": [{"code": "invalid_json", "message": "bad line", "param": None, "line": 3}],
    },
    "input_file_id": "file-abc123",
    "completion_window": "24h",
    "status": "completed",
    "output_file_id": "file-cvaTdG",
    "error_file_id": "file-HOWS94",
    "created_at": 1711471533,
    "in_progress_at": 1711471538,
    "expires_at": 1711557933,
    "finalizing_at": 1711493133,
    "completed_at": 1711493163,
    "failed_at": None,
    "expired_at": None,
    "cancelling_at": None,
    "cancelled_at": None,
    "request_counts": {"total": 100, "completed": 95, "failed": 5},
    "metadata": {"customer_id": "user_123456789", "batch_description": "Nightly eval job"},
    "model": "gpt-4o-mini",
    "usage": {
        "input_tokens": 1500,
        "input_tokens_details": {"cached_tokens": 1024},
        "output_tokens": 500,
        "output_tokens_details": {"reasoning_tokens": 300},
        "total_tokens": 2000,
    },
}
OURS = ("provider", "provider_status", "idempotency_key")


def openai_view(data: dict[str, Any]) -> dict[str, Any]:
    """What openai's own Batch model makes of ``data`` (its fields only)."""
    dumped = openai.types.Batch.model_validate(data).model_dump(exclude_none=True)
    return {k: v for k, v in dumped.items() if k not in OURS}


# item 6: Batch from OpenAI's fields, and back


def test_a_batch_is_built_from_openais_fields_alone() -> None:
    fields = {k: v for k, v in OPENAI_BATCH.items() if v is not None}
    batch = Batch(**fields)  # no provider, no provider_status
    assert batch.provider == "openai"
    assert batch.status is BatchStatus.COMPLETED  # the string became our enum
    assert batch.provider_status == "completed"
    assert batch.idempotency_key is None


def test_model_dump_is_what_openais_batch_takes() -> None:
    batch = Batch.model_validate(OPENAI_BATCH)
    dumped = batch.model_dump()
    assert {k: dumped.pop(k) for k in OURS} == {
        "provider": "openai",
        "provider_status": "completed",
        "idempotency_key": None,
    }
    assert dumped == OPENAI_BATCH
    # openai's own model reads our dump as it reads the API's JSON (our fields as extras)
    assert openai_view(batch.model_dump()) == openai_view(OPENAI_BATCH)
    assert openai.types.Batch.model_validate(batch.model_dump()).provider == "openai"  # type: ignore[attr-defined]


def test_model_dump_exclude_none_and_mode() -> None:
    batch = Batch(id="b", status=BatchStatus.IN_PROGRESS)
    sparse = batch.model_dump(exclude_none=True, mode="json")
    assert "failed_at" not in sparse and "metadata" not in sparse and "errors" not in sparse
    assert sparse["status"] == "in_progress" and sparse["request_counts"]["total"] == 0
    assert batch.model_dump(mode="json") == batch.model_dump()


def test_model_dump_json_reads_back_in_both_libraries() -> None:
    batch = Batch.model_validate(OPENAI_BATCH)
    text = batch.model_dump_json()
    assert json.loads(text) == batch.model_dump()
    assert ", " not in text  # compact, as pydantic writes it
    assert json.loads(batch.model_dump_json(indent=2)) == batch.model_dump()
    theirs = openai.types.Batch.model_validate_json(text)
    assert theirs.request_counts is not None and theirs.request_counts.failed == 5
    assert Batch.model_validate_json(text) == batch
    assert Batch.model_validate_json(theirs.model_dump_json()) == batch


def test_model_validate_takes_openais_model_and_round_trips() -> None:
    theirs = openai.types.Batch.model_validate(OPENAI_BATCH)
    batch = Batch.model_validate(theirs)
    assert batch.usage is not None and batch.usage.output_tokens_details.reasoning_tokens == 300
    assert batch.errors is not None and batch.errors.data[0].line == 3
    assert batch.metadata == OPENAI_BATCH["metadata"]
    assert Batch.model_validate(batch.model_dump()) == batch
    assert Batch.model_validate(batch) is batch
    sparse = openai.types.Batch(
        id="b", completion_window="24h", created_at=1, endpoint="/v1/embeddings",
        input_file_id="f", object="batch", status="validating",
    )  # fmt: skip
    assert Batch.model_validate(sparse).request_counts == BatchRequestCounts()  # None = absent


def test_model_validate_keeps_a_status_it_does_not_know() -> None:
    batch = Batch.model_validate({**OPENAI_BATCH, "status": "paused"})
    assert (batch.status, batch.provider_status) == (BatchStatus.UNKNOWN, "paused")
    assert Batch(id="b", status="paused").provider_status == "unknown"  # built, not read


def test_model_validate_moves_the_stamp_out_of_metadata() -> None:
    stamped = {**OPENAI_BATCH, "metadata": {"job": "x", IDEMPOTENCY_KEY: "k1"}}
    batch = Batch.model_validate(stamped)
    assert (batch.metadata, batch.idempotency_key) == ({"job": "x"}, "k1")
    alone = Batch.model_validate({**OPENAI_BATCH, "metadata": {IDEMPOTENCY_KEY: "k1"}})
    assert (alone.metadata, alone.idempotency_key) == (None, "k1")


@pytest.mark.parametrize(
    "bad",
    [{"status": "completed"}, {**OPENAI_BATCH, "created_at": "yesterday"}, ["not", "a", "dict"]],
    ids=["no id", "bad timestamp", "not a dict"],
)
def test_model_validate_refuses_a_wrong_shape(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"Batch\.model_validate"):
        Batch.model_validate(bad)


def test_request_counts_serialize_like_openais() -> None:
    counts = BatchRequestCounts(total=3, completed=2, failed=1)
    assert counts.model_dump() == {"total": 3, "completed": 2, "failed": 1}
    assert OpenAIRequestCounts.model_validate(counts.model_dump()).completed == 2
    theirs = OpenAIRequestCounts(total=3, completed=2, failed=1)
    assert BatchRequestCounts.model_validate(theirs) == counts
    assert BatchRequestCounts.model_validate_json(theirs.model_dump_json()) == counts
    assert json.loads(counts.model_dump_json()) == theirs.model_dump()


def test_converter_unstructure_is_model_dump() -> None:
    batch = Batch.model_validate(OPENAI_BATCH)
    assert converter.unstructure(batch) == batch.model_dump()


# item 6: a list page is a list


def _batches(n: int) -> list[Batch]:
    return [Batch(id=f"b{i}", status=BatchStatus.COMPLETED) for i in range(n)]


def test_a_batch_page_is_a_list() -> None:
    first, second = _batches(3), _batches(1)
    page = BatchPage(first, has_more=True, next_cursor="b2")
    assert isinstance(page, list)
    assert page == first and first == page
    assert len(page) == 3 and page[0].id == "b0" and page[-1].id == "b2"
    assert page[1:] == first[1:] and type(page[1:]) is list
    assert page + second == first + second
    assert [b.id for b in page] == ["b0", "b1", "b2"]
    assert (page.has_more, page.next_cursor) == (True, "b2")
    assert page.data == first  # the ``data`` of OpenAI's page, as before
    assert "has_more=True" in repr(page) and "next_cursor='b2'" in repr(page)
    empty = BatchPage()
    assert empty == [] and not empty and (empty.has_more, empty.next_cursor) == (False, None)


def test_list_parsers_make_list_pages() -> None:
    wire = {"object": "list", "data": [OPENAI_BATCH], "has_more": True, "last_id": "batch_abc123"}
    page = openai_wire.parse_page(wire, lambda b: Batch.model_validate(b))
    assert isinstance(page, list) and page == [Batch.model_validate(OPENAI_BATCH)]
    assert page.next_cursor == "batch_abc123"
    cut = openai_wire.cut_page(_batches(3), after="b0", limit=1, provider="groq")
    assert cut == _batches(3)[1:2] and cut.has_more and cut.next_cursor == "b1"


# item 5: result records with any-llm's arguments


def _completion(text: str = "hi") -> ChatCompletion:
    return ChatCompletion(
        id="chatcmpl-1",
        model="gpt-4o-mini",
        created=1,
        choices=[ChatCompletionChoice(message=ChatCompletionMessage(content=text))],
    )


def test_an_item_built_with_a_result_succeeded() -> None:
    completion = _completion()
    item = BatchResultItem(custom_id="a", result=completion)
    assert item.status is BatchResultStatus.SUCCEEDED and item.succeeded
    assert item.result is completion and item.error is None
    assert item.response is not None and item.response["object"] == "chat.completion"
    assert item.chat_completion() == completion
    assert item == BatchResultItem(custom_id="a", response=converter.unstructure(completion))


def test_an_item_built_with_an_error_failed_and_its_code_is_never_none() -> None:
    item = BatchResultItem(custom_id="a", error=BatchResultError(code="bad", message="m"))
    assert item.status is BatchResultStatus.FAILED and item.result is None
    assert BatchResultError(message="m").code == "unknown"
    assert BatchResultError(message="m", code=None).code == "unknown"
    bare = BatchResultItem(custom_id="a")
    assert bare.status is BatchResultStatus.MISSING and not bare.returned
    given = BatchResultItem(custom_id="a", status=BatchResultStatus.EXPIRED)
    assert given.status is BatchResultStatus.EXPIRED  # a status given is kept


def test_a_result_is_built_from_items_alone() -> None:
    ok = BatchResultItem(custom_id="a", result=_completion())
    bad = BatchResultItem(custom_id="b", error=BatchResultError(code="x", message="m"))
    result = BatchResult(results=[ok, bad])
    assert result.batch is None and len(result) == 2 and list(result) == [ok, bad]
    assert result.succeeded == [ok] and result.failed == [bad] and result.returned == [ok, bad]


def test_returned_is_only_what_the_provider_returned() -> None:
    ok = BatchResultItem(custom_id="a", result=_completion())
    bad = BatchResultItem(custom_id="b", error=BatchResultError(message="m"))
    gone = [
        BatchResultItem(custom_id=c, status=s, error=BatchResultError(message="m"))
        for c, s in (
            ("c", BatchResultStatus.MISSING),
            ("d", BatchResultStatus.EXPIRED),
            ("e", BatchResultStatus.CANCELLED),
        )
    ]
    stray = BatchResultItem(custom_id="z", status=BatchResultStatus.STRAY, result=_completion())
    result = BatchResult(results=[bad, ok, *gone], strays=[stray])
    assert result.returned == [bad, ok]  # provider order kept, ours dropped
    assert len(result) == 5 and len(result.failed) == 4


LINE: dict[str, Any] = {
    "id": "batch_req_1",
    "custom_id": "a",
    "response": {
        "status_code": 200,
        "request_id": "r1",
        "body": {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        },
    },
    "error": None,
}


def _parsed(line: dict[str, Any]) -> BatchResultItem:
    item = openai_wire.parse_result_line(json.dumps(line).encode(), where="t")
    assert item is not None
    return item


def test_a_parsed_line_carries_its_typed_result() -> None:
    item = _parsed(LINE)
    assert isinstance(item.result, ChatCompletion)
    assert item.result.choices[0].message.content == "hi"
    assert item.result.usage is not None and item.result.usage.total_tokens == 2
    assert item.result == item.chat_completion()
    assert "result" not in converter.unstructure(item)  # written once, as ``response``


def test_a_parsed_embeddings_line_carries_typed_embeddings() -> None:
    body = {
        "object": "list",
        "model": "text-embedding-3-small",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25]}],
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    item = _parsed({**LINE, "response": {**LINE["response"], "body": body}})
    assert isinstance(item.result, CreateEmbeddingResponse)
    assert item.result.data[0].embedding == [0.5, -0.25]


def test_a_body_of_another_shape_has_no_typed_result() -> None:
    odd = {**LINE, "response": {**LINE["response"], "body": {"object": "chat.completion"}}}
    item = _parsed(odd)
    assert item.succeeded and item.response == {"object": "chat.completion"}
    assert item.result is None
    with pytest.raises(ValueError, match="custom_id 'a'"):
        item.chat_completion()  # says why


def test_a_failed_line_without_a_code_says_unknown() -> None:
    line = {"custom_id": "a", "response": {"status_code": 503, "body": {}}, "error": None}
    item = _parsed(line)
    assert item.status is BatchResultStatus.FAILED and item.result is None
    assert item.error is not None and item.error.code == "unknown"


# item 7: the stamp comes back as idempotency_key, not in metadata


@pytest.mark.parametrize(
    ("metadata", "kept"),
    [
        ({"job": "x", IDEMPOTENCY_KEY: "k1"}, {"job": "x"}),
        ({IDEMPOTENCY_KEY: "k1"}, None),  # only ours: as if the user wrote none
    ],
)
def test_openai_and_mistral_records_strip_the_stamp(
    metadata: dict[str, str], kept: dict[str, str] | None
) -> None:
    from_openai = converter.structure(
        openai_wire.batch_to_record({**OPENAI_BATCH, "metadata": metadata}), Batch
    )
    assert (from_openai.metadata, from_openai.idempotency_key) == (kept, "k1")
    job = {"id": "j1", "status": "QUEUED", "created_at": 1, "metadata": metadata}
    from_mistral = converter.structure(mistral.batch_to_record(job), Batch)
    assert (from_mistral.metadata, from_mistral.idempotency_key) == (kept, "k1")
    assert openai_wire.has_idempotency_key(from_openai, "k1")


def test_a_batch_without_our_stamp_keeps_its_metadata() -> None:
    batch = converter.structure(openai_wire.batch_to_record(OPENAI_BATCH), Batch)
    assert batch.metadata == OPENAI_BATCH["metadata"] and batch.idempotency_key is None


@pytest.mark.parametrize(
    ("display", "user_name", "key"),
    [
        ("nightly [any-llm-k1]", "nightly", "k1"),
        ("any-llm-0123456789abcdef0123456789abcdef", None, "0123456789abcdef0123456789abcdef"),
        ("a [b] [any-llm-my_key-2]", "a [b]", "my_key-2"),  # any key create_batch accepts
        ("mine", "mine", None),
    ],
)
def test_gemini_display_names_split_into_name_and_key(
    display: str, user_name: str | None, key: str | None
) -> None:
    assert gemini.split_display_name(display) == (user_name, key)
    if key is not None:
        assert gemini.display_name(key, user_name) == display
    operation = {"name": "batches/b1", "metadata": {"displayName": display}}
    batch = converter.structure(gemini.batch_to_record(operation), Batch)
    expected = {"displayName": user_name} if user_name is not None else None
    assert (batch.metadata, batch.idempotency_key) == (expected, key)


def test_an_item_takes_openais_chat_completion_as_its_result() -> None:
    from openai.types.chat import ChatCompletion as OpenAIChatCompletion

    theirs = OpenAIChatCompletion.model_validate(LINE["response"]["body"])
    item = BatchResultItem(custom_id="a", result=theirs)  # type: ignore[arg-type]
    assert item.status is BatchResultStatus.SUCCEEDED
    assert cast(object, item.result) is theirs  # kept as given (typed as ours)
    assert item.response == theirs.model_dump(mode="json")
    assert item.chat_completion().choices[0].message.content == "hi"


def test_anyllms_choice_name_builds_our_completion() -> None:
    from any_llm.types import Choice

    completion = ChatCompletion(
        id="c", model="m", choices=[Choice(index=0, finish_reason="stop")], object="chat.completion"
    )
    assert BatchResultItem(custom_id="a", result=completion).result is completion
