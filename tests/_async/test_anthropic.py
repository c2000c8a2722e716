"""The Anthropic batch lifecycle end to end, over loopback HTTP to the emulator."""

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
from any_llm._providers import anthropic as anthropic_wire
from any_llm.emulator import Emulator, Fault, ManualClock
from any_llm.errors import (
    AuthenticationError,
    BadRequestError,
    BatchError,
    BatchMayExistError,
    ConfigurationError,
    InputFileError,
    NotFoundError,
)
from any_llm.types import BatchResultStatus, BatchStatus
from tests.helpers import CHAT, KEY, client_args

MODEL = "claude-sonnet-4-5"
BATCHES = "/anthropic/v1/messages/batches"
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEA"
    "ghPy2QAAAABJRU5ErkJggg=="
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a word up.",
            "parameters": {
                "type": "object",
                "properties": {"word": {"type": "string"}},
                "required": ["word"],
                "additionalProperties": False,
            },
        },
    },
    {"type": "function", "function": {"name": "ping"}},
]


def common(emu: Emulator) -> dict[str, Any]:
    return {"api_key": KEY, "api_base": emu.api_base("anthropic"), "client_args": client_args()}


def chat(text: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": MODEL,
        "max_completion_tokens": 100,
        "messages": [{"role": "user", "content": text}],
    }
    body.update(extra)
    return body


def write_lines(path: Path, bodies: dict[str, dict[str, Any]]) -> list[str]:
    with path.open("w", encoding="utf-8") as out:
        for custom_id, body in bodies.items():
            line = {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": body}
            out.write(json.dumps(line) + "\n")
    return list(bodies)


def write_plain(path: Path, count: int) -> list[str]:
    return write_lines(path, {f"req-{i}": chat(f"question {i}") for i in range(count)})


RICH: dict[str, dict[str, Any]] = {
    "system": chat(
        "unused",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "bonjour tout le monde"},
        ],
    ),
    "image": chat(
        "unused",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is in these pictures"},
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{PIXEL}", "detail": "low"},
                    },
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            }
        ],
    ),
    "tool-any": chat("find the word apple", tools=TOOLS, tool_choice="required"),
    "tool-named": chat(
        "ping the server",
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "ping"}},
        parallel_tool_calls=False,
    ),
    "tool-history": chat(
        "unused",
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "look up pear"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"word": "pear"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "a fruit"},
            {"role": "user", "content": "thanks, summarise"},
        ],
    ),
    "json": chat(
        "give me json",
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "answer",
                "strict": True,
                "schema": {"type": "object", "properties": {"answer": {"type": "string"}}},
            },
        },
    ),
    "stop": chat("go HALT now", stop=["HALT"], temperature=0.2, top_p=0.9, user="user-7"),
    "short": chat("one two three four", max_completion_tokens=2),
    "fail": chat("please [[fail]]"),
    "overloaded": chat("please [[fail:529]]"),
    "error": chat("please [[error]]"),
}


