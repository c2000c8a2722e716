"""Adapter: the official ``openai`` SDK, with one client object as its docs show.

create = ``files.create(purpose="batch")`` + ``batches.create``; results = ``files.content``
of the output file and of the error file, parsed line by line (the SDK does not merge them).
"""

from __future__ import annotations

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
    from _bench import Params, Report
    from openai import OpenAI


def _client(params: Params) -> OpenAI:
    from openai import OpenAI

    return OpenAI(api_key=params["key"], base_url=params["base"])


def _upload_and_create(client: OpenAI, name: str) -> str:
    with open(name, "rb") as handle:
        uploaded = client.files.create(file=handle, purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    return batch.id


def create(params: Params) -> Report:
    with _client(params) as client:
        _upload_and_create(client, params["small"])  # warm-up
        before = peak_rss_mib()
        walls: list[float] = []
        for _ in range(params["reps"]):
            start = time.perf_counter()
            _upload_and_create(client, params["file"])
            walls.append(time.perf_counter() - start)
        after = peak_rss_mib()
    return repeated_report(walls, before, after)


def retrieve_sync(params: Params) -> Report:
    batch_id: str = params["batch_id"]
    durations: list[float] = []
    with _client(params) as client:
        for _ in range(params["warmup"]):
            client.batches.retrieve(batch_id)
        for _ in range(params["n"]):
            start = time.perf_counter()
            batch = client.batches.retrieve(batch_id)
            durations.append(time.perf_counter() - start)
            assert batch.id == batch_id
    return per_call_report(durations)


async def _retrieve_300(params: Params) -> Report:
    import asyncio

    from openai import AsyncOpenAI

    batch_id: str = params["batch_id"]
    concurrency: int = params["concurrency"]
    walls: list[float] = []
    async with AsyncOpenAI(api_key=params["key"], base_url=params["base"]) as client:
        await client.batches.retrieve(batch_id)  # warm-up
        for _ in range(params["bursts"]):
            start = time.perf_counter()
            batches = await asyncio.gather(
                *(client.batches.retrieve(batch_id) for _ in range(concurrency))
            )
            walls.append(time.perf_counter() - start)
            assert all(b.id == batch_id for b in batches)
    return {"wall_s": median(walls), "bursts_s": walls, "concurrency": concurrency}


def retrieve_async_300(params: Params) -> Report:
    import asyncio

    return asyncio.run(_retrieve_300(params))


def results(params: Params) -> Report:
    import json

    check = IdCheck(params["expect"], params["prefix"])
    with _client(params) as client:
        client.batches.retrieve(params["warm_batch_id"])  # warm-up
        before = peak_rss_mib()
        start = time.perf_counter()
        batch = client.batches.retrieve(params["batch_id"])
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = client.files.content(file_id)
            for line in content.text.splitlines():
                if line.strip():
                    row = json.loads(line)
                    check.add(row["custom_id"], failed=line_failed(row))
        wall = time.perf_counter() - start
        after = peak_rss_mib()
    return {"wall_s": wall, "rss_before_mib": before, "rss_after_mib": after, **check.report()}


if __name__ == "__main__":
    main(
        "openai",
        ["openai"],
        {
            "create": create,
            "retrieve_sync": retrieve_sync,
            "retrieve_async_300": retrieve_async_300,
            "results": results,
        },
    )
