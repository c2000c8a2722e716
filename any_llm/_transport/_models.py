"""Transport-neutral request/response models shared by both transports."""

from __future__ import annotations

import functools
import io
import os
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, cast
from urllib.parse import urljoin, urlsplit, urlunsplit

import attrs

if TYPE_CHECKING:
    import ssl

CHUNK_SIZE = 1024 * 1024
"""Bytes read from disk or the socket at a time: the unit that bounds memory."""


class Headers(dict[str, str]):
    """Request headers whose repr names the headers but never shows a value (keys live here):
    safe in tracebacks that capture locals.

    Names are case-insensitive, as in HTTP: setting a header replaces any other spelling of
    its name, so a request never carries two of them and the one set last wins. The client's
    headers are built as the provider's auth headers, then ``default_headers`` (which thus
    override them, as in the openai SDK), then each request's own (``Content-Type``), then the
    transport's (``Content-Length``).
    """

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        if isinstance(headers, Headers):
            super().__init__(headers)  # already one spelling per name
            return
        super().__init__()
        if headers:
            self.update(headers)

    def __setitem__(self, name: str, value: str) -> None:
        lower = name.lower()
        for other in [k for k in self if k.lower() == lower and k != name]:
            super().__delitem__(other)
        super().__setitem__(name, value)

    def update(self, *args: Any, **kwargs: str) -> None:
        """Set every header of ``args``/``kwargs`` in turn (see ``__setitem__``)."""
        for name, value in dict(*args, **kwargs).items():
            self[name] = value

    def __repr__(self) -> str:
        return f"Headers({sorted(self)})"


@attrs.frozen
class Timeout:
    """Seconds allowed to connect and between two reads of the socket (``None``: no limit)."""

    connect: float | None = 10.0
    read: float | None = 600.0


@attrs.frozen
class FileBody:
    """A request body streamed from disk; ``open`` is called anew on every attempt."""

    open: Callable[[], BinaryIO]
    length: int
    content_type: str
    on_read: Callable[[int], None] | None = None
    """Told the size of every chunk read for sending (upload progress)."""


UPLOAD_PROGRESS: ContextVar[Callable[[int], None] | None] = ContextVar(
    "any_llm_upload_progress", default=None
)
"""The upload progress callback of the create call running in this task or thread."""


@attrs.frozen(kw_only=True)
class CallOptions:
    """The openai SDK's per-request options of one call (``timeout``, ``extra_headers``,
    ``extra_query``), applied by the HTTP layer to every request the call sends."""

    timeout: Timeout | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    query: Mapping[str, str] = attrs.field(factory=dict)


CALL_OPTIONS: ContextVar[CallOptions | None] = ContextVar("any_llm_call_options", default=None)
"""The per-request options of the call running in this task or thread."""


def with_upload_progress(body: FileBody | None) -> FileBody | None:
    """The body, reporting its reads to the running create call's progress callback."""
    on_read = UPLOAD_PROGRESS.get()
    if body is None or on_read is None:
        return body
    return attrs.evolve(body, on_read=on_read)


class BodyReadAborted(Exception):
    """Raised, in place of what the caller's progress callback raised, into the HTTP library
    sending the body: it is no OSError, so no library takes it for a connection error
    (urllib3 even ignores a BrokenPipeError while it sends a body, then waits for an answer
    that never comes). The transport raises the callback's own exception instead."""


def report_read(on_read: Callable[[int], None], size: int, failures: list[Exception]) -> None:
    """Tell the caller's progress callback that ``size`` bytes are about to be sent.

    The callback is the caller's code, not the connection's: what it raises is kept in
    ``failures``, and the send is aborted (``BodyReadAborted``) before those bytes go out, so
    the server never gets a whole body; the transport then raises the callback's exception
    as it is, once (an HTTP library would report it as a connection error, and it would be
    retried).
    """
    try:
        on_read(size)
    except Exception as exc:
        failures.append(exc)
        raise BodyReadAborted(f"the upload progress callback raised {type(exc).__name__}") from exc


