"""The batch records under the import path any-llm documents (``any_llm.types.batch``)."""

from any_llm.types import (
    Batch,
    BatchRequestCounts,
    BatchResult,
    BatchResultError,
    BatchResultItem,
)

__all__ = ["Batch", "BatchRequestCounts", "BatchResult", "BatchResultError", "BatchResultItem"]
