"""The OpenAI-family providers (Azure OpenAI, Groq, DashScope, Moonshot, Nebius, Cerebras) end to
end over loopback HTTP: Azure and Groq against their own emulator mounts, the others against the
OpenAI mount (their wire protocol is OpenAI's)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from any_llm import (
    AnyLLM,
    acancel_batch,
    acreate_batch,
    aiter_batches,
    alist_batches,
    apoll_batch,
    aretrieve_batch,
    aretrieve_batch_results,
)
from any_llm.emulator import Emulator, Fault, ManualClock
from any_llm.errors import (
    AuthenticationError,
    ConfigurationError,
    InputFileError,
    NotFoundError,
)
from any_llm.types import BatchResultStatus, BatchStatus
from tests.helpers import CHAT, KEY, client_args, sha256, write_requests

# (id, provider, path of api_base on the emulator, client_args, route prefix of its requests)
CASES = [
    ("azureopenai-v1", "azureopenai", "/azureopenai", {}, "/azureopenai/openai/v1"),
    (
        "azureopenai-dated",
        "azureopenai",
        "/azureopenai",
        {"api_version": "2024-10-21"},
        "/azureopenai/openai",
    ),
    ("groq", "groq", "/groq/openai/v1", {}, "/groq/openai/v1"),
    ("groq-sdk-base", "groq", "/groq", {}, "/groq/openai/v1"),
    ("dashscope", "dashscope", "/v1", {}, "/v1"),
    ("moonshot", "moonshot", "/v1", {}, "/v1"),
    ("nebius", "nebius", "/v1", {}, "/v1"),
    ("cerebras", "cerebras", "/v1", {}, "/v1"),
]
PROVIDERS = pytest.mark.parametrize(
    ("provider", "base", "extra", "prefix"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
MODEL = "my-batch-deployment"  # Azure's body.model is a deployment name


def common(emu: Emulator, provider: str, base: str, extra: dict[str, Any]) -> dict[str, Any]:
    del provider
    return {"api_key": KEY, "api_base": emu.url + base, "client_args": client_args(**extra)}


def check_requests(emu: Emulator, provider: str, extra: dict[str, Any], prefix: str) -> None:
    """Every request went to the provider's routes, with its auth header and query."""
    seen = emu.requests()
    assert seen
    for request in seen:
        assert request["path"].startswith(prefix + "/"), request["path"]
        if provider == "azureopenai":
            assert request["headers"]["api-key"] == KEY
            assert "authorization" not in {name.lower() for name in request["headers"]}
            assert request["query"].get("api-version") == extra.get("api_version")
        else:
            assert request["headers"]["Authorization"] == f"Bearer {KEY}"
            assert "api-version" not in request["query"]
        if provider == "groq" and request["path"].endswith("/batches"):
            assert request["query"] == {}  # Groq's list takes no parameters


@PROVIDERS
async def test_whole_lifecycle(
    emu: Emulator, tmp_path: Path, provider: str, base: str, extra: dict[str, Any], prefix: str
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 12, model=MODEL, fail=(3,), error=(7,))
    args = common(emu, provider, base, extra)

    batch = await acreate_batch(provider, path, CHAT, metadata={"job": "nightly"}, **args)
    assert batch.provider == provider
    assert batch.status is BatchStatus.VALIDATING
    assert batch.provider_status == "validating"
    assert batch.metadata is not None and batch.metadata["job"] == "nightly"
    assert batch.output_file_id is None and batch.error_file_id is None
    assert batch.completion_window == "24h"
    stored = [f for f in emu.files() if f["id"] == batch.input_file_id]
    assert stored and stored[0]["sha256"] == sha256(path)

    done = await apoll_batch(provider, batch.id, **args)
    assert done.status is BatchStatus.COMPLETED
    assert (done.request_counts.total, done.request_counts.failed) == (12, 2)
    assert (await aretrieve_batch(provider, batch.id, **args)).id == batch.id

    result = await aretrieve_batch_results(provider, batch.id, **args)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert (counts[BatchResultStatus.SUCCEEDED], counts[BatchResultStatus.FAILED]) == (10, 2)
    by_id = {item.custom_id: item for item in result}
    assert by_id["req-3"].status_code == 400
    assert by_id["req-7"].error is not None and by_id["req-7"].error.code == "emulated_error"
    completion = by_id["req-0"].chat_completion()
    assert completion.model == MODEL
    assert completion.choices[0].message.content == "echo: question 0"
    assert completion.usage is not None and completion.usage.total_tokens > 0

    page = await alist_batches(provider, **args)
    assert [b.id for b in page] == [batch.id]
    assert all(b.provider == provider for b in page)
    check_requests(emu, provider, extra, prefix)


