"""Reading an inline Gemini batch's results (tens of thousands of answers inside the batch
operation) gives the event loop turns as it goes, rather than holding it for the whole list.
Async only (the sync twin has no loop), so written here rather than in tests/_async; not timed
(benchmarks/loop_block.py measures the blocks): a ticker task counts the loop's turns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from any_llm import acreate_batch, aiter_batch_results, apoll_batch
from any_llm._providers import gemini as wire
from any_llm.emulator import Emulator
from tests.helpers import CHAT, KEY, client_args, write_requests
from tests.test_event_loop import Ticker

COUNT = 1600


async def test_inline_results_give_the_loop_turns(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, COUNT, model="gemini-2.5-flash")
    common: dict[str, Any] = {
        "api_key": KEY,
        "api_base": emu.api_base("gemini"),
        "client_args": client_args(),
    }
    batch = await acreate_batch("gemini", path, CHAT, **common)
    assert batch.input_file_id == batch.id + wire.INLINE_INPUT
    done = await apoll_batch("gemini", batch.id, **common)
    ticks: list[int] = []
    async with Ticker(interval=0) as ticker:
        async for _item in aiter_batch_results("gemini", done.id, **common):
            ticks.append(ticker.ticks)
    assert len(ticks) == COUNT == len(ids)
    # A turn every INLINE_ITEMS_PER_TURN results: the ticker ran between the first and last.
    assert ticks[-1] - ticks[0] >= COUNT // wire.INLINE_ITEMS_PER_TURN - 1
