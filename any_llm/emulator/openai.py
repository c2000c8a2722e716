"""The OpenAI Files and Batch API (providers/openai.md) and its deterministic answers.

Routes (under a prefix, ``/v1`` by default): ``POST/GET /files``, ``GET/DELETE
/files/{id}``, ``GET /files/{id}/content``, ``POST/GET /batches``, ``GET /batches/{id}``,
``POST /batches/{id}/cancel``.

Each request line of a batch is answered without a model: a chat completion, completion or
response says ``"echo: "`` and the first 40 characters of the last user text; embeddings are
vectors derived from the SHA-256 of the input; usage counts words. Failure markers
(`any_llm.emulator.markers`) make lines fail on purpose.

Providers that speak the same protocol with small differences (Azure OpenAI, Groq) are served
by the same routes configured with a `Dialect` (see `any_llm.emulator.azureopenai` and
`any_llm.emulator.groq`); `OPENAI` is OpenAI's own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import struct
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
from aiohttp import BodyPartReader, web

from .config import EmulatorConfig
from .markers import STRAY_MARKER, find_marker
from .mounts import ProviderMount
from .store import (
    CHUNK_SIZE,
    BatchRecord,
    CancelRejectedError,
    FileRecord,
    FileSink,
    PairSwap,
    Progress,
    Settlement,
    Store,
    Timings,
    paginate,
)
from .web_support import CONFIG, STORE, ApiError, read_json, send_file

__all__ = [
    "ANSWERED_ENDPOINTS",
    "OPENAI",
    "PROVIDER",
    "Dialect",
    "Surface",
    "add_routes",
    "batch_json",
    "file_json",
    "scan_input",
    "write_results",
]

PROVIDER = "openai"

SPEC_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)
ANSWERED_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
)
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_REQUESTS = 50_000
MAX_REPORTED_ERRORS = 100
MAX_FORM_FIELD = 64 * 1024
DAY = 86_400
DEFAULT_FILE_TTL = 30 * DAY
MIN_TTL, MAX_TTL = 3600, 30 * DAY
BATCH_LIST_MAX = 100
FILE_LIST_MAX = 10_000


def openai_window(value: object) -> float | None:
    """OpenAI's completion windows: ``24h`` only (seconds; None: not accepted)."""
    return DAY if value == "24h" else None


_DURATION = re.compile(r"([1-9][0-9]{0,3})([hd])")


def duration_window(low_hours: int, high_hours: int) -> Callable[[object], float | None]:
    """Windows written ``<N>h`` or ``<N>d`` from `low_hours` to `high_hours` (Groq)."""

    def seconds(value: object) -> float | None:
        match = _DURATION.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            return None
        hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1)
        return hours * 3600.0 if low_hours <= hours <= high_hours else None

    return seconds


@attrs.frozen(kw_only=True)
class Surface:
    """One URL surface of an API: its routes live under ``prefix + path``."""

    path: str
    api_version: bool = False
    """Every request must carry an ``api-version`` query parameter (Azure's dated API)."""


