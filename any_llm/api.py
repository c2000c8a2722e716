"""The module functions under any-llm's import path (``any_llm.api``): the sync ones from the
sync twin, the a-ones from the async core, the same objects as ``any_llm.create_batch`` etc."""

from __future__ import annotations

from any_llm._async import (
    acancel_batch,
    acreate_batch,
    afind_batch,
    aiter_batch_results,
    aiter_batches,
    alist_batches,
    apoll_batch,
    aretrieve_batch,
    aretrieve_batch_results,
)
from any_llm_sync import (
    cancel_batch,
    create_batch,
    find_batch,
    iter_batch_results,
    iter_batches,
    list_batches,
    poll_batch,
    retrieve_batch,
    retrieve_batch_results,
)

__all__ = [
    "acancel_batch",
    "acreate_batch",
    "afind_batch",
    "aiter_batch_results",
    "aiter_batches",
    "alist_batches",
    "apoll_batch",
    "aretrieve_batch",
    "aretrieve_batch_results",
    "cancel_batch",
    "create_batch",
    "find_batch",
    "iter_batch_results",
    "iter_batches",
    "list_batches",
    "poll_batch",
    "retrieve_batch",
    "retrieve_batch_results",
]
