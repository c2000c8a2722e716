"""The emulator server: an aiohttp app run on its own event loop in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import ssl
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypedDict

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict, CIMultiDictProxy

from . import anthropic, azureopenai, gemini, groq, mistral, openai, together
from .clock import Clock, SystemClock
from .config import EmulatorConfig
from .faults import Fault, FaultSet
from .mounts import ProviderMount, mount_for
from .store import CHUNK_SIZE, Store
from .web_support import (
    CONFIG,
    STORE,
    ApiError,
    RequestContext,
    current_context,
    drop_connection,
    set_context,
)

__all__ = ["Emulator", "LoggedRequest", "RequestLog", "create_app", "open_store"]

logger = logging.getLogger("any_llm.emulator")

MAX_BODY_BYTES = 513 * 1024 * 1024
SHUTDOWN_TIMEOUT = 1.0


class LoggedRequest(TypedDict):
    """One request as the emulator saw it.

    `headers` is a case-insensitive mapping of every header as received; `status` is None when
    the connection was dropped instead of answered; `fault` names the fault kind applied.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    status: int | None
    fault: str | None
    request_id: str
    peer: str
    """The client's address and port (``127.0.0.1:54321``): one per connection."""


class RequestLog:
    """The requests an emulator received, in order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        """Record a request."""
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        """Return a copy of the log."""
        with self._lock:
            return [LoggedRequest(**entry) for entry in self._entries]

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._entries.clear()


def _peer(request: web.Request) -> str:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else ""


def _log_middleware(log: RequestLog) -> Middleware:
    @web.middleware
    async def log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
        context = RequestContext(request_id="req_" + secrets.token_hex(16))
        set_context(context)
        peer = _peer(request)
        status: int | None = None
        try:
            response = await handler(request)
            status = response.status
            return response
        finally:
            log.append(
                LoggedRequest(
                    method=request.method,
                    path=request.path,
                    query={key: request.query[key] for key in request.query},
                    headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                    status=None if context.dropped else status,
                    fault=context.fault,
                    request_id=context.request_id,
                    peer=peer,
                )
            )

    return log_requests


async def _partial_read(request: web.Request, limit: int) -> None:
    received = 0
    while received < limit:
        chunk = await request.content.read(min(CHUNK_SIZE, limit - received))
        if not chunk:
            return
        received += len(chunk)


async def _cut_response(
    request: web.Request, response: web.Response, fault: Fault
) -> web.StreamResponse:
    body = response.body if isinstance(response.body, bytes) else b""
    limit = len(body) // 2 if fault.after_bytes is None else min(fault.after_bytes, len(body))
    stream = web.StreamResponse(status=response.status, headers=response.headers)
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[:limit])
    drop_connection(request, reset=False)
    return stream


def _fault_error(fault: Fault) -> ApiError:
    if fault.status == 429:
        kind, code = "requests", "rate_limit_exceeded"
    elif fault.status >= 500:
        kind, code = "server_error", None
    else:
        kind, code = "invalid_request_error", None
    message = fault.message or f"Emulated fault: HTTP {fault.status}."
    return ApiError(fault.status, message, type=kind, code=code, headers=dict(fault.headers))


def _upload_limit(request: web.Request, fault: Fault) -> int:
    """Bytes of the body read before a ``reset_mid_upload`` or ``reset_mid_chunk`` reset."""
    if fault.after_bytes is not None:
        return fault.after_bytes
    length = request.content_length
    return length // 2 if length else 64 * 1024


async def _keep_part_of_chunk(
    request: web.Request, handler: Handler, context: RequestContext | None, limit: int
) -> web.StreamResponse:
    """Let the resumable session store the first ``limit`` bytes of the chunk, then reset."""
    if context is not None:
        context.keep_after = limit
    try:
        with contextlib.suppress(ApiError, ConnectionError, asyncio.IncompleteReadError):
            await handler(request)
    finally:
        drop_connection(request, reset=True)
    return web.Response()


_LATE: set[asyncio.Future[Any]] = set()
"""Requests a ``gateway`` fault is still to handle (kept so that they are not collected)."""


async def _commit_late(request: web.Request, handler: Handler, delay: float) -> None:
    await asyncio.sleep(delay)
    with contextlib.suppress(Exception):
        await handler(request)


def _fault_middleware(faults: FaultSet, mounts: Sequence[ProviderMount]) -> Middleware:
    @web.middleware
    async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = faults.take(request.method, request.path)
        if fault is None:
            return await handler(request)
        context = current_context()
        if context is not None:
            context.fault = fault.kind
        if fault.kind == "status":
            raise _fault_error(fault)
        if fault.kind == "delay":
            await asyncio.sleep(fault.delay)
            return await handler(request)
        if fault.kind == "slow_commit":
            # The body is taken before the pause, so that the request still takes effect after
            # the client gave up waiting (a create committed after the client's timeout).
            await request.read()
            await asyncio.sleep(fault.delay)
            return await handler(request)
        if fault.kind == "gateway":
            # A gateway gives up on its backend at once; the backend commits `delay` later.
            await request.read()
            late = asyncio.ensure_future(_commit_late(request, handler, fault.delay))
            _LATE.add(late)
            late.add_done_callback(_LATE.discard)
            raise _fault_error(fault)
        kind = fault.kind
        if kind == "reset_mid_chunk":
            takes_chunk = mount_for(mounts, request.path).takes_chunk
            if takes_chunk is not None and takes_chunk(request):
                return await _keep_part_of_chunk(
                    request, handler, context, _upload_limit(request, fault)
                )
            kind = "reset_mid_upload"  # no resumable session here: nothing is kept
        if kind == "reset_mid_upload":
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                await _partial_read(request, _upload_limit(request, fault))
        if kind in ("reset", "reset_mid_upload"):
            drop_connection(request, reset=True)
            return web.Response()
        if fault.kind == "reset_mid_download":
            if context is not None:
                context.cut_download = True
                context.cut_after = fault.after_bytes
            response = await handler(request)
            if not response.prepared and isinstance(response, web.Response):
                return await _cut_response(request, response, fault)
            return response
        # reset_after: the request takes full effect, only its response is lost
        response = await handler(request)
        drop_connection(request, reset=True)
        return response

    return inject_faults


def _http_error_message(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status in (404, 405):
        return f"Unknown request URL: {request.method} {request.path}."
    if exc.status == 413:
        return "The request body is too large."
    return exc.reason


def _error_middleware(mounts: Sequence[ProviderMount]) -> Middleware:
    @web.middleware
    async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        render = mount_for(mounts, request.path).render_error
        try:
            return await handler(request)
        except ApiError as exc:
            return render(exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return render(ApiError(exc.status, _http_error_message(request, exc)))
        except Exception:
            transport = request.transport
            if transport is None or transport.is_closing():  # the client went away
                context = current_context()
                if context is not None:
                    context.dropped = True
            else:
                logger.exception("emulator failed on %s %s", request.method, request.path)
            return render(
                ApiError(500, "The emulator failed to handle the request.", type="server_error")
            )

    return render_errors


def _auth_middleware(config: EmulatorConfig, mounts: Sequence[ProviderMount]) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        mount_for(mounts, request.path).authenticate(request, config)
        return await handler(request)

    return authenticate


async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    context = current_context()
    if context is not None:
        response.headers["x-request-id"] = context.request_id


MOUNTS: tuple[ProviderMount, ...] = (
    openai.MOUNT,
    mistral.MOUNT,
    anthropic.MOUNT,
    gemini.MOUNT,
    azureopenai.MOUNT,
    groq.MOUNT,
    together.MOUNT,
)
"""Every emulated provider. A new provider adds its module's MOUNT here."""