@attrs.frozen(kw_only=True)
class Dialect:
    """How one provider's emulated Files + Batches API differs from OpenAI's.

    The defaults are OpenAI's behaviour; each field names the provider that changes it.
    """

    provider: str = PROVIDER
    surfaces: tuple[Surface, ...] = (Surface(path="/v1"),)
    endpoints: tuple[str, ...] = SPEC_ENDPOINTS
    """The ``endpoint`` values ``POST /batches`` accepts."""
    endpoint_aliases: Mapping[str, str] = attrs.field(factory=dict)
    """Other spellings of an endpoint, by the OpenAI one they mean (Azure's
    ``/chat/completions``); a line's url matches the batch endpoint when both mean the same."""
    file_purposes: tuple[str, ...] = FILE_PURPOSES
    file_ttl: tuple[int, int] = (MIN_TTL, MAX_TTL)
    """The ``expires_after[seconds]`` range of an upload (Azure: 14 to 30 days)."""
    dotted_expiry: bool = False
    """Uploads may spell the expiry ``expires_after.seconds`` (Azure's docs) as well."""
    file_status: bool = True
    """File objects carry ``status``, ``status_details`` and ``expires_at`` (Groq's do not)."""
    window: Callable[[object], float | None] = openai_window
    """The ``completion_window`` values accepted, as seconds (None: refused)."""
    window_fails_job: bool = False
    """A refused window makes the batch fail while validating instead of a 400 (Azure)."""
    max_requests: int = MAX_REQUESTS
    paged_lists: bool = True
    """``GET /files`` and ``GET /batches`` take ``after``/``limit`` and answer ``has_more``,
    ``first_id``, ``last_id``; False: every item at once in ``{object, data}`` (Groq)."""
    list_object: bool = True
    """Lists carry ``"object": "list"`` (Azure's batch list example has none)."""
    absent_file_id: str | None = None
    """What a batch without an output or error file says (Azure: ``""``)."""
    always_error_file: bool = False
    """A batch with results always has an error file, empty when nothing failed (Azure)."""
    expires: bool = True
    """Batches expire when the configured window lapses (Azure's never do)."""
    batch_model_usage: bool = True
    """Batch objects carry ``model`` and ``usage`` (Groq's and Azure's examples have none)."""
    line_ids: bool = True
    """Result lines carry a top-level ``id`` (Azure's have none)."""
    line_id_prefix: str = "batch_req_"
    uuid_request_ids: bool = False
    """``request_id`` is a UUID (Azure) instead of ``req_...``."""
    decorate_body: Callable[[dict[str, Any], str], None] | None = None
    """Adds a provider's own fields to a successful response body (seeded by the line)."""

    def canonical(self, endpoint: str) -> str:
        """The OpenAI spelling of ``endpoint``."""
        return self.endpoint_aliases.get(endpoint, endpoint)

    def add_routes(self, app: web.Application, prefix: str) -> None:
        """Add the files and batches routes of every surface to `app`, under `prefix`."""
        for surface in self.surfaces:
            _Api(self, surface).add_routes(app, prefix + surface.path)

    def write_results(
        self, store: Store, record: BatchRecord, processed: int, finished_at: float
    ) -> Settlement:
        """Answer the first `processed` requests of a batch into its output and error files."""
        return _write_results(self, store, record, processed, finished_at)


OPENAI = Dialect()


