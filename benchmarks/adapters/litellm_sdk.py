"""Adapter: ``litellm``'s batch and file functions (module functions only: it has no client).

litellm fetches a model price list from the internet when imported unless told not to; this
machine has no network, so the offline switches are set (they also make its import faster
than a failed fetch would, never slower).
"""

from __future__ import annotations

import os
import time

from _bench import (
    TYPE_CHECKING,
    IdCheck,
    line_failed,
    main,
    median,
    peak_rss_mib,
    per_call_report,
    repeated_report,
)

if TYPE_CHECKING:
    from typing import Any

    from _bench import Params, Report

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

CHAT = "/v1/chat/completions"


def _litellm() -> Any:
    import importlib

    return importlib.import_module("litellm")


def _auth(params: Params) -> dict[str, Any]:
    return {"custom_llm_provider": "openai", "api_key": params["key"], "api_base": params["base"]}


def _upload_and_create(litellm: Any, params: Params, name: str) -> str:
    with open(name, "rb") as handle:
        uploaded = litellm.create_file(file=handle, purpose="batch", **_auth(params))
    batch = litellm.create_batch(
        completion_window="24h", endpoint=CHAT, input_file_id=uploaded.id, **_auth(params)
    )
    batch_id: str = batch.id
    return batch_id


def create(params: Params) -> Report:
    litellm = _litellm()
    _upload_and_create(litellm, params, params["small"])  # warm-up
    before = peak_rss_mib()
    walls: list[float] = []
    for _ in range(params["reps"]):
        start = time.perf_counter()
        _upload_and_create(litellm, params, params["file"])
        walls.append(time.perf_counter() - start)
    return repeated_report(walls, before, peak_rss_mib())


def retrieve_sync_fn(params: Params) -> Report:
    litellm = _litellm()
    batch_id: str = params["batch_id"]
    for _ in range(params["warmup"]):
        litellm.retrieve_batch(batch_id=batch_id, **_auth(params))
    durations: list[float] = []
    for _ in range(params["n"]):
        start = time.perf_counter()
        batch = litellm.retrieve_batch(batch_id=batch_id, **_auth(params))
        durations.append(time.perf_counter() - start)
        assert batch.id == batch_id
    return per_call_report(durations)


async def _retrieve_300(params: Params) -> Report:
    import asyncio

    litellm = _litellm()
    batch_id: str = params["batch_id"]
    concurrency: int = params["concurrency"]
    await litellm.aretrieve_batch(batch_id=batch_id, **_auth(params))  # warm-up
    walls: list[float] = []
    for _ in range(params["bursts"]):
        start = time.perf_counter()
        batches = await asyncio.gather(
            *(
                litellm.aretrieve_batch(batch_id=batch_id, **_auth(params))
                for _ in range(concurrency)
            )
        )
        walls.append(time.perf_counter() - start)
        assert all(b.id == batch_id for b in batches)
    return {"wall_s": median(walls), "bursts_s": walls, "concurrency": concurrency}


def retrieve_async_300(params: Params) -> Report:
    import asyncio

    return asyncio.run(_retrieve_300(params))


def results(params: Params) -> Report:
    import json

    litellm = _litellm()
    check = IdCheck(params["expect"], params["prefix"])
    litellm.retrieve_batch(batch_id=params["warm_batch_id"], **_auth(params))  # warm-up
    before = peak_rss_mib()
    start = time.perf_counter()
    batch = litellm.retrieve_batch(batch_id=params["batch_id"], **_auth(params))
    for file_id in (batch.output_file_id, batch.error_file_id):
        if not file_id:
            continue
        content = litellm.file_content(file_id=file_id, **_auth(params))
        for line in content.text.splitlines():
            if line.strip():
                row = json.loads(line)
                check.add(row["custom_id"], failed=line_failed(row))
    wall = time.perf_counter() - start
    after = peak_rss_mib()
    return {"wall_s": wall, "rss_before_mib": before, "rss_after_mib": after, **check.report()}


if __name__ == "__main__":
    main(
        "litellm",
        ["litellm"],
        {
            "create": create,
            "retrieve_sync_fn": retrieve_sync_fn,
            "retrieve_async_300": retrieve_async_300,
            "results": results,
        },
    )