async def test_a_batch_runs_end_to_end(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = tmp_path / "stage"
    stage.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(stage))
    path = tmp_path / "requests.jsonl"
    ids = write_lines(path, RICH)

    batch = await acreate_batch("anthropic", path, CHAT, **common(emu))
    assert batch.provider == "anthropic"
    assert batch.id.startswith("msgbatch_")
    assert batch.status is BatchStatus.IN_PROGRESS
    assert batch.provider_status == "in_progress"
    assert batch.request_counts.total == len(ids)
    assert batch.endpoint == CHAT
    assert batch.metadata is None
    assert list(stage.iterdir()) == []  # the staged body is gone

    sent = emu.requests()
    assert [(r["method"], r["path"]) for r in sent] == [("GET", BATCHES), ("POST", BATCHES)]
    for entry in sent:
        assert entry["headers"]["x-api-key"] == KEY
        assert entry["headers"]["anthropic-version"] == "2023-06-01"
    create = sent[1]["headers"]
    assert int(create["Content-Length"]) > path.stat().st_size // 2
    assert "Transfer-Encoding" not in create
    assert create["Content-Type"] == "application/json"

    done = await apoll_batch("anthropic", batch.id, **common(emu))
    assert done.status is BatchStatus.COMPLETED
    assert done.completed_at is not None
    assert (done.request_counts.total, done.request_counts.failed) == (len(ids), 3)
    assert (await aretrieve_batch("anthropic", batch.id, **common(emu))).id == batch.id

    result = await aretrieve_batch_results("anthropic", batch.id, **common(emu))
    assert sorted(item.custom_id for item in result) == sorted(ids)
    by_id = {item.custom_id: item for item in result}
    assert result.counts()[BatchResultStatus.SUCCEEDED] == len(ids) - 3

    def reply(custom_id: str) -> Any:
        return by_id[custom_id].chat_completion().choices[0]

    assert reply("system").message.content == "echo: bonjour tout le monde"
    assert reply("system").finish_reason == "stop"
    assert reply("image").message.content == "echo: what is in these pictures"
    for custom_id, name in (("tool-any", "lookup"), ("tool-named", "ping")):
        choice = reply(custom_id)
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        assert choice.message.tool_calls is not None
        [call] = choice.message.tool_calls
        assert call["type"] == "function" and call["function"]["name"] == name
        assert call["id"].startswith("toolu_")
        assert json.loads(call["function"]["arguments"]) == {"echo": choice_text(custom_id)}
    assert reply("tool-history").message.content == "echo: thanks, summarise"
    assert json.loads(reply("json").message.content or "") == {"answer": "echo: give me json"}
    assert reply("stop").message.content == "echo: go "
    assert reply("stop").finish_reason == "stop"
    assert reply("short").message.content == "echo: one"
    assert reply("short").finish_reason == "length"

    completion = by_id["system"].chat_completion()
    assert completion.model == MODEL
    assert completion.id.startswith("msg_")
    assert completion.created == done.completed_at
    assert completion.usage is not None and completion.usage.total_tokens > 0

    failures = {
        custom_id: (item.error.code, item.error.status_code)
        for custom_id, item in by_id.items()
        if item.error is not None
    }
    assert failures == {
        "fail": ("invalid_request_error", 400),
        "overloaded": ("overloaded_error", 529),
        "error": ("api_error", 500),
    }
    assert all(by_id[c].response is None for c in failures)

    streamed = [
        item.custom_id async for item in aiter_batch_results("anthropic", batch.id, **common(emu))
    ]
    assert sorted(streamed) == sorted(ids)


def choice_text(custom_id: str) -> str:
    text = {"tool-any": "find the word apple", "tool-named": "ping the server"}[custom_id]
    return f"echo: {text}"


