"""The adapter protocol every provider implements (a class defined in another input file)."""

from __future__ import annotations

from typing import Protocol

from any_llm.types import Batch


class AsyncBaseAdapter(Protocol):
    async def acreate_batch(self, file_id: str) -> Batch: ...

    async def aretrieve_batch(self, batch_id: str) -> Batch: ...

    async def aclose(self) -> None: ...
