"""The async transport on aiohttp. aiohttp is imported on the first request, not at import."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

from any_llm.errors import AnyLLMError, raise_for_status

from ._models import (
    CHUNK_SIZE,
    BodyReadAborted,
    FileBody,
    Headers,
    Request,
    Response,
    closed_error,
    connection_error,
    default_ssl_context,
    lower_headers,
    report_read,
    strip_query,
)

if TYPE_CHECKING:
    import aiohttp


async def _file_chunks(body: FileBody, failures: list[Exception]) -> AsyncIterator[bytes]:
    """The body's chunks. aiohttp reports an error raised while reading the body as a
    connection error; our own (a check of the file's content refusing it) and the progress
    callback's (``report_read``) are kept in ``failures`` so that the caller raises them as
    they are, as the urllib3 twin does.

    Reading a chunk may check it (a file sent as is), and aiohttp writes a chunk to a fast
    socket without yielding to the event loop: so the loop is given a turn after each chunk,
    which bounds what an upload holds the loop for to one chunk's read and check."""
    try:
        with body.open() as stream:
            while chunk := stream.read(CHUNK_SIZE):
                if body.on_read is not None:
                    report_read(body.on_read, len(chunk), failures)
                yield chunk
                await asyncio.sleep(0)
    except AnyLLMError as exc:
        failures.append(exc)
        raise


def _sent(exc: BaseException) -> bool:
    """False when the connection was never made (refused, DNS, TLS handshake, connect
    timeout): the request cannot have reached the server."""
    import aiohttp

    return not isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))


class AiohttpTransport:
    """One ``aiohttp.ClientSession`` per client, created lazily in the running loop."""

    def __init__(
        self,
        *,
        max_connections: int = 100,
        max_connections_per_host: int = 20,
        ssl_context: Any = None,
    ) -> None:
        self._limit = max_connections
        self._limit_per_host = max_connections_per_host
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` was called: every later request raises ClientClosedError."""
        return self._closed

    def _get_session(self, request: Request) -> aiohttp.ClientSession:
        if self._closed:
            raise closed_error(request.provider, f"send {request.method} {request.path}")
        if self._session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(
                limit=self._limit,
                limit_per_host=self._limit_per_host,
                ssl=self._ssl if self._ssl is not None else default_ssl_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    def _kwargs(self, request: Request, failures: list[Exception]) -> dict[str, Any]:
        import aiohttp

        headers = Headers(request.headers)
        data: Any = None
        if isinstance(request.body, FileBody):
            headers["Content-Type"] = request.body.content_type
            headers["Content-Length"] = str(request.body.length)
            data = _file_chunks(request.body, failures)
        elif request.body is not None:
            data = request.body
        return {
            "headers": headers,
            "params": dict(request.params) if request.params else None,
            "data": data,
            # aiohttp labels a POST without a body application/octet-stream; send no label, as
            # urllib3 does (a server may refuse a media type where the API defines no body)
            "skip_auto_headers": ("Content-Type",) if request.body is None else None,
            "allow_redirects": False,
            "timeout": aiohttp.ClientTimeout(
                total=None,
                connect=request.timeout.connect,
                sock_read=request.timeout.read,
            ),
        }

    async def asend(self, request: Request) -> Response:
        """Send the request and buffer the whole response (any status)."""
        import aiohttp

        session = self._get_session(request)
        failures: list[Exception] = []
        try:
            async with session.request(
                request.method, request.url, **self._kwargs(request, failures)
            ) as resp:
                content = await resp.read()
                return Response(
                    status=resp.status,
                    headers=lower_headers(resp.headers.items()),
                    content=content,
                    method=request.method,
                    url=strip_query(str(resp.url)),
                )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, BodyReadAborted) as exc:
            if failures:  # the check of the file's content, or the progress callback, refused
                raise failures[0] from None
            if self._closed:  # closed while this request was in flight
                raise closed_error(
                    request.provider, f"send {request.method} {request.path}"
                ) from exc
            raise connection_error(
                request, exc, timed_out=isinstance(exc, asyncio.TimeoutError), sent=_sent(exc)
            ) from exc

    async def aiter_bytes(self, request: Request) -> AsyncGenerator[bytes, None]:
        """Stream the response body in chunks; an HTTP error status raises before any chunk."""
        import aiohttp

        session = self._get_session(request)
        failures: list[Exception] = []
        try:
            async with session.request(
                request.method, request.url, **self._kwargs(request, failures)
            ) as resp:
                if resp.status >= 300:
                    content = await resp.read()
                    raise_for_status(
                        Response(
                            status=resp.status,
                            headers=lower_headers(resp.headers.items()),
                            content=content,
                            method=request.method,
                            url=strip_query(str(resp.url)),
                        ),
                        provider=request.provider,
                    )
                async for chunk in resp.content.iter_chunked(CHUNK_SIZE):
                    yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, BodyReadAborted) as exc:
            if failures:  # the check of the file's content, or the progress callback, refused
                raise failures[0] from None
            if self._closed:  # closed while this request was in flight
                raise closed_error(
                    request.provider, f"send {request.method} {request.path}"
                ) from exc
            raise connection_error(
                request, exc, timed_out=isinstance(exc, asyncio.TimeoutError), sent=_sent(exc)
            ) from exc

    def abandon(self) -> None:
        """Drop the connections of a client collected without being closed. A finalizer
        cannot await ``aclose``: the connector's transports are closed at once instead, which
        leaves the session closed, so aiohttp has no unclosed session to warn about."""
        self._closed = True
        session, self._session = self._session, None
        connector = session.connector if session is not None else None
        if connector is not None and not connector.closed:
            # ``BaseConnector._close`` closes the transports without awaiting (what ``close``
            # does before it returns its awaitable, which a finalizer cannot await).
            loop = getattr(connector, "_loop", None)
            if loop is not None and loop.is_closed():
                # Collected after its event loop closed (a reference cycle kept it alive past
                # ``asyncio.run``): aiohttp's ``_close`` then closes nothing, and a transport's
                # ``close`` cannot schedule its socket's closing on a closed loop.
                _drop_sockets(connector)
            close_now = getattr(connector, "_close", None)
            if close_now is not None:
                close_now()

    async def aclose(self) -> None:
        """Close every connection, for good: requests in flight end with ClientClosedError
        and later ones raise it. Closing twice is harmless."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _drop_sockets(connector: Any) -> None:
    """Close the sockets of a connector whose event loop has closed, at once: what each
    transport's ``close`` would have scheduled on its loop (``_call_connection_lost``), so
    that no socket or transport is left to warn ResourceWarning when collected. asyncio and
    aiohttp internals, read defensively: a missing attribute means nothing to drop."""
    protos = [proto for data in getattr(connector, "_conns", {}).values() for proto, _ in data]
    protos += list(getattr(connector, "_acquired", ()))
    for proto in protos:
        transport = getattr(proto, "transport", None)
        # TLS: the application transport wraps the socket's transport.
        transport = getattr(getattr(transport, "_ssl_protocol", None), "_transport", transport)
        lost = getattr(transport, "_call_connection_lost", None)
        if lost is not None and getattr(transport, "_sock", None) is not None:
            # A finalizer must not raise; the socket is closed even when the protocol's
            # ``connection_lost`` raises (``_call_connection_lost`` closes it in ``finally``).
            with contextlib.suppress(Exception):
                lost(None)
