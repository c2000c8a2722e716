"""The official Mistral SDK drives the emulator's Mistral mount: every files and batch-jobs call
it offers, and every answer must parse into its typed models."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from importlib.metadata import entry_points
from typing import Any, Final

import pytest
from mistralai.client import Mistral
from mistralai.client.errors import SDKError
from mistralai.client.models import (
    APIEndpoint,
    BatchJob,
    BatchRequest,
    ChatCompletionResponse,
    EmbeddingResponse,
    FIMCompletionResponse,
    ModerationResponse,
)
from mistralai.client.utils import BackoffStrategy, RetryConfig

from any_llm.emulator import Emulator, EmulatorConfig, Fault, ManualClock
from any_llm.testing import EmulatorFactory

if not any(ep.value == "any_llm.testing" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["any_llm.testing"]  # not installed: load the plugin from the source tree

CHAT: Final = "/v1/chat/completions"
MODEL: Final = "mistral-small-latest"


def request_line(custom_id: str, body: dict[str, Any]) -> str:
    return json.dumps({"custom_id": custom_id, "body": body})


def chat_requests(count: int, suffix: dict[int, str] | None = None) -> bytes:
    suffix = suffix or {}
    lines = [
        request_line(
            f"req-{i}",
            {"messages": [{"role": "user", "content": f"what is {i} + {i}? {suffix.get(i, '')}"}]},
        )
        for i in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def emu(any_llm_emulator_factory: EmulatorFactory) -> Emulator:
    return any_llm_emulator_factory()


def sdk(emulator: Emulator, **kwargs: Any) -> Mistral:
    return Mistral(api_key="sk-test", server_url=emulator.api_base("mistral"), **kwargs)


@pytest.fixture
def client(emu: Emulator) -> Iterator[Mistral]:
    with sdk(emu) as opened:
        yield opened


def upload(client: Mistral, content: bytes, name: str = "requests.jsonl") -> str:
    return client.files.upload(file={"file_name": name, "content": content}, purpose="batch").id


def outputs(job: BatchJob) -> list[dict[str, Any]]:
    assert isinstance(job.outputs, list)
    return job.outputs


def lines(client: Mistral, file_id: str) -> list[dict[str, Any]]:
    response = client.files.download(file_id=file_id)
    return [json.loads(line) for line in response.read().decode().splitlines()]


def test_files(client: Mistral, emu: Emulator) -> None:
    content = chat_requests(3)
    created = client.files.upload(
        file={"file_name": "requests.jsonl", "content": content}, purpose="batch"
    )
    assert (created.size_bytes, created.purpose, created.filename) == (
        len(content),
        "batch",
        "requests.jsonl",
    )
    assert (created.sample_type, created.source, created.object) == (
        "batch_request",
        "upload",
        "file",
    )
    retrieved = client.files.retrieve(file_id=created.id)
    assert retrieved.id == created.id and retrieved.deleted is False
    assert client.files.download(file_id=created.id).read() == content

    other = client.files.upload(file={"file_name": "train.jsonl", "content": b"{}\n"})
    assert other.purpose == "fine-tune" and other.sample_type == "instruct"
    listed = client.files.list(page_size=1)
    assert listed.total == 2 and [f.id for f in listed.data] == [other.id]
    assert [f.id for f in client.files.list(page=1, page_size=1).data] == [created.id]
    assert [f.id for f in client.files.list(purpose="batch").data] == [created.id]
    assert [f.id for f in client.files.list(search="TRAIN").data] == [other.id]
    assert [f.id for f in client.files.list(sample_type=["instruct"]).data] == [other.id]
    assert not isinstance(client.files.list(include_total=False).total, int)

    signed = client.files.get_signed_url(file_id=created.id, expiry=1)
    assert "sk-test" not in signed.url
    with urllib.request.urlopen(signed.url) as answer:  # no key needed
        assert answer.read() == content
    with pytest.raises(urllib.error.HTTPError) as forged:
        urllib.request.urlopen(signed.url.replace("signature=", "signature=0"))
    assert forged.value.code == 403
    forged.value.close()

    deleted = client.files.delete(file_id=created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(SDKError) as missing:
        client.files.retrieve(file_id=created.id)
    assert missing.value.status_code == 404
    assert "not found" in json.loads(missing.value.body or "{}")["message"]


def test_round_trip(client: Mistral) -> None:
    file_id = upload(client, chat_requests(5, {1: "[[fail]]", 3: "[[error]]"}))
    job = client.batch.jobs.create(
        input_files=[file_id],
        model=MODEL,
        endpoint=CHAT,
        metadata={"job": "nightly"},
        timeout_hours=12,
    )
    assert isinstance(job, BatchJob)
    assert job.status == "QUEUED" and job.input_files == [file_id]
    assert (job.model, job.endpoint, job.metadata) == (MODEL, CHAT, {"job": "nightly"})
    assert job.total_requests == 0 and job.errors == []

    job = client.batch.jobs.get(job_id=job.id)
    assert job.status == "SUCCESS"
    assert (job.total_requests, job.completed_requests) == (5, 5)
    assert (job.succeeded_requests, job.failed_requests) == (3, 2)
    assert job.started_at is not None and job.completed_at is not None
    assert job.output_file and job.error_file and job.outputs is None

    output = client.files.retrieve(file_id=job.output_file)
    assert (output.purpose, output.sample_type, output.source) == (
        "batch",
        "batch_result",
        "mistral",
    )
    assert client.files.retrieve(file_id=job.error_file).sample_type == "batch_error"
    results = {line["custom_id"]: line for line in lines(client, job.output_file)}
    assert sorted(results) == ["req-0", "req-2", "req-4"]
    answer = ChatCompletionResponse.model_validate(results["req-2"]["response"]["body"])
    assert answer.choices[0].message is not None
    assert answer.choices[0].message.content == "echo: what is 2 + 2?"
    assert answer.model == MODEL and answer.usage.total_tokens
    errors = {line["custom_id"]: line for line in lines(client, job.error_file)}
    assert errors["req-1"]["response"]["status_code"] == 400
    assert errors["req-3"]["error"]["code"] == "emulated_error"

    inline = client.batch.jobs.get(job_id=job.id, inline=True)
    assert sorted(o["custom_id"] for o in outputs(inline)) == [f"req-{i}" for i in range(5)]

    deleted = client.batch.jobs.delete(job_id=job.id)
    assert (deleted.id, deleted.deleted) == (job.id, True)
    with pytest.raises(SDKError) as gone:
        client.batch.jobs.get(job_id=job.id)
    assert gone.value.status_code == 404


def test_inline_requests_and_strict_bodies(client: Mistral) -> None:
    job = client.batch.jobs.create(
        requests=[
            BatchRequest(custom_id="ok", body={"messages": [{"role": "user", "content": "hi"}]}),
            BatchRequest(
                custom_id="strict",
                body={"messages": [{"role": "user", "content": "hi"}], "seed": 1},
            ),
            BatchRequest(
                custom_id="tools",
                body={
                    "messages": [{"role": "user", "content": "weather?"}],
                    "tools": [
                        {"type": "function", "function": {"name": "weather", "parameters": {}}}
                    ],
                    "prompt_mode": "reasoning",
                },
            ),
        ],
        model=MODEL,
        endpoint=CHAT,
    )
    done = client.batch.jobs.get(job_id=job.id)
    assert done.status == "SUCCESS" and done.failed_requests == 1
    by_id = {o["custom_id"]: o for o in outputs(done)}  # inline requests come back inline
    detail = by_id["strict"]["response"]["body"]["detail"]
    assert by_id["strict"]["response"]["status_code"] == 422
    assert detail[0]["loc"] == ["body", "seed"]
    tools = ChatCompletionResponse.model_validate(by_id["tools"]["response"]["body"])
    message = tools.choices[0].message
    assert message is not None and message.tool_calls
    assert tools.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls[0].function.arguments == {"echo": True}


def test_several_input_files_make_one_job(client: Mistral) -> None:
    first, again = upload(client, chat_requests(2)), upload(client, chat_requests(1))
    job = client.batch.jobs.create(input_files=[first, again], model=MODEL, endpoint=CHAT)
    assert job.input_files == [first, again]
    done = client.batch.jobs.get(job_id=job.id)
    assert done.status == "FAILED"
    assert [e.message for e in done.errors] == [
        "The custom_id 'req-0' on line 3 is used more than once."
    ]
    # a file without a final newline still ends its last line
    last = upload(
        client, request_line("z", {"messages": [{"role": "user", "content": "hi"}]}).encode()
    )
    job = client.batch.jobs.create(input_files=[last, first], model=MODEL, endpoint=CHAT)
    done = client.batch.jobs.get(job_id=job.id)
    assert (done.status, done.total_requests, done.succeeded_requests) == ("SUCCESS", 3, 3)
    assert isinstance(done.output_file, str)
    found = sorted(line["custom_id"] for line in lines(client, done.output_file))
    assert found == ["req-0", "req-1", "z"]


def test_every_endpoint_parses(client: Mistral) -> None:
    cases: list[tuple[APIEndpoint, dict[str, Any], Any]] = [
        (
            "/v1/embeddings",
            {"input": ["a b", "c"], "output_dimension": 16},
            EmbeddingResponse,
        ),
        ("/v1/fim/completions", {"prompt": "def f(", "suffix": "return 1"}, FIMCompletionResponse),
        ("/v1/moderations", {"input": ["hi", "there"]}, ModerationResponse),
        (
            "/v1/chat/moderations",
            {"input": [{"role": "user", "content": "hi"}]},
            ModerationResponse,
        ),
        (
            CHAT,
            {"messages": [{"role": "user", "content": "think"}], "prompt_mode": "reasoning"},
            ChatCompletionResponse,
        ),
    ]
    for endpoint, body, model in cases:
        file_id = upload(client, (request_line("only", body) + "\n").encode())
        job = client.batch.jobs.create(input_files=[file_id], model=MODEL, endpoint=endpoint)
        job = client.batch.jobs.get(job_id=job.id)
        assert job.status == "SUCCESS", endpoint
        assert isinstance(job.output_file, str)
        [line] = lines(client, job.output_file)
        parsed = model.model_validate(line["response"]["body"])
        if isinstance(parsed, EmbeddingResponse):
            assert [len(item.embedding or []) for item in parsed.data] == [16, 16]
        if isinstance(parsed, ModerationResponse):
            assert len(parsed.results) == (2 if endpoint == "/v1/moderations" else 1)
        if isinstance(parsed, ChatCompletionResponse):
            message = parsed.choices[0].message
            assert message is not None and isinstance(message.content, list)
    with pytest.raises(SDKError) as unanswered:
        client.batch.jobs.create(input_files=[file_id], model=MODEL, endpoint="/v1/ocr")
    assert unanswered.value.status_code == 400


def test_list_filters_and_pages(client: Mistral) -> None:
    file_id = upload(client, chat_requests(1))
    created = [
        client.batch.jobs.create(
            input_files=[file_id], model=MODEL, endpoint=CHAT, metadata={"n": str(i % 2)}
        ).id
        for i in range(5)
    ]
    page = client.batch.jobs.list(page_size=2)
    assert page.total == 5 and page.data is not None
    assert [j.id for j in page.data] == created[::-1][:2]
    last = client.batch.jobs.list(page=2, page_size=2)
    assert [j.id for j in last.data or []] == created[:1]
    oldest = client.batch.jobs.list(order_by="created", page_size=1)
    assert [j.id for j in oldest.data or []] == created[:1]
    even = client.batch.jobs.list(metadata={"n": "0"})
    assert even.total == 3 and {j.id for j in even.data or []} == set(created[0::2])
    assert client.batch.jobs.list(metadata={"n": "0", "other": "x"}).total == 0
    assert client.batch.jobs.list(status=["SUCCESS", "QUEUED"]).total == 5
    assert client.batch.jobs.list(status=["RUNNING"]).total == 0
    assert client.batch.jobs.list(model="other-model").total == 0
    assert client.batch.jobs.list(created_by_me=True, agent_id=None).total == 5
    future = datetime(2999, 1, 1, tzinfo=timezone.utc)
    assert client.batch.jobs.list(created_after=future).total == 0


def test_cancel_and_conflict(any_llm_emulator_factory: EmulatorFactory) -> None:
    clock = ManualClock()
    config = EmulatorConfig(validating_seconds=0, in_progress_seconds=10, cancelling_seconds=2)
    emulator = any_llm_emulator_factory(config=config, clock=clock)
    with sdk(emulator) as client:
        file_id = upload(client, chat_requests(10))
        job = client.batch.jobs.create(input_files=[file_id], model=MODEL, endpoint=CHAT)
        clock.advance(5)
        running = client.batch.jobs.get(job_id=job.id)
        assert running.status == "RUNNING" and running.succeeded_requests == 5
        with pytest.raises(SDKError) as busy:
            client.batch.jobs.delete(job_id=job.id)
        assert busy.value.status_code == 400
        cancelling = client.batch.jobs.cancel(job_id=job.id)
        assert cancelling.status == "CANCELLATION_REQUESTED"
        clock.advance(2)
        cancelled = client.batch.jobs.get(job_id=job.id)
        assert cancelled.status == "CANCELLED" and cancelled.completed_at is not None
        assert cancelled.output_file is not None
        assert len(lines(client, cancelled.output_file)) == 5
        with pytest.raises(SDKError) as late:
            client.batch.jobs.cancel(job_id=job.id)
        assert late.value.status_code == 400
        assert "CANCELLED" in json.loads(late.value.body or "{}")["message"]


def test_timeout_hours_expire_a_job(any_llm_emulator_factory: EmulatorFactory) -> None:
    clock = ManualClock()
    config = EmulatorConfig(validating_seconds=0, in_progress_seconds=7200)
    emulator = any_llm_emulator_factory(config=config, clock=clock)
    with sdk(emulator) as client:
        file_id = upload(client, chat_requests(4))
        job = client.batch.jobs.create(
            input_files=[file_id], model=MODEL, endpoint=CHAT, timeout_hours=1
        )
        clock.advance(3600)
        expired = client.batch.jobs.get(job_id=job.id)
        assert expired.status == "TIMEOUT_EXCEEDED"
        assert expired.succeeded_requests == 2 and expired.output_file is not None
        with pytest.raises(SDKError) as invalid:
            client.batch.jobs.create(
                input_files=[file_id], model=MODEL, endpoint=CHAT, timeout_hours=168
            )
        assert invalid.value.status_code == 422


def test_failed_job_reports_errors(client: Mistral) -> None:
    file_id = upload(client, chat_requests(2) + b"not json\n" + b'{"body": {}}\n')
    job = client.batch.jobs.get(
        job_id=client.batch.jobs.create(input_files=[file_id], model=MODEL, endpoint=CHAT).id
    )
    assert job.status == "FAILED" and job.output_file is None
    assert [(e.message, e.count) for e in job.errors] == [
        ("Line 3 is not a valid JSON object.", 1),
        ("Line 4 has no custom_id string.", 1),
    ]


def test_errors(client: Mistral, emu: Emulator, any_llm_emulator_factory: EmulatorFactory) -> None:
    with pytest.raises(SDKError) as not_found:
        client.batch.jobs.get(job_id="0000")
    assert not_found.value.status_code == 404
    assert not_found.value.raw_response.headers["x-request-id"].startswith("req_")
    body = json.loads(not_found.value.body or "{}")
    assert body["request_id"] == not_found.value.raw_response.headers["x-request-id"]

    with pytest.raises(SDKError) as bad:
        client.batch.jobs.create(input_files=["missing"], model=MODEL, endpoint=CHAT)
    assert bad.value.status_code == 404
    # the SDK cannot send an endpoint outside its enum without warning: post the JSON directly
    raw = urllib.request.Request(
        emu.api_base("mistral") + "/v1/batch/jobs",
        data=json.dumps({"input_files": ["x"], "model": MODEL, "endpoint": "/v1/nope"}).encode(),
        headers={"Authorization": "Bearer sk-test", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as invalid:
        urllib.request.urlopen(raw)
    assert invalid.value.code == 422
    assert json.loads(invalid.value.read())["detail"][0]["loc"] == ["body", "endpoint"]
    invalid.value.close()

    emu.add_fault(
        Fault(method="GET", path="/mistral/v1/batch/jobs", status=429, headers={"Retry-After": "7"})
    )
    with pytest.raises(SDKError) as limited:
        client.batch.jobs.list()
    assert limited.value.status_code == 429
    assert limited.value.raw_response.headers["retry-after"] == "7"
    emu.clear_faults()

    locked = any_llm_emulator_factory(config=EmulatorConfig(api_key="sk-right"))
    with sdk(locked) as wrong_key, pytest.raises(SDKError) as unauthorized:
        wrong_key.batch.jobs.list()
    assert unauthorized.value.status_code == 401
    assert json.loads(unauthorized.value.body or "{}")["message"] == "Unauthorized"


def test_sdk_retries_honour_retry_after(emu: Emulator) -> None:
    emu.add_fault(
        Fault(
            method="POST",
            path="/mistral/v1/files",
            status=429,
            headers={"retry-after-ms": "10"},
            times=2,
        )
    )
    retry = RetryConfig("backoff", BackoffStrategy(1, 10, 1.5, 5000), False)
    with sdk(emu, retry_config=retry) as client:
        file_id = upload(client, chat_requests(1))
    attempts = [r for r in emu.requests() if r["path"] == "/mistral/v1/files"]
    assert [r["status"] for r in attempts] == [429, 429, 200]
    [stored] = emu.files()
    assert stored["id"] == file_id