@PROVIDERS
async def test_list_pages_and_iterates_all(
    emu: Emulator, tmp_path: Path, provider: str, base: str, extra: dict[str, Any], prefix: str
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 10, model=MODEL)
    args = common(emu, provider, base, extra)
    async with AnyLLM.create(provider, **args) as llm:
        created = [(await llm.acreate_batch(path, CHAT)).id for _ in range(5)]
        page = await llm.alist_batches(limit=2)
        assert [b.id for b in page] == created[::-1][:2]
        assert page.has_more and page.next_cursor == page[-1].id
        second = await llm.alist_batches(after=page.next_cursor, limit=2)
        assert [b.id for b in second] == created[::-1][2:4]
        every = [b.id async for b in llm.aiter_batches(limit=2)]
        assert every == created[::-1]
        whole = await llm.alist_batches()
    assert [b.id for b in whole] == created[::-1]
    assert not whole.has_more and whole.next_cursor is None
    streamed = [b.id async for b in aiter_batches(provider, limit=3, **args)]
    assert streamed == created[::-1]
    check_requests(emu, provider, extra, prefix)


@PROVIDERS
async def test_cancel_keeps_partial_results(
    slow_emu: Emulator,
    clock: ManualClock,
    tmp_path: Path,
    provider: str,
    base: str,
    extra: dict[str, Any],
    prefix: str,
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 10, model=MODEL)
    args = common(slow_emu, provider, base, extra)
    batch = await acreate_batch(provider, path, CHAT, **args)
    clock.advance(1 + 5)  # validating 1 s, then half of the 10 s in_progress phase
    running = await aretrieve_batch(provider, batch.id, **args)
    assert running.status is BatchStatus.IN_PROGRESS
    assert 0 < running.request_counts.completed < 10

    cancelling = await acancel_batch(provider, batch.id, **args)
    assert cancelling.status is BatchStatus.CANCELLING
    clock.advance(60)
    cancelled = await aretrieve_batch(provider, batch.id, **args)
    assert cancelled.status is BatchStatus.CANCELLED

    result = await aretrieve_batch_results(provider, batch.id, **args)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    counts = result.counts()
    assert counts[BatchResultStatus.SUCCEEDED] == running.request_counts.completed
    assert counts[BatchResultStatus.CANCELLED] == 10 - running.request_counts.completed
    check_requests(slow_emu, provider, extra, prefix)


@PROVIDERS
async def test_ambiguous_create_makes_exactly_one_batch(
    emu: Emulator, tmp_path: Path, provider: str, base: str, extra: dict[str, Any], prefix: str
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 10, model=MODEL)
    emu.add_fault(Fault(method="POST", path=f"{prefix}/batches", kind="reset_after", times=1))
    batch = await acreate_batch(provider, path, CHAT, **common(emu, provider, base, extra))
    assert [b["id"] for b in emu.batches()] == [batch.id]
    creates = [
        r for r in emu.requests() if (r["method"], r["path"]) == ("POST", f"{prefix}/batches")
    ]
    assert len(creates) == 1


LIMITS = [
    # (provider, file bytes over the limit, message); Nebius' 10 GB is checked in
    # tests/test_openai_family_config.py rather than with a 10 GB (sparse) file.
    ("azureopenai", 200_000_001, "limit of 200,000,000 bytes"),
    ("groq", 100_000_001, "limit of 100,000,000 bytes"),
    ("dashscope", 100_000_001, "limit of 100,000,000 bytes"),
    ("moonshot", 100_000_001, "limit of 100,000,000 bytes"),
    ("cerebras", 200_000_001, "limit of 200,000,000 bytes"),
]


@pytest.mark.parametrize(("provider", "size", "message"), LIMITS, ids=[c[0] for c in LIMITS])
async def test_file_size_limit_is_refused_before_any_request(
    emu: Emulator, tmp_path: Path, provider: str, size: int, message: str
) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as out:  # sparse: no disk space used
        out.truncate(size)
    with pytest.raises(InputFileError, match=message):
        await acreate_batch(provider, path, CHAT, api_key=KEY, api_base=emu.url + "/v1")
    assert emu.requests() == []


REFUSED = [
    ("cerebras", {}, 9, CHAT, InputFileError, "needs at least 10"),
    ("azureopenai", {}, 1, "/v1/embeddings", InputFileError, "does not batch endpoint"),
    ("groq", {}, 1, "/v1/embeddings", InputFileError, "does not batch endpoint"),
    ("moonshot", {}, 1, "/v1/embeddings", InputFileError, "does not batch endpoint"),
    ("groq", {"completion_window": "8d"}, 1, CHAT, ConfigurationError, "from 24h to 7d"),
    ("groq", {"completion_window": "23h"}, 1, CHAT, ConfigurationError, "from 24h to 7d"),
    ("groq", {"completion_window": "1w"}, 1, CHAT, ConfigurationError, "from 24h to 7d"),
    ("azureopenai", {"completion_window": "48h"}, 1, CHAT, ConfigurationError, "use one of: 24h"),
    ("moonshot", {"completion_window": "3d"}, 1, CHAT, ConfigurationError, "use one of: 24h"),
    (
        "nebius",
        {"metadata": {f"k{i}": "v" for i in range(16)}},
        1,
        CHAT,
        ConfigurationError,
        "at most 15",
    ),
]