def open_store(data_dir: Path, clock: Clock) -> Store:
    """Open the state in `data_dir`, able to settle the batches of every emulated provider."""
    store = Store(data_dir, clock)
    for mount in MOUNTS:
        store.register_writer(mount.name, mount.write_results)
    return store


def create_app(
    store: Store, config: EmulatorConfig, faults: FaultSet, log: RequestLog
) -> web.Application:
    """Build the emulator's aiohttp application over a store from `open_store`."""
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[
            _log_middleware(log),
            _error_middleware(MOUNTS),
            _fault_middleware(faults, MOUNTS),
            _auth_middleware(config, MOUNTS),
        ],
    )
    app[STORE] = store
    app[CONFIG] = config
    app.on_response_prepare.append(_add_request_id)
    for mount in MOUNTS:
        mount.add_routes(app, mount.prefix)
    return app


class Emulator:
    """A local batch API server on loopback, run in a background thread.

    State lives in `data_dir` and survives a restart on the same directory. `start()` returns
    once the socket listens; `stop()` shuts the server down and joins its thread. Also usable
    as a context manager. The accessors may be called from any thread.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        config: EmulatorConfig | None = None,
        clock: Clock | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.ssl_context = ssl_context
        """Serve HTTPS with this server-side context (for TLS verification tests)."""
        self.config = config if config is not None else EmulatorConfig()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.host = host
        self.port = port
        self.store = open_store(self.data_dir, self.clock)
        self._faults = FaultSet()
        self._log = RequestLog()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._bound_port: int | None = None
        self._startup_error: BaseException | None = None

    def __repr__(self) -> str:
        where = self.url if self._bound_port is not None else "stopped"
        return f"Emulator({where}, data_dir={str(self.data_dir)!r})"

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:8080`` (OpenAI's is this + /v1)."""
        if self._bound_port is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self._bound_port}"

    def api_base(self, provider: str = "openai") -> str:
        """What a client passes as ``api_base`` to reach ``provider`` on this server."""
        for mount in MOUNTS:
            if mount.name == provider:
                return self.url + mount.api_base
        names = ", ".join(m.name for m in MOUNTS)
        raise ValueError(f"the emulator does not serve {provider!r}; it serves: {names}")

    # lifecycle

    def start(self) -> Emulator:
        """Start serving; return once the socket is listening."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        ready = threading.Event()
        thread = threading.Thread(
            target=self._run, args=(ready,), name="any-llm-emulator", daemon=True
        )
        self._thread = thread
        thread.start()
        ready.wait()
        error = self._take_startup_error()
        if error is not None:
            thread.join()
            self._thread = None
            raise error
        return self

    def _take_startup_error(self) -> BaseException | None:
        error, self._startup_error = self._startup_error, None
        return error

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end."""
        thread = self._thread
        if thread is None:
            return
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop may have closed already
                loop.call_soon_threadsafe(stopping.set)
        thread.join()
        self._thread = None
        self._loop = None
        self._stopping = None
        self._bound_port = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as exc:
            if ready.is_set():
                logger.exception("the emulator stopped unexpectedly")
            else:
                self._startup_error = exc
        finally:
            ready.set()

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        app = create_app(self.store, self.config, self._faults, self._log)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, ssl_context=self.ssl_context)
            await site.start()
            self._bound_port = int(runner.addresses[0][1])
            ready.set()
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    # faults and request log

    def add_fault(self, fault: Fault) -> None:
        """Arm a fault (see `Fault`)."""
        self._faults.add(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._faults.clear()

    def requests(self) -> list[LoggedRequest]:
        """The requests received so far, oldest first."""
        return self._log.entries()

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        self._log.clear()

    # state

    def files(self) -> list[dict[str, Any]]:
        """Stored files, newest first: id, bytes, filename, purpose, sha256, created_at,
        expires_at. Batches that have finished by now get their result files first."""
        return [
            {
                "id": record.id,
                "bytes": record.bytes,
                "filename": record.filename,
                "purpose": record.purpose,
                "sha256": record.sha256,
                "created_at": record.created_at,
                "expires_at": record.expires_at,
            }
            for record in self.store.list_files()
        ]

    def batches(self, provider: str | None = None) -> list[dict[str, Any]]:
        """Every batch (of ``provider``, if given), newest first, in OpenAI's shape whatever
        its provider, with the provider's name under ``"provider"``: one view for tests."""
        return [
            {**openai.batch_json(record, state), "provider": record.provider}
            for record, state in self.store.list_batches()
            if provider is None or record.provider == provider
        ]
