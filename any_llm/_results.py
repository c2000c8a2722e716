"""Result rules shared by every provider: when results can be read, and what an unreturned
request becomes."""

from __future__ import annotations

import attrs

from any_llm.errors import BatchFailedError, BatchNotCompleteError
from any_llm.types import (
    Batch,
    BatchResultError,
    BatchResultItem,
    BatchResultStatus,
    BatchStatus,
)

_UNRETURNED = {
    BatchStatus.CANCELLED: (
        BatchResultStatus.CANCELLED,
        "the batch was cancelled before this request ran",
    ),
    BatchStatus.EXPIRED: (BatchResultStatus.EXPIRED, "the batch expired before this request ran"),
}
_MISSING = (
    BatchResultStatus.MISSING,
    "the provider returned no readable result for this request (an unreadable result line "
    "is logged as a warning)",
)


def check_results_ready(batch: Batch) -> None:
    """Raise unless the batch ended in a state that has results to read."""
    if batch.status is BatchStatus.FAILED:
        details = "; ".join(
            f"line {e.line}: {e.message}" if e.line else str(e.message)
            for e in (batch.errors.data if batch.errors else [])
        )
        raise BatchFailedError(
            f"{batch.provider}: batch {batch.id} failed and ran no request: "
            f"{details or 'no detail given'}",
            batch=batch,
        )
    if not batch.is_terminal:
        raise BatchNotCompleteError(
            f"{batch.provider}: batch {batch.id} is still {batch.status}; wait for it to end "
            "(poll_batch) before reading results",
            batch=batch,
        )


def unreturned_item(batch: Batch, custom_id: str) -> BatchResultItem:
    """The item of a request the provider returned no line for: cancelled, expired or missing."""
    status, message = _UNRETURNED.get(batch.status, _MISSING)
    return BatchResultItem(
        custom_id=custom_id, status=status, error=BatchResultError(message=message)
    )


def stray_item(item: BatchResultItem) -> BatchResultItem:
    """A returned line whose custom_id is not in the batch's input, marked ``stray``."""
    return attrs.evolve(item, status=BatchResultStatus.STRAY)
