"""Adapter: the floor for async code, plain aiohttp with hand-written requests.

Uploads are one multipart POST streamed from disk with an exact Content-Length; results are
streamed and parsed with ``json.loads`` line by line, the output and the error file in turn.
"""

from __future__ import annotations

import time

from _bench import (
    TYPE_CHECKING,
    IdCheck,
    cpu_seconds,
    line_failed,
    main,
    median,
    peak_rss_mib,
    repeated_report,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine
    from pathlib import Path
    from typing import Any

    import aiohttp
    from _bench import Params, Report

CHAT = "/v1/chat/completions"
CHUNK = 256 * 1024
TERMINAL = ("completed", "failed", "expired", "cancelled")


def _session(params: Params) -> aiohttp.ClientSession:
    import aiohttp

    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {params['key']}"})


async def _file_body(head: bytes, path: Path, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
    yield tail


def _multipart(name: str) -> tuple[Path, bytes, bytes, dict[str, str]]:
    """The file, the bytes before and after it, and the headers of a purpose=batch upload."""
    import uuid
    from pathlib import Path

    path = Path(name)
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/jsonl\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
    }
    return path, head, tail, headers


async def _upload_and_create(session: aiohttp.ClientSession, base: str, name: str) -> str:
    import json

    path, head, tail, headers = _multipart(name)
    body = _file_body(head, path, tail)
    async with session.post(f"{base}/files", data=body, headers=headers) as response:
        response.raise_for_status()
        file_id = json.loads(await response.read())["id"]
    payload = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    async with session.post(f"{base}/batches", json=payload) as response:
        response.raise_for_status()
        batch_id: str = json.loads(await response.read())["id"]
    return batch_id


async def _retrieve(session: aiohttp.ClientSession, base: str, batch_id: str) -> dict[str, Any]:
    import json

    async with session.get(f"{base}/batches/{batch_id}") as response:
        response.raise_for_status()
        batch: dict[str, Any] = json.loads(await response.read())
    return batch


async def _create(params: Params) -> Report:
    base = params["base"]
    async with _session(params) as session:
        await _upload_and_create(session, base, params["small"])  # warm-up
        before = peak_rss_mib()
        walls: list[float] = []
        for _ in range(params["reps"]):
            start = time.perf_counter()
            await _upload_and_create(session, base, params["file"])
            walls.append(time.perf_counter() - start)
        after = peak_rss_mib()
    return repeated_report(walls, before, after)


async def _retrieve_300(params: Params) -> Report:
    import asyncio

    base, batch_id, concurrency = params["base"], params["batch_id"], params["concurrency"]
    walls: list[float] = []
    async with _session(params) as session:
        await _retrieve(session, base, batch_id)  # warm-up
        for _ in range(params["bursts"]):
            start = time.perf_counter()
            batches = await asyncio.gather(
                *(_retrieve(session, base, batch_id) for _ in range(concurrency))
            )
            walls.append(time.perf_counter() - start)
            assert all(b["id"] == batch_id for b in batches)
    return {"wall_s": median(walls), "bursts_s": walls, "concurrency": concurrency}


async def _stream_lines(session: aiohttp.ClientSession, url: str) -> AsyncIterator[bytes]:
    async with session.get(url) as response:
        response.raise_for_status()
        rest = b""
        async for chunk in response.content.iter_chunked(CHUNK):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if line.strip():
                    yield line
        if rest.strip():
            yield rest


async def _results(params: Params) -> Report:
    import json

    base = params["base"]
    check = IdCheck(params["expect"], params["prefix"])
    async with _session(params) as session:
        await _retrieve(session, base, params["warm_batch_id"])  # warm-up
        before = peak_rss_mib()
        start = time.perf_counter()
        batch = await _retrieve(session, base, params["batch_id"])
        for file_id in (batch["output_file_id"], batch["error_file_id"]):
            if not file_id:
                continue
            async for line in _stream_lines(session, f"{base}/files/{file_id}/content"):
                row = json.loads(line)
                check.add(row["custom_id"], failed=line_failed(row))
        wall = time.perf_counter() - start
        after = peak_rss_mib()
    return {"wall_s": wall, "rss_before_mib": before, "rss_after_mib": after, **check.report()}


async def _poll_one(session: aiohttp.ClientSession, base: str, batch_id: str) -> dict[str, Any]:
    import asyncio

    delay = 1.0
    while True:
        batch = await _retrieve(session, base, batch_id)
        if batch["status"] in TERMINAL:
            return batch
        await asyncio.sleep(delay)
        delay = min(delay * 2, 60.0)


async def _poll(params: Params) -> Report:
    import asyncio

    base, ids = params["base"], params["batch_ids"]
    async with _session(params) as session:
        await _retrieve(session, base, ids[0])  # warm-up
        cpu = cpu_seconds()
        start = time.perf_counter()
        batches = await asyncio.gather(*(_poll_one(session, base, i) for i in ids))
        wall = time.perf_counter() - start
        cpu = cpu_seconds() - cpu
    ended = sum(1 for b in batches if b["status"] in TERMINAL)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_pct": 100 * cpu / wall,
        "batches": len(ids),
        "ended": ended,
    }


def _run(coro: Coroutine[Any, Any, Report]) -> Report:
    import asyncio

    return asyncio.run(coro)


if __name__ == "__main__":
    main(
        "raw_aiohttp",
        ["aiohttp"],
        {
            "create": lambda p: _run(_create(p)),
            "retrieve_async_300": lambda p: _run(_retrieve_300(p)),
            "results": lambda p: _run(_results(p)),
            "poll_100": lambda p: _run(_poll(p)),
        },
    )
