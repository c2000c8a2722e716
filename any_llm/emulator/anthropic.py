"""The Anthropic Message Batches API (providers/anthropic.md) and its deterministic answers.

Routes (under the ``/anthropic`` prefix): ``POST/GET /v1/messages/batches``,
``GET/DELETE /v1/messages/batches/{id}``, ``POST /v1/messages/batches/{id}/cancel``,
``GET /v1/messages/batches/{id}/results``.

The create body ``{"requests": [...]}`` is read as a stream, one request at a time, and kept on
disk as JSONL; only its envelope (custom_id, params object, count, size) is checked at create,
as Anthropic does. Each request's ``params`` are checked when the batch is answered: an invalid
request becomes an ``errored`` result. A valid one gets a Message saying ``"echo: "`` and the
first 40 characters of the last user text (as JSON ``{"answer": ...}`` when an output format
is asked; a ``tool_use`` block when ``tool_choice`` is ``any`` or ``tool``); ``stop_sequences``
and ``max_tokens`` (counted in words) cut it as they would. Failure markers
(`any_llm.emulator.markers`) make requests error on purpose.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web

from .config import EmulatorConfig
from .markers import find_marker
from .mounts import ProviderMount
from .store import (
    CHUNK_SIZE,
    TERMINAL_STATUSES,
    BatchRecord,
    CancelRejectedError,
    PairSwap,
    Progress,
    Settlement,
    Store,
    Timings,
)
from .web_support import CONFIG, STORE, ApiError, current_context, send_file

__all__ = ["MOUNT", "PROVIDER", "RequestsReader", "add_routes", "batch_json", "write_results"]

PROVIDER = "anthropic"
API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")
"""Any dated version is accepted: any_llm sends 2023-06-01, the official SDK (2.14) 2026-10-21."""
MAX_BODY_BYTES = 256_000_000
MAX_REQUESTS = 100_000
CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
LIST_MAX = 1000
DAY = 86_400
RESULTS_TTL = 29 * DAY
RESULTS_CONTENT_TYPE = "application/binary"  # what the SDK asks for; the real one is unverified

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    """Anthropic's error type for an HTTP status."""
    return ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def _request_id() -> str | None:
    context = current_context()
    return None if context is None else context.request_id


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    request_id = _request_id()
    headers = {"request-id": request_id} if request_id else None
    return web.json_response(data, status=status, headers=headers)


def authenticate(request: web.Request, config: EmulatorConfig) -> None:
    """Require ``x-api-key`` (or ``Authorization: Bearer``) and ``anthropic-version``."""
    key = request.headers.get("x-api-key", "").strip()
    if not key:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else ""
    if not key:
        raise ApiError(401, "x-api-key header is required", type="authentication_error")
    if config.api_key is not None and not hmac.compare_digest(
        key.encode(), config.api_key.encode()
    ):
        raise ApiError(401, "invalid x-api-key", type="authentication_error")
    version = request.headers.get("anthropic-version")
    if not version:
        raise ApiError(400, "anthropic-version: header is required")
    if not API_VERSION.fullmatch(version):
        raise ApiError(400, f"anthropic-version: invalid version {version!r}")


def render_error(error: ApiError) -> web.Response:
    """Anthropic's error envelope; the type follows the HTTP status (spec §7)."""
    request_id = _request_id()
    body = {
        "type": "error",
        "error": {"type": error_type(error.status), "message": error.message},
        "request_id": request_id,
    }
    headers = dict(error.headers)
    if request_id:
        headers["request-id"] = request_id
    return web.json_response(body, status=error.status, headers=headers)


# JSON views


