"""Gemini's ``:cancel`` goes without a body: the API defines none (Google's spec-driven mock
answers a JSON body with 415), and the official SDK sends none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from any_llm import acancel_batch, acreate_batch
from any_llm.emulator import Emulator, ManualClock
from any_llm.types import BatchStatus
from tests.helpers import CHAT, KEY, client_args, write_requests


async def test_cancel_sends_no_body(slow_emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    args: dict[str, Any] = {
        "api_key": KEY,
        "api_base": slow_emu.api_base("gemini"),
        "client_args": client_args(),
    }
    path = tmp_path / "requests.jsonl"
    write_requests(path, 3, model="gemini-2.5-flash")
    batch = await acreate_batch("gemini", path, CHAT, **args)
    clock.advance(2)  # running

    cancelling = await acancel_batch("gemini", batch.id, **args)

    assert cancelling.status is BatchStatus.CANCELLING
    [cancel] = [r for r in slow_emu.requests() if r["path"].endswith(":cancel")]
    assert (cancel["method"], cancel["status"]) == ("POST", 200)
    headers = cancel["headers"]
    assert "Content-Type" not in headers
    assert "Transfer-Encoding" not in headers
    assert headers.get("Content-Length", "0") == "0"
