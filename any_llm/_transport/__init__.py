"""HTTP transports: one protocol per twin, one implementation each (aiohttp, urllib3).

Streams are typed as generators (not iterators) so that the core can close them early with
``aclosing``/``closing``, releasing the connection.

The core sees only these models and protocols; library types never leave their module.
Transport modules import their HTTP library lazily, on the first request.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Protocol

from ._models import (
    CALL_OPTIONS,
    CHUNK_SIZE,
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    UPLOAD_PROGRESS,
    CallOptions,
    FileBody,
    Headers,
    Request,
    Response,
    Timeout,
    closed_error,
    multipart_file_body,
    redirect_request,
    strip_query,
    with_upload_progress,
)

__all__ = [
    "CALL_OPTIONS",
    "CHUNK_SIZE",
    "MAX_REDIRECTS",
    "REDIRECT_STATUSES",
    "UPLOAD_PROGRESS",
    "AsyncTransport",
    "CallOptions",
    "FileBody",
    "Headers",
    "Request",
    "Response",
    "Timeout",
    "Transport",
    "closed_error",
    "multipart_file_body",
    "redirect_request",
    "strip_query",
    "with_upload_progress",
]


class AsyncTransport(Protocol):
    """Sends requests for the async core."""

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` was called (a closed transport never reopens)."""
        ...

    async def asend(self, request: Request) -> Response:
        """Send the request and buffer the whole response (any status)."""
        ...

    def aiter_bytes(self, request: Request) -> AsyncGenerator[bytes, None]:
        """Stream the response body in chunks; an HTTP error status raises before any chunk."""
        ...

    async def aclose(self) -> None:
        """Close every connection."""
        ...

    def abandon(self) -> None:
        """Drop every connection without waiting (the client was collected unclosed)."""
        ...


class Transport(Protocol):
    """Sends requests for the sync twin."""

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called (a closed transport never reopens)."""
        ...

    def send(self, request: Request) -> Response:
        """Send the request and buffer the whole response (any status)."""
        ...

    def iter_bytes(self, request: Request) -> Generator[bytes, None, None]:
        """Stream the response body in chunks; an HTTP error status raises before any chunk."""
        ...

    def close(self) -> None:
        """Close every connection."""
        ...

    def abandon(self) -> None:
        """Drop every connection without waiting (the client was collected unclosed)."""
        ...
