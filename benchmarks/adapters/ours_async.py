"""Adapter: this project's async core (``any_llm``), through one ``AnyLLM`` client."""

from __future__ import annotations

import time

from _bench import TYPE_CHECKING, IdCheck, cpu_seconds, main, median, peak_rss_mib, repeated_report

if TYPE_CHECKING:
    from collections.abc import Coroutine
    from typing import Any

    from _bench import Params, Report

# asyncio is imported inside the operations: the import benchmark times a cold `import any_llm`.
CHAT = "/v1/chat/completions"


async def _create(params: Params) -> Report:
    from any_llm import AnyLLM

    async with AnyLLM.create("openai", api_key=params["key"], api_base=params["base"]) as llm:
        await llm.acreate_batch(params["small"], CHAT)  # warm-up: imports, connection
        before = peak_rss_mib()
        walls: list[float] = []
        for _ in range(params["reps"]):
            start = time.perf_counter()
            await llm.acreate_batch(params["file"], CHAT)
            walls.append(time.perf_counter() - start)
        after = peak_rss_mib()
    return repeated_report(walls, before, after)


async def _retrieve_300(params: Params) -> Report:
    import asyncio

    from any_llm import AnyLLM

    batch_id: str = params["batch_id"]
    concurrency: int = params["concurrency"]
    walls: list[float] = []
    async with AnyLLM.create("openai", api_key=params["key"], api_base=params["base"]) as llm:
        await llm.aretrieve_batch(batch_id)  # warm-up
        for _ in range(params["bursts"]):
            start = time.perf_counter()
            batches = await asyncio.gather(
                *(llm.aretrieve_batch(batch_id) for _ in range(concurrency))
            )
            walls.append(time.perf_counter() - start)
            assert all(b.id == batch_id for b in batches)
    return {"wall_s": median(walls), "bursts_s": walls, "concurrency": concurrency}


async def _results(params: Params) -> Report:
    from any_llm import AnyLLM

    check = IdCheck(params["expect"], params["prefix"])
    async with AnyLLM.create("openai", api_key=params["key"], api_base=params["base"]) as llm:
        await llm.aretrieve_batch(params["warm_batch_id"])  # warm-up: imports, connection
        before = peak_rss_mib()
        start = time.perf_counter()
        async for item in llm.aiter_batch_results(params["batch_id"]):
            check.add(item.custom_id, failed=not item.succeeded)
        wall = time.perf_counter() - start
        after = peak_rss_mib()
    return {"wall_s": wall, "rss_before_mib": before, "rss_after_mib": after, **check.report()}


async def _poll(params: Params) -> Report:
    import asyncio

    from any_llm import AnyLLM

    ids: list[str] = params["batch_ids"]
    async with AnyLLM.create("openai", api_key=params["key"], api_base=params["base"]) as llm:
        await llm.aretrieve_batch(ids[0])  # warm-up: imports, connection
        cpu = cpu_seconds()
        start = time.perf_counter()
        batches = await asyncio.gather(*(llm.apoll_batch(batch_id) for batch_id in ids))
        wall = time.perf_counter() - start
        cpu = cpu_seconds() - cpu
    ended = sum(1 for b in batches if b.is_terminal)
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


def create(params: Params) -> Report:
    return _run(_create(params))


def retrieve_async_300(params: Params) -> Report:
    return _run(_retrieve_300(params))


def results(params: Params) -> Report:
    return _run(_results(params))


def poll_100(params: Params) -> Report:
    return _run(_poll(params))


if __name__ == "__main__":
    main(
        "ours_async",
        ["any_llm"],
        {
            "create": create,
            "retrieve_async_300": retrieve_async_300,
            "results": results,
            "poll_100": poll_100,
        },
    )
