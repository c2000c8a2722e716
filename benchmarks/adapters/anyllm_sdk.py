"""Adapter: mozilla-ai's ``any-llm-sdk`` (PyPI), whose top-level package is also ``any_llm``.

It runs only in its own venv; its modules are reached through ``importlib`` so that the type
checker, which sees this project's ``any_llm``, treats them as ``Any``. Client methods and
module functions are both measured, as for this project.
"""

from __future__ import annotations

import time

from _bench import (
    TYPE_CHECKING,
    IdCheck,
    main,
    median,
    peak_rss_mib,
    per_call_report,
    repeated_report,
)

if TYPE_CHECKING:
    from typing import Any

    from _bench import Params, Report

CHAT = "/v1/chat/completions"


def _sdk() -> Any:
    import importlib

    return importlib.import_module("any_llm")


def _client(params: Params) -> Any:
    return _sdk().AnyLLM.create("openai", api_key=params["key"], api_base=params["base"])


def create(params: Params) -> Report:
    llm = _client(params)
    llm.create_batch(input_file_path=params["small"], endpoint=CHAT)  # warm-up
    before = peak_rss_mib()
    walls: list[float] = []
    for _ in range(params["reps"]):
        start = time.perf_counter()
        llm.create_batch(input_file_path=params["file"], endpoint=CHAT)
        walls.append(time.perf_counter() - start)
    return repeated_report(walls, before, peak_rss_mib())


def retrieve_sync(params: Params) -> Report:
    batch_id: str = params["batch_id"]
    llm = _client(params)
    for _ in range(params["warmup"]):
        llm.retrieve_batch(batch_id)
    durations: list[float] = []
    for _ in range(params["n"]):
        start = time.perf_counter()
        batch = llm.retrieve_batch(batch_id)
        durations.append(time.perf_counter() - start)
        assert batch.id == batch_id
    return per_call_report(durations)


def retrieve_sync_fn(params: Params) -> Report:
    retrieve_batch = _sdk().retrieve_batch
    batch_id: str = params["batch_id"]
    key, base = params["key"], params["base"]
    for _ in range(params["warmup"]):
        retrieve_batch("openai", batch_id, api_key=key, api_base=base)
    durations: list[float] = []
    for _ in range(params["n"]):
        start = time.perf_counter()
        batch = retrieve_batch("openai", batch_id, api_key=key, api_base=base)
        durations.append(time.perf_counter() - start)
        assert batch.id == batch_id
    return per_call_report(durations)


async def _retrieve_300(params: Params) -> Report:
    import asyncio

    batch_id: str = params["batch_id"]
    concurrency: int = params["concurrency"]
    llm = _client(params)
    await llm.aretrieve_batch(batch_id)  # warm-up
    walls: list[float] = []
    for _ in range(params["bursts"]):
        start = time.perf_counter()
        batches = await asyncio.gather(*(llm.aretrieve_batch(batch_id) for _ in range(concurrency)))
        walls.append(time.perf_counter() - start)
        assert all(b.id == batch_id for b in batches)
    return {"wall_s": median(walls), "bursts_s": walls, "concurrency": concurrency}


def retrieve_async_300(params: Params) -> Report:
    import asyncio

    return asyncio.run(_retrieve_300(params))


def results(params: Params) -> Report:
    check = IdCheck(params["expect"], params["prefix"])
    llm = _client(params)
    llm.retrieve_batch(params["warm_batch_id"])  # warm-up
    before = peak_rss_mib()
    start = time.perf_counter()
    result = llm.retrieve_batch_results(params["batch_id"])
    for item in result.results:
        check.add(item.custom_id, failed=item.error is not None)
    wall = time.perf_counter() - start
    after = peak_rss_mib()
    return {"wall_s": wall, "rss_before_mib": before, "rss_after_mib": after, **check.report()}


if __name__ == "__main__":
    main(
        "anyllm_sdk",
        ["any_llm"],
        {
            "create": create,
            "retrieve_sync": retrieve_sync,
            "retrieve_sync_fn": retrieve_sync_fn,
            "retrieve_async_300": retrieve_async_300,
            "results": results,
        },
    )