async def test_client_lists_pages_and_iterates(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_plain(path, 1)
    async with AnyLLM.create(
        "anthropic", api_key=KEY, api_base=emu.api_base("anthropic"), client_args=client_args()
    ) as llm:
        created = [(await llm.acreate_batch(path, CHAT)).id for _ in range(5)]
        page = await llm.alist_batches(limit=2)
        assert [b.id for b in page] == created[::-1][:2]
        assert page.has_more and page.next_cursor == page[-1].id
        second = await llm.alist_batches(after=page.next_cursor, limit=2)
        assert [b.id for b in second] == created[::-1][2:4]
        every = [b.id async for b in llm.aiter_batches(limit=2)]
    assert every == created[::-1]
    assert any(r["query"].get("after_id") == page.next_cursor for r in emu.requests())
    whole = await alist_batches("anthropic", api_key=KEY, api_base=emu.api_base("anthropic"))
    assert [b.id for b in whole] == created[::-1]
    assert not whole.has_more and whole.next_cursor is None
    streamed = [
        b.id
        async for b in aiter_batches(
            "anthropic", limit=3, api_key=KEY, api_base=emu.api_base("anthropic")
        )
    ]
    assert streamed == created[::-1]


async def test_cancel_keeps_partial_results(
    slow_emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_plain(path, 10)
    batch = await acreate_batch("anthropic", path, CHAT, **common(slow_emu))
    clock.advance(1 + 5)  # half of the work is done
    running = await aretrieve_batch("anthropic", batch.id, **common(slow_emu))
    assert running.status is BatchStatus.IN_PROGRESS
    assert running.request_counts.completed == 0  # Anthropic counts only once the batch ends

    cancelling = await acancel_batch("anthropic", batch.id, **common(slow_emu))
    assert cancelling.status is BatchStatus.CANCELLING
    assert cancelling.provider_status == "canceling"
    assert cancelling.cancelling_at == batch.created_at + 6
    with pytest.raises(BatchError, match="still cancelling"):
        await aretrieve_batch_results("anthropic", batch.id, **common(slow_emu))
    clock.advance(60)
    cancelled = await aretrieve_batch("anthropic", batch.id, **common(slow_emu))
    assert cancelled.status is BatchStatus.CANCELLED
    assert cancelled.provider_status == "ended"
    assert cancelled.cancelled_at is not None and cancelled.completed_at is None
    assert (cancelled.request_counts.completed, cancelled.request_counts.failed) == (5, 5)

    result = await aretrieve_batch_results("anthropic", batch.id, **common(slow_emu))
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == 5
    assert counts[BatchResultStatus.CANCELLED] == 5
    cancelled_items = [i for i in result if i.status is BatchResultStatus.CANCELLED]
    assert all(i.error is not None and i.error.code == "canceled" for i in cancelled_items)
    local = await aretrieve_batch_results(
        "anthropic", batch.id, input_file_path=path, **common(slow_emu)
    )
    assert local.counts() == counts

    with pytest.raises(BadRequestError, match="already ended"):
        await acancel_batch("anthropic", batch.id, **common(slow_emu))


async def test_expired_batch_reports_partial_results(
    expiring_emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_plain(path, 10)
    batch = await acreate_batch("anthropic", path, CHAT, **common(expiring_emu))
    assert batch.expires_at == batch.created_at + 50
    clock.advance(3600)
    expired = await aretrieve_batch("anthropic", batch.id, **common(expiring_emu))
    assert expired.status is BatchStatus.EXPIRED
    assert expired.expired_at == batch.created_at + 50
    result = await aretrieve_batch_results("anthropic", batch.id, **common(expiring_emu))
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == 5
    assert counts[BatchResultStatus.EXPIRED] == 5


async def test_results_of_a_running_batch_are_refused(slow_emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_plain(path, 2)
    async with AnyLLM.create(
        "anthropic", api_key=KEY, api_base=slow_emu.api_base("anthropic"), client_args=client_args()
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        with pytest.raises(BatchError, match="still in_progress"):
            await llm.aretrieve_batch_results(batch.id)


def _line(custom_id: str = "a", **body: Any) -> str:
    return json.dumps(
        {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": chat("hi", **body)}
    )


def _no_max_tokens() -> str:
    body = chat("hi")
    del body["max_completion_tokens"]
    return json.dumps({"custom_id": "a", "method": "POST", "url": CHAT, "body": body})


BAD = [
    ("no max tokens", _no_max_tokens(), "body.max_tokens", "required by Anthropic"),
    ("seed", _line(seed=7), "body.seed", "no seed"),
    ("json mode", _line(response_format={"type": "json_object"}), "body.response_format", "JSON"),
    ("temperature", _line(temperature=1.5), "body.temperature", "0 to 1"),
    ("n", _line(n=3), "body.n", "one choice"),
    ("custom_id too long", _line("x" * 65), "custom_ids matching", "a-zA-Z0-9"),
    ("custom_id dot", _line("a.b"), "custom_ids matching", ""),
    ("system only", _line(messages=[{"role": "system", "content": "x"}]), "body.messages", ""),
]


@pytest.mark.parametrize(("text", "field", "detail"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
async def test_bad_input_is_refused_before_any_request(
    emu: Emulator, tmp_path: Path, text: str, field: str, detail: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(_line("ok") + "\n" + text + "\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        await acreate_batch("anthropic", path, CHAT, **common(emu))
    assert info.value.path == str(path)
    assert info.value.line == 2
    assert field in str(info.value) and detail in str(info.value)
    assert "anthropic" in str(info.value)
    assert emu.requests() == []


async def test_metadata_window_and_extra_parameters_are_refused(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = tmp_path / "stage"
    stage.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(stage))
    path = tmp_path / "r.jsonl"
    write_plain(path, 1)
    with pytest.raises(ConfigurationError, match="carry no metadata"):
        await acreate_batch("anthropic", path, CHAT, metadata={"job": "x"}, **common(emu))
    with pytest.raises(ConfigurationError, match="completion_window"):
        await acreate_batch("anthropic", path, CHAT, completion_window="48h", **common(emu))
    with pytest.raises(InputFileError, match="does not batch endpoint"):
        await acreate_batch("anthropic", path, "/v1/embeddings", **common(emu))
    assert emu.requests() == []
    with pytest.raises(ConfigurationError, match="takes no extra parameters"):
        await acreate_batch("anthropic", path, CHAT, priority="high", **common(emu))
    assert [r["method"] for r in emu.requests()] == ["GET"]  # nothing was created
    assert list(stage.iterdir()) == []


async def test_an_ambiguous_create_names_its_candidate_and_is_not_sent_again(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_plain(path, 3)
    # The batch is created, then the connection drops before the answer. Anthropic's batches
    # carry no key: the new batch of 3 requests cannot be shown to be this call's.
    emu.add_fault(Fault(method="POST", path=BATCHES, kind="reset_after", times=1))
    with pytest.raises(BatchMayExistError, match="cannot be shown to be this one") as info:
        await acreate_batch("anthropic", path, CHAT, **common(emu))
    [made] = emu.batches()
    assert info.value.batch_id == made["id"]
    assert made["id"] in str(info.value)
    creates = [r for r in emu.requests() if r["method"] == "POST"]
    assert len(creates) == 1


async def test_a_create_that_made_nothing_never_takes_an_older_batch(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.jsonl"
    write_plain(path, 3)
    first = await acreate_batch("anthropic", path, CHAT, **common(emu))
    # As if another process had made it: this process's ledger does not know the batch.
    monkeypatch.setattr(anthropic_wire, "LEDGER", anthropic_wire.CreateLedger())
    emu.clear_requests()
    # Same size, but this attempt never reaches the server: the earlier batch is not it.
    emu.add_fault(Fault(method="POST", path=BATCHES, kind="reset", times=1))
    second = await acreate_batch("anthropic", path, CHAT, **common(emu))
    assert second.id != first.id
    assert sorted(b["id"] for b in emu.batches()) == sorted([first.id, second.id])
    assert [(r["method"], r["status"]) for r in emu.requests()] == [
        ("GET", 200),  # the newest batch, before the first attempt
        ("POST", None),  # reset
        ("GET", 200),  # did it make a batch? none newer of 3 requests
        ("POST", 200),
    ]


async def test_429_and_5xx_are_retried(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_plain(path, 2)
    emu.add_fault(Fault(method="POST", path=BATCHES, status=529, times=1))
    emu.add_fault(
        Fault(method="GET", path=f"{BATCHES}/*", status=429, headers={"retry-after": "0"}, times=2)
    )
    batch = await acreate_batch("anthropic", path, CHAT, **common(emu))
    assert len(emu.batches()) == 1
    again = await aretrieve_batch("anthropic", batch.id, **common(emu))
    assert again.id == batch.id
    statuses = [(r["method"], r["path"], r["status"]) for r in emu.requests()]
    assert statuses == [
        ("GET", BATCHES, 200),
        ("POST", BATCHES, 529),
        ("GET", BATCHES, 200),
        ("POST", BATCHES, 200),
        ("GET", f"{BATCHES}/{batch.id}", 429),
        ("GET", f"{BATCHES}/{batch.id}", 429),
        ("GET", f"{BATCHES}/{batch.id}", 200),
    ]


async def test_reset_mid_download_yields_no_item_twice(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    ids = write_plain(path, 2000)
    async with AnyLLM.create(
        "anthropic", api_key=KEY, api_base=emu.api_base("anthropic"), client_args=client_args()
    ) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
        results_path = f"{BATCHES}/{batch.id}/results"
        emu.add_fault(Fault(method="GET", path=results_path, kind="reset_mid_download", times=1))
        items = [item.custom_id async for item in llm.aiter_batch_results(batch)]
    downloads = [r for r in emu.requests() if r["path"] == results_path]
    assert len(downloads) == 2
    assert downloads[0]["headers"]["Accept"] == "application/binary"
    assert downloads[0]["headers"]["x-api-key"] == KEY
    assert sorted(items) == sorted(ids)
    assert len(items) == len(set(items))


async def test_status_errors_and_keys(
    emu: Emulator, auth_emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NotFoundError) as info:
        await aretrieve_batch("anthropic", "msgbatch_nope", **common(emu))
    message = str(info.value)
    assert "anthropic" in message and f"{BATCHES}/msgbatch_nope" in message and "404" in message
    assert "No message batch found" in message
    assert KEY not in message and KEY not in repr(info.value)
    assert len(emu.requests()) == 1

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-env")
    with pytest.raises(NotFoundError):
        await aretrieve_batch("anthropic", "msgbatch_nope", api_base=emu.api_base("anthropic"))
    assert emu.requests()[-1]["headers"]["x-api-key"] == "sk-from-env"

    with pytest.raises(AuthenticationError, match="invalid x-api-key"):
        await aretrieve_batch(
            "anthropic", "msgbatch_x", api_key="sk-wrong", api_base=auth_emu.api_base("anthropic")
        )
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        await aretrieve_batch("anthropic", "msgbatch_x", api_base=emu.api_base("anthropic"))
