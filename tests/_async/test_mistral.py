"""The Mistral batch lifecycle end to end, over loopback HTTP to the emulator."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from any_llm import (
    AnyLLM,
    acancel_batch,
    acreate_batch,
    aiter_batch_results,
    aiter_batches,
    alist_batches,
    apoll_batch,
    aretrieve_batch,
    aretrieve_batch_results,
)
from any_llm.emulator import Emulator, EmulatorConfig, Fault, ManualClock
from any_llm.errors import (
    AuthenticationError,
    BadRequestError,
    BatchError,
    ConfigurationError,
    InputFileError,
    NotFoundError,
)
from any_llm.types import BatchResultStatus, BatchStatus
from tests.helpers import CHAT, EMBEDDINGS, KEY, client_args, write_requests

MODEL = "mistral-small-latest"
LONG_ID = "call_0123456789abcdefghijklmn"


def common(emu: Emulator) -> dict[str, Any]:
    return {"api_key": KEY, "api_base": emu.api_base("mistral"), "client_args": client_args()}


def request(custom_id: str, body: dict[str, Any], url: str = CHAT) -> str:
    line = {"custom_id": custom_id, "method": "POST", "url": url, "body": {"model": MODEL, **body}}
    return json.dumps(line) + "\n"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def write_chat_file(path: Path) -> list[str]:
    """Ten chat requests exercising the translation and every failure marker."""
    bodies: list[dict[str, Any]] = [
        {
            "messages": [
                {"role": "developer", "content": "Answer briefly."},
                {"role": "system", "content": [{"type": "text", "text": "Be kind."}]},
                {"role": "user", "content": "What is the capital of France?"},
            ],
            "seed": 42,
            "max_completion_tokens": 64,
            "temperature": 0.1,
        },
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Describe these images"},
                        {"type": "image_url", "image_url": {"url": "https://x/a.png"}},
                        {"type": "image_url", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                    ],
                }
            ]
        },
        {"messages": user("Weather in Paris?"), "tools": [WEATHER], "tool_choice": "auto"},
        {
            "messages": user("Give me JSON"),
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
            },
        },
        {
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": LONG_ID,
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": LONG_ID, "content": "sunny"},
                {"role": "user", "content": "So, umbrella or not?"},
            ],
            "tools": [WEATHER],
            "tool_choice": "none",
        },
        {"messages": user("this one fails [[fail]]")},
        {"messages": user("this one is unavailable [[fail:503]]")},
        {"messages": user("this one errors [[error]]")},
        {"messages": user("think first"), "prompt_mode": "reasoning"},
        {"messages": user("one two three four five six"), "max_tokens": 2},
    ]
    ids = [f"req-{i}" for i in range(len(bodies))]
    path.write_text("".join(request(i, b) for i, b in zip(ids, bodies, strict=True)))
    return ids


def leftovers(folder: Path) -> list[Path]:
    return list(folder.iterdir())


@pytest.fixture
def staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where translated inputs are staged during the test (to check they are removed)."""
    folder = tmp_path / "staging"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def long_emu(tmp_path: Path, clock: ManualClock) -> Iterator[Emulator]:
    """Jobs need two hours of work, on the manual ``clock``; only timeout_hours limits them."""
    config = EmulatorConfig(validating_seconds=0, in_progress_seconds=7200, finalizing_seconds=0)
    with Emulator(data_dir=tmp_path / "emulator", config=config, clock=clock) as server:
        yield server


