"""aiohttp helpers shared by the server and the provider route modules."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web

from .config import EmulatorConfig
from .store import CHUNK_SIZE, Store

__all__ = [
    "CONFIG",
    "STORE",
    "ApiError",
    "RequestContext",
    "current_context",
    "drop_connection",
    "error_response",
    "read_json",
    "send_file",
]

STORE = web.AppKey("any_llm_emulator_store", Store)
CONFIG = web.AppKey("any_llm_emulator_config", EmulatorConfig)


class ApiError(Exception):
    """An error answered with the error envelope (raised by handlers, rendered by middleware)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def response(self) -> web.Response:
        """Render the error."""
        return error_response(
            self.status,
            self.message,
            type=self.type,
            param=self.param,
            code=self.code,
            headers=self.headers,
        )


def error_response(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Build an error response with the OpenAI error envelope."""
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=headers)


async def read_json(request: web.Request) -> dict[str, Any]:
    """Read a JSON object body, or raise a 400 `ApiError`."""
    try:
        data = json.loads(await request.read())
    except ValueError:
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. The body must be valid JSON.",
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return data


@attrs.define
class RequestContext:
    """Per-request state shared by the middlewares and the handlers."""

    request_id: str
    fault: str | None = None
    dropped: bool = False
    cut_download: bool = False
    cut_after: int | None = None
    keep_after: int | None = None
    """Bytes of a resumable upload's chunk to keep before the connection resets
    (``reset_mid_chunk``); None: the whole body is read."""


_context: ContextVar[RequestContext | None] = ContextVar("any_llm_emulator_request", default=None)


def current_context() -> RequestContext | None:
    """The context of the request being handled by the current task."""
    return _context.get()


def set_context(context: RequestContext) -> None:
    """Make `context` the current request's context (the task's own context)."""
    _context.set(context)


def drop_connection(request: web.BaseRequest, *, reset: bool) -> None:
    """Close the request's connection without answering: with a TCP reset, or a plain close
    after flushing what was written."""
    context = current_context()
    if context is not None:
        context.dropped = True
    transport = request.transport
    if transport is None:
        return
    if not reset:
        transport.close()
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def send_file(
    request: web.Request, path: Path, *, content_type: str = "application/octet-stream"
) -> web.StreamResponse:
    """Stream a stored file, honouring a `reset_mid_download` fault."""
    context = current_context()
    if context is None or not context.cut_download:
        return web.FileResponse(path, chunk_size=CHUNK_SIZE, headers={"Content-Type": content_type})
    size = (await asyncio.to_thread(path.stat)).st_size
    limit = size // 2 if context.cut_after is None else min(context.cut_after, size)
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.content_length = size
    await response.prepare(request)
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        sent = 0
        while sent < limit:
            chunk = await asyncio.to_thread(handle.read, min(CHUNK_SIZE, limit - sent))
            if not chunk:
                break
            await response.write(chunk)
            sent += len(chunk)
    finally:
        handle.close()
    drop_connection(request, reset=False)
    return response
