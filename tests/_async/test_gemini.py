"""The Gemini batch lifecycle end to end, over loopback HTTP to the emulator's /gemini mount."""

from __future__ import annotations

import json
import tempfile
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
from any_llm._jsonl import write_translated
from any_llm._providers import gemini as wire
from any_llm.emulator import Emulator, Fault, ManualClock
from any_llm.errors import AuthenticationError, ConfigurationError, InputFileError
from any_llm.types import BatchResultItem, BatchResultStatus, BatchStatus
from tests.helpers import CHAT, KEY, client_args, sha256

MODEL = "gemini-2.5-flash"
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGAAAAAF"
    "AAGq1chRAAAAAElFTkSuQmCC"
)
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
RICH: list[tuple[str, dict[str, Any]]] = [
    (
        "system",
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": "Answer in English."},
                {"role": "user", "content": "What is 2 + 2?"},
            ],
            "temperature": 0.2,
            "top_p": 0.9,
            "max_completion_tokens": 50,
            "stop": ["\n\n"],
            "seed": 7,
        },
    ),
    (
        "image",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Describe this image"},
                        {"type": "image_url", "image_url": {"url": PIXEL}},
                    ],
                }
            ]
        },
    ),
    (
        "tool",
        {
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [WEATHER],
            "tool_choice": "required",
        },
    ),
    (
        "tool-reply",
        {
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"sky": "clear"}'},
            ],
            "tools": [WEATHER],
        },
    ),
    (
        "json",
        {
            "messages": [{"role": "user", "content": "Give me JSON"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "echo",
                    "schema": {"type": "object", "properties": {"echo": {"type": "string"}}},
                },
            },
        },
    ),
    ("short", {"messages": [{"role": "user", "content": "one two three four"}], "max_tokens": 2}),
    ("two", {"messages": [{"role": "user", "content": "Pick one"}], "n": 2}),
    ("fail", {"messages": [{"role": "user", "content": "bad [[fail]]"}]}),
    ("unavailable", {"messages": [{"role": "user", "content": "busy [[fail:503]]"}]}),
    ("error", {"messages": [{"role": "user", "content": "broken [[error]]"}]}),
]


def write_lines(path: Path, bodies: list[tuple[str, dict[str, Any]]], model: str = MODEL) -> None:
    with path.open("w", encoding="utf-8") as out:
        for custom_id, body in bodies:
            line = {
                "custom_id": custom_id,
                "method": "POST",
                "url": CHAT,
                "body": {"model": model, **body},
            }
            out.write(json.dumps(line) + "\n")


def simple(count: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"req-{i}", {"messages": [{"role": "user", "content": f"question {i}"}]})
        for i in range(count)
    ]


def common(emu: Emulator, **extra: Any) -> dict[str, Any]:
    return {
        "api_key": KEY,
        "api_base": emu.api_base("gemini"),
        "client_args": client_args(),
        **extra,
    }


