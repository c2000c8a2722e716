"""Waiting on the emulator's view of a request the client cut off."""

from __future__ import annotations

from any_llm._compat import asleep
from any_llm.emulator import Emulator, LoggedRequest


async def aborted_uploads(emu: Emulator, path: str = "/v1/files") -> list[LoggedRequest]:
    """The uploads to ``path`` the emulator saw cut off (no answer), once one is logged (or
    after 10 s): the server logs a request when its handler is done, which for a cut request
    is when it notices the closed connection."""
    for _ in range(1000):
        cut = [r for r in emu.requests() if r["path"] == path and r["status"] is None]
        if cut:
            return cut
        await asleep(0.01)  # in the async twin, the client's loop closes the socket meanwhile
    return []