@pytest.mark.parametrize(
    ("provider", "kwargs", "count", "endpoint", "error", "message"),
    REFUSED,
    ids=[f"{c[0]}-{c[5]}" for c in REFUSED],
)
async def test_limits_are_refused_before_any_request(
    emu: Emulator,
    tmp_path: Path,
    provider: str,
    kwargs: dict[str, Any],
    count: int,
    endpoint: str,
    error: type[Exception],
    message: str,
) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, count)
    with pytest.raises(error, match=message):
        await acreate_batch(
            provider, path, endpoint, api_key=KEY, api_base=emu.url + "/v1", **kwargs
        )
    assert emu.requests() == []


async def test_azure_empty_file_ids_and_zero_byte_error_file(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 4, model=MODEL)
    async with AnyLLM.create(
        "azureopenai", api_key=KEY, api_base=emu.api_base("azureopenai"), client_args=client_args()
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        # Azure answers "" for the file ids of a new batch: read as absent.
        assert (batch.output_file_id, batch.error_file_id) == (None, None)
        done = await llm.apoll_batch(batch.id)
        assert done.output_file_id and done.error_file_id
        result = await llm.aretrieve_batch_results(done)
    [error_file] = [f for f in emu.files() if f["id"] == done.error_file_id]
    assert error_file["bytes"] == 0  # nothing failed: Azure still writes an empty error file
    assert sorted(item.custom_id for item in result) == sorted(ids)
    assert all(item.succeeded for item in result)
    # The create carried Azure's documented endpoint spelling; the lines kept theirs.
    creates = [r for r in emu.requests() if r["method"] == "POST" and "/batches" in r["path"]]
    assert [r["path"] for r in creates] == ["/azureopenai/openai/v1/batches"]
    assert done.endpoint == "/chat/completions"


async def test_azure_endpoint_from_environment_and_dated_surface(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "requests.jsonl"
    lines = [
        {
            "custom_id": f"task-{i}",
            "method": "POST",
            "url": "/chat/completions",  # the dated API's spelling
            "body": {"model": MODEL, "messages": [{"role": "user", "content": f"q {i}"}]},
        }
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.api_base("azureopenai"))
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    args: dict[str, Any] = {"client_args": client_args(api_version="2025-04-01-preview")}
    batch = await acreate_batch("azureopenai", path, "/chat/completions", **args)
    done = await apoll_batch("azureopenai", batch.id, **args)
    result = await aretrieve_batch_results("azureopenai", done.id, **args)
    assert sorted(item.custom_id for item in result) == ["task-0", "task-1", "task-2"]
    assert all(item.succeeded for item in result)
    queries = {r["query"].get("api-version") for r in emu.requests()}
    assert queries == {"2025-04-01-preview"}
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    with pytest.raises(ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        await aretrieve_batch("azureopenai", batch.id)


async def test_azure_wrong_key_and_unknown_batch(auth_emu: Emulator) -> None:
    base = auth_emu.api_base("azureopenai")
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        await aretrieve_batch("azureopenai", "batch_x", api_key="wrong", api_base=base)
    with pytest.raises(NotFoundError):
        await aretrieve_batch("azureopenai", "batch_x", api_key="sk-right", api_base=base)


async def test_groq_windows_up_to_seven_days(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2, model="llama-3.1-8b-instant")
    async with AnyLLM.create(
        "groq", api_key=KEY, api_base=emu.api_base("groq"), client_args=client_args()
    ) as llm:
        for window, hours in (("24h", 24), ("36h", 36), ("3d", 72), ("7d", 168)):
            batch = await llm.acreate_batch(path, CHAT, completion_window=window)
            assert batch.completion_window == window
            assert batch.expires_at is not None
            assert batch.expires_at - batch.created_at == hours * 3600
        page = await llm.alist_batches()
    assert [b.completion_window for b in page] == ["7d", "3d", "36h", "24h"]
    assert not page.has_more


async def test_groq_unknown_cursor_is_explained(emu: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="names no batch"):
        await alist_batches("groq", after="batch_gone", api_key=KEY, api_base=emu.api_base("groq"))


async def test_key_from_each_providers_environment_variable(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for provider, variable, base in (
        ("groq", "GROQ_API_KEY", "/groq/openai/v1"),
        ("dashscope", "DASHSCOPE_API_KEY", "/v1"),
        ("moonshot", "MOONSHOT_API_KEY", "/v1"),
        ("nebius", "NEBIUS_API_KEY", "/v1"),
        ("cerebras", "CEREBRAS_API_KEY", "/v1"),
        ("azureopenai", "AZURE_OPENAI_API_KEY", "/azureopenai"),
    ):
        monkeypatch.delenv(variable, raising=False)
        with pytest.raises(ConfigurationError, match=variable):
            await alist_batches(provider, api_base=emu.url + base)
        monkeypatch.setenv(variable, f"key-{provider}")
        assert os.environ[variable] == f"key-{provider}"
        page = await alist_batches(provider, api_base=emu.url + base)
        assert len(page) == 0
        seen = emu.requests()[-1]["headers"]
        sent = seen.get("api-key") or seen["Authorization"].removeprefix("Bearer ")
        assert sent == f"key-{provider}"