def rfc3339(stamp: float | None) -> str | None:
    """Unix seconds → ``2024-09-24T18:37:24.100435Z``."""
    if stamp is None:
        return None
    moment = datetime.fromtimestamp(stamp, tz=timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def batch_json(record: BatchRecord, state: Progress, *, now: float, base: str) -> dict[str, Any]:
    """The MessageBatch object of a batch in state `state`; `base` is the server's URL plus
    the mount prefix (for ``results_url``)."""
    ended = state.status in TERMINAL_STATUSES
    window = record.timings.window
    counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
    if ended:
        unran = "canceled" if record.cancel_requested_at is not None else "expired"
        counts["succeeded"] = state.processed - state.failed
        counts["errored"] = state.failed
        counts[unran] = record.total - state.processed
    else:
        counts["processing"] = record.total  # requests move out only when the batch ends
    archived = record.created + RESULTS_TTL
    archived_at = archived if now >= archived else None
    results = ended and archived_at is None and record.output_file_id is not None
    return {
        "id": record.id,
        "type": "message_batch",
        "processing_status": (
            "ended" if ended else "canceling" if state.status == "cancelling" else "in_progress"
        ),
        "request_counts": counts,
        "created_at": rfc3339(record.created),
        "expires_at": rfc3339(record.created + (DAY if window is None else window)),
        "ended_at": rfc3339(state.finished_at),
        "cancel_initiated_at": rfc3339(record.cancel_requested_at),
        "archived_at": rfc3339(archived_at),
        "results_url": f"{base}/v1/messages/batches/{record.id}/results" if results else None,
    }


# the create body, read as a stream

_STRUCTURAL = re.compile(rb'["{}\[\]]')
_STRING_END = re.compile(rb'["\\]')
_SPACE = frozenset(b" \t\r\n")


def _invalid_json(detail: str) -> ApiError:
    return ApiError(400, f"The request body is not valid JSON: {detail}.")


class RequestsReader:
    """Splits a streamed ``{"requests": [...]}`` body into the raw bytes of each request,
    holding one request at a time. Raises `ApiError` (400) on any other shape."""

    def __init__(self) -> None:
        self._state = "start"
        self._capturing: str | None = None  # "key" or "request"
        self._parts: list[bytes] = []
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._key = ""
        self.count = 0
        self.saw_requests = False

    def feed(self, chunk: bytes) -> list[bytes]:
        """The requests completed by `chunk`."""
        done: list[bytes] = []
        i, n = 0, len(chunk)
        while i < n:
            if self._capturing is not None:
                i = self._scan(chunk, i, done)
                continue
            c = chunk[i]
            if c in _SPACE:
                i += 1
                continue
            self._structure(c)
            if self._capturing is None:
                i += 1
        return done

    def close(self) -> None:
        """Check that the body ended where a JSON object may end."""
        if self._state != "done" or self._capturing is not None:
            raise _invalid_json("it ends too early")
        if not self.saw_requests:
            raise ApiError(400, "requests: Field required")

    def _structure(self, c: int) -> None:
        """One structural byte outside a captured value (a capture starts on its first byte)."""
        state, char = self._state, chr(c)
        if state == "start" and char == "{":
            self._state = "key_or_end"
        elif state in ("key_or_end", "key") and char == '"':
            self._begin("key")
        elif state == "key_or_end" and char == "}":
            self._state = "done"
        elif state == "colon" and char == ":":
            if self._key != "requests":
                raise ApiError(400, f"{self._key}: Extra inputs are not permitted")
            if self.saw_requests:
                raise _invalid_json("'requests' is given twice")
            self._state = "value"
        elif state == "value":
            if char != "[":
                raise ApiError(400, "requests: Input should be a valid list")
            self.saw_requests = True
            self._state = "first_request"
        elif state in ("first_request", "next_request") and char == "{":
            self._begin("request")
        elif state == "first_request" and char == "]":
            self._state = "after_value"
        elif state in ("first_request", "next_request"):
            raise ApiError(400, f"requests.{self.count}: Input should be a valid dictionary")
        elif state == "after_request" and char == ",":
            self._state = "next_request"
        elif state == "after_request" and char == "]":
            self._state = "after_value"
        elif state == "after_value" and char == ",":
            self._state = "key"
        elif state == "after_value" and char == "}":
            self._state = "done"
        elif state == "start":
            raise ApiError(400, "The request body must be a JSON object.")
        else:
            raise _invalid_json(f"unexpected {char!r}")

    def _begin(self, kind: str) -> None:
        self._capturing = kind
        self._parts = []
        self._depth = 0
        self._in_string = False
        self._escape = False

    def _scan(self, chunk: bytes, i: int, done: list[bytes]) -> int:
        """Consume the captured value from `i`; return where it stopped."""
        start, n = i, len(chunk)
        while i < n:
            if self._escape:
                self._escape = False
                i += 1
                continue
            if self._in_string:
                match = _STRING_END.search(chunk, i)
                if match is None:
                    i = n
                    break
                i = match.start() + 1
                if chunk[i - 1] == 0x5C:  # backslash: skip the escaped byte
                    self._escape = True
                    continue
                self._in_string = False
                if self._depth == 0:
                    return self._finish(chunk[start:i], done, i)
                continue
            match = _STRUCTURAL.search(chunk, i)
            if match is None:
                i = n
                break
            i = match.start() + 1
            c = chunk[i - 1]
            if c == 0x22:
                self._in_string = True
            elif c in (0x7B, 0x5B):
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    return self._finish(chunk[start:i], done, i)
        self._parts.append(chunk[start:n])
        return n

    def _finish(self, last: bytes, done: list[bytes], i: int) -> int:
        self._parts.append(last)
        value = b"".join(self._parts)
        self._parts = []
        kind, self._capturing = self._capturing, None
        if kind == "key":
            try:
                self._key = str(json.loads(value))
            except ValueError:
                raise _invalid_json("a key is not a valid string") from None
            self._state = "colon"
        else:
            done.append(value)
            self.count += 1
            self._state = "after_request"
        return i


def _envelope(raw: bytes, index: int, seen: set[str]) -> dict[str, Any]:
    """Check one request's envelope (the part Anthropic checks at create)."""
    try:
        item = json.loads(raw)
    except ValueError:
        raise _invalid_json(f"requests.{index} cannot be parsed") from None
    if not isinstance(item, dict):
        raise ApiError(400, f"requests.{index}: Input should be a valid dictionary")
    extra = sorted(set(item) - {"custom_id", "params"})
    if extra:
        raise ApiError(400, f"requests.{index}.{extra[0]}: Extra inputs are not permitted")
    custom_id = item.get("custom_id")
    if custom_id is None:
        raise ApiError(400, f"requests.{index}.custom_id: Field required")
    if not isinstance(custom_id, str):
        raise ApiError(400, f"requests.{index}.custom_id: Input should be a valid string")
    if len(custom_id) > 64:
        raise ApiError(400, f"requests.{index}.custom_id: String should have at most 64 characters")
    if not CUSTOM_ID.fullmatch(custom_id):
        raise ApiError(
            400,
            f"requests.{index}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'",
        )
    if custom_id in seen:
        # Duplicates: refused at create (unverified; the spec's defensive reading).
        raise ApiError(
            400, f"requests.{index}.custom_id: '{custom_id}' is used by more than one request"
        )
    seen.add(custom_id)
    params = item.get("params")
    if params is None:
        raise ApiError(400, f"requests.{index}.params: Field required")
    if not isinstance(params, dict):
        raise ApiError(400, f"requests.{index}.params: Input should be a valid dictionary")
    return {"custom_id": custom_id, "params": params}


class _Routes:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def base(self, request: web.Request) -> str:
        return str(request.url.origin()) + self.prefix

    def view(self, request: web.Request, found: tuple[BatchRecord, Progress]) -> dict[str, Any]:
        now = request.app[STORE].clock.now()
        return batch_json(*found, now=now, base=self.base(request))

    async def create(self, request: web.Request) -> web.Response:
        """``POST /v1/messages/batches``: read the requests as a stream, keep them as JSONL."""
        store, config = request.app[STORE], request.app[CONFIG]
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise ApiError(413, f"Request exceeds the maximum size of {MAX_BODY_BYTES} bytes.")
        record = BatchRecord(
            id="msgbatch_" + secrets.token_hex(12),
            provider=PROVIDER,
            endpoint="/v1/messages",
            input_file_id="",
            created=0.0,
            seq=0,
            timings=Timings.from_config(config),
            total=0,
            model=None,
            failing=[],
            validation_errors=[],
            metadata=None,
        )
        path = store.input_path(record)
        try:
            await self._receive(request, record, path)
            record.created = store.clock.now()
            state = await asyncio.to_thread(store.add_batch, record)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return _json(batch_json(record, state, now=record.created, base=self.base(request)))

    async def _receive(self, request: web.Request, record: BatchRecord, path: Path) -> None:
        reader = RequestsReader()
        seen: set[str] = set()
        received = 0
        with path.open("wb") as out:
            async for chunk in request.content.iter_chunked(CHUNK_SIZE):
                received += len(chunk)
                if received > MAX_BODY_BYTES:
                    raise ApiError(
                        413, f"Request exceeds the maximum size of {MAX_BODY_BYTES} bytes."
                    )
                for raw in reader.feed(chunk):
                    index = record.total
                    if index >= MAX_REQUESTS:
                        raise ApiError(
                            400,
                            f"requests: List should have at most {MAX_REQUESTS} items after "
                            "validation",
                        )
                    item = _envelope(raw, index, seen)
                    if record.model is None and isinstance(item["params"].get("model"), str):
                        record.model = item["params"]["model"]
                    if _failure(item["params"]) is not None:
                        record.failing.append(index)
                    out.write(json.dumps(item, separators=(",", ":")).encode() + b"\n")
                    record.total += 1
        reader.close()
        if record.total == 0:
            raise ApiError(400, "requests: List should have at least 1 item after validation")

    async def _found(self, request: web.Request) -> tuple[BatchRecord, Progress]:
        batch_id = request.match_info["batch_id"]
        found = await asyncio.to_thread(request.app[STORE].get_batch, batch_id)
        if found is None or found[0].provider != PROVIDER:
            raise ApiError(404, f"No message batch found with id '{batch_id}'.")
        return found

    async def retrieve(self, request: web.Request) -> web.Response:
        """``GET /v1/messages/batches/{id}``."""
        return _json(self.view(request, await self._found(request)))

    async def list(self, request: web.Request) -> web.Response:
        """``GET /v1/messages/batches``: newest first (limit, after_id, before_id)."""
        config = request.app[CONFIG]
        raw = request.query.get("limit")
        try:
            limit = int(raw) if raw is not None else config.page_size_default
        except ValueError:
            limit = 0
        if not 1 <= limit <= LIST_MAX:
            raise ApiError(400, f"limit: Input should be between 1 and {LIST_MAX}")
        batches = [
            item
            for item in await asyncio.to_thread(request.app[STORE].list_batches)
            if item[0].provider == PROVIDER
        ]
        ids = [record.id for record, _ in batches]
        after, before = request.query.get("after_id"), request.query.get("before_id")
        if after is not None and before is not None:
            raise ApiError(400, "after_id and before_id cannot be given together")
        cursor = after if after is not None else before
        if cursor is not None and cursor not in ids:
            raise ApiError(400, f"No message batch found with id '{cursor}'.")
        if after is not None:
            start = ids.index(after) + 1
            page, has_more = batches[start : start + limit], start + limit < len(batches)
        elif before is not None:
            end = ids.index(before)
            page, has_more = batches[max(0, end - limit) : end], end - limit > 0
        else:
            page, has_more = batches[:limit], limit < len(batches)
        data = [self.view(request, item) for item in page]
        return _json(
            {
                "data": data,
                "has_more": has_more,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    async def cancel(self, request: web.Request) -> web.Response:
        """``POST /v1/messages/batches/{id}/cancel``."""
        record, _ = await self._found(request)
        try:
            found = await asyncio.to_thread(request.app[STORE].cancel_batch, record.id)
        except CancelRejectedError:
            raise ApiError(
                400, f"Message batch '{record.id}' has already ended and cannot be canceled."
            ) from None
        assert found is not None
        return _json(self.view(request, found))

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /v1/messages/batches/{id}``: only once processing has ended."""
        store = request.app[STORE]
        record, state = await self._found(request)
        if state.status not in TERMINAL_STATUSES:
            raise ApiError(
                400,
                f"Message batch '{record.id}' is still processing; cancel it and wait for it to "
                "end before deleting it.",
            )
        if record.output_file_id is not None:
            await asyncio.to_thread(store.delete_file, record.output_file_id)
        await asyncio.to_thread(store.delete_batch, record.id)
        return _json({"id": record.id, "type": "message_batch_deleted"})

    async def results(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/messages/batches/{id}/results``: the JSONL results, streamed from disk."""
        record, state = await self._found(request)
        if state.status not in TERMINAL_STATUSES:
            raise ApiError(
                404, f"Message batch '{record.id}' has not ended; it has no results yet."
            )
        path = None
        if record.output_file_id is not None:
            path = await asyncio.to_thread(request.app[STORE].file_path, record.output_file_id)
        if path is None:
            raise ApiError(404, f"The results of message batch '{record.id}' were archived.")
        return await send_file(request, path, content_type=RESULTS_CONTENT_TYPE)


def add_routes(app: web.Application, prefix: str = "/anthropic") -> None:
    """Add the Message Batches routes to `app` (under `prefix` + /v1/messages/batches)."""
    routes = _Routes(prefix)
    base = f"{prefix}/v1/messages/batches"
    app.router.add_post(base, routes.create)
    app.router.add_get(base, routes.list)
    app.router.add_get(f"{base}/{{batch_id}}", routes.retrieve)
    app.router.add_delete(f"{base}/{{batch_id}}", routes.delete)
    app.router.add_post(f"{base}/{{batch_id}}/cancel", routes.cancel)
    app.router.add_get(f"{base}/{{batch_id}}/results", routes.results)


# per-request validation (Anthropic checks params only when it runs the request)

KNOWN_PARAMS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "tools",
        "tool_choice",
        "metadata",
        "thinking",
        "output_config",
        "service_tier",
        "cache_control",
        "container",
        "inference_geo",
        "stream",
    }
)
_USER_BLOCKS = frozenset({"text", "image", "document", "tool_result", "search_result"})
_ASSISTANT_BLOCKS = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _block_problem(block: Any, where: str, allowed: frozenset[str]) -> str | None:
    if not isinstance(block, dict):
        return f"{where}: Input should be a valid dictionary"
    kind = block.get("type")
    if kind not in allowed:
        return f"{where}.type: Input tag {kind!r} is not one of {sorted(allowed)}"
    if kind == "text" and not isinstance(block.get("text"), str):
        return f"{where}.text: Field required"
    if kind == "image":
        source = block.get("source")
        if not isinstance(source, dict):
            return f"{where}.source: Field required"
        if source.get("type") == "base64":
            if source.get("media_type") not in _IMAGE_TYPES:
                return f"{where}.source.media_type: Input should be one of {sorted(_IMAGE_TYPES)}"
            if not isinstance(source.get("data"), str):
                return f"{where}.source.data: Field required"
        elif source.get("type") != "url" or not isinstance(source.get("url"), str):
            return f"{where}.source: Input should be a base64 or url image source"
    if kind == "document":
        source = block.get("source")
        if not isinstance(source, dict) or not isinstance(source.get("data"), str):
            return f"{where}.source: Field required"
    if kind == "tool_use" and not (
        isinstance(block.get("id"), str)
        and isinstance(block.get("name"), str)
        and isinstance(block.get("input"), dict)
    ):
        return f"{where}: tool_use needs id, name and an input object"
    if kind == "tool_result" and not isinstance(block.get("tool_use_id"), str):
        return f"{where}.tool_use_id: Field required"
    return None


def _message_problem(message: Any, where: str) -> str | None:
    if not isinstance(message, dict):
        return f"{where}: Input should be a valid dictionary"
    role = message.get("role")
    if role not in ("user", "assistant"):
        return f"{where}.role: Input should be 'user' or 'assistant'"
    content = message.get("content")
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return f"{where}.content: Input should be a valid string or list"
    allowed = _USER_BLOCKS if role == "user" else _ASSISTANT_BLOCKS
    for j, block in enumerate(content):
        problem = _block_problem(block, f"{where}.content.{j}", allowed)
        if problem:
            return problem
    return None


def _params_problem(params: dict[str, Any]) -> str | None:
    """Why Anthropic would refuse these params (a subset of its checks), or None."""
    extra = sorted(set(params) - KNOWN_PARAMS)
    if extra:
        return f"{extra[0]}: Extra inputs are not permitted"
    model = params.get("model")
    if not isinstance(model, str) or not model:
        return "model: Field required"
    max_tokens = params.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return "max_tokens: Field required"
    if max_tokens < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    if params.get("stream"):
        return "stream: batch requests cannot stream"
    messages = params.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required"
    for i, message in enumerate(messages):
        problem = _message_problem(message, f"messages.{i}")
        if problem:
            return problem
    system = params.get("system")
    if system is not None and not isinstance(system, str):
        if not isinstance(system, list):
            return "system: Input should be a valid string or list"
        for j, block in enumerate(system):
            problem = _block_problem(block, f"system.{j}", frozenset({"text"}))
            if problem:
                return problem
    for name in ("temperature", "top_p"):
        value = params.get(name)
        if value is not None and (not _number(value) or not 0 <= value <= 1):
            return f"{name}: Input should be between 0 and 1"
    stops = params.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
    ):
        return "stop_sequences: Input should be a valid list of strings"
    return _tools_problem(params) or _output_problem(params)


