"""Adapter: the floor for sync code, plain urllib3 with hand-written requests.

One ``PoolManager`` keeps the connection alive across calls (``retrieve_sync``); the module
function floor (``retrieve_sync_fn``) builds a new pool, hence a new connection, per call.
Uploads stream from disk with an exact Content-Length; results stream line by line.
"""

from __future__ import annotations

import time

from _bench import (
    TYPE_CHECKING,
    IdCheck,
    line_failed,
    main,
    peak_rss_mib,
    per_call_report,
    repeated_report,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import Any

    import urllib3
    from _bench import Params, Report

CHAT = "/v1/chat/completions"
CHUNK = 256 * 1024


def _pool() -> urllib3.PoolManager:
    import urllib3

    return urllib3.PoolManager(retries=False)


def _headers(params: Params) -> dict[str, str]:
    return {"Authorization": f"Bearer {params['key']}"}


def _json(response: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    import json

    if response.status >= 400:
        raise RuntimeError(f"HTTP {response.status}: {response.data[:200]!r}")
    data: dict[str, Any] = json.loads(response.data)
    return data


def _file_body(head: bytes, path: Path, tail: bytes) -> Iterator[bytes]:
    yield head
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
    yield tail


def _upload_and_create(pool: urllib3.PoolManager, params: Params, name: str) -> str:
    import json
    import uuid
    from pathlib import Path

    base = params["base"]
    path = Path(name)
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/jsonl\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {
        **_headers(params),
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
    }
    uploaded = pool.request(
        "POST", f"{base}/files", body=_file_body(head, path, tail), headers=headers
    )
    file_id = _json(uploaded)["id"]
    payload = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    created = pool.request(
        "POST",
        f"{base}/batches",
        body=json.dumps(payload).encode(),
        headers={**_headers(params), "Content-Type": "application/json"},
    )
    batch_id: str = _json(created)["id"]
    return batch_id


def create(params: Params) -> Report:
    pool = _pool()
    _upload_and_create(pool, params, params["small"])  # warm-up
    before = peak_rss_mib()
    walls: list[float] = []
    for _ in range(params["reps"]):
        start = time.perf_counter()
        _upload_and_create(pool, params, params["file"])
        walls.append(time.perf_counter() - start)
    after = peak_rss_mib()
    pool.clear()
    return repeated_report(walls, before, after)


def _retrieve(pool: urllib3.PoolManager, params: Params, batch_id: str) -> dict[str, Any]:
    url = f"{params['base']}/batches/{batch_id}"
    return _json(pool.request("GET", url, headers=_headers(params)))


def retrieve_sync(params: Params) -> Report:
    """Sequential GETs on one keep-alive connection, each answer parsed."""
    batch_id: str = params["batch_id"]
    pool = _pool()
    for _ in range(params["warmup"]):
        _retrieve(pool, params, batch_id)
    durations: list[float] = []
    for _ in range(params["n"]):
        start = time.perf_counter()
        batch = _retrieve(pool, params, batch_id)
        durations.append(time.perf_counter() - start)
        assert batch["id"] == batch_id
    pool.clear()
    return per_call_report(durations)


def retrieve_sync_fn(params: Params) -> Report:
    """Sequential GETs, each with a new pool (a new connection), as a fresh client would."""
    batch_id: str = params["batch_id"]
    for _ in range(params["warmup"]):
        pool = _pool()
        _retrieve(pool, params, batch_id)
        pool.clear()
    durations: list[float] = []
    for _ in range(params["n"]):
        start = time.perf_counter()
        pool = _pool()
        batch = _retrieve(pool, params, batch_id)
        pool.clear()
        durations.append(time.perf_counter() - start)
        assert batch["id"] == batch_id
    return per_call_report(durations)


def _stream_lines(pool: urllib3.PoolManager, params: Params, url: str) -> Iterator[bytes]:
    response = pool.request("GET", url, headers=_headers(params), preload_content=False)
    try:
        if response.status >= 400:
            raise RuntimeError(f"HTTP {response.status} for {url}")
        rest = b""
        for chunk in response.stream(CHUNK):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if line.strip():
                    yield line
        if rest.strip():
            yield rest
    finally:
        response.release_conn()


def results(params: Params) -> Report:
    import json

    check = IdCheck(params["expect"], params["prefix"])
    pool = _pool()
    _retrieve(pool, params, params["warm_batch_id"])  # warm-up
    before = peak_rss_mib()
    start = time.perf_counter()
    batch = _retrieve(pool, params, params["batch_id"])
    for file_id in (batch["output_file_id"], batch["error_file_id"]):
        if not file_id:
            continue
        url = f"{params['base']}/files/{file_id}/content"
        for line in _stream_lines(pool, params, url):
            row = json.loads(line)
            check.add(row["custom_id"], failed=line_failed(row))
    wall = time.perf_counter() - start
    after = peak_rss_mib()
    pool.clear()
    return {"wall_s": wall, "rss_before_mib": before, "rss_after_mib": after, **check.report()}


if __name__ == "__main__":
    main(
        "raw_urllib3",
        ["urllib3"],
        {
            "create": create,
            "retrieve_sync": retrieve_sync,
            "retrieve_sync_fn": retrieve_sync_fn,
            "results": results,
        },
    )