def authenticate(request: web.Request, config: EmulatorConfig) -> None:
    """Accept ``Authorization: Bearer <key>`` (any non-empty key, or the configured one)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
            code="invalid_api_key",
        )
    check_key(token, config)


def check_key(token: str, config: EmulatorConfig) -> None:
    """Refuse `token` unless it is the configured key (any key when none is configured)."""
    if config.api_key is not None and not hmac.compare_digest(
        token.encode(), config.api_key.encode()
    ):
        raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")


def render_error(error: ApiError) -> web.Response:
    """OpenAI's error envelope (``{"error": {"message", "type", "param", "code"}}``), which
    ``ApiError.response`` renders; Together uses it as well."""
    return error.response()


def add_routes(app: web.Application, prefix: str = "") -> None:
    """Add the OpenAI files and batches routes to `app` (under `prefix` + /v1)."""
    OPENAI.add_routes(app, prefix)


# JSON views


def _stamp(value: float | None) -> int | None:
    return None if value is None else int(value)


def file_json(record: FileRecord, dialect: Dialect = OPENAI) -> dict[str, Any]:
    """The File object of a stored file."""
    data: dict[str, Any] = {
        "id": record.id,
        "object": "file",
        "bytes": record.bytes,
        "created_at": record.created_at,
        "filename": record.filename,
        "purpose": record.purpose,
    }
    if dialect.file_status:
        data.update(
            {"expires_at": record.expires_at, "status": "processed", "status_details": None}
        )
    return data


def batch_json(record: BatchRecord, state: Progress, dialect: Dialect = OPENAI) -> dict[str, Any]:
    """The Batch object of a batch in state `state`."""
    window = record.timings.window
    requested = record.options.get("window_seconds")
    lifetime = window if window is not None else requested if requested is not None else DAY
    results = record.settled and state.status in ("completed", "expired", "cancelled")
    usage = None
    if results:
        usage = {
            "input_tokens": record.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": record.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": record.input_tokens + record.output_tokens,
        }
    errors = None
    if state.status == "failed":
        errors = {"object": "list", "data": record.validation_errors}
    absent = dialect.absent_file_id
    data: dict[str, Any] = {
        "id": record.id,
        "object": "batch",
        "endpoint": record.endpoint,
        "model": record.model,
        "errors": errors,
        "input_file_id": record.input_file_id,
        "completion_window": record.options.get("completion_window", "24h"),
        "status": state.status,
        "output_file_id": (record.output_file_id if results else None) or absent,
        "error_file_id": (record.error_file_id if results else None) or absent,
        "created_at": int(record.created),
        "in_progress_at": _stamp(state.in_progress_at),
        "expires_at": int(record.created + lifetime),
        "finalizing_at": _stamp(state.finalizing_at),
        "completed_at": _stamp(state.completed_at),
        "failed_at": _stamp(state.failed_at),
        "expired_at": _stamp(state.expired_at),
        "cancelling_at": _stamp(state.cancelling_at),
        "cancelled_at": _stamp(state.cancelled_at),
        "request_counts": {
            "total": state.total,
            "completed": state.succeeded,
            "failed": state.failed,
        },
        "usage": usage,
        "metadata": record.metadata,
    }
    if not dialect.batch_model_usage:
        del data["model"], data["usage"]
    return data


def _list_json(
    data: list[dict[str, Any]], has_more: bool, dialect: Dialect = OPENAI
) -> dict[str, Any]:
    if not dialect.paged_lists:
        return {"object": "list", "data": data}
    page: dict[str, Any] = {"object": "list"} if dialect.list_object else {}
    page.update(
        {
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": has_more,
        }
    )
    return page


# files


async def _read_field(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK_SIZE):
        data += chunk
        if len(data) > MAX_FORM_FIELD:
            raise ApiError(400, f"The form field '{part.name}' is too long.", param=part.name)
    return data.decode("utf-8", errors="replace")


async def _receive_file(part: BodyPartReader, sink: FileSink) -> None:
    while chunk := await part.read_chunk(CHUNK_SIZE):
        sink.write(chunk)
        if sink.size > MAX_FILE_BYTES:
            raise ApiError(413, "File is too large. The maximum size is 512 MB.", param="file")


def _file_expiry(fields: dict[str, str], created_at: int, dialect: Dialect = OPENAI) -> int | None:
    if dialect.dotted_expiry:
        for name in ("anchor", "seconds"):
            dotted = fields.pop(f"expires_after.{name}", None)
            if dotted is not None:
                fields.setdefault(f"expires_after[{name}]", dotted)
    anchor = fields.get("expires_after[anchor]")
    seconds = fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return created_at + DEFAULT_FILE_TTL if fields.get("purpose") == "batch" else None
    if anchor != "created_at":
        raise ApiError(
            400, "expires_after[anchor] must be 'created_at'.", param="expires_after[anchor]"
        )
    low, high = dialect.file_ttl
    ttl = int(seconds) if seconds is not None and seconds.strip().isdigit() else -1
    if not low <= ttl <= high:
        raise ApiError(
            400,
            f"expires_after[seconds] must be an integer from {low} to {high}.",
            param="expires_after[seconds]",
        )
    return created_at + ttl


def _no_file(file_id: str) -> ApiError:
    return ApiError(404, f"No such File object: {file_id}", param="id")


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(
            400, f"Invalid '{name}': expected an integer from {low} to {high}.", param=name
        )
    return value


# batches


def _check_metadata(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    problem = None
    if not isinstance(value, dict):
        problem = "must be an object"
    elif len(value) > 16:
        problem = "may hold at most 16 pairs"
    elif not all(isinstance(key, str) and len(key) <= 64 for key in value):
        problem = "keys must be strings of at most 64 characters"
    elif not all(isinstance(item, str) and len(item) <= 512 for item in value.values()):
        problem = "values must be strings of at most 512 characters"
    if problem is not None or not isinstance(value, dict):
        raise ApiError(400, f"Invalid 'metadata': {problem}.", param="metadata")
    return {str(key): str(item) for key, item in value.items()}


def _check_output_expiry(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if (
        isinstance(value, dict)
        and value.get("anchor") == "created_at"
        and isinstance(value.get("seconds"), int)
        and MIN_TTL <= value["seconds"] <= MAX_TTL
    ):
        return {"anchor": "created_at", "seconds": value["seconds"]}
    raise ApiError(
        400,
        "Invalid 'output_expires_after': expected {'anchor': 'created_at', 'seconds': "
        f"{MIN_TTL}..{MAX_TTL}}}.",
        param="output_expires_after",
    )


def _no_batch(batch_id: str) -> ApiError:
    return ApiError(404, f"No batch found with id '{batch_id}'.")


def _create(
    store: Store,
    config: EmulatorConfig,
    dialect: Dialect,
    input_file_id: str,
    endpoint: str,
    metadata: dict[str, str] | None,
    options: dict[str, Any],
    window_error: dict[str, Any] | None,
) -> dict[str, Any]:
    file = store.get_file(input_file_id)
    if file is None:
        raise ApiError(400, f"No file found with id '{input_file_id}'.", param="input_file_id")
    if file.purpose != "batch":
        raise ApiError(
            400,
            f"The file '{input_file_id}' has purpose '{file.purpose}'; a batch input file "
            "must have purpose 'batch'.",
            param="input_file_id",
        )
    batch_id = store.new_batch_id()
    snapshot = store.snapshot_input(input_file_id, batch_id)
    if snapshot is None:
        raise ApiError(400, f"No file found with id '{input_file_id}'.", param="input_file_id")
    try:
        scan = scan_input(snapshot, endpoint, dialect=dialect)
        timings = Timings.from_config(config)
        if not dialect.expires:
            timings = attrs.evolve(timings, window=None)
        record = BatchRecord(
            id=batch_id,
            provider=dialect.provider,
            endpoint=endpoint,
            input_file_id=input_file_id,
            created=store.clock.now(),
            seq=0,
            timings=timings,
            total=scan.total,
            model=scan.model,
            failing=scan.failing,
            validation_errors=[window_error, *scan.errors] if window_error else scan.errors,
            metadata=metadata,
            options=options,
        )
        state = store.add_batch(record)
    except BaseException:
        store.discard_snapshot(batch_id)
        raise
    return batch_json(record, state, dialect)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Api:
    """The route handlers of one surface of one dialect."""

    def __init__(self, dialect: Dialect, surface: Surface) -> None:
        self.dialect = dialect
        self.surface = surface

    def add_routes(self, app: web.Application, root: str) -> None:
        routes: list[tuple[str, str, Handler]] = [
            ("POST", "/files", self.upload_file),
            ("GET", "/files", self.list_files),
            ("GET", "/files/{file_id}", self.retrieve_file),
            ("DELETE", "/files/{file_id}", self.delete_file),
            ("GET", "/files/{file_id}/content", self.file_content),
            ("POST", "/batches", self.create_batch),
            ("GET", "/batches", self.list_batches),
            ("GET", "/batches/{batch_id}", self.retrieve_batch),
            ("POST", "/batches/{batch_id}/cancel", self.cancel_batch),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, root + path, self._guard(handler))

    def _guard(self, handler: Handler) -> Handler:
        if not self.surface.api_version:
            return handler

        async def versioned(request: web.Request) -> web.StreamResponse:
            if not request.query.get("api-version"):
                # What Azure answers without api-version on the dated API (unverified).
                raise ApiError(404, "Resource not found", type="gateway", code="404")
            return await handler(request)

        return versioned

    # files

    async def upload_file(self, request: web.Request) -> web.Response:
        """``POST /files``: store a multipart upload, streamed to disk."""
        dialect = self.dialect
        store = request.app[STORE]
        if not request.content_type.startswith("multipart/"):
            raise ApiError(400, "The request must be multipart/form-data.")
        fields: dict[str, str] = {}
        filename: str | None = None
        with store.new_file() as sink:
            try:
                reader = await request.multipart()
                while (part := await reader.next()) is not None:
                    if not isinstance(part, BodyPartReader):
                        raise ApiError(400, "Nested multipart bodies are not supported.")
                    if part.name == "file":
                        if filename is not None:
                            raise ApiError(400, "Only one file may be uploaded at a time.")
                        filename = part.filename or "file"
                        await _receive_file(part, sink)
                    elif part.name:
                        fields[part.name] = await _read_field(part)
                    else:
                        await part.release()
            except ValueError as exc:
                raise ApiError(400, f"Malformed multipart body: {exc}") from None
            if filename is None:
                raise ApiError(400, "Missing required parameter: 'file'.", param="file")
            purpose = fields.get("purpose")
            if purpose is None:
                raise ApiError(400, "Missing required parameter: 'purpose'.", param="purpose")
            if purpose not in dialect.file_purposes:
                raise ApiError(
                    400,
                    f"Invalid value for 'purpose': '{purpose}'. "
                    f"Expected one of {', '.join(dialect.file_purposes)}.",
                    param="purpose",
                )
            if purpose == "batch" and not filename.endswith(".jsonl"):
                raise ApiError(
                    400, "Invalid file format for Batch API. Must be .jsonl", param="file"
                )
            created_at = int(store.clock.now())
            expires_at = _file_expiry(fields, created_at, dialect)
            record = await asyncio.to_thread(
                sink.commit,
                filename=filename,
                purpose=purpose,
                created_at=created_at,
                expires_at=expires_at,
            )
        return web.json_response(file_json(record, dialect))

    async def list_files(self, request: web.Request) -> web.Response:
        """``GET /files``: list stored files (after, limit, order, purpose)."""
        dialect = self.dialect
        store = request.app[STORE]
        records = await asyncio.to_thread(store.list_files)
        if not dialect.paged_lists:
            return web.json_response(
                _list_json([file_json(r, dialect) for r in records], False, dialect)
            )
        limit = _int_param(request, "limit", FILE_LIST_MAX, 1, FILE_LIST_MAX)
        order = request.query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise ApiError(400, "Invalid 'order': expected 'asc' or 'desc'.", param="order")
        purpose = request.query.get("purpose")
        if order == "asc":
            records.reverse()
        if purpose is not None:
            records = [record for record in records if record.purpose == purpose]
        after = request.query.get("after")
        page = paginate(records, lambda record: record.id, after, limit)
        if page is None:
            raise _no_file(str(after))
        items, has_more = page
        return web.json_response(
            _list_json([file_json(record, dialect) for record in items], has_more, dialect)
        )

    async def retrieve_file(self, request: web.Request) -> web.Response:
        """``GET /files/{id}``."""
        file_id = request.match_info["file_id"]
        record = await asyncio.to_thread(request.app[STORE].get_file, file_id)
        if record is None:
            raise _no_file(file_id)
        return web.json_response(file_json(record, self.dialect))

    async def delete_file(self, request: web.Request) -> web.Response:
        """``DELETE /files/{id}``."""
        file_id = request.match_info["file_id"]
        if not await asyncio.to_thread(request.app[STORE].delete_file, file_id):
            raise _no_file(file_id)
        return web.json_response({"id": file_id, "object": "file", "deleted": True})

    async def file_content(self, request: web.Request) -> web.StreamResponse:
        """``GET /files/{id}/content``: the stored bytes, streamed from disk."""
        file_id = request.match_info["file_id"]
        path = await asyncio.to_thread(request.app[STORE].file_path, file_id)
        if path is None:
            raise _no_file(file_id)
        return await send_file(request, path)

    # batches

    async def create_batch(self, request: web.Request) -> web.Response:
        """``POST /batches``: create a batch; its input is validated as the batch proceeds."""
        dialect = self.dialect
        body = await read_json(request)
        input_file_id = body.get("input_file_id")
        if not isinstance(input_file_id, str) or not input_file_id:
            raise ApiError(
                400, "Missing required parameter: 'input_file_id'.", param="input_file_id"
            )
        endpoint = body.get("endpoint")
        if endpoint not in dialect.endpoints:
            raise ApiError(
                400,
                f"Invalid value for 'endpoint': {endpoint!r}. "
                f"Expected one of {', '.join(dialect.endpoints)}.",
                param="endpoint",
            )
        assert isinstance(endpoint, str)
        if dialect.canonical(endpoint) not in ANSWERED_ENDPOINTS:
            raise ApiError(
                400, f"The emulator does not answer {endpoint} requests.", param="endpoint"
            )
        window = body.get("completion_window")
        seconds = dialect.window(window)
        window_error: dict[str, Any] | None = None
        if seconds is None and not dialect.window_fails_job:
            raise ApiError(
                400,
                f"Invalid value for 'completion_window': {window!r}. "
                + (
                    "Supported values are: '24h'."
                    if dialect.window is openai_window
                    else "Expected a duration such as '24h' or '7d'."
                ),
                param="completion_window",
            )
        if seconds is None:
            window_error = {
                "code": "invalid_request",
                "message": f"The completion_window {window!r} is not supported; use '24h'.",
                "param": "completion_window",
                "line": None,
            }
        metadata = _check_metadata(body.get("metadata"))
        output_expiry = _check_output_expiry(body.get("output_expires_after"))
        options: dict[str, Any] = {}
        if output_expiry:
            options["output_expires_after"] = output_expiry
        if isinstance(window, str) and window != "24h":
            options["completion_window"] = window
            if seconds is not None:
                options["window_seconds"] = seconds
        store = request.app[STORE]
        config = request.app[CONFIG]
        payload = await asyncio.to_thread(
            _create,
            store,
            config,
            dialect,
            input_file_id,
            endpoint,
            metadata,
            options,
            window_error,
        )
        return web.json_response(payload)

    def _own(self, found: tuple[BatchRecord, Progress] | None) -> bool:
        return found is not None and found[0].provider == self.dialect.provider

    async def retrieve_batch(self, request: web.Request) -> web.Response:
        """``GET /batches/{id}``."""
        batch_id = request.match_info["batch_id"]
        found = await asyncio.to_thread(request.app[STORE].get_batch, batch_id)
        if found is None or not self._own(found):
            raise _no_batch(batch_id)
        return web.json_response(batch_json(*found, self.dialect))

    async def list_batches(self, request: web.Request) -> web.Response:
        """``GET /batches``: newest first (after, limit)."""
        dialect = self.dialect
        every = await asyncio.to_thread(request.app[STORE].list_batches)
        batches = [item for item in every if item[0].provider == dialect.provider]
        if not dialect.paged_lists:
            return web.json_response(
                _list_json([batch_json(*item, dialect) for item in batches], False, dialect)
            )
        config = request.app[CONFIG]
        limit = _int_param(request, "limit", config.page_size_default, 1, BATCH_LIST_MAX)
        after = request.query.get("after")
        page = paginate(batches, lambda item: item[0].id, after, limit)
        if page is None:
            raise ApiError(400, f"No batch found with id '{after}'.", param="after")
        items, has_more = page
        return web.json_response(
            _list_json([batch_json(*item, dialect) for item in items], has_more, dialect)
        )

    async def cancel_batch(self, request: web.Request) -> web.Response:
        """``POST /batches/{id}/cancel``."""
        batch_id = request.match_info["batch_id"]
        store = request.app[STORE]
        if not self._own(await asyncio.to_thread(store.get_batch, batch_id)):
            raise _no_batch(batch_id)
        try:
            found = await asyncio.to_thread(store.cancel_batch, batch_id)
        except CancelRejectedError as exc:
            raise ApiError(409, f"Cannot cancel a batch with status '{exc.status}'.") from None
        if found is None:
            raise _no_batch(batch_id)
        return web.json_response(batch_json(*found, self.dialect))


# input validation


@attrs.frozen
class ScanResult:
    """What one pass over a batch input file found."""

    total: int
    model: str | None
    failing: list[int]
    errors: list[dict[str, Any]]


def _request_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield (1-based line number, bytes) of the non-blank lines of a JSONL file."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, raw


def scan_input(path: Path, endpoint: str, *, dialect: Dialect = OPENAI) -> ScanResult:
    """Validate a batch input file in one streaming pass, as OpenAI does while validating.

    Error codes: ``invalid_json_line``, ``missing_custom_id``, ``duplicate_custom_id``,
    ``invalid_method``, ``url_mismatch``, ``invalid_body``, ``model_mismatch``,
    ``empty_file``, ``too_many_tasks``. At most 100 errors are reported.
    """
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    failing: list[int] = []
    model: str | None = None
    count = 0
    wanted = dialect.canonical(endpoint)

    def report(code: str, message: str, line: int | None) -> None:
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append({"code": code, "message": message, "param": None, "line": line})

    for number, raw in _request_lines(path):
        index = count
        count += 1
        try:
            item = json.loads(raw)
        except ValueError:
            item = None
        if not isinstance(item, dict):
            report("invalid_json_line", f"Line {number} is not a valid JSON object.", number)
            continue
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            report("missing_custom_id", f"Line {number} has no 'custom_id' string.", number)
        elif custom_id in seen:
            report(
                "duplicate_custom_id",
                f"The custom_id '{custom_id}' on line {number} is used more than once.",
                number,
            )
        else:
            seen.add(custom_id)
        if item.get("method") != "POST":
            report("invalid_method", f"Line {number}: 'method' must be 'POST'.", number)
        url = item.get("url")
        if not isinstance(url, str) or dialect.canonical(url) != wanted:
            report(
                "url_mismatch",
                f"Line {number}: the url {url!r} does not match the batch endpoint '{endpoint}'.",
                number,
            )
        body = item.get("body")
        if not isinstance(body, dict):
            report("invalid_body", f"Line {number}: 'body' must be a JSON object.", number)
            continue
        line_model = body.get("model")
        if isinstance(line_model, str) and line_model:
            if model is None:
                model = line_model
            elif line_model != model:
                report(
                    "model_mismatch",
                    f"Line {number} uses model '{line_model}', but the batch uses '{model}'. "
                    "All requests of a batch must use the same model.",
                    number,
                )
        if _failure(body) is not None:
            failing.append(index)
    if count == 0:
        report("empty_file", "The input file has no requests.", None)
    elif count > dialect.max_requests:
        report(
            "too_many_tasks",
            f"The input file has {count} requests; a batch takes at most {dialect.max_requests}.",
            None,
        )
    return ScanResult(total=count, model=model, failing=failing, errors=errors)


# results


@attrs.frozen
class _Failure:
    status: int | None  # None: no HTTP response (an error line of shape (b))
    message: str
    param: str | None = None


def _failure(body: dict[str, Any]) -> _Failure | None:
    marker = find_marker(json.dumps(body, ensure_ascii=False))
    if marker is not None:
        if marker.status is None:
            return _Failure(None, "Emulated processing error (the request holds [[error]]).")
        return _Failure(
            marker.status, f"Emulated failure with status {marker.status} (marker in request)."
        )
    if not isinstance(body.get("model"), str) or not body["model"]:
        return _Failure(400, "You must provide a model parameter.", "model")
    return None


def write_results(
    store: Store, record: BatchRecord, processed: int, finished_at: float
) -> Settlement:
    """Answer the first `processed` requests of a batch into its output and error files."""
    return _write_results(OPENAI, store, record, processed, finished_at)


def _write_results(
    dialect: Dialect, store: Store, record: BatchRecord, processed: int, finished_at: float
) -> Settlement:
    created = int(record.created + record.timings.validating)
    input_tokens = output_tokens = 0
    answer_for = _ANSWERS[dialect.canonical(record.endpoint)]
    with store.new_file() as output, store.new_file() as error:
        successes, failures = PairSwap(output), PairSwap(error)
        for index, (_number, raw) in enumerate(_request_lines(store.input_path(record))):
            if index >= processed:
                break
            item = json.loads(raw)
            custom_id: str = item["custom_id"]
            body: dict[str, Any] = item["body"]
            seed = hashlib.sha256(f"{record.id}\0{custom_id}".encode()).hexdigest()
            request_id = (
                str(uuid.UUID(seed[32:64])) if dialect.uuid_request_ids else f"req_{seed[32:64]}"
            )
            head: dict[str, Any] = {}
            if dialect.line_ids:
                head["id"] = f"{dialect.line_id_prefix}{seed[:32]}"
            head["custom_id"] = custom_id
            if STRAY_MARKER.encode() in raw:
                head["custom_id"] = f"stray-{custom_id}"
            failure = _failure(body)
            if failure is None:
                answer = answer_for(body, seed, created)
                if dialect.decorate_body is not None:
                    dialect.decorate_body(answer.body, seed)
                input_tokens += answer.input_tokens
                output_tokens += answer.output_tokens
                response = {"status_code": 200, "request_id": request_id, "body": answer.body}
                successes.push({**head, "response": response, "error": None})
            elif failure.status is None:
                failures.push(
                    {
                        **head,
                        "response": None,
                        "error": {"code": "emulated_error", "message": failure.message},
                    }
                )
            else:
                kind = "server_error" if failure.status >= 500 else "invalid_request_error"
                envelope = {
                    "error": {
                        "message": failure.message,
                        "type": kind,
                        "param": failure.param,
                        "code": None,
                    }
                }
                response = {
                    "status_code": failure.status,
                    "request_id": request_id,
                    "body": envelope,
                }
                failures.push({**head, "response": response, "error": None})
        successes.flush()
        failures.flush()
        expiry = record.options.get("output_expires_after")
        ttl = expiry["seconds"] if isinstance(expiry, dict) else DEFAULT_FILE_TTL
        stamp = int(finished_at)

        def commit(sink: FileSink, lines: PairSwap, suffix: str, always: bool) -> str | None:
            if lines.count == 0 and not always:
                return None
            return sink.commit(
                filename=f"{record.id}_{suffix}.jsonl",
                purpose="batch_output",
                created_at=stamp,
                expires_at=stamp + ttl,
            ).id

        output_id = commit(output, successes, "output", False)
        error_id = commit(error, failures, "error", dialect.always_error_file)
    return Settlement(output_id, error_id, input_tokens, output_tokens)


# deterministic answers


@attrs.frozen
class _Answer:
    body: dict[str, Any]
    input_tokens: int
    output_tokens: int


def message_text(content: object) -> str:
    """The text of a message content: a string or a list of parts (non-text parts skipped)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        return " ".join(texts)
    return ""


