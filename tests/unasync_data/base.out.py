"""The adapter protocol every provider implements (a class defined in another input file)."""

from __future__ import annotations

from typing import Protocol

from any_llm.types import Batch


class BaseAdapter(Protocol):
    def create_batch(self, file_id: str) -> Batch: ...

    def retrieve_batch(self, batch_id: str) -> Batch: ...

    def close(self) -> None: ...
