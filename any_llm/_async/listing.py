"""Reading a provider's batch list page after page, without trusting its cursors to end."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from any_llm._providers import IDEMPOTENCY_PAGES, CreateLookup, oldest_first
from any_llm.types import Batch

from .adapters.base import AsyncBatchAdapter

logger = logging.getLogger("any_llm")


async def aiter_listed(
    adapter: AsyncBatchAdapter, *, limit: int | None = None, max_pages: int | None = None
) -> AsyncIterator[Batch]:
    """Every listed batch once, newest first, reading at most ``max_pages`` pages (all of them
    when None).

    A server that ignores the cursor (and sends no ``has_more``) would make the list endless:
    the reading stops, with a warning, when a cursor comes back or a page brings no batch not
    seen before.
    """
    seen: set[str] = set()
    cursors: set[str] = set()
    after: str | None = None
    pages = 0
    while True:
        page = await adapter.alist_batches(after=after, limit=limit)
        pages += 1
        fresh = 0
        for batch in page:
            if batch.id not in seen:
                seen.add(batch.id)
                fresh += 1
                yield batch
        cursor = page.next_cursor
        if not page.has_more or cursor is None:
            return
        if max_pages is not None and pages >= max_pages:
            return
        if not fresh or cursor in cursors:
            logger.warning(
                "%s: the batch list repeats itself (page %d %s); stopped after %d batches",
                adapter.http.provider,
                pages,
                "brought no new batch" if not fresh else f"gave the cursor {cursor!r} again",
                len(seen),
            )
            return
        cursors.add(cursor)
        after = cursor


async def afind_stamped(
    adapter: AsyncBatchAdapter, idempotency_key: str, *, pages: int | None = IDEMPOTENCY_PAGES
) -> CreateLookup:
    """The batches stamped with ``idempotency_key`` (``Batch.idempotency_key``, read from the
    stamp in their metadata or name), among the newest ``pages`` pages of the list (every page
    when None)."""
    ours = [
        batch
        async for batch in aiter_listed(adapter, max_pages=pages)
        if batch.idempotency_key == idempotency_key
    ]
    return CreateLookup(ours=oldest_first(ours))
