"""The sync transport on urllib3. urllib3 is imported on the first request, not at import."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from any_llm.errors import raise_for_status

from ._models import (
    CHUNK_SIZE,
    BodyReadAborted,
    FileBody,
    Headers,
    ProgressReader,
    Request,
    Response,
    closed_error,
    connection_error,
    default_ssl_context,
    lower_headers,
    strip_query,
)

if TYPE_CHECKING:
    import urllib3


class Urllib3Transport:
    """One ``urllib3.PoolManager`` per client; ``retries=False`` (tenacity retries)."""

    def __init__(
        self,
        *,
        max_connections: int = 100,
        max_connections_per_host: int = 20,
        ssl_context: Any = None,
    ) -> None:
        self._num_pools = max_connections
        self._maxsize = max_connections_per_host
        self._ssl = ssl_context
        self._pool: urllib3.PoolManager | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called: every later request raises ClientClosedError."""
        return self._closed

    def _get_pool(self, request: Request) -> urllib3.PoolManager:
        if self._closed:
            raise closed_error(request.provider, f"send {request.method} {request.path}")
        if self._pool is None:
            import urllib3

            kwargs: dict[str, Any] = {"ssl_context": self._ssl or default_ssl_context()}
            self._pool = urllib3.PoolManager(
                num_pools=self._num_pools,
                maxsize=self._maxsize,
                block=True,  # max_connections_per_host is a cap: a call waits for a free one
                retries=False,
                blocksize=CHUNK_SIZE,
                **kwargs,
            )
        return self._pool

    def _translate(self, request: Request, exc: BaseException) -> Exception:
        import urllib3

        if self._closed:  # closed (by another thread) while this request was in flight
            return closed_error(request.provider, f"send {request.method} {request.path}")

        timed_out = isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError))
        # urllib3 files a refused connection under ConnectTimeoutError too.
        refused = isinstance(exc, urllib3.exceptions.NewConnectionError)
        # Neither a refused connection nor a connect timeout let the request leave.
        never_sent = isinstance(
            exc, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
        )
        return connection_error(
            request, exc, timed_out=timed_out and not refused, sent=not never_sent
        )

    def _open(self, request: Request, *, preload: bool, failures: list[Exception]) -> Any:
        import urllib3

        url = request.url
        if request.params:
            url += ("&" if "?" in url else "?") + urlencode(dict(request.params))
        headers = Headers(request.headers)
        timeout = urllib3.Timeout(connect=request.timeout.connect, read=request.timeout.read)
        pool = self._get_pool(request)
        if isinstance(request.body, FileBody):
            headers["Content-Type"] = request.body.content_type
            headers["Content-Length"] = str(request.body.length)
            with request.body.open() as stream:
                on_read = request.body.on_read
                return pool.urlopen(
                    request.method,
                    url,
                    body=stream if on_read is None else ProgressReader(stream, on_read, failures),
                    headers=headers,
                    redirect=False,
                    retries=False,
                    timeout=timeout,
                    preload_content=preload,
                    chunked=False,
                )
        return pool.urlopen(
            request.method,
            url,
            body=request.body,
            headers=headers,
            redirect=False,
            retries=False,
            timeout=timeout,
            preload_content=preload,
        )

    def send(self, request: Request) -> Response:
        """Send the request and buffer the whole response (any status)."""
        import urllib3

        failures: list[Exception] = []
        try:
            resp = self._open(request, preload=True, failures=failures)
        except (urllib3.exceptions.HTTPError, OSError, BodyReadAborted) as exc:
            if failures:  # the progress callback raised: its error, as it is
                raise failures[0] from None
            raise self._translate(request, exc) from exc
        return Response(
            status=resp.status,
            headers=lower_headers(resp.headers.items()),
            content=resp.data,
            method=request.method,
            url=strip_query(request.url),
        )

    def iter_bytes(self, request: Request) -> Generator[bytes, None, None]:
        """Stream the response body in chunks; an HTTP error status raises before any chunk."""
        import urllib3

        failures: list[Exception] = []
        try:
            resp = self._open(request, preload=False, failures=failures)
        except (urllib3.exceptions.HTTPError, OSError, BodyReadAborted) as exc:
            if failures:  # the progress callback raised: its error, as it is
                raise failures[0] from None
            raise self._translate(request, exc) from exc
        finished = False
        try:
            if resp.status >= 300:
                content = resp.read()
                finished = True
                raise_for_status(
                    Response(
                        status=resp.status,
                        headers=lower_headers(resp.headers.items()),
                        content=content,
                        method=request.method,
                        url=strip_query(request.url),
                    ),
                    provider=request.provider,
                )
            try:
                yield from resp.stream(CHUNK_SIZE)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise self._translate(request, exc) from exc
            finished = True
        finally:
            if not finished:
                resp.close()
            resp.release_conn()

    def abandon(self) -> None:
        """Drop the connections of a client collected without being closed (``close``)."""
        self.close()

    def close(self) -> None:
        """Close every connection, for good: later requests raise ClientClosedError (a request
        in flight in another thread ends first). Closing twice is harmless."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.clear()