def _tools_problem(params: dict[str, Any]) -> str | None:
    tools = params.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for j, tool in enumerate(tools):
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
                return f"tools.{j}.name: Field required"
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                return f"tools.{j}.input_schema.type: Input should be 'object'"
    choice = params.get("tool_choice")
    if choice is not None:
        kind = choice.get("type") if isinstance(choice, dict) else None
        if kind not in ("auto", "any", "tool", "none"):
            return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
        assert isinstance(choice, dict)
        if kind == "tool" and not isinstance(choice.get("name"), str):
            return "tool_choice.tool.name: Field required"
    metadata = params.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or set(metadata) - {"user_id"}):
        return "metadata: only user_id is accepted"
    return None


def _output_problem(params: dict[str, Any]) -> str | None:
    config = params.get("output_config")
    if config is None:
        return None
    if not isinstance(config, dict) or set(config) - {"format", "effort"}:
        return "output_config: Input should be an object with format and/or effort"
    form = config.get("format")
    if form is not None and (
        not isinstance(form, dict)
        or form.get("type") != "json_schema"
        or not isinstance(form.get("schema"), dict)
    ):
        return "output_config.format: Input should be {type: json_schema, schema: {...}}"
    effort = config.get("effort")
    if effort is not None and effort not in ("low", "medium", "high", "xhigh", "max"):
        return "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
    return None


