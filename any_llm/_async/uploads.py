"""Uploads that leave no orphan: a file whose upload answer was lost is found and deleted."""

from __future__ import annotations

import logging
from typing import Protocol

from tenacity import AsyncRetrying

from any_llm._retry import create_doubt, request_policy
from any_llm._transport import Request, Response
from any_llm.errors import APIError

from .http import AsyncHTTPClient

logger = logging.getLogger("any_llm")


class AsyncForgetsUploads(Protocol):
    """An adapter that can find and delete the uploads marked with a create call's key."""

    http: AsyncHTTPClient

    async def aforget_uploads(self, idempotency_key: str) -> None:
        """Delete every uploaded file whose name carries ``idempotency_key``."""
        ...


async def asend_upload(
    adapter: AsyncForgetsUploads,
    request: Request,
    idempotency_key: str,
    *,
    follow_redirects: bool = True,
) -> Response:
    """Send an upload (its filename marked with ``idempotency_key``), retried like any request.

    When an attempt may have stored the file although its answer was lost (a broken
    connection, a timeout, a 5xx), the files carrying the key are deleted before the next
    attempt, and after the last one, so that no stored copy is left behind.
    """
    doubt = False
    try:
        async for attempt in AsyncRetrying(**request_policy(adapter.http.retry)):
            with attempt:
                if doubt:
                    await adapter.aforget_uploads(idempotency_key)
                    doubt = False
                try:
                    return await adapter.http.asend(
                        request, retry=False, follow_redirects=follow_redirects
                    )
                except APIError as exc:
                    doubt = create_doubt(exc) != "none"
                    raise
    except APIError:
        if doubt:
            try:
                await adapter.aforget_uploads(idempotency_key)
            except APIError as exc:
                logger.warning(
                    "%s: an upload may have been stored although its answer was lost, and "
                    "the files named *.%s.jsonl could not be listed or deleted (%s); delete "
                    "them yourself",
                    adapter.http.provider,
                    idempotency_key,
                    exc.__class__.__name__,
                )
        raise
    raise AssertionError("unreachable")
