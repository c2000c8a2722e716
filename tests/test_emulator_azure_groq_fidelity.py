"""The official SDKs drive the Azure OpenAI and Groq mounts of the emulator: ``openai``'s
AzureOpenAI client (and the plain client on Azure's v1 API), and ``groq``. Every answer must
parse into the SDK's typed models."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any, Final, cast

import groq
import openai
import pytest
from groq.types import (
    BatchCancelResponse,
    BatchCreateResponse,
    BatchListResponse,
    BatchRetrieveResponse,
    FileCreateResponse,
    FileDeleteResponse,
    FileInfoResponse,
    FileListResponse,
)
from groq.types.chat import ChatCompletion as GroqChatCompletion
from openai.types import Batch, FileObject
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from any_llm.emulator import Emulator, EmulatorConfig, ManualClock
from any_llm.testing import EmulatorFactory

if not any(ep.value == "any_llm.testing" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["any_llm.testing"]  # not installed: load the plugin from the source tree

CHAT: Final = "/v1/chat/completions"
AZURE_CHAT: Final[Any] = (
    "/chat/completions"  # Azure's documented spelling; not in the SDK's Literal
)
DEPLOYMENT = "gpt-4o-batch"
API_VERSION = "2024-10-21"


def requests_jsonl(
    count: int, *, url: str = CHAT, model: str = DEPLOYMENT, marks: dict[int, str] | None = None
) -> bytes:
    marks = marks or {}
    lines = [
        json.dumps(
            {
                "custom_id": f"task-{i}",
                "method": "POST",
                "url": url,
                "body": {
                    "model": model,
                    "messages": [{"role": "user", "content": f"what is {i}? {marks.get(i, '')}"}],
                },
            }
        )
        for i in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def azure(emulator: Emulator, **kwargs: Any) -> openai.AzureOpenAI:
    options: dict[str, Any] = {"api_key": "azure-key", "api_version": API_VERSION, **kwargs}
    return openai.AzureOpenAI(
        azure_endpoint=emulator.api_base("azureopenai"), max_retries=0, **options
    )


@pytest.fixture
def emulator(any_llm_emulator: Emulator) -> Emulator:
    return any_llm_emulator


@pytest.fixture
def az(emulator: Emulator) -> Iterator[openai.AzureOpenAI]:
    with azure(emulator) as client:
        yield client


@pytest.fixture
def gq(emulator: Emulator) -> Iterator[groq.Groq]:
    with groq.Groq(api_key="gsk-test", base_url=emulator.url + "/groq", max_retries=0) as client:
        yield client


# Azure OpenAI


def test_azure_dated_api_round_trip(az: openai.AzureOpenAI, emulator: Emulator) -> None:
    content = requests_jsonl(5, url="/chat/completions", marks={1: "[[fail:429]]", 3: "[[error]]"})
    file = az.files.create(file=("requests.jsonl", content), purpose="batch")
    assert isinstance(file, FileObject)
    assert (file.bytes, file.purpose, file.status) == (len(content), "batch", "processed")
    assert az.files.retrieve(file.id) == file
    assert az.files.content(file.id).content == content

    batch = az.batches.create(
        input_file_id=file.id,
        endpoint=AZURE_CHAT,
        completion_window="24h",
        metadata={"job": "nightly"},
    )
    assert isinstance(batch, Batch)
    assert batch.status == "validating"
    assert (batch.output_file_id, batch.error_file_id) == ("", "")  # Azure's "" ids
    assert batch.endpoint == "/chat/completions"
    assert batch.model is None and batch.usage is None

    batch = az.batches.retrieve(batch.id)
    assert batch.status == "completed"
    assert batch.request_counts is not None
    assert (batch.request_counts.total, batch.request_counts.failed) == (5, 2)
    assert batch.output_file_id and batch.error_file_id
    output = [json.loads(line) for line in az.files.content(batch.output_file_id).text.splitlines()]
    assert sorted(line["custom_id"] for line in output) == ["task-0", "task-2", "task-4"]
    for line in output:
        assert "id" not in line  # Azure's lines have no top-level id
        uuid.UUID(line["response"]["request_id"])
        completion = ChatCompletion.model_validate(line["response"]["body"])
        assert completion.model == DEPLOYMENT
        assert completion.choices[0].message.content
        assert line["response"]["body"]["prompt_filter_results"]
    errors = [json.loads(line) for line in az.files.content(batch.error_file_id).text.splitlines()]
    by_id = {line["custom_id"]: line for line in errors}
    assert by_id["task-1"]["response"]["status_code"] == 429
    assert by_id["task-3"]["error"]["code"] == "emulated_error"

    deleted = az.files.delete(file.id)
    assert (deleted.id, deleted.deleted) == (file.id, True)
    with pytest.raises(openai.NotFoundError):
        az.files.retrieve(file.id)
    seen = emulator.requests()
    assert all(r["query"].get("api-version") == API_VERSION for r in seen)
    assert all(r["headers"]["api-key"] == "azure-key" for r in seen)
    assert all(r["path"].startswith("/azureopenai/openai/") for r in seen)


def test_azure_clean_batch_has_an_empty_error_file(az: openai.AzureOpenAI) -> None:
    file = az.files.create(file=("requests.jsonl", requests_jsonl(2)), purpose="batch")
    batch = az.batches.create(input_file_id=file.id, endpoint=AZURE_CHAT, completion_window="24h")
    batch = az.batches.retrieve(batch.id)
    assert batch.status == "completed"
    assert batch.error_file_id
    assert az.files.retrieve(batch.error_file_id).bytes == 0
    assert az.files.content(batch.error_file_id).content == b""


def test_azure_list_pages_without_object(az: openai.AzureOpenAI) -> None:
    file = az.files.create(file=("requests.jsonl", requests_jsonl(1)), purpose="batch")
    created = [
        az.batches.create(input_file_id=file.id, endpoint=AZURE_CHAT, completion_window="24h").id
        for _ in range(5)
    ]
    page = az.batches.list(limit=2)
    assert page.has_more is True
    assert [b.id for b in page.data] == created[::-1][:2]
    assert [b.id for b in page] == created[::-1]
    raw = az.batches.with_raw_response.list(limit=2).http_response.json()
    assert "object" not in raw and raw["has_more"] is True
    files = az.files.list()
    assert file.id in [f.id for f in files]


def test_azure_cancel_and_conflict(any_llm_emulator_factory: EmulatorFactory) -> None:
    clock = ManualClock()
    config = EmulatorConfig(
        validating_seconds=1, in_progress_seconds=10, finalizing_seconds=1, cancelling_seconds=1
    )
    with azure(any_llm_emulator_factory(config=config, clock=clock)) as client:
        file = client.files.create(file=("requests.jsonl", requests_jsonl(10)), purpose="batch")
        batch = client.batches.create(
            input_file_id=file.id, endpoint=AZURE_CHAT, completion_window="24h"
        )
        clock.advance(6)
        cancelling = client.batches.cancel(batch.id)
        assert cancelling.status == "cancelling"
        assert cancelling.cancelling_at is not None
        clock.advance(5)
        cancelled = client.batches.retrieve(batch.id)
        assert cancelled.status == "cancelled"
        assert cancelled.output_file_id and cancelled.request_counts is not None
        lines = client.files.content(cancelled.output_file_id).text.splitlines()
        assert len(lines) == cancelled.request_counts.completed
        with pytest.raises(openai.ConflictError):
            client.batches.cancel(batch.id)
        # Azure batches do not expire: still there, still cancelled, a week later
        clock.advance(7 * 86400)
        assert client.batches.retrieve(batch.id).status == "cancelled"


def test_azure_quirks_enforced_by_the_service(az: openai.AzureOpenAI) -> None:
    ok = az.files.create(
        file=("requests.jsonl", requests_jsonl(1)),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 14 * 86400},
    )
    assert ok.expires_at == ok.created_at + 14 * 86400
    with pytest.raises(openai.BadRequestError, match="expires_after"):
        az.files.create(
            file=("requests.jsonl", requests_jsonl(1)),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )
    with pytest.raises(openai.BadRequestError, match="endpoint"):
        az.batches.create(input_file_id=ok.id, endpoint="/v1/embeddings", completion_window="24h")
    # Another window is not refused at create: the job fails.
    batch = az.batches.create(
        input_file_id=ok.id,
        endpoint=AZURE_CHAT,
        completion_window=cast(Any, "48h"),
    )
    failed = az.batches.retrieve(batch.id)
    assert failed.status == "failed"
    assert failed.errors is not None and failed.errors.data
    assert failed.errors.data[0].param == "completion_window"
    # Lines whose model differs fail validation like OpenAI's.
    mixed = requests_jsonl(1) + requests_jsonl(1, model="other").replace(b"task-0", b"task-9")
    file = az.files.create(file=("requests.jsonl", mixed), purpose="batch")
    batch = az.batches.create(input_file_id=file.id, endpoint=AZURE_CHAT, completion_window="24h")
    failed = az.batches.retrieve(batch.id)
    assert failed.errors is not None and failed.errors.data is not None
    assert [e.code for e in failed.errors.data] == ["model_mismatch"]


def test_azure_gateway_errors(any_llm_emulator_factory: EmulatorFactory) -> None:
    emulator = any_llm_emulator_factory(config=EmulatorConfig(api_key="right"))
    with (
        azure(emulator, api_key="wrong") as client,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        client.batches.list()
    assert info.value.code == "401"
    assert info.value.type is None  # Azure's gateway envelope has no type
    assert "subscription key" in info.value.message
    # The dated API without api-version
    bare = openai.OpenAI(
        api_key="unused",
        base_url=emulator.api_base("azureopenai") + "/openai",
        default_headers={"api-key": "right"},
        max_retries=0,
    )
    with bare, pytest.raises(openai.NotFoundError):
        bare.batches.list()
    with azure(emulator, api_key="right") as client:
        assert client.batches.list().data == []


def test_azure_v1_api_with_the_plain_client(emulator: Emulator) -> None:
    client = openai.OpenAI(
        api_key="azure-key",  # sent as a Bearer token, which the v1 API accepts too
        base_url=emulator.api_base("azureopenai") + "/openai/v1/",
        max_retries=0,
    )
    with client:
        content = requests_jsonl(2)
        file = client.files.create(file=("requests.jsonl", content), purpose="batch")
        batch = client.batches.create(input_file_id=file.id, endpoint=CHAT, completion_window="24h")
        batch = client.batches.retrieve(batch.id)
        assert batch.status == "completed"
        assert batch.output_file_id
        lines = client.files.content(batch.output_file_id).text.splitlines()
        assert len(lines) == 2
        for line in lines:
            ChatCompletion.model_validate(json.loads(line)["response"]["body"])

        responses = (
            json.dumps(
                {
                    "custom_id": "r",
                    "method": "POST",
                    "url": "/v1/responses",
                    "body": {"model": DEPLOYMENT, "input": "hi"},
                }
            )
            + "\n"
        ).encode()
        file = client.files.create(file=("responses.jsonl", responses), purpose="batch")
        batch = client.batches.create(
            input_file_id=file.id, endpoint="/v1/responses", completion_window="24h"
        )
        batch = client.batches.retrieve(batch.id)
        assert batch.output_file_id
        [line] = client.files.content(batch.output_file_id).text.splitlines()
        assert Response.model_validate(json.loads(line)["response"]["body"]).output_text == (
            "echo: hi"
        )
    assert all(r["path"].startswith("/azureopenai/openai/v1/") for r in emulator.requests())
    for raw in emulator.batches():  # what the plain OpenAI view would say
        Batch.model_validate(raw)


# Groq


def test_groq_round_trip(gq: groq.Groq, emulator: Emulator) -> None:
    content = requests_jsonl(4, model="llama-3.1-8b-instant", marks={2: "[[fail]]"})
    file = gq.files.create(file=("requests.jsonl", content), purpose="batch")
    assert isinstance(file, FileCreateResponse)
    assert (file.bytes, file.purpose, file.filename) == (len(content), "batch", "requests.jsonl")
    info = gq.files.info(cast(str, file.id))
    assert isinstance(info, FileInfoResponse) and info.id == file.id
    assert gq.files.content(cast(str, file.id)).read() == content
    listed = gq.files.list()
    assert isinstance(listed, FileListResponse)
    assert file.id in [f.id for f in listed.data]

    batch = gq.batches.create(
        input_file_id=cast(str, file.id),
        endpoint="/v1/chat/completions",
        completion_window="48h",
        metadata={"job": "nightly"},
    )
    assert isinstance(batch, BatchCreateResponse)
    assert batch.status == "validating"
    assert batch.completion_window == "48h"
    assert batch.expires_at is not None and batch.expires_at - batch.created_at == 48 * 3600
    assert batch.metadata == {"job": "nightly"}

    done = gq.batches.retrieve(batch.id)
    assert isinstance(done, BatchRetrieveResponse)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.failed) == (4, 1)
    assert done.output_file_id and done.error_file_id
    output = [
        json.loads(line) for line in gq.files.content(done.output_file_id).read().splitlines()
    ]
    assert sorted(line["custom_id"] for line in output) == ["task-0", "task-1", "task-3"]
    for line in output:
        assert line["id"].startswith("batch_req_out_")
        completion = GroqChatCompletion.model_validate(line["response"]["body"])
        assert completion.x_groq is not None and completion.x_groq.id
        assert completion.usage is not None and completion.usage.total_time is not None
        assert completion.choices[0].message.content
    output_info = gq.files.info(done.output_file_id)
    assert output_info.purpose == "batch_output"

    deleted = gq.files.delete(cast(str, file.id))
    assert isinstance(deleted, FileDeleteResponse) and deleted.deleted
    with pytest.raises(groq.NotFoundError):
        gq.files.info(cast(str, file.id))
    assert all(r["path"].startswith("/groq/openai/v1/") for r in emulator.requests())
    assert all(r["headers"]["Authorization"] == "Bearer gsk-test" for r in emulator.requests())


def test_groq_list_is_one_unpaged_answer(gq: groq.Groq, emulator: Emulator) -> None:
    file = gq.files.create(file=("requests.jsonl", requests_jsonl(1)), purpose="batch")
    created = [
        gq.batches.create(
            input_file_id=cast(str, file.id),
            endpoint="/v1/chat/completions",
            completion_window="24h",
        ).id
        for _ in range(25)
    ]
    page = gq.batches.list()
    assert isinstance(page, BatchListResponse)
    assert [b.id for b in page.data] == created[::-1]  # more than OpenAI's default page
    raw = gq.batches.with_raw_response.list().http_response.json()
    assert set(raw) == {"object", "data"}
    assert "model" not in raw["data"][0] and "usage" not in raw["data"][0]
    lists = [r for r in emulator.requests() if r["path"] == "/groq/openai/v1/batches"]
    assert all(r["query"] == {} for r in lists)


def test_groq_windows_and_cancel(any_llm_emulator_factory: EmulatorFactory) -> None:
    clock = ManualClock()
    config = EmulatorConfig(
        validating_seconds=1, in_progress_seconds=10, finalizing_seconds=1, cancelling_seconds=1
    )
    emulator = any_llm_emulator_factory(config=config, clock=clock)
    with groq.Groq(api_key="gsk", base_url=emulator.url + "/groq", max_retries=0) as client:
        file = client.files.create(file=("requests.jsonl", requests_jsonl(10)), purpose="batch")
        file_id = cast(str, file.id)
        for window, hours in (("24h", 24), ("7d", 168), ("100h", 100)):
            batch = client.batches.create(
                input_file_id=file_id, endpoint="/v1/chat/completions", completion_window=window
            )
            assert batch.expires_at is not None
            assert batch.expires_at - batch.created_at == hours * 3600
        for window in ("8d", "23h", "1w", "forever"):
            with pytest.raises(groq.BadRequestError, match="completion_window"):
                client.batches.create(
                    input_file_id=file_id, endpoint="/v1/chat/completions", completion_window=window
                )
        with pytest.raises(groq.BadRequestError, match="purpose"):
            client.files.create(file=("r.jsonl", b"{}\n"), purpose=cast(Any, "fine-tune"))
        clock.advance(6)
        cancelled = client.batches.cancel(batch.id)
        assert isinstance(cancelled, BatchCancelResponse)
        assert cancelled.status == "cancelling"
        clock.advance(5)
        assert client.batches.retrieve(batch.id).status == "cancelled"
        with pytest.raises(groq.ConflictError):
            client.batches.cancel(batch.id)