class ProgressReader(io.RawIOBase):
    """A readable stream that reports the size of every read to ``on_read`` (see
    ``report_read``; what the callback raises is kept in ``failures``)."""

    def __init__(
        self, stream: BinaryIO, on_read: Callable[[int], None], failures: list[Exception]
    ) -> None:
        super().__init__()
        self._stream = stream
        self._on_read = on_read
        self._failures = failures

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            report_read(self._on_read, len(data), self._failures)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def redact_url(url: str) -> str:
    """``url`` without a user name or password (``user:password@``) before its host."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


@attrs.frozen
class Request:
    """One HTTP request. ``headers`` may hold secrets: the class never prints them (nor a
    user name or password in ``url``)."""

    method: str
    url: str = attrs.field(repr=lambda url: repr(redact_url(url)))
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    params: Mapping[str, str] | None = None
    body: bytes | FileBody | None = attrs.field(default=None, repr=False)
    timeout: Timeout = Timeout()
    provider: str = ""
    """Names the provider in error messages."""

    @property
    def path(self) -> str:
        """The URL path, for messages (never the query, which may carry a key)."""
        return urlsplit(self.url).path


@attrs.frozen
class Response:
    """A buffered response; header names are lower-cased."""

    status: int
    headers: Mapping[str, str]
    content: bytes = attrs.field(repr=False)
    method: str
    url: str

    @property
    def path(self) -> str:
        """The URL path, for messages."""
        return urlsplit(self.url).path


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The verifying TLS context shared by every client of the process: loading the system's
    CA certificates costs milliseconds, so it is done once, not per client or connection."""
    import ssl  # on the first request, not at import

    return ssl.create_default_context()


REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def redirect_request(
    request: Request, status: int, location: str, *, credentials: frozenset[str]
) -> Request:
    """The request to send after a redirect answer.

    Headers named in ``credentials`` (lower case) never go to another origin than the one
    the request was sent to. 303, and 301/302 after a POST, continue as a GET without body;
    307/308 resend the same method and body (a FileBody is reopened).
    """
    url = urljoin(request.url, location)
    headers = Headers(request.headers)
    if _origin(url) != _origin(request.url):
        headers = Headers({k: v for k, v in headers.items() if k.lower() not in credentials})
    method, body = request.method, request.body
    if status == 303 or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = Headers({k: v for k, v in headers.items() if k.lower() != "content-type"})
    return attrs.evolve(request, method=method, url=url, headers=headers, params=None, body=body)


def connection_error(
    request: Request, exc: BaseException, *, timed_out: bool, sent: bool = True
) -> Exception:
    """Our error for a library's connection failure or timeout (the caller chains ``exc``).

    ``sent=False`` says the connection was never made, so the request cannot have reached the
    server (a create needs no lookup then)."""
    from any_llm.errors import APIConnectionError, APITimeoutError

    where = f"{request.provider}: {request.method} {request.path}"
    if timed_out:
        return APITimeoutError(
            f"{where} timed out ({exc.__class__.__name__}); raise timeout= or retry later",
            provider=request.provider,
            method=request.method,
            url=strip_query(request.url),
            sent=sent,
        )
    return APIConnectionError(
        f"{where} failed: {exc.__class__.__name__}: {exc}",
        provider=request.provider,
        method=request.method,
        url=strip_query(request.url),
        sent=sent,
    )


def closed_error(provider: str, what: str) -> Exception:
    """Our error for a call on a client that was closed: ``what`` could not be done."""
    from any_llm.errors import ClientClosedError

    return ClientClosedError(
        f"{provider}: cannot {what}: the client is closed (by aclose()/close() or the end of "
        "its with block); create a new one for more calls"
    )


def lower_headers(items: Any) -> dict[str, str]:
    """A plain dict of lower-cased header names from any (name, value) iterable."""
    return {str(k).lower(): str(v) for k, v in items}