async def test_chat_batch_end_to_end(emu: Emulator, tmp_path: Path, staging: Path) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_chat_file(path)
    args = common(emu)

    batch = await acreate_batch("mistral", path, CHAT, metadata={"job": "nightly"}, **args)
    assert batch.provider == "mistral"
    assert batch.status is BatchStatus.VALIDATING
    assert batch.provider_status == "QUEUED"
    assert batch.model == MODEL and batch.endpoint == CHAT
    assert batch.completion_window == "24h"
    assert batch.expires_at == batch.created_at + 24 * 3600
    assert batch.metadata == {"job": "nightly"}  # as written: the stamp is idempotency_key
    assert batch.idempotency_key is not None and len(batch.idempotency_key) == 32
    assert leftovers(staging) == []  # the translated file was removed after the create

    stored = emu.store.file_path(batch.input_file_id or "")
    assert stored is not None
    native = [json.loads(line) for line in stored.read_text().splitlines()]
    assert [line["custom_id"] for line in native] == ids
    assert all(set(line) == {"custom_id", "body"} for line in native)
    assert all("model" not in line["body"] for line in native)
    first = native[0]["body"]
    assert (first["random_seed"], first["max_tokens"]) == (42, 64)
    assert [m["role"] for m in first["messages"]] == ["system", "system", "user"]
    short_id = native[4]["body"]["messages"][1]["tool_calls"][0]["id"]
    assert len(short_id) == 9 and short_id.isalnum()
    assert native[4]["body"]["messages"][2]["tool_call_id"] == short_id

    done = await apoll_batch("mistral", batch.id, **args)
    assert done.status is BatchStatus.COMPLETED and done.provider_status == "SUCCESS"
    counts = done.request_counts
    assert (counts.total, counts.completed, counts.failed) == (10, 7, 3)
    assert done.completed_at is not None and done.in_progress_at is not None
    assert (await aretrieve_batch("mistral", batch.id, **args)).id == batch.id

    result = await aretrieve_batch_results("mistral", batch.id, **args)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    tally = result.counts()
    assert (tally[BatchResultStatus.SUCCEEDED], tally[BatchResultStatus.FAILED]) == (7, 3)
    by_id = {item.custom_id: item for item in result}

    answer = by_id["req-0"].chat_completion()
    assert answer.model == MODEL and answer.object == "chat.completion"
    assert answer.choices[0].message.content == "echo: What is the capital of France?"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    call = by_id["req-2"].chat_completion().choices[0]
    assert call.finish_reason == "tool_calls"
    assert call.message.tool_calls is not None
    assert json.loads(call.message.tool_calls[0]["function"]["arguments"]) == {"echo": True}
    assert by_id["req-4"].chat_completion().choices[0].message.tool_calls is None
    reasoning = by_id["req-8"].response
    assert reasoning is not None
    assert reasoning["choices"][0]["message"]["content"] == "echo: think first"
    assert reasoning["choices"][0]["message"]["reasoning_content"].startswith("thinking")
    assert by_id["req-9"].chat_completion().choices[0].finish_reason == "length"

    failed = by_id["req-5"]
    assert failed.status is BatchResultStatus.FAILED and failed.status_code == 400
    assert failed.error is not None and "status 400" in failed.error.message
    assert by_id["req-6"].error is not None and by_id["req-6"].error.status_code == 503
    errored = by_id["req-7"]
    assert errored.error is not None and errored.error.code == "emulated_error"
    assert errored.status_code is None

    streamed = [item.custom_id async for item in aiter_batch_results("mistral", done.id, **args)]
    assert sorted(streamed) == sorted(ids)


async def test_embeddings_with_a_client(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "embed.jsonl"
    lines = [
        request(f"e{i}", {"input": [f"text {i}", "more"], "dimensions": 16}, EMBEDDINGS)
        for i in range(3)
    ]
    path.write_text("".join(lines))
    async with AnyLLM.create("mistral", **common(emu)) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, EMBEDDINGS)).id)
        result = await llm.aretrieve_batch_results(batch)
    assert sorted(item.custom_id for item in result) == ["e0", "e1", "e2"]
    embedding = result.results[0].embeddings()
    assert [len(item.embedding) for item in embedding.data] == [16, 16]
    assert embedding.model == MODEL
    with pytest.raises(ValueError, match=r"not .chat\.completion."):
        result.results[0].chat_completion()


async def test_list_pages_cursors_and_ids(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 1, model=MODEL)
    async with AnyLLM.create("mistral", **common(emu)) as llm:
        created = [(await llm.acreate_batch(path, CHAT)).id for _ in range(5)]
        newest_first = created[::-1]
        page = await llm.alist_batches(limit=2)
        assert [b.id for b in page] == newest_first[:2]
        assert page.has_more and page.next_cursor == "page:1:2"
        second = await llm.alist_batches(after=page.next_cursor, limit=2)
        assert [b.id for b in second] == newest_first[2:4]
        # a cursor keeps its offset when the page size changes on a page boundary
        narrower = await llm.alist_batches(after=page.next_cursor, limit=1)
        assert [b.id for b in narrower] == newest_first[2:3]
        with pytest.raises(ConfigurationError, match="page boundary"):
            await llm.alist_batches(after=page.next_cursor, limit=3)
        # OpenAI style: the id of the last job seen
        after_id = await llm.alist_batches(after=newest_first[1], limit=2)
        assert [b.id for b in after_id] == newest_first[2:4]
        at_edge = await llm.alist_batches(after=newest_first[3], limit=2)
        assert [b.id for b in at_edge] == newest_first[4:]
        assert not at_edge.has_more and at_edge.next_cursor is None
        with pytest.raises(ConfigurationError, match="neither a cursor"):
            await llm.alist_batches(after="no-such-job", limit=2)
        every = [b.id async for b in llm.aiter_batches(limit=2)]
    assert every == newest_first
    page = await alist_batches("mistral", **common(emu))
    assert [b.id for b in page] == newest_first
    assert not page.has_more and page.next_cursor is None
    streamed = [b.id async for b in aiter_batches("mistral", limit=3, **common(emu))]
    assert streamed == newest_first


