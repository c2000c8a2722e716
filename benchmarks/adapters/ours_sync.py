"""Adapter: this project's generated sync twin (``any_llm_sync``).

Every report says which transports the process loaded: the sync package must never import
aiohttp.
"""

from __future__ import annotations

import time

from _bench import (
    TYPE_CHECKING,
    IdCheck,
    loaded,
    main,
    peak_rss_mib,
    per_call_report,
    repeated_report,
)

if TYPE_CHECKING:
    from _bench import Params, Report

CHAT = "/v1/chat/completions"


def create(params: Params) -> Report:
    from any_llm_sync import AnyLLM

    with AnyLLM.create("openai", api_key=params["key"], api_base=params["base"]) as llm:
        llm.create_batch(params["small"], CHAT)  # warm-up: imports, connection
        before = peak_rss_mib()
        walls: list[float] = []
        for _ in range(params["reps"]):
            start = time.perf_counter()
            llm.create_batch(params["file"], CHAT)
            walls.append(time.perf_counter() - start)
        after = peak_rss_mib()
    return {**repeated_report(walls, before, after), "loaded": loaded()}


def retrieve_sync(params: Params) -> Report:
    """Sequential retrieves through one client object (one keep-alive connection)."""
    from any_llm_sync import AnyLLM

    batch_id: str = params["batch_id"]
    durations: list[float] = []
    with AnyLLM.create("openai", api_key=params["key"], api_base=params["base"]) as llm:
        for _ in range(params["warmup"]):
            llm.retrieve_batch(batch_id)
        for _ in range(params["n"]):
            start = time.perf_counter()
            batch = llm.retrieve_batch(batch_id)
            durations.append(time.perf_counter() - start)
            assert batch.id == batch_id
    return {**per_call_report(durations), "loaded": loaded()}


def retrieve_sync_fn(params: Params) -> Report:
    """Sequential retrieves through the module function: a fresh client for every call."""
    from any_llm_sync import retrieve_batch

    batch_id: str = params["batch_id"]
    key, base = params["key"], params["base"]
    durations: list[float] = []
    for _ in range(params["warmup"]):
        retrieve_batch("openai", batch_id, api_key=key, api_base=base)
    for _ in range(params["n"]):
        start = time.perf_counter()
        batch = retrieve_batch("openai", batch_id, api_key=key, api_base=base)
        durations.append(time.perf_counter() - start)
        assert batch.id == batch_id
    return {**per_call_report(durations), "loaded": loaded()}


def results(params: Params) -> Report:
    from any_llm_sync import AnyLLM

    check = IdCheck(params["expect"], params["prefix"])
    with AnyLLM.create("openai", api_key=params["key"], api_base=params["base"]) as llm:
        llm.retrieve_batch(params["warm_batch_id"])  # warm-up: imports, connection
        before = peak_rss_mib()
        start = time.perf_counter()
        for item in llm.iter_batch_results(params["batch_id"]):
            check.add(item.custom_id, failed=not item.succeeded)
        wall = time.perf_counter() - start
        after = peak_rss_mib()
    return {
        "wall_s": wall,
        "rss_before_mib": before,
        "rss_after_mib": after,
        **check.report(),
        "loaded": loaded(),
    }


if __name__ == "__main__":
    main(
        "ours_sync",
        ["any_llm_sync"],
        {
            "create": create,
            "retrieve_sync": retrieve_sync,
            "retrieve_sync_fn": retrieve_sync_fn,
            "results": results,
        },
    )