def strip_query(url: str) -> str:
    """The URL without query, fragment or userinfo (those may carry keys)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


class BodyCheck(Protocol):
    """Checks a file's bytes as they are read for sending (``multipart_file_body``)."""

    def feed(self, data: bytes) -> None:
        """Check ``data`` before it is sent; raise to abort the request."""

    def finish(self) -> object:
        """The whole file was fed; raise to abort the request before its last bytes."""

    def close(self) -> None:
        """The request is over (sent or cut): release what the check holds."""


class _ConcatReader(io.RawIOBase):
    """A readable stream over ``head`` + the file at ``path`` (``size`` bytes, as declared in
    the Content-Length) + ``tail``, never all in memory.

    ``read`` hands out the bytes read from the file as they are (no buffer in between). A file
    that is no longer ``size`` bytes long raises InputFileError before the tail is returned.
    With ``check``, every byte of the file is fed to it before it is returned, and
    ``check.finish()`` runs before the tail: a check that raises aborts the request before
    its end, so the server never receives a complete body.
    """

    def __init__(
        self, head: bytes, path: Path, size: int, tail: bytes, check: BodyCheck | None
    ) -> None:
        super().__init__()
        self._parts: list[bytes | BinaryIO] = [head, path.open("rb", buffering=0), tail]
        self._path = path
        self._size = size
        self._left = size
        self._check = check

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK_SIZE
        while self._parts:
            part = self._parts[0]
            if isinstance(part, bytes):
                self._parts.pop(0)
                if len(part) > size:
                    self._parts.insert(0, part[size:])
                    part = part[:size]
                if part:
                    return part
                continue
            data = part.read(min(size, self._left)) if self._left else b""
            if data:
                self._left -= len(data)
                if self._check is not None:
                    self._check.feed(data)
                return data
            if self._left or part.read(1):
                self._changed()
            if self._check is not None:
                self._check.finish()
            part.close()
            self._parts.pop(0)
        return b""

    def _changed(self) -> None:
        from any_llm.errors import InputFileError

        raise InputFileError(
            f"the file changed while it was sent: it was {self._size:,} bytes when the upload "
            "began; upload it again once it is complete",
            path=str(self._path),
        )

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        for part in self._parts:
            if not isinstance(part, bytes):
                part.close()
        self._parts = []
        if self._check is not None:
            self._check.close()
        super().close()


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")


def multipart_file_body(
    fields: Mapping[str, str],
    *,
    file_field: str,
    path: Path,
    filename: str,
    check: Callable[[], BodyCheck] | None = None,
) -> FileBody:
    """A multipart/form-data body of ``fields`` plus the file, with its exact length.

    The file is streamed from disk on every attempt; only the small preamble is in memory.
    With ``check``, each attempt feeds a new ``check()`` the file's bytes before sending them
    (``_ConcatReader``).
    """
    boundary = f"any-llm-{uuid.uuid4().hex}"
    head = io.BytesIO()
    for name, value in fields.items():
        head.write(f"--{boundary}\r\n".encode())
        head.write(f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode())
        head.write(value.encode() + b"\r\n")
    head.write(f"--{boundary}\r\n".encode())
    head.write(
        f'Content-Disposition: form-data; name="{_quote(file_field)}"; '
        f'filename="{_quote(filename)}"\r\n'.encode()
    )
    head.write(b"Content-Type: application/jsonl\r\n\r\n")
    tail = f"\r\n--{boundary}--\r\n".encode()
    head_bytes = head.getvalue()
    size = os.stat(path).st_size

    def open_body() -> BinaryIO:
        reader = _ConcatReader(head_bytes, path, size, tail, None if check is None else check())
        return cast("BinaryIO", reader)  # a binary stream without the file-only methods

    return FileBody(
        open=open_body,
        length=len(head_bytes) + size + len(tail),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