async def test_cancel_keeps_partial_results(
    slow_emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 10, model=MODEL)
    args = common(slow_emu)
    batch = await acreate_batch("mistral", path, CHAT, **args)
    clock.advance(1 + 5)  # queued 1 s, then half of the 10 s running phase
    running = await aretrieve_batch("mistral", batch.id, **args)
    assert running.status is BatchStatus.IN_PROGRESS and running.provider_status == "RUNNING"
    done = running.request_counts.completed
    assert 0 < done < 10

    cancelling = await acancel_batch("mistral", batch.id, **args)
    assert cancelling.status is BatchStatus.CANCELLING
    assert cancelling.provider_status == "CANCELLATION_REQUESTED"
    clock.advance(60)
    cancelled = await aretrieve_batch("mistral", batch.id, **args)
    assert cancelled.status is BatchStatus.CANCELLED and cancelled.cancelled_at is not None

    # the custom_ids of the requests that never ran come from the input stored at Mistral
    result = await aretrieve_batch_results("mistral", batch.id, **args)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == done
    assert counts[BatchResultStatus.CANCELLED] == 10 - done
    local = await aretrieve_batch_results("mistral", batch.id, input_file_path=path, **args)
    assert local.counts() == counts


async def test_timeout_hours_expire_a_job_with_partial_results(
    long_emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 10, model=MODEL)
    args = common(long_emu)
    batch = await acreate_batch("mistral", path, CHAT, completion_window="1h", **args)
    assert batch.completion_window == "1h"
    assert batch.expires_at == batch.created_at + 3600
    clock.advance(3599)
    assert (await aretrieve_batch("mistral", batch.id, **args)).status is BatchStatus.IN_PROGRESS
    clock.advance(1)
    expired = await aretrieve_batch("mistral", batch.id, **args)
    assert expired.status is BatchStatus.EXPIRED
    assert expired.provider_status == "TIMEOUT_EXCEEDED"
    assert expired.expired_at == batch.created_at + 3600
    result = await aretrieve_batch_results("mistral", expired.id, **args)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == 5  # half of the two hours of work
    assert counts[BatchResultStatus.EXPIRED] == 5


def _bad(custom_id: str, body: dict[str, Any], url: str = CHAT) -> str:
    return request(custom_id, body, url)


BAD_INPUTS = [
    (
        "logprobs",
        _bad("a", {"messages": user("hi")}) + _bad("b", {"messages": user("x"), "logprobs": True}),
        2,
        "b",
        "body.logprobs",
    ),
    (
        "image in a system prompt",
        _bad(
            "a",
            {
                "messages": [
                    {"role": "system", "content": [{"type": "image_url", "image_url": "u"}]}
                ]
            },
        ),
        1,
        "a",
        r"body.messages\[0\].content\[0\].type",
    ),
    (
        "legacy functions",
        _bad("a", {"messages": user("hi"), "functions": [{"name": "f"}]}),
        1,
        "a",
        "body.functions",
    ),
    (
        "mixed models",
        _bad("a", {"messages": user("hi")})
        + _bad("b", {"messages": user("hi"), "model": "mistral-large-latest"}),
        2,
        "b",
        "one model per file",
    ),
]