@attrs.frozen
class _Failure:
    type: str
    message: str


def _failure(params: dict[str, Any]) -> _Failure | None:
    marker = find_marker(json.dumps(params, ensure_ascii=False))
    if marker is not None:
        if marker.status is None:
            return _Failure("api_error", "Emulated processing error (the request holds [[error]]).")
        return _Failure(
            error_type(marker.status),
            f"Emulated failure with status {marker.status} (marker in request).",
        )
    problem = _params_problem(params)
    return None if problem is None else _Failure("invalid_request_error", problem)


# results


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                yield raw


def write_results(
    store: Store, record: BatchRecord, processed: int, finished_at: float
) -> Settlement:
    """Answer the first `processed` requests; every other one is canceled or expired. All in
    one results file, as Anthropic returns a line for every request of an ended batch."""
    unran = "canceled" if record.cancel_requested_at is not None else "expired"
    input_tokens = output_tokens = 0
    with store.new_file() as sink:
        lines = PairSwap(sink)
        for index, raw in enumerate(_lines(store.input_path(record))):
            item = json.loads(raw)
            custom_id: str = item["custom_id"]
            params: dict[str, Any] = item["params"]
            if index >= processed:
                lines.push({"custom_id": custom_id, "result": {"type": unran}})
                continue
            seed = hashlib.sha256(f"{record.id}\0{custom_id}".encode()).hexdigest()
            failure = _failure(params)
            if failure is not None:
                envelope = {
                    "type": "error",
                    "error": {"type": failure.type, "message": failure.message},
                    "request_id": f"req_{seed[32:56]}",
                }
                lines.push(
                    {"custom_id": custom_id, "result": {"type": "errored", "error": envelope}}
                )
                continue
            message = answer(params, seed)
            input_tokens += message["usage"]["input_tokens"]
            output_tokens += message["usage"]["output_tokens"]
            lines.push(
                {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}
            )
        lines.flush()
        results = sink.commit(
            filename=f"{record.id}_results.jsonl",
            purpose="anthropic_batch_results",
            created_at=int(finished_at),
            expires_at=int(record.created + RESULTS_TTL),
        )
    return Settlement(results.id, None, input_tokens, output_tokens)