def word_count(text: str) -> int:
    return len(text.split())


def echo_reply(text: str) -> str:
    return "echo: " + " ".join(text.split())[:40]


def conversation(items: object) -> tuple[str, str]:
    """Return (all text, last user text) of a list of messages."""
    if not isinstance(items, list):
        return "", ""
    texts: list[str] = []
    last_user = ""
    for item in items:
        if not isinstance(item, dict):
            continue
        text = message_text(item.get("content"))
        texts.append(text)
        if item.get("role", "user") == "user":
            last_user = text
    return " ".join(texts), last_user


def _choices_count(body: dict[str, Any]) -> int:
    n = body.get("n")
    return n if isinstance(n, int) and 1 <= n <= 128 else 1


def _chat_answer(body: dict[str, Any], seed: str, created: int) -> _Answer:
    prompt, last_user = conversation(body.get("messages"))
    reply = echo_reply(last_user)
    count = _choices_count(body)
    prompt_tokens, completion_tokens = word_count(prompt), word_count(reply) * count
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply,
        "refusal": None,
        "annotations": [],
    }
    return _Answer(
        {
            "id": f"chatcmpl-{seed[:29]}",
            "object": "chat.completion",
            "created": created,
            "model": body["model"],
            "choices": [
                {"index": i, "message": message, "logprobs": None, "finish_reason": "stop"}
                for i in range(count)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_emulator",
        },
        prompt_tokens,
        completion_tokens,
    )


def _completion_answer(body: dict[str, Any], seed: str, created: int) -> _Answer:
    prompt = body.get("prompt")
    text = " ".join(p for p in prompt if isinstance(p, str)) if isinstance(prompt, list) else ""
    if isinstance(prompt, str):
        text = prompt
    reply = echo_reply(text)
    count = _choices_count(body)
    prompt_tokens, completion_tokens = word_count(text), word_count(reply) * count
    return _Answer(
        {
            "id": f"cmpl-{seed[:29]}",
            "object": "text_completion",
            "created": created,
            "model": body["model"],
            "choices": [
                {"index": i, "text": reply, "logprobs": None, "finish_reason": "stop"}
                for i in range(count)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        },
        prompt_tokens,
        completion_tokens,
    )


def _response_answer(body: dict[str, Any], seed: str, created: int) -> _Answer:
    source = body.get("input")
    if isinstance(source, str):
        prompt, last_user = source, source
    else:
        prompt, last_user = conversation(source)
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        prompt = f"{instructions} {prompt}"
    reply = echo_reply(last_user)
    input_tokens, output_tokens = word_count(prompt), word_count(reply)
    return _Answer(
        {
            "id": f"resp_{seed[:48]}",
            "object": "response",
            "created_at": created,
            "status": "completed",
            "model": body["model"],
            "output": [
                {
                    "type": "message",
                    "id": f"msg_{seed[16:64]}",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": reply, "annotations": []}],
                }
            ],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "instructions": instructions if isinstance(instructions, str) else None,
            "metadata": {},
            "error": None,
            "incomplete_details": None,
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
        },
        input_tokens,
        output_tokens,
    )


def _vector(item: object, dimensions: int) -> list[float]:
    """A deterministic unit-free vector in [-1, 1) from the SHA-256 of the input."""
    seed = json.dumps(item, ensure_ascii=False).encode()
    data = bytearray()
    counter = 0
    while len(data) < dimensions:
        data += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return [round(byte / 127.5 - 1.0, 6) for byte in data[:dimensions]]


def _embedding_inputs(source: object) -> list[object]:
    if isinstance(source, list) and source and not all(isinstance(x, int) for x in source):
        return list(source)
    return [source]


def _embedding_answer(body: dict[str, Any], seed: str, created: int) -> _Answer:
    del seed, created
    inputs = _embedding_inputs(body.get("input"))
    size = body.get("dimensions")
    dimensions = size if isinstance(size, int) and 1 <= size <= 4096 else 8
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    tokens = 0
    for index, item in enumerate(inputs):
        vector = _vector(item, dimensions)
        embedding: list[float] | str = vector
        if as_base64:
            embedding = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens += (
            word_count(item)
            if isinstance(item, str)
            else len(item)
            if isinstance(item, list)
            else 0
        )
    return _Answer(
        {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
        tokens,
        0,
    )


_MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


def _moderation_answer(body: dict[str, Any], seed: str, created: int) -> _Answer:
    del created
    source = body.get("input")
    inputs = source if isinstance(source, list) else [source]
    result = {
        "flagged": False,
        "categories": dict.fromkeys(_MODERATION_CATEGORIES, False),
        "category_scores": dict.fromkeys(_MODERATION_CATEGORIES, 0.0),
        "category_applied_input_types": {name: ["text"] for name in _MODERATION_CATEGORIES},
    }
    return _Answer(
        {"id": f"modr-{seed[:32]}", "model": body["model"], "results": [result] * len(inputs)},
        0,
        0,
    )


_ANSWERS: dict[str, Callable[[dict[str, Any], str, int], _Answer]] = {
    "/v1/chat/completions": _chat_answer,
    "/v1/completions": _completion_answer,
    "/v1/responses": _response_answer,
    "/v1/embeddings": _embedding_answer,
    "/v1/moderations": _moderation_answer,
}


MOUNT = ProviderMount(
    name=PROVIDER,
    prefix="",
    api_base="/v1",
    add_routes=add_routes,
    authenticate=authenticate,
    render_error=render_error,
    write_results=write_results,
)
