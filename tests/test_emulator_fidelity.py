"""The official OpenAI SDK drives the emulator: every answer must parse into its typed models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any, Final, Literal

import openai
import pytest
from openai.types import (
    Batch,
    Completion,
    CreateEmbeddingResponse,
    FileObject,
    ModerationCreateResponse,
)
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from any_llm.emulator import Emulator, EmulatorConfig, Fault, ManualClock
from any_llm.testing import EmulatorFactory

if not any(ep.value == "any_llm.testing" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["any_llm.testing"]  # not installed: load the plugin from the source tree

CHAT: Final = "/v1/chat/completions"


def request_line(custom_id: str, url: str, body: dict[str, Any]) -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})


def chat_requests(count: int, suffix: dict[int, str] | None = None) -> bytes:
    suffix = suffix or {}
    lines = [
        request_line(
            f"req-{i}",
            CHAT,
            {
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "user", "content": f"what is {i} + {i}? {suffix.get(i, '')}"}
                ],
            },
        )
        for i in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def sdk(emulator: Emulator, **kwargs: Any) -> openai.OpenAI:
    options: dict[str, Any] = {"api_key": "sk-test", "max_retries": 0, **kwargs}
    return openai.OpenAI(base_url=emulator.url + "/v1", **options)


@pytest.fixture
def client(any_llm_emulator: Emulator) -> Iterator[openai.OpenAI]:
    with sdk(any_llm_emulator) as opened:
        yield opened


def upload(client: openai.OpenAI, content: bytes) -> FileObject:
    return client.files.create(file=("requests.jsonl", content), purpose="batch")


Endpoint = Literal[
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
]


def create(client: openai.OpenAI, content: bytes, endpoint: Endpoint = CHAT) -> Batch:
    file = upload(client, content)
    return client.batches.create(input_file_id=file.id, endpoint=endpoint, completion_window="24h")


def test_round_trip(client: openai.OpenAI, any_llm_emulator: Emulator) -> None:
    content = chat_requests(5, {1: "[[fail]]", 3: "[[error]]"})
    file = upload(client, content)
    assert isinstance(file, FileObject)
    assert (file.bytes, file.purpose, file.filename) == (len(content), "batch", "requests.jsonl")
    assert file.status == "processed"
    assert client.files.retrieve(file.id) == file
    assert client.files.content(file.id).content == content

    batch = client.batches.create(
        input_file_id=file.id,
        endpoint=CHAT,
        completion_window="24h",
        metadata={"job": "nightly"},
    )
    assert batch.status == "validating"
    assert batch.request_counts is not None
    assert batch.request_counts.total == 0
    assert batch.metadata == {"job": "nightly"}
    assert batch.model == "gpt-4o-mini"

    batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed"
    assert batch.request_counts is not None
    assert (batch.request_counts.total, batch.request_counts.completed) == (5, 3)
    assert batch.request_counts.failed == 2
    assert batch.usage is not None
    assert batch.usage.total_tokens > 0
    assert batch.completed_at is not None
    assert batch.in_progress_at is not None
    assert batch.output_file_id is not None
    assert batch.error_file_id is not None
    output = client.files.retrieve(batch.output_file_id)
    assert output.purpose == "batch_output"

    results = [json.loads(line) for line in client.files.content(output.id).text.splitlines()]
    completions = {
        line["custom_id"]: ChatCompletion.model_validate(line["response"]["body"])
        for line in results
    }
    assert sorted(completions) == ["req-0", "req-2", "req-4"]
    assert completions["req-2"].choices[0].message.content == "echo: what is 2 + 2?"
    assert completions["req-2"].usage is not None
    assert (
        sum(c.usage.total_tokens for c in completions.values() if c.usage)
        == batch.usage.total_tokens
    )

    errors = [
        json.loads(line) for line in client.files.content(batch.error_file_id).text.splitlines()
    ]
    assert sorted(line["custom_id"] for line in errors) == ["req-1", "req-3"]

    deleted = client.files.delete(file.id)
    assert (deleted.id, deleted.deleted) == (file.id, True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(file.id)
    for raw in any_llm_emulator.batches():
        Batch.model_validate(raw, strict=True)


def test_list_pagination(client: openai.OpenAI) -> None:
    file = upload(client, chat_requests(1))
    created = [
        client.batches.create(input_file_id=file.id, endpoint=CHAT, completion_window="24h").id
        for _ in range(5)
    ]
    page = client.batches.list(limit=2)
    assert page.has_more is True
    assert [b.id for b in page.data] == created[::-1][:2]
    assert [b.id for b in page] == created[::-1]
    assert len(list(page.iter_pages())) == 3
    assert all(b.status == "completed" for b in client.batches.list())

    other = client.files.create(file=("notes.txt", b"hi"), purpose="user_data")
    files = client.files.list(limit=1)
    assert files.has_more is True
    ids = [f.id for f in files]
    assert ids[0] == other.id
    assert len(ids) == len(set(ids)) == 7  # input, five batch outputs, notes
    assert [f.id for f in client.files.list(purpose="user_data")] == [other.id]


def test_every_endpoint_parses(client: openai.OpenAI) -> None:
    cases: list[tuple[Endpoint, dict[str, Any], Any]] = [
        (
            "/v1/embeddings",
            {"model": "text-embedding-3-small", "input": ["a b", "c"], "dimensions": 16},
            CreateEmbeddingResponse,
        ),
        ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "say hi"}, Completion),
        (
            "/v1/responses",
            {
                "model": "gpt-5",
                "instructions": "be brief",
                "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
            },
            Response,
        ),
        (
            "/v1/moderations",
            {"model": "omni-moderation-latest", "input": "hi"},
            ModerationCreateResponse,
        ),
    ]
    for endpoint, body, model in cases:
        content = (request_line("only", endpoint, body) + "\n").encode()
        batch = client.batches.retrieve(create(client, content, endpoint).id)
        assert batch.status == "completed", endpoint
        assert batch.output_file_id is not None
        [line] = client.files.content(batch.output_file_id).text.splitlines()
        parsed = model.model_validate(json.loads(line)["response"]["body"])
        if isinstance(parsed, CreateEmbeddingResponse):
            assert [len(item.embedding) for item in parsed.data] == [16, 16]
        if isinstance(parsed, Response):
            assert parsed.output_text == "echo: hi"


def test_cancel_and_conflict(any_llm_emulator_factory: EmulatorFactory) -> None:
    clock = ManualClock()
    config = EmulatorConfig(validating_seconds=0, in_progress_seconds=10, cancelling_seconds=2)
    emulator = any_llm_emulator_factory(config=config, clock=clock)
    with sdk(emulator) as client:
        batch = create(client, chat_requests(10))
        clock.advance(5)
        cancelling = client.batches.cancel(batch.id)
        assert cancelling.status == "cancelling"
        assert cancelling.cancelling_at == batch.created_at + 5
        clock.advance(2)
        cancelled = client.batches.retrieve(batch.id)
        assert cancelled.status == "cancelled"
        assert cancelled.request_counts is not None
        assert cancelled.request_counts.completed == 5
        assert cancelled.output_file_id is not None
        assert len(client.files.content(cancelled.output_file_id).text.splitlines()) == 5
        with pytest.raises(openai.ConflictError) as caught:
            client.batches.cancel(batch.id)
        assert caught.value.status_code == 409
        assert "cancelled" in caught.value.message


def test_validation_errors_parse(client: openai.OpenAI) -> None:
    content = chat_requests(2) + b"not json\n"
    batch = client.batches.retrieve(create(client, content).id)
    assert batch.status == "failed"
    assert batch.failed_at is not None
    assert batch.errors is not None
    assert batch.errors.data is not None
    [error] = batch.errors.data
    assert (error.code, error.line, error.param) == ("invalid_json_line", 3, None)


def test_errors_map_to_sdk_exceptions(client: openai.OpenAI, any_llm_emulator: Emulator) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        client.batches.retrieve("batch_missing")
    assert not_found.value.status_code == 404
    assert not_found.value.response.headers["x-request-id"].startswith("req_")

    with pytest.raises(openai.BadRequestError) as bad:
        client.batches.create(input_file_id="file-missing", endpoint=CHAT, completion_window="24h")
    assert bad.value.param == "input_file_id"

    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=("requests.txt", b"{}"), purpose="batch")

    any_llm_emulator.add_fault(
        Fault(method="GET", path="/v1/batches", status=429, headers={"Retry-After": "7"}, times=1)
    )
    with pytest.raises(openai.RateLimitError) as limited:
        client.batches.list()
    assert limited.value.response.headers["retry-after"] == "7"
    assert limited.value.code == "rate_limit_exceeded"

    any_llm_emulator.add_fault(Fault(method="GET", path="/v1/batches", status=502, times=1))
    with pytest.raises(openai.InternalServerError):
        client.batches.list()

    any_llm_emulator.add_fault(Fault(method="GET", path="/v1/batches", kind="reset", times=1))
    with pytest.raises(openai.APIConnectionError):
        client.batches.list()

    any_llm_emulator.add_fault(
        Fault(method="GET", path="/v1/batches", kind="delay", delay=0.5, times=1)
    )
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.1).batches.list()

    with sdk(any_llm_emulator, api_key="sk-test") as keyless:
        bare = keyless.with_options(default_headers={"Authorization": ""})
        with pytest.raises(openai.AuthenticationError) as unauthorized:
            bare.batches.list()
    assert unauthorized.value.code == "invalid_api_key"


def test_sdk_retries_honour_retry_after(any_llm_emulator: Emulator) -> None:
    any_llm_emulator.add_fault(
        Fault(
            method="POST", path="/v1/files", status=429, headers={"retry-after-ms": "10"}, times=2
        )
    )
    with sdk(any_llm_emulator, max_retries=2) as client:
        file = upload(client, chat_requests(1))
    attempts = [r for r in any_llm_emulator.requests() if r["path"] == "/v1/files"]
    assert [r["status"] for r in attempts] == [429, 429, 200]
    assert [r["headers"]["x-stainless-retry-count"] for r in attempts] == ["0", "1", "2"]
    [stored] = any_llm_emulator.files()
    assert stored["id"] == file.id