# deterministic answers


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "tool_result":
            texts.append(_text(block.get("content")))
    return " ".join(texts)


def _words(text: str) -> int:
    return len(text.split())


def answer(params: dict[str, Any], seed: str) -> dict[str, Any]:
    """The Message a valid request gets."""
    messages = params["messages"]
    prompt = " ".join([_text(params.get("system"))] + [_text(m.get("content")) for m in messages])
    last_user = next(
        (_text(m.get("content")) for m in reversed(messages) if m["role"] == "user"), ""
    )
    reply = "echo: " + " ".join(last_user.split())[:40]
    stop_reason, stop_sequence = "end_turn", None
    for candidate in params.get("stop_sequences") or []:
        if candidate and candidate in reply:
            reply, stop_reason, stop_sequence = (
                reply.split(candidate)[0],
                "stop_sequence",
                candidate,
            )
            break
    words = reply.split()
    if len(words) > params["max_tokens"]:
        reply, stop_reason, stop_sequence = (
            " ".join(words[: params["max_tokens"]]),
            "max_tokens",
            None,
        )
    content: list[dict[str, Any]]
    choice = params.get("tool_choice") or {}
    tools = params.get("tools") or []
    if choice.get("type") in ("any", "tool") and tools and stop_reason == "end_turn":
        name = choice.get("name") if choice.get("type") == "tool" else tools[0]["name"]
        content = [
            {"type": "tool_use", "id": f"toolu_{seed[:24]}", "name": name, "input": {"echo": reply}}
        ]
        stop_reason = "tool_use"
    else:
        if (params.get("output_config") or {}).get("format") and stop_reason == "end_turn":
            reply = json.dumps({"answer": reply})
        content = [{"type": "text", "text": reply}]
    return {
        "id": f"msg_{seed[:24]}",
        "type": "message",
        "role": "assistant",
        "model": params["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {
            "input_tokens": _words(prompt),
            "output_tokens": max(1, _words(reply)),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "batch",
        },
    }


MOUNT = ProviderMount(
    name=PROVIDER,
    prefix="/anthropic",
    api_base="/anthropic",
    add_routes=add_routes,
    authenticate=authenticate,
    render_error=render_error,
    write_results=write_results,
)
