"""Cancelling an asyncio task mid-upload or mid-download releases every connection and file;
concurrent calls on one client share one bounded connection pool (tasks, or threads for the
sync twin).

Concurrency-specific, so written here rather than in tests/_async (which has a sync twin).
Warnings are errors in this suite: an unclosed session or file fails the test at gc.collect().
"""

from __future__ import annotations

import asyncio
import gc
import os
from pathlib import Path

import pytest

from any_llm import AnyLLM, acreate_batch
from any_llm.emulator import Emulator, Fault
from tests.helpers import CHAT, KEY, client_args, write_requests


def open_fds_on(path: Path) -> int:
    """How many of this process's file descriptors point at ``path``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                count += 1
        except OSError:
            continue
    return count


async def test_cancel_mid_upload_closes_the_file_and_the_session(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "big.jsonl"
    write_requests(path, 20_000)  # about 2 MB
    # The server sits on the upload, so the client is stuck sending it when cancelled.
    emu.add_fault(Fault(method="POST", path="/v1/files", kind="delay", delay=3.0, times=1))
    task = asyncio.create_task(
        acreate_batch(
            "openai", path, CHAT, api_key=KEY, api_base=emu.api_base(), client_args=client_args()
        )
    )
    await asyncio.sleep(0.3)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gc.collect()
    assert open_fds_on(path) == 0
    assert emu.batches() == []


async def test_cancel_mid_download_closes_the_connection(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 5_000)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    ) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
        seen: list[str] = []
        started = asyncio.Event()

        async def read_slowly() -> None:
            async for item in llm.aiter_batch_results(batch):
                seen.append(item.custom_id)
                started.set()
                await asyncio.sleep(0.01)

        task = asyncio.create_task(read_slowly())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert 0 < len(seen) < 5_000
        # the client still works after the cancelled download
        assert (await llm.aretrieve_batch(batch.id)).id == batch.id
    gc.collect()


async def test_concurrent_calls_share_one_bounded_pool(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    emu.add_fault(Fault(method="GET", path="/v1/batches/*", kind="delay", delay=0.05))
    args = client_args(max_connections=3, max_connections_per_host=3)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=emu.api_base(), client_args=args
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        emu.clear_requests()
        results = await asyncio.gather(*(llm.aretrieve_batch(batch.id) for _ in range(30)))
    assert {b.id for b in results} == {batch.id}
    peers = {r["peer"] for r in emu.requests()}
    assert 1 <= len(peers) <= 3  # 30 concurrent calls over at most 3 connections


def test_concurrent_sync_calls_share_one_bounded_pool(emu: Emulator, tmp_path: Path) -> None:
    # The sync twin from 30 threads: the same cap (urllib3 would otherwise open a connection
    # per thread and discard the extra ones).
    from concurrent.futures import ThreadPoolExecutor

    from any_llm_sync import AnyLLM as SyncAnyLLM

    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    emu.add_fault(Fault(method="GET", path="/v1/batches/*", kind="delay", delay=0.05))
    args = client_args(max_connections=3, max_connections_per_host=3)
    with SyncAnyLLM.create("openai", api_key=KEY, api_base=emu.api_base(), client_args=args) as llm:
        batch = llm.create_batch(path, CHAT)
        emu.clear_requests()
        with ThreadPoolExecutor(30) as pool:
            results = list(pool.map(lambda _: llm.retrieve_batch(batch.id), range(30)))
    assert {b.id for b in results} == {batch.id}
    peers = {r["peer"] for r in emu.requests()}
    assert 1 <= len(peers) <= 3  # 30 concurrent calls over at most 3 connections


async def test_cancelling_a_wait_stops_it(slow_emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=slow_emu.api_base(), client_args=client_args()
    ) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        task = asyncio.create_task(llm.apoll_batch(batch.id))
        await asyncio.sleep(0.2)
        assert not task.done()  # the batch never ends on the manual clock
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await llm.aretrieve_batch(batch.id)).status.value == "validating"


def test_ctrl_c_stops_the_sync_wait_with_exit_code_130(slow_emu: Emulator, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from any_llm_sync import create_batch

    path = tmp_path / "requests.jsonl"
    write_requests(path, 2)
    batch = create_batch("openai", path, CHAT, api_key=KEY, api_base=slow_emu.api_base())
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    command = [sys.executable, "-m", "any_llm.cli", "batch", "wait", batch.id, "--quiet"]
    with subprocess.Popen(
        [*command, "--api-base", slow_emu.api_base()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until the child has polled at least once
            if any(r["method"] == "GET" for r in slow_emu.requests()):
                break
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    assert child.returncode == 130, (out, err)
    assert err.strip().endswith("any-llm: interrupted")
    assert "Traceback" not in err


async def test_a_create_cancelled_on_the_wire_keeps_its_input(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    # The create commits 1 s after it was sent; the caller's wait_for gives up at 0.3 s.
    emu.add_fault(Fault(method="POST", path="/v1/batches", kind="slow_commit", delay=1.0, times=1))
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(
            acreate_batch(
                "openai", path, CHAT, idempotency_key="cancelled-create", api_key=KEY,
                api_base=emu.api_base(), client_args=client_args(),
            ),
            timeout=0.3,
        )  # fmt: skip
    [upload] = [f for f in emu.files() if f["purpose"] == "batch"]
    assert "idempotency key cancelled-create" in caplog.text
    assert upload["id"] in caplog.text
    assert "find_batch('openai', 'cancelled-create')" in caplog.text
    await asyncio.sleep(1.0)
    [made] = emu.batches()  # the batch made from the input that was kept
    assert made["input_file_id"] == upload["id"]
    assert [f["id"] for f in emu.files() if f["purpose"] == "batch"] == [upload["id"]]


def test_a_create_interrupted_by_ctrl_c_keeps_its_input(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import signal
    import threading

    from any_llm import create_batch

    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    emu.add_fault(Fault(method="POST", path="/v1/batches", kind="slow_commit", delay=1.0, times=1))
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            create_batch(
                "openai", path, CHAT, idempotency_key="interrupted", api_key=KEY,
                api_base=emu.api_base(), client_args=client_args(),
            )  # fmt: skip
    finally:
        timer.cancel()
    [upload] = [f for f in emu.files() if f["purpose"] == "batch"]
    assert "idempotency key interrupted" in caplog.text
    assert upload["id"] in caplog.text


async def test_a_client_never_closed_leaves_no_warning(emu: Emulator, tmp_path: Path) -> None:
    # As any-llm's own examples use it: created, used, dropped. Warnings are errors here, and
    # an unclosed aiohttp session would warn when collected.
    path = tmp_path / "r.jsonl"
    write_requests(path, 2)
    llm = AnyLLM.create("openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args())
    batch = await llm.acreate_batch(path, CHAT)
    assert (await llm.aretrieve_batch(batch.id)).id == batch.id
    assert isinstance(await llm.alist_batches(), list)
    del llm
    gc.collect()
    await asyncio.sleep(0)
    gc.collect()
