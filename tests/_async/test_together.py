"""The Together batch lifecycle end to end, over loopback HTTP to the emulator."""

from __future__ import annotations

import json
import re
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
    ConfigurationError,
    InputFileError,
    NotFoundError,
)
from any_llm.types import BatchResultStatus, BatchStatus
from tests.helpers import CHAT, KEY, client_args, write_requests

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
PRESIGNED = EmulatorConfig(
    validating_seconds=0,
    in_progress_seconds=0,
    finalizing_seconds=0,
    cancelling_seconds=0,
    presigned_uploads=True,
)


@pytest.fixture
def presigned_emu(tmp_path: Path) -> Iterator[Emulator]:
    """An instant emulator whose documented upload route answers with a 302 to a presigned URL
    on another loopback port."""
    with Emulator(data_dir=tmp_path / "emulator", config=PRESIGNED) as server:
        yield server


@pytest.fixture
def staging_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the translated input files are staged during the test."""
    directory = tmp_path / "staging"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def staged(directory: Path) -> list[Path]:
    return list(directory.iterdir())


def common(emu: Emulator) -> dict[str, Any]:
    return {"api_key": KEY, "api_base": emu.api_base("together"), "client_args": client_args()}


def line(custom_id: str, body: dict[str, Any], url: str = CHAT) -> str:
    item = {"custom_id": custom_id, "method": "POST", "url": url, "body": {"model": MODEL, **body}}
    return json.dumps(item) + "\n"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        "strict": False,
    },
}


def write_chat_file(path: Path) -> list[str]:
    """Eight chat requests exercising the translation and every failure marker."""
    bodies: list[dict[str, Any]] = [
        {
            "messages": [
                {"role": "developer", "content": "Answer briefly."},
                {"role": "system", "content": [{"type": "text", "text": "Be kind."}]},
                {"role": "user", "content": "What is the capital of France?"},
            ],
            "seed": 42,
            "max_completion_tokens": 64,
            "stop": "END",
            "stream": False,
            "user": None,
        },
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Describe this picture"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://example.com/a.png", "detail": "auto"},
                        },
                    ],
                }
            ]
        },
        {"messages": user("weather in Paris?"), "tools": [WEATHER], "tool_choice": "required"},
        {
            "messages": user("answer in JSON"),
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
            },
            "top_k": 40,  # Together's own sampling field passes through
        },
        {"messages": user("please [[fail]]")},
        {"messages": user("please [[fail:503]]")},
        {"messages": user("please [[error]]")},
        {
            "messages": [
                *user("weather?"),
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
                {
                    "role": "tool",
                    "tool_call_id": "call_1",
                    "content": [{"type": "text", "text": "sunny"}],
                },
            ],
            "parallel_tool_calls": True,
        },
    ]
    ids = [f"req-{i}" for i in range(len(bodies))]
    path.write_text("".join(line(i, b) for i, b in zip(ids, bodies, strict=True)))
    return ids


def stored_lines(emu: Emulator, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    path = emu.store.file_path(file_id)
    assert path is not None
    return [json.loads(raw) for raw in path.read_bytes().splitlines()]


async def test_module_functions_run_a_batch_end_to_end(
    emu: Emulator, tmp_path: Path, staging_dir: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_chat_file(path)
    batch = await acreate_batch("together", path, CHAT, **common(emu))
    assert batch.provider == "together"
    assert batch.status is BatchStatus.VALIDATING
    assert batch.provider_status == "VALIDATING"
    assert batch.model == MODEL
    assert batch.endpoint == CHAT
    assert batch.completion_window == "24h"
    assert batch.metadata is None
    assert batch.expires_at is not None and batch.expires_at - batch.created_at in (86_399, 86_400)
    assert staged(staging_dir) == []  # the staged translation is gone

    # what Together received: {custom_id, body} lines, translated
    uploaded = stored_lines(emu, batch.input_file_id)
    assert [sorted(item) for item in uploaded] == [["body", "custom_id"]] * len(ids)
    first = uploaded[0]["body"]
    assert first["messages"][0] == {"role": "system", "content": "Answer briefly."}
    assert first["messages"][1] == {"role": "system", "content": "Be kind."}
    assert first["max_tokens"] == 64 and "max_completion_tokens" not in first
    assert first["stop"] == ["END"]
    assert "stream" not in first and "user" not in first
    image = uploaded[1]["body"]["messages"][0]["content"][1]
    assert image == {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    assert "strict" not in uploaded[2]["body"]["tools"][0]["function"]
    assert uploaded[3]["body"]["top_k"] == 40
    assert uploaded[7]["body"]["messages"][2]["content"] == "sunny"
    assert "parallel_tool_calls" not in uploaded[7]["body"]
    [stored] = [f for f in emu.files() if f["id"] == batch.input_file_id]
    assert stored["purpose"] == "batch-api"
    assert re.fullmatch(r"requests\.[0-9a-f]{32}\.jsonl", stored["filename"])  # key-marked

    done = await apoll_batch("together", batch.id, **common(emu))
    assert done.status is BatchStatus.COMPLETED
    assert done.provider_status == "COMPLETED"
    assert done.completed_at is not None
    assert done.output_file_id and done.error_file_id
    assert (await aretrieve_batch("together", batch.id, **common(emu))).id == batch.id

    result = await aretrieve_batch_results("together", batch.id, **common(emu))
    assert sorted(item.custom_id for item in result) == sorted(ids)
    by_id = {item.custom_id: item for item in result}
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == 5
    assert counts[BatchResultStatus.FAILED] == 3
    completion = by_id["req-0"].chat_completion()
    assert completion.model == MODEL
    assert completion.choices[0].message.content == "echo: What is the capital of France?"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    tool_call = by_id["req-2"].chat_completion().choices[0]
    assert tool_call.finish_reason == "tool_calls"
    assert tool_call.message.tool_calls and tool_call.message.tool_calls[0]["function"]["name"] == (
        "weather"
    )
    failed = by_id["req-4"]
    assert failed.status is BatchResultStatus.FAILED and failed.response is None
    assert failed.status_code == 400
    assert failed.error is not None and failed.error.status_code == 400
    assert by_id["req-5"].status_code == 503
    errored = by_id["req-6"].error
    assert errored is not None and errored.code == "emulated_error" and errored.status_code is None

    streamed = [
        item.custom_id async for item in aiter_batch_results("together", batch.id, **common(emu))
    ]
    assert sorted(streamed) == sorted(ids)


async def test_presigned_upload_never_sends_the_key_to_storage(
    presigned_emu: Emulator, tmp_path: Path, staging_dir: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 4, model=MODEL)
    async with AnyLLM.create("together", **common(presigned_emu)) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        result = await llm.aretrieve_batch_results(await llm.apoll_batch(batch.id))
    assert sorted(item.custom_id for item in result) == ids
    assert all(item.succeeded for item in result)
    assert staged(staging_dir) == []

    seen = presigned_emu.requests()
    upload, put, preprocess = seen[:3]
    assert (upload["method"], upload["path"], upload["status"]) == (
        "POST",
        "/together/v1/files/upload",
        302,
    )
    # the PUT went to the storage site (another port: the path exists nowhere else), keyless
    assert (put["method"], put["status"]) == ("PUT", 200)
    assert put["path"] == f"/together/_storage/{batch.input_file_id}"
    assert "authorization" not in {name.lower() for name in put["headers"]}
    assert KEY not in json.dumps({k: v for k, v in put["headers"].items()})
    assert (preprocess["method"], preprocess["path"], preprocess["status"]) == (
        "POST",
        f"/together/v1/files/{batch.input_file_id}/preprocess",
        200,
    )
    assert all(
        {k.lower(): v for k, v in r["headers"].items()}["authorization"] == f"Bearer {KEY}"
        for r in seen
        if r["path"].startswith("/together/v1/")
    )
    uploaded = stored_lines(presigned_emu, batch.input_file_id)
    assert [item["custom_id"] for item in uploaded] == ids
    assert all(sorted(item) == ["body", "custom_id"] for item in uploaded)


async def test_upload_broken_mid_body_is_sent_again_whole(
    presigned_emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2000, model=MODEL)
    presigned_emu.add_fault(
        Fault(method="PUT", path="/together/_storage/*", kind="reset_mid_upload", times=1)
    )
    batch = await acreate_batch("together", path, CHAT, **common(presigned_emu))
    puts = [r for r in presigned_emu.requests() if r["method"] == "PUT"]
    assert len(puts) == 2  # the broken attempt, then the whole file again
    uploaded = stored_lines(presigned_emu, batch.input_file_id)
    assert [item["custom_id"] for item in uploaded] == [f"req-{i}" for i in range(2000)]


async def test_documented_upload_is_retried_after_a_reset(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2000, model=MODEL)
    emu.add_fault(
        Fault(method="POST", path="/together/v1/files/upload", kind="reset_mid_upload", times=1)
    )
    batch = await acreate_batch("together", path, CHAT, **common(emu))
    uploads = [r for r in emu.requests() if r["path"] == "/together/v1/files/upload"]
    assert [r["status"] for r in uploads] == [None, 200]
    assert len(stored_lines(emu, batch.input_file_id)) == 2000


async def test_failed_preprocess_deletes_the_upload(
    presigned_emu: Emulator, tmp_path: Path, staging_dir: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2, model=MODEL)
    presigned_emu.add_fault(
        Fault(method="POST", path="/together/v1/files/*/preprocess", status=400, times=1)
    )
    with pytest.raises(BadRequestError, match="preprocess"):
        await acreate_batch("together", path, CHAT, **common(presigned_emu))
    assert presigned_emu.files() == []
    assert presigned_emu.requests()[-1]["method"] == "DELETE"
    assert staged(staging_dir) == []


async def test_list_pages_and_iterates_all(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 1, model=MODEL)
    async with AnyLLM.create("together", **common(emu)) as llm:
        created = [(await llm.acreate_batch(path, CHAT)).id for _ in range(5)]
        page = await llm.alist_batches(limit=2)
        assert [b.id for b in page] == created[::-1][:2]
        assert page.has_more and page.next_cursor == page[-1].id
        second = await llm.alist_batches(after=page.next_cursor, limit=2)
        assert [b.id for b in second] == created[::-1][2:4]
        last = await llm.alist_batches(after=second.next_cursor, limit=2)
        assert [b.id for b in last] == created[:1]
        assert not last.has_more and last.next_cursor is None
        every = [b.id async for b in llm.aiter_batches(limit=2)]
        with pytest.raises(ConfigurationError, match="names no batch"):
            await llm.alist_batches(after="no-such-batch")
    assert every == created[::-1]
    page = await alist_batches("together", **common(emu))
    assert [b.id for b in page] == created[::-1]
    assert not page.has_more and page.next_cursor is None
    streamed = [b.id async for b in aiter_batches("together", limit=3, **common(emu))]
    assert streamed == created[::-1]
    lists = [
        r for r in emu.requests() if (r["method"], r["path"]) == ("GET", "/together/v1/batches")
    ]
    assert all(r["query"] == {} for r in lists)  # Together's list takes no paging parameters


async def test_cancel_keeps_partial_results(
    slow_emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 10, model=MODEL)
    batch = await acreate_batch("together", path, CHAT, **common(slow_emu))
    clock.advance(1 + 5)  # validating 1 s, then half of the 10 s in_progress phase
    running = await aretrieve_batch("together", batch.id, **common(slow_emu))
    assert running.status is BatchStatus.IN_PROGRESS
    assert running.provider_status == "IN_PROGRESS"

    cancelling = await acancel_batch("together", batch.id, **common(slow_emu))
    assert cancelling.status is BatchStatus.CANCELLING
    assert cancelling.provider_status == "CANCELING"
    clock.advance(60)
    cancelled = await aretrieve_batch("together", batch.id, **common(slow_emu))
    assert cancelled.status is BatchStatus.CANCELLED
    assert cancelled.cancelled_at is not None and cancelled.completed_at is None

    result = await aretrieve_batch_results("together", batch.id, **common(slow_emu))
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == 5
    assert counts[BatchResultStatus.CANCELLED] == 5
    local = await aretrieve_batch_results(
        "together", batch.id, input_file_path=path, **common(slow_emu)
    )
    assert local.counts() == counts
    with pytest.raises(BadRequestError, match="cannot be cancelled"):
        await acancel_batch("together", batch.id, **common(slow_emu))


async def test_expired_batch_reports_partial_output_and_expired_items(
    expiring_emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 10, model=MODEL)
    batch = await acreate_batch("together", path, CHAT, **common(expiring_emu))
    assert batch.expires_at is not None and batch.expires_at - batch.created_at in (49, 50)
    clock.advance(3600)
    expired = await aretrieve_batch("together", batch.id, **common(expiring_emu))
    assert expired.status is BatchStatus.EXPIRED
    assert expired.expired_at is not None
    result = await aretrieve_batch_results("together", batch.id, **common(expiring_emu))
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == 5
    assert counts[BatchResultStatus.EXPIRED] == 5


def _bad(body: dict[str, Any], custom_id: str = "a") -> bytes:
    return line(custom_id, body).encode()


BAD_INPUTS = [
    ("long custom_id", _bad({"messages": user("hi")}, "x" * 65), "custom_id", "at most 64"),
    ("logprobs", _bad({"messages": user("hi"), "logprobs": True}), "body.logprobs", "logprobs"),
    (
        "image detail",
        _bad(
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "u", "detail": "high"}}
                        ],
                    }
                ]
            }
        ),
        "body.messages[0].content[0].image_url.detail",
        "image detail",
    ),
    (
        "system image",
        _bad(
            {
                "messages": [
                    {
                        "role": "system",
                        "content": [{"type": "image_url", "image_url": {"url": "u"}}],
                    }
                ]
            }
        ),
        "body.messages[0].content[0]",
        "only text",
    ),
    (
        "strict tool",
        _bad(
            {
                "messages": user("hi"),
                "tools": [{**WEATHER, "function": {"name": "w", "strict": True}}],
            }
        ),
        "body.tools[0].function.strict",
        "strict",
    ),
    ("stream", _bad({"messages": user("hi"), "stream": True}), "body.stream", "cannot stream"),
    (
        "audio out",
        _bad({"messages": user("hi"), "modalities": ["text", "audio"]}),
        "body.modalities",
        "text only",
    ),
    (
        "effort",
        _bad({"messages": user("hi"), "reasoning_effort": "minimal"}),
        "body.reasoning_effort",
        "minimal",
    ),
    (
        "mixed models",
        _bad({"messages": user("hi")})
        + line("b", {"messages": user("hi"), "model": "other"}).encode(),
        "body.model",
        "one model per file",
    ),
]


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
async def test_bad_input_is_refused_before_any_request(
    emu: Emulator, tmp_path: Path, content: bytes, field: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as info:
        await acreate_batch("together", path, CHAT, **common(emu))
    assert info.value.path == str(path)
    assert info.value.line is not None
    assert field in str(info.value)
    assert emu.requests() == []


async def test_endpoint_metadata_and_key_are_checked_first(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 1, model=MODEL)
    with pytest.raises(InputFileError, match="does not batch endpoint '/v1/embeddings'"):
        await acreate_batch("together", path, "/v1/embeddings", **common(emu))
    with pytest.raises(ConfigurationError, match="carry no metadata"):
        await acreate_batch("together", path, CHAT, metadata={"job": "x"}, **common(emu))
    with pytest.raises(ConfigurationError, match="completion_window"):
        await acreate_batch("together", path, CHAT, completion_window="48h", **common(emu))
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="TOGETHER_API_KEY"):
        await acreate_batch("together", path, CHAT, api_base=emu.api_base("together"))
    assert emu.requests() == []

    monkeypatch.setenv("TOGETHER_API_KEY", KEY)
    with pytest.raises(NotFoundError, match="together: GET /together/v1/batches/nope"):
        await aretrieve_batch("together", "nope", api_base=emu.api_base("together"))
    [sent] = emu.requests()
    assert {k.lower(): v for k, v in sent["headers"].items()}["authorization"] == f"Bearer {KEY}"


async def test_wrong_key_is_an_authentication_error(auth_emu: Emulator) -> None:
    with pytest.raises(AuthenticationError):
        await aretrieve_batch(
            "together", "x", api_key="sk-wrong", api_base=auth_emu.api_base("together")
        )


async def test_ambiguous_create_failure_creates_exactly_one_batch(
    emu: Emulator, tmp_path: Path, staging_dir: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 3, model=MODEL)
    # The batch is created, then the connection drops before the answer: the client cannot tell.
    emu.add_fault(Fault(method="POST", path="/together/v1/batches", kind="reset_after", times=1))
    async with AnyLLM.create("together", **common(emu)) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        assert [b.id for b in await llm.alist_batches()] == [batch.id]
    creates = [
        r for r in emu.requests() if (r["method"], r["path"]) == ("POST", "/together/v1/batches")
    ]
    assert len(creates) == 1
    assert batch.input_file_id in {f["id"] for f in emu.files()}  # the input was kept
    assert staged(staging_dir) == []


async def test_create_failure_deletes_the_upload(
    emu: Emulator, tmp_path: Path, staging_dir: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2, model=MODEL)
    emu.add_fault(Fault(method="POST", path="/together/v1/batches", status=400))
    with pytest.raises(BadRequestError):
        await acreate_batch("together", path, CHAT, **common(emu))
    assert emu.files() == []
    assert emu.requests()[-1]["method"] == "DELETE"
    assert staged(staging_dir) == []
