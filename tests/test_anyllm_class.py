"""``any_llm.AnyLLM`` as any-llm users know it (issue 12, item 2): ``AnyLLM.create(provider,
api_key, api_base, **client_settings)``, and any-llm's sync methods beside the a-methods, with
any-llm's positional order, run on the generated sync client (urllib3: no event loop, no thread);
an object never closed leaves no warnings; ``with`` and ``async with`` both close it."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import any_llm
import any_llm_sync
from any_llm.emulator import Emulator
from any_llm.errors import ClientClosedError, ConfigurationError, NotFoundError
from any_llm.types import BatchStatus
from tests.helpers import CHAT, KEY, client_args, write_requests
from tests.hostile import HeaderRecorder


def requests_file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 3)
    return path


def test_the_sync_methods_run_on_urllib3_without_an_event_loop_thread(
    emu: Emulator, tmp_path: Path
) -> None:
    path = requests_file(tmp_path)
    caller = threading.current_thread()
    where: list[tuple[bool, bool]] = []

    def progress(_sent: int) -> None:  # called as the upload reads the file
        try:
            asyncio.get_running_loop()
            loop = True
        except RuntimeError:
            loop = False
        where.append((threading.current_thread() is caller, loop))

    llm = any_llm.AnyLLM.create("openai", KEY, emu.api_base(), max_retries=0)
    # any-llm's positional order
    batch = llm.create_batch(path, CHAT, "24h", {"job": "nightly"}, on_upload_progress=progress)
    assert where and set(where) == {(True, False)}  # in the caller's thread, no event loop
    assert batch.metadata is not None and batch.metadata["job"] == "nightly"
    done = llm.retrieve_batch(batch.id)  # the instant emulator completes it
    assert done.status is BatchStatus.COMPLETED
    page = llm.list_batches(None, 10)  # (after, limit), as in any-llm
    assert [b.id for b in page] == [batch.id]
    result = llm.retrieve_batch_results(batch.id)
    assert sorted(item.custom_id for item in result) == ["req-0", "req-1", "req-2"]
    assert llm.retrieve_batch(batch.id, allow_running_loop=True).id == batch.id  # any-llm's
    agents = {r["headers"].get("user-agent", "") for r in emu.requests()}
    assert agents and all(agent.startswith("python-urllib3/") for agent in agents), agents
    llm.close()


def test_cancel_batch_runs_synchronously(slow_emu: Emulator, tmp_path: Path) -> None:
    with any_llm.AnyLLM.create("openai", KEY, slow_emu.api_base()) as llm:
        batch = llm.create_batch(requests_file(tmp_path), CHAT)
        cancelled = llm.cancel_batch(batch.id)
        assert cancelled.id == batch.id
        assert cancelled.status in (BatchStatus.CANCELLING, BatchStatus.CANCELLED)


def test_an_object_never_closed_leaves_no_warning(emu: Emulator, tmp_path: Path) -> None:
    path = requests_file(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        llm = any_llm.AnyLLM.create("openai", KEY, emu.api_base())
        batch = llm.create_batch(path, CHAT)
        llm.retrieve_batch(batch.id)
        llm.retrieve_batch_results(batch.id)
        del llm, batch
        gc.collect()
    assert [str(w.message) for w in caught] == []


def test_with_closes_the_sync_side(emu: Emulator) -> None:
    with any_llm.AnyLLM.create("openai", KEY, emu.api_base()) as llm, pytest.raises(NotFoundError):
        llm.retrieve_batch("batch_missing")
    with pytest.raises(ClientClosedError):
        llm.retrieve_batch("batch_missing")


def test_closed_before_first_use_stays_closed(emu: Emulator) -> None:
    llm = any_llm.AnyLLM.create("openai", KEY, emu.api_base())
    llm.close()
    with pytest.raises(ClientClosedError):
        llm.list_batches()
    assert emu.requests() == []


async def test_async_with_closes_both_sides(emu: Emulator, tmp_path: Path) -> None:
    path = requests_file(tmp_path)
    async with any_llm.AnyLLM.create("openai", KEY, emu.api_base()) as llm:
        batch = await llm.acreate_batch(path, CHAT, "24h", {"k": "v"})  # any-llm's order
        assert (await llm.alist_batches(None, 5))[0].id == batch.id
        assert llm.retrieve_batch(batch.id).id == batch.id
    with pytest.raises(ClientClosedError):
        await llm.aretrieve_batch(batch.id)
    with pytest.raises(ClientClosedError):
        llm.retrieve_batch(batch.id)


def test_the_generated_sync_class_stays_its_own() -> None:
    assert any_llm.AnyLLM.__module__ == "any_llm._anyllm"
    assert any_llm_sync.AnyLLM.__module__ == "any_llm_sync.client"
    assert issubclass(any_llm.AnyLLM, any_llm._async.AnyLLM)
    assert not hasattr(any_llm_sync.AnyLLM, "acreate_batch")


def test_create_takes_client_settings_as_keyword_arguments() -> None:
    with HeaderRecorder() as server:
        llm = any_llm.AnyLLM.create(
            "openai",
            KEY,
            server.url + "/v1",
            timeout=5,
            max_retries=0,
            default_headers={"X-Team": "blue"},
            organization="org-123",
            project="proj-456",
        )
        with llm, pytest.raises(NotFoundError):
            llm.retrieve_batch("batch_1")
        seen = server.seen
    assert len(seen) == 1  # max_retries=0: one attempt
    headers = {name.lower(): value for name, value in seen[0]}
    assert headers["x-team"] == "blue"
    assert headers["openai-organization"] == "org-123"
    assert headers["openai-project"] == "proj-456"
    assert llm.config.timeout.read == 5.0


def test_a_timeout_object_sets_both_timeouts() -> None:
    """openai's clients take an httpx.Timeout; its connect and read are ours."""
    timeout = SimpleNamespace(connect=3.0, read=30.0, write=30.0, pool=30.0)
    llm = any_llm.AnyLLM.create("openai", api_key=KEY, timeout=timeout)
    assert (llm.config.timeout.connect, llm.config.timeout.read) == (3.0, 30.0)
    with pytest.raises(ConfigurationError, match="timeout"):
        any_llm.AnyLLM.create("openai", api_key=KEY, timeout=SimpleNamespace(connect=0, read=1))