@pytest.mark.parametrize(
    ("content", "line", "custom_id", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
async def test_bad_input_is_refused_before_any_request(
    emu: Emulator, tmp_path: Path, content: str, line: int, custom_id: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(InputFileError, match=message) as info:
        await acreate_batch("mistral", path, CHAT, **common(emu))
    assert (info.value.path, info.value.line, info.value.custom_id) == (str(path), line, custom_id)
    assert emu.requests() == []


async def test_bad_arguments_are_refused_before_any_request(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 1, model=MODEL)
    args = common(emu)
    with pytest.raises(InputFileError, match="does not batch endpoint"):
        await acreate_batch("mistral", path, "/v1/completions", **args)
    with pytest.raises(ConfigurationError, match="completion_window '168h'"):
        await acreate_batch("mistral", path, CHAT, completion_window="168h", **args)
    with pytest.raises(ConfigurationError, match="at most 15"):
        await acreate_batch(
            "mistral", path, CHAT, metadata={f"k{i}": "v" for i in range(16)}, **args
        )
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="MISTRAL_API_KEY"):
        await acreate_batch("mistral", path, CHAT, api_base=emu.api_base("mistral"))
    assert emu.requests() == []


async def test_ambiguous_create_failure_creates_exactly_one_job(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3, model=MODEL)
    # The job is created, then the connection drops before the answer: the client cannot tell.
    emu.add_fault(Fault(method="POST", path="/mistral/v1/batch/jobs", kind="reset_after", times=1))
    batch = await acreate_batch("mistral", path, CHAT, metadata={"job": "x"}, **common(emu))
    jobs = await alist_batches("mistral", **common(emu))
    assert [b.id for b in jobs] == [batch.id]
    assert batch.metadata is not None and batch.metadata["job"] == "x"
    calls = [(r["method"], r["path"]) for r in emu.requests()]
    assert calls.count(("POST", "/mistral/v1/batch/jobs")) == 1
    lookup = [
        r for r in emu.requests() if (r["method"], r["path"]) == ("GET", "/mistral/v1/batch/jobs")
    ]
    assert lookup[0]["query"]["any_llm_idempotency_key"] == batch.idempotency_key


async def test_429_and_5xx_are_retried(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3, model=MODEL)
    emu.add_fault(
        Fault(
            method="POST",
            path="/mistral/v1/files",
            status=429,
            headers={"Retry-After": "0"},
            times=2,
        )
    )
    emu.add_fault(Fault(method="POST", path="/mistral/v1/batch/jobs", status=503, times=1))
    batch = await acreate_batch("mistral", path, CHAT, **common(emu))
    assert batch.status is BatchStatus.VALIDATING
    statuses = [(r["method"], r["path"], r["status"]) for r in emu.requests()]
    assert statuses == [
        ("POST", "/mistral/v1/files", 429),
        ("POST", "/mistral/v1/files", 429),
        ("POST", "/mistral/v1/files", 200),
        ("POST", "/mistral/v1/batch/jobs", 503),
        ("GET", "/mistral/v1/batch/jobs", 200),  # did the failed create make a job? no
        ("POST", "/mistral/v1/batch/jobs", 200),
    ]


async def test_create_failure_deletes_the_upload_and_the_staged_file(
    emu: Emulator, tmp_path: Path, staging: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2, model=MODEL)
    emu.add_fault(Fault(method="POST", path="/mistral/v1/batch/jobs", status=400))
    with pytest.raises(BadRequestError, match="mistral: POST /mistral/v1/batch/jobs"):
        await acreate_batch("mistral", path, CHAT, **common(emu))
    assert emu.files() == []
    assert emu.requests()[-1]["method"] == "DELETE"
    assert leftovers(staging) == []


async def test_status_errors_and_keys(
    emu: Emulator, auth_emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NotFoundError) as info:
        await aretrieve_batch("mistral", "job-nope", **common(emu))
    message = str(info.value)
    assert "mistral" in message and "/mistral/v1/batch/jobs/job-nope" in message
    assert "404" in message and KEY not in message
    assert len(emu.requests()) == 1  # a 4xx is never retried
    monkeypatch.setenv("MISTRAL_API_KEY", KEY)
    with pytest.raises(NotFoundError):
        await aretrieve_batch("mistral", "job-nope", api_base=emu.api_base("mistral"))
    sent = emu.requests()[-1]["headers"]
    assert {k.lower(): v for k, v in sent.items()}["authorization"] == f"Bearer {KEY}"
    with pytest.raises(AuthenticationError, match="Unauthorized"):
        await aretrieve_batch(
            "mistral", "job-x", api_key="sk-wrong", api_base=auth_emu.api_base("mistral")
        )


async def test_results_of_a_running_job_are_refused(slow_emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2, model=MODEL)
    async with AnyLLM.create("mistral", **common(slow_emu)) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        with pytest.raises(BatchError, match="still validating"):
            await llm.aretrieve_batch_results(batch.id)


async def test_reset_mid_download_yields_no_item_twice(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    ids = write_requests(path, 500, model=MODEL, fail=(3, 250))
    async with AnyLLM.create("mistral", **common(emu)) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
        emu.add_fault(
            Fault(
                method="GET",
                path=f"/mistral/v1/files/{batch.output_file_id}/content",
                kind="reset_mid_download",
                times=1,
            )
        )
        items = [item.custom_id async for item in llm.aiter_batch_results(batch)]
    downloads = [
        r
        for r in emu.requests()
        if r["path"].endswith("/content") and str(batch.input_file_id) not in r["path"]
    ]
    assert len(downloads) == 3  # output broken once and restarted, then the error file
    assert sorted(items) == sorted(ids)