@pytest.fixture
def file_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every input goes through the resumable upload, in 4 KiB chunks."""
    monkeypatch.setattr(wire, "INLINE_MAX_BYTES", 0)
    monkeypatch.setattr(wire, "UPLOAD_CHUNK_BYTES", 4096)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def by_id(items: list[BatchResultItem]) -> dict[str, BatchResultItem]:
    return {item.custom_id: item for item in items}


@pytest.mark.parametrize("mode", ["inline", "file"])
async def test_rich_batch_end_to_end(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    if mode == "file":
        monkeypatch.setattr(wire, "INLINE_MAX_BYTES", 0)
    staging = tmp_path / "staging"
    staging.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(staging))
    path = tmp_path / "requests.jsonl"
    write_lines(path, RICH)
    batch = await acreate_batch("gemini", path, CHAT, **common(emu))
    assert leftovers(staging) == []  # the staged requests are gone once the batch exists
    assert batch.provider == "gemini"
    assert batch.id.startswith("batches/")
    assert batch.status is BatchStatus.VALIDATING
    assert batch.provider_status == "BATCH_STATE_PENDING"
    assert batch.request_counts.total == len(RICH)
    assert batch.model == MODEL
    assert batch.completion_window == "24h"  # Gemini's target; its 48 h limit:
    assert batch.expires_at == batch.created_at + 48 * 3600
    assert batch.metadata is None  # only the stamp was there: no display_name given
    assert batch.idempotency_key is not None and len(batch.idempotency_key) == 32
    creates = [r for r in emu.requests() if r["path"].endswith(":batchGenerateContent")]
    assert [r["path"] for r in creates] == [f"/gemini/v1beta/models/{MODEL}:batchGenerateContent"]
    uploads = [r for r in emu.requests() if r["path"] == "/gemini/upload/v1beta/files"]
    if mode == "inline":
        assert uploads == []
        assert batch.input_file_id == batch.id + ":inlinedRequests"
    else:
        assert len(uploads) == 2  # start, then one chunk
        assert batch.input_file_id is not None and batch.input_file_id.startswith("files/")

    done = await apoll_batch("gemini", batch.id, **common(emu))
    assert done.status is BatchStatus.COMPLETED
    assert done.provider_status == "BATCH_STATE_SUCCEEDED"
    assert (done.request_counts.total, done.request_counts.failed) == (10, 3)
    assert done.request_counts.completed == 7
    assert done.completed_at is not None

    result = await aretrieve_batch_results("gemini", done.id, **common(emu))
    items = by_id(result.results)
    assert sorted(items) == sorted(custom_id for custom_id, _ in RICH)
    assert len(result.results) == len(RICH)

    system = items["system"].chat_completion()
    assert system.choices[0].message.content == "echo: What is 2 + 2?"
    assert system.choices[0].finish_reason == "stop"
    assert system.model == MODEL
    assert system.usage is not None
    assert system.usage.prompt_tokens == 10  # the system prompts count too
    assert system.usage.total_tokens == 10 + 6
    assert items["image"].chat_completion().choices[0].message.content == (
        "echo: Describe this image"
    )
    tool = items["tool"].chat_completion().choices[0]
    assert tool.finish_reason == "tool_calls"
    assert tool.message.content is None
    assert tool.message.tool_calls is not None
    [call] = tool.message.tool_calls
    assert call["type"] == "function"
    assert call["function"] == {"name": "get_weather", "arguments": "{}"}
    assert call["id"].startswith("call_")
    reply = items["tool-reply"].chat_completion().choices[0]
    assert reply.message.content == "echo: results of get_weather"
    content = items["json"].chat_completion().choices[0].message.content
    assert content is not None and json.loads(content) == {"echo": "echo: Give me JSON"}
    short = items["short"].chat_completion().choices[0]
    assert (short.message.content, short.finish_reason) == ("echo: one", "length")
    assert [c.index for c in items["two"].chat_completion().choices] == [0, 1]

    failed = {k: items[k] for k in ("fail", "unavailable", "error")}
    assert all(item.status is BatchResultStatus.FAILED for item in failed.values())
    assert all(item.response is None and item.error is not None for item in failed.values())
    codes = {k: (v.error.code, v.status_code) for k, v in failed.items() if v.error}
    if mode == "inline":  # gRPC codes: no HTTP status
        assert codes == {
            "fail": ("INVALID_ARGUMENT", None),
            "unavailable": ("UNAVAILABLE", None),
            "error": ("INTERNAL", None),
        }
    else:
        assert codes == {
            "fail": ("INVALID_ARGUMENT", 400),
            "unavailable": ("UNAVAILABLE", 503),
            "error": ("INTERNAL", 500),
        }

    streamed = [
        item.custom_id async for item in aiter_batch_results("gemini", done.id, **common(emu))
    ]
    assert sorted(streamed) == sorted(items)


async def test_upload_streams_the_translated_file_in_chunks(
    emu: Emulator, tmp_path: Path, file_mode: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(staging))
    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(300))
    expected = tmp_path / "expected.jsonl"
    size = write_translated(path, expected, wire.file_line)
    assert size > 4 * 4096
    batch = await acreate_batch("gemini", path, CHAT, **common(emu))
    uploads = [r for r in emu.requests() if r["path"] == "/gemini/upload/v1beta/files"]
    chunks = uploads[1:]
    assert len(chunks) == -(-size // 4096)
    assert uploads[0]["headers"]["X-Goog-Upload-Command"] == "start"
    assert uploads[0]["headers"]["X-Goog-Upload-Header-Content-Length"] == str(size)
    assert uploads[0]["headers"]["x-goog-api-key"] == KEY
    assert [c["headers"]["X-Goog-Upload-Offset"] for c in chunks] == [
        str(i * 4096) for i in range(len(chunks))
    ]
    assert chunks[-1]["headers"]["X-Goog-Upload-Command"] == "upload, finalize"
    assert all(c["headers"]["X-Goog-Upload-Command"] == "upload" for c in chunks[:-1])
    assert all("x-goog-api-key" not in c["headers"] for c in chunks)  # the session URL is enough
    assert all("upload_id" in c["query"] for c in chunks)
    [stored] = [f for f in emu.files() if f["purpose"].startswith("gemini:uploaded")]
    assert stored["sha256"] == sha256(expected)
    assert batch.input_file_id == "files/" + stored["id"].replace("-", "")
    assert leftovers(staging) == []


async def test_broken_chunks_are_sent_again_from_the_file(
    emu: Emulator, tmp_path: Path, file_mode: None
) -> None:
    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(200))
    expected = tmp_path / "expected.jsonl"
    size = write_translated(path, expected, wire.file_line)
    chunks = -(-size // 4096)
    assert chunks >= 3
    upload = "/gemini/upload/v1beta/files"
    emu.add_fault(Fault(method="POST", path=upload, kind="delay", times=2))  # start, chunk 1
    # chunk 2: half of it arrives, then the connection resets; the query that follows is
    # answered; chunk 2 again: the server takes the bytes but the answer is lost (the next
    # query says so: chunk 2 is not sent a third time)
    emu.add_fault(Fault(method="POST", path=upload, kind="reset_mid_upload", times=1))
    emu.add_fault(Fault(method="POST", path=upload, kind="delay", times=1))
    emu.add_fault(Fault(method="POST", path=upload, kind="reset_after", times=1))
    batch = await acreate_batch("gemini", path, CHAT, **common(emu))
    sent = [r for r in emu.requests() if r["path"] == upload]
    queries = [r for r in sent if r["headers"]["X-Goog-Upload-Command"] == "query"]
    assert (len(sent), len(queries)) == (1 + chunks + 1 + 2, 2)
    [stored] = [f for f in emu.files() if f["purpose"].startswith("gemini:uploaded")]
    assert stored["sha256"] == sha256(expected)
    done = await apoll_batch("gemini", batch.id, **common(emu))
    assert done.request_counts.total == 200


async def test_a_lost_finalize_answer_is_answered_again(
    emu: Emulator, tmp_path: Path, file_mode: None
) -> None:
    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(2))
    upload = "/gemini/upload/v1beta/files"
    emu.add_fault(Fault(method="POST", path=upload, kind="delay", times=1))  # start
    emu.add_fault(Fault(method="POST", path=upload, kind="reset_after", times=1))  # finalize
    batch = await acreate_batch("gemini", path, CHAT, **common(emu))
    assert [r["status"] for r in emu.requests() if r["path"] == upload] == [200, None, 200]
    assert len([f for f in emu.files() if f["purpose"].startswith("gemini:uploaded")]) == 1
    assert batch.input_file_id is not None


async def test_versioned_api_base(emu: Emulator, tmp_path: Path, file_mode: None) -> None:
    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(3))
    base = emu.api_base("gemini") + "/v1"
    extra: dict[str, Any] = {"api_key": KEY, "api_base": base, "client_args": client_args()}
    batch = await acreate_batch("gemini", path, CHAT, **extra)
    done = await apoll_batch("gemini", batch.id, **extra)
    result = await aretrieve_batch_results("gemini", done.id, **extra)
    assert sorted(item.custom_id for item in result) == ["req-0", "req-1", "req-2"]
    paths = {r["path"].split(":")[0] for r in emu.requests()}
    assert "/gemini/upload/v1/files" in paths
    assert f"/gemini/v1/models/{MODEL}" in paths
    assert all("/v1beta/" not in p for p in paths)
    assert all("key" not in r["query"] for r in emu.requests())


async def test_list_pages_and_iterates_all(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(1))
    async with AnyLLM.create(
        "gemini", api_key=KEY, api_base=emu.api_base("gemini"), client_args=client_args()
    ) as llm:
        created = [(await llm.acreate_batch(path, CHAT)).id for _ in range(5)]
        page = await llm.alist_batches(limit=2)
        assert len(page) == 2
        assert page.has_more and page.next_cursor
        assert [b.id for b in page] == created[::-1][:2]
        second = await llm.alist_batches(after=page.next_cursor, limit=2)
        assert [b.id for b in second] == created[::-1][2:4]
        every = [b.id async for b in llm.aiter_batches(limit=2)]
    assert every == created[::-1]
    page = await alist_batches("gemini", **common(emu))
    assert [b.id for b in page] == created[::-1]
    assert not page.has_more and page.next_cursor is None
    streamed = [b.id async for b in aiter_batches("gemini", limit=3, **common(emu))]
    assert streamed == created[::-1]
    listed = [r for r in emu.requests() if r["path"] == "/gemini/v1beta/batches"]
    assert {"pageSize": "2"} in [r["query"] for r in listed]


@pytest.mark.parametrize("mode", ["inline", "file"])
async def test_cancel_keeps_partial_results(
    slow_emu: Emulator,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    if mode == "file":
        monkeypatch.setattr(wire, "INLINE_MAX_BYTES", 0)
    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(10))
    batch = await acreate_batch("gemini", path, CHAT, **common(slow_emu))
    clock.advance(1 + 5)  # validating 1 s, then half of the 10 s of work
    running = await aretrieve_batch("gemini", batch.id, **common(slow_emu))
    assert running.status is BatchStatus.IN_PROGRESS
    assert running.provider_status == "BATCH_STATE_RUNNING"
    done_before = running.request_counts.completed
    assert 0 < done_before < 10

    cancelling = await acancel_batch("gemini", batch.id, **common(slow_emu))
    assert cancelling.status is BatchStatus.CANCELLING  # no such state on the wire
    assert cancelling.provider_status == "BATCH_STATE_RUNNING"
    cancel_calls = [r for r in slow_emu.requests() if r["path"].endswith(":cancel")]
    assert [r["method"] for r in cancel_calls] == ["POST"]
    clock.advance(60)
    cancelled = await aretrieve_batch("gemini", batch.id, **common(slow_emu))
    assert cancelled.status is BatchStatus.CANCELLED
    assert cancelled.cancelled_at is not None

    result = await aretrieve_batch_results("gemini", batch.id, **common(slow_emu))
    assert sorted(item.custom_id for item in result) == [f"req-{i}" for i in range(10)]
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == done_before
    assert counts[BatchResultStatus.CANCELLED] == 10 - done_before
    local = await aretrieve_batch_results(
        "gemini", batch.id, input_file_path=path, **common(slow_emu)
    )
    assert local.counts() == counts


async def test_cancelling_an_ended_batch_is_refused(emu: Emulator, tmp_path: Path) -> None:
    from any_llm.errors import BadRequestError

    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(1))
    batch = await apoll_batch(
        "gemini", (await acreate_batch("gemini", path, CHAT, **common(emu))).id, **common(emu)
    )
    with pytest.raises(BadRequestError, match="cannot be cancelled"):
        await acancel_batch("gemini", batch.id, **common(emu))


async def test_expired_batch_returns_every_request_as_expired(
    expiring_emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(6))
    batch = await acreate_batch("gemini", path, CHAT, **common(expiring_emu))
    clock.advance(30)
    running = await aretrieve_batch("gemini", batch.id, **common(expiring_emu))
    assert running.status is BatchStatus.IN_PROGRESS
    clock.advance(3600)
    expired = await aretrieve_batch("gemini", batch.id, **common(expiring_emu))
    assert expired.status is BatchStatus.EXPIRED
    assert expired.provider_status == "BATCH_STATE_EXPIRED"
    assert expired.expired_at is not None
    assert expired.output_file_id is None  # Gemini keeps nothing of an expired batch
    result = await aretrieve_batch_results("gemini", batch.id, **common(expiring_emu))
    assert sorted(item.custom_id for item in result) == [f"req-{i}" for i in range(6)]
    assert result.counts()[BatchResultStatus.EXPIRED] == 6


BAD_LINES = [
    ("logit_bias", {"logit_bias": {"1": 2}}, "body.logit_bias"),
    (
        "web image",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
                    ],
                }
            ]
        },
        "body.messages[0].content[0].image_url.url",
    ),
    (
        "orphan tool result",
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "nope", "content": "x"},
            ]
        },
        "body.messages[1].tool_call_id",
    ),
    ("logprobs", {"logprobs": True}, "body.logprobs"),
    ("stream", {"stream": True}, "body.stream"),
    ("unknown", {"frobnicate": 1}, "body.frobnicate"),
    (
        "strict tool",
        {"tools": [{"type": "function", "function": {"name": "f", "strict": True}}]},
        "body.tools[0].function.strict",
    ),
    (
        "name",
        {"messages": [{"role": "user", "content": "hi", "name": "bob"}]},
        "body.messages[0].name",
    ),
]


@pytest.mark.parametrize(
    ("extra", "field"), [case[1:] for case in BAD_LINES], ids=[case[0] for case in BAD_LINES]
)
async def test_untranslatable_input_is_refused_before_any_request(
    emu: Emulator, tmp_path: Path, extra: dict[str, Any], field: str
) -> None:
    path = tmp_path / "bad.jsonl"
    body = {"messages": [{"role": "user", "content": "hi"}], **extra}
    write_lines(path, [("ok", {"messages": [{"role": "user", "content": "hi"}]}), ("bad", body)])
    with pytest.raises(InputFileError, match="cannot send to gemini") as info:
        await acreate_batch("gemini", path, CHAT, **common(emu))
    assert info.value.path == str(path)
    assert info.value.line == 2
    assert info.value.custom_id == "bad"
    assert field in str(info.value)
    assert emu.requests() == []


async def test_bad_model_and_mixed_models_are_refused(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    write_lines(path, simple(1), model="google/gemini-2.5-flash")
    with pytest.raises(InputFileError, match=r"body\.model"):
        await acreate_batch("gemini", path, CHAT, **common(emu))
    mixed = tmp_path / "mixed.jsonl"
    write_lines(mixed, simple(1))
    with mixed.open("a", encoding="utf-8") as out:
        body = {"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": "x"}]}
        out.write(json.dumps({"custom_id": "z", "method": "POST", "url": CHAT, "body": body}))
    with pytest.raises(InputFileError, match="one model per file"):
        await acreate_batch("gemini", mixed, CHAT, **common(emu))
    with pytest.raises(InputFileError, match="does not batch endpoint"):
        await acreate_batch("gemini", path, "/v1/embeddings", **common(emu))
    assert emu.requests() == []


async def test_metadata_and_unknown_options_are_refused(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(1))
    with pytest.raises(ConfigurationError, match="carry no metadata"):
        await acreate_batch("gemini", path, CHAT, metadata={"job": "x"}, **common(emu))
    with pytest.raises(ConfigurationError, match="display_name, priority"):
        await acreate_batch("gemini", path, CHAT, webhook="x", **common(emu))
    with pytest.raises(ConfigurationError, match="completion_window"):
        await acreate_batch("gemini", path, CHAT, completion_window="72h", **common(emu))
    assert emu.requests() == []
    batch = await acreate_batch(
        "gemini",
        path,
        CHAT,
        completion_window="48h",
        display_name="nightly",
        priority=5,
        **common(emu),
    )
    assert batch.metadata == {"displayName": "nightly"}  # the stamp is idempotency_key
    assert batch.idempotency_key is not None
    assert [b["id"] for b in emu.batches()] == [batch.id.removeprefix("batches/")]


async def test_create_failure_deletes_the_uploaded_file(
    emu: Emulator, tmp_path: Path, file_mode: None
) -> None:
    from any_llm.errors import BadRequestError

    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(2))
    emu.add_fault(Fault(method="POST", path="/gemini/v1beta/models/*", status=400))
    with pytest.raises(BadRequestError):
        await acreate_batch("gemini", path, CHAT, **common(emu))
    assert [f for f in emu.files() if f["purpose"].startswith("gemini:uploaded")] == []
    assert emu.requests()[-1]["method"] == "DELETE"


async def test_ambiguous_create_failure_creates_exactly_one_batch(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(3))
    create = f"/gemini/v1beta/models/{MODEL}:batchGenerateContent"
    emu.add_fault(Fault(method="POST", path=create, kind="reset_after", times=1))
    batch = await acreate_batch("gemini", path, CHAT, display_name="once", **common(emu))
    assert [b["id"] for b in emu.batches()] == [batch.id.removeprefix("batches/")]
    assert [(r["method"], r["path"]) for r in emu.requests()] == [
        ("POST", create),
        ("GET", "/gemini/v1beta/batches"),  # the batch exists: no second create
    ]
    assert batch.metadata == {"displayName": "once"}


async def test_retries_and_errors_speak_google(emu: Emulator, tmp_path: Path) -> None:
    from any_llm.errors import NotFoundError

    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(1))
    batch = await acreate_batch("gemini", path, CHAT, **common(emu))
    emu.add_fault(
        Fault(
            method="GET",
            path="/gemini/v1beta/batches/*",
            status=429,
            headers={"Retry-After": "0"},
            times=2,
        )
    )
    assert (await aretrieve_batch("gemini", batch.id, **common(emu))).id == batch.id
    bare = batch.id.removeprefix("batches/")
    assert (await aretrieve_batch("gemini", bare, **common(emu))).id == batch.id
    with pytest.raises(NotFoundError) as info:
        await aretrieve_batch("gemini", "batches/nope", **common(emu))
    assert "gemini" in str(info.value) and "404" in str(info.value)
    assert info.value.body["error"]["status"] == "NOT_FOUND"
    assert KEY not in str(info.value)
    sent = [r["headers"] for r in emu.requests() if r["method"] == "GET"]
    assert all(h["x-goog-api-key"] == KEY for h in sent)


async def test_wrong_key_is_an_authentication_error(auth_emu: Emulator) -> None:
    with pytest.raises(AuthenticationError, match="API key not valid"):
        await aretrieve_batch(
            "gemini", "batches/x", api_key="wrong", api_base=auth_emu.api_base("gemini")
        )


async def test_key_from_environment(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    path = tmp_path / "requests.jsonl"
    write_lines(path, simple(1))
    with pytest.raises(ConfigurationError, match="GEMINI_API_KEY"):
        await acreate_batch("gemini", path, CHAT, api_base=emu.api_base("gemini"))
    monkeypatch.setenv("GEMINI_API_KEY", f"  {KEY} ")
    page = await alist_batches("gemini", api_base=emu.api_base("gemini"))
    assert len(page) == 0
    assert emu.requests()[-1]["headers"]["x-goog-api-key"] == KEY