def test_client_args_and_keyword_settings_combine() -> None:
    llm = any_llm.AnyLLM.create(
        "openai", api_key=KEY, client_args=client_args(), max_retries=2, timeout=7
    )
    assert llm.config.retry.max_attempts == 3
    assert llm.config.timeout.read == 7.0
    with pytest.raises(ConfigurationError, match="max_retries given both"):
        any_llm.AnyLLM.create("openai", api_key=KEY, client_args={"max_retries": 1}, max_retries=2)


@pytest.mark.parametrize("setting", ["organization", "project"])
def test_openai_settings_are_refused_where_they_mean_nothing(setting: str) -> None:
    settings: dict[str, Any] = {setting: "x"}
    with pytest.raises(ConfigurationError, match=f"{setting}.*OpenAI setting"):
        any_llm.AnyLLM.create("anthropic", api_key=KEY, **settings)
    base = "https://r.example"
    llm = any_llm.AnyLLM.create("azureopenai", api_key=KEY, api_base=base, **settings)
    assert llm.provider == "azureopenai"


def test_an_unknown_client_setting_is_refused_by_name() -> None:
    with pytest.raises(ConfigurationError, match="http_client"):
        any_llm.AnyLLM.create("openai", api_key=KEY, http_client=object())


async def test_concurrent_calls_keep_their_own_options(emu: Emulator) -> None:
    """The options are per call (a context variable): calls running at once on one client,
    in tasks or in threads, each send their own."""
    from concurrent.futures import ThreadPoolExecutor

    async with any_llm.AnyLLM.create("openai", KEY, emu.api_base()) as llm:

        async def retrieve(tag: str) -> None:
            with pytest.raises(NotFoundError):
                await llm.aretrieve_batch(f"batch_{tag}", extra_headers={"X-Tag": tag})

        await asyncio.gather(*(retrieve(f"a{i}") for i in range(8)))

        def sync_retrieve(tag: str) -> None:
            with pytest.raises(NotFoundError):
                llm.retrieve_batch(f"batch_{tag}", extra_headers={"X-Tag": tag})

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(sync_retrieve, [f"s{i}" for i in range(8)]))
    seen = emu.requests()
    assert len(seen) == 16
    for request in seen:
        assert request["path"].endswith("/batch_" + request["headers"]["x-tag"])
