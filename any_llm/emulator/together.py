"""The Together AI Files and Batch API (providers/together.md) and its deterministic answers.

Routes, under ``/together/v1``: ``POST /files/upload`` (the documented multipart upload),
``POST /files`` (the SDKs' flow: form fields without the file → 302 to a presigned URL with
``X-Together-File-Id``; with a ``file`` part it is a plain multipart upload), ``POST
/files/{id}/preprocess``, ``GET /files``, ``GET/DELETE /files/{id}``, ``GET
/files/{id}/content``, ``POST/GET /batches``, ``GET /batches/{id}``, ``POST
/batches/{id}/cancel``.

Presigned URLs point at a second site on another port of the same interface (started on the
first presign, stopped with the emulator), serving only ``PUT /together/_storage/{file_id}``:
it checks the URL's signature and the announced SHA-256, and refuses any request carrying an
``Authorization`` header, so that a leaked key fails loudly. It shares the main site's request
log and faults. With ``EmulatorConfig.presigned_uploads`` the documented route answers 302 too.

Batch objects have ISO-8601 timestamps, upper-case statuses (the finalizing phase is reported
as IN_PROGRESS at 100 %; a cancel is CANCELING), ``progress`` and a plain ``error`` string;
create answers ``{"job", "warning"}`` and the list is a bare array, newest first. A chat request
is answered ``"echo: "`` plus the first 40 characters of the last user text (the first tool is
called when ``tool_choice`` asks for one). Per-request failures go to the error file:
``[[fail]]``/``[[fail:NNN]]`` as a ``response`` with that status and an error body,
``[[error]]`` as ``{"error": {"message", "code"}}``. Where the wire spec is unverified the
emulator chooses: lines may carry OpenAI's ``method``/``url`` (ignored), result files have
purpose ``batch-api``, cancelling an ended batch is a 400.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
from aiohttp import BodyPartReader, web
from yarl import URL

from . import openai as openai_emulator
from .config import EmulatorConfig
from .markers import find_marker
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
)
from .web_support import CONFIG, STORE, ApiError, read_json, send_file

__all__ = ["MOUNT", "PROVIDER", "add_routes", "file_json", "job_json", "scan_input"]

PROVIDER = "together"
PREFIX = "/together"
STORAGE = f"{PREFIX}/_storage"
"""Path of presigned uploads; served on the storage site only."""

FILE_PURPOSES = ("fine-tune", "calibration", "eval", "batch-api")
FILE_TYPES = ("jsonl", "parquet", "csv")
ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/audio/transcriptions",
    "/v1/audio/translations",
    "/v1/completions",
)
ANSWERED_ENDPOINTS = ("/v1/chat/completions",)
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
MAX_BATCH_FILE_BYTES = 100_000_000
MAX_REQUESTS = 50_000
MAX_CUSTOM_ID = 64
MAX_REPORTED_ERRORS = 100
MAX_FORM_FIELD = 64 * 1024
DAY = 86_400
PRESIGN_TTL = 3600
DEADLINE_SLACK = 0.000123
"""Together's job_deadline can fall a few microseconds short of the window."""
SIGNATURE = "X-Together-Signature"

_STATUSES = {
    "validating": "VALIDATING",
    "in_progress": "IN_PROGRESS",
    "finalizing": "IN_PROGRESS",
    "completed": "COMPLETED",
    "failed": "FAILED",
    "expired": "EXPIRED",
    "cancelling": "CANCELING",
    "cancelled": "CANCELLED",
}
_WITH_RESULTS = frozenset({"completed", "expired", "cancelled"})


# the presigned-upload site


@attrs.frozen
class _Pending:
    """A presigned upload handed out and not yet received."""

    file_id: str
    filename: str
    purpose: str
    checksum: str | None
    signature: str
    expires: float


class _Storage:
    """The object store behind presigned URLs: a second site, on another port of the interface
    the client reached the emulator on, started on the first presign. Used on the emulator's
    event loop only."""

    def __init__(self, main: web.Application) -> None:
        self._main = main
        self._pending: dict[str, _Pending] = {}
        self._lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    async def presign(
        self, request: web.Request, *, filename: str, purpose: str, checksum: str | None
    ) -> tuple[str, str]:
        """Announce an upload; return its file id and presigned URL."""
        port = await self._start(request)
        now = self._main[STORE].clock.now()
        file_id = "file-" + str(uuid.uuid4())
        pending = _Pending(
            file_id=file_id,
            filename=filename,
            purpose=purpose,
            checksum=checksum.lower() if checksum else None,
            signature=secrets.token_hex(16),
            expires=now + PRESIGN_TTL,
        )
        self._pending[file_id] = pending
        url = URL.build(
            scheme="http",
            host=request.url.host or "127.0.0.1",
            port=port,
            path=f"{STORAGE}/{file_id}",
            query={"X-Together-Expires": str(PRESIGN_TTL), SIGNATURE: pending.signature},
        )
        return file_id, str(url)

    def pending(self, file_id: str) -> _Pending | None:
        """The announced upload of `file_id`, if its bytes have not arrived."""
        return self._pending.get(file_id)

    def received(self, file_id: str) -> None:
        """The bytes of `file_id` are stored: its URL is spent."""
        self._pending.pop(file_id, None)

    async def _start(self, request: web.Request) -> int:
        async with self._lock:
            if self._port is not None:
                return self._port
            transport = request.transport
            sockname = transport.get_extra_info("sockname") if transport is not None else None
            host = sockname[0] if sockname else "127.0.0.1"
            app = web.Application(middlewares=list(self._main.middlewares))
            app[STORE] = self._main[STORE]
            app[CONFIG] = self._main[CONFIG]
            app[_STORAGE_KEY] = self
            for callback in self._main.on_response_prepare:
                app.on_response_prepare.append(callback)
            app.router.add_put(f"{STORAGE}/{{file_id}}", receive_upload)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            try:
                await web.TCPSite(runner, host, 0).start()
            except BaseException:
                await runner.cleanup()
                raise
            self._runner = runner
            self._port = int(runner.addresses[0][1])
            return self._port

    async def close(self, _app: web.Application) -> None:
        """Stop the storage site (the main app's cleanup)."""
        runner, self._runner, self._port = self._runner, None, None
        if runner is not None:
            await runner.cleanup()


_STORAGE_KEY = web.AppKey("any_llm_emulator_together_storage", _Storage)
_LINES_KEY = web.AppKey("any_llm_emulator_together_lines", dict)


def authenticate(request: web.Request, config: EmulatorConfig) -> None:
    """Accept ``Authorization: Bearer <key>`` (any non-empty key, or the configured one).
    Presigned uploads are the other way round: a request carrying any Authorization is
    refused, so a key that leaks to the storage host fails loudly."""
    if request.path.startswith(STORAGE + "/"):
        if "Authorization" in request.headers:
            raise ApiError(
                400,
                "Presigned upload URLs carry their own authorization; a request with an "
                "Authorization header is refused (an API key must never reach this host).",
                code="credential_sent_to_storage",
            )
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "Unauthorized: send your key as 'Authorization: Bearer <TOGETHER_API_KEY>'.",
            type="invalid_request_error",
            code="invalid_api_key",
        )
    if config.api_key is not None and not hmac.compare_digest(
        token.encode(), config.api_key.encode()
    ):
        raise ApiError(401, "Invalid API key provided.", code="invalid_api_key")


def add_routes(app: web.Application, prefix: str = PREFIX) -> None:
    """Add the Together files and batches routes to `app` (under `prefix` + /v1)."""
    base = prefix + "/v1"
    storage = _Storage(app)
    app[_STORAGE_KEY] = storage
    app[_LINES_KEY] = {}
    app.on_cleanup.append(storage.close)
    app.router.add_post(f"{base}/files/upload", upload_documented)
    app.router.add_post(f"{base}/files", upload_file)
    app.router.add_post(f"{base}/files/{{file_id}}/preprocess", preprocess_file)
    app.router.add_get(f"{base}/files", list_files)
    app.router.add_get(f"{base}/files/{{file_id}}", retrieve_file)
    app.router.add_delete(f"{base}/files/{{file_id}}", delete_file)
    app.router.add_get(f"{base}/files/{{file_id}}/content", file_content)
    app.router.add_post(f"{base}/batches", create_batch)
    app.router.add_get(f"{base}/batches", list_batches)
    app.router.add_get(f"{base}/batches/{{batch_id}}", retrieve_batch)
    app.router.add_post(f"{base}/batches/{{batch_id}}/cancel", cancel_batch)


# JSON views


def iso(stamp: float) -> str:
    """An ISO-8601 UTC timestamp as Together writes them (fraction only when there is one)."""
    text = datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text.rstrip("0").rstrip(".") + "Z"


def _file_type(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return suffix if suffix in FILE_TYPES else "jsonl"


def file_json(record: FileRecord, line_count: int) -> dict[str, Any]:
    """The File object of a stored file (note the capitalised keys)."""
    return {
        "id": record.id,
        "object": "file",
        "created_at": record.created_at,
        "filename": record.filename,
        "bytes": record.bytes,
        "purpose": record.purpose,
        "FileType": _file_type(record.filename),
        "LineCount": line_count,
        "Processed": True,
    }


def _count_lines(path: Path) -> int:
    count = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _file_view(app: web.Application, record: FileRecord) -> dict[str, Any]:
    """Run in a worker thread: the File object, its line count computed once per file."""
    cache: dict[str, int] = app[_LINES_KEY]
    count = cache.get(record.id)
    if count is None:
        path = app[STORE].file_path(record.id)
        count = _count_lines(path) if path is not None else 0
        cache[record.id] = count
    return file_json(record, count)


def job_json(record: BatchRecord, state: Progress) -> dict[str, Any]:
    """The BatchJob object of a batch in state `state`."""
    results = record.settled and state.status in _WITH_RESULTS
    if state.status in ("finalizing", "completed"):
        progress = 100.0
    elif record.total:
        progress = round(100.0 * state.processed / record.total, 2)
    else:
        progress = 0.0
    window = record.timings.window if record.timings.window is not None else DAY
    finished = state.finished_at
    error = None
    if state.status == "failed" and record.validation_errors:
        error = str(record.validation_errors[0]["message"])
        if len(record.validation_errors) > 1:
            error += f" (and {len(record.validation_errors) - 1} more errors)"
    return {
        "id": record.id,
        "user_id": "user-emulator",
        "input_file_id": record.input_file_id,
        "file_size_bytes": record.options.get("file_size_bytes", 0),
        "status": _STATUSES[state.status],
        "job_deadline": iso(record.created + window - DEADLINE_SLACK),
        "created_at": iso(record.created),
        "completed_at": iso(finished) if finished is not None else None,
        "endpoint": record.endpoint,
        "progress": progress,
        "model_id": record.model,
        "output_file_id": record.output_file_id if results else None,
        "error_file_id": record.error_file_id if results else None,
        "error": error,
    }


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
        if sink.size > MAX_UPLOAD_BYTES:
            raise ApiError(413, "File is too large.", param="file")


def _check_purpose(fields: dict[str, str]) -> str:
    purpose = fields.get("purpose")
    if not purpose:
        raise ApiError(400, "Missing required field: 'purpose'.", param="purpose")
    if purpose not in FILE_PURPOSES:
        raise ApiError(
            400,
            f"Invalid purpose '{purpose}'. Must be one of: {', '.join(FILE_PURPOSES)}.",
            param="purpose",
        )
    return purpose


def _check_name(fields: dict[str, str], fallback: str | None) -> str:
    name = fields.get("file_name") or fallback
    if not name:
        raise ApiError(400, "Missing required field: 'file_name'.", param="file_name")
    file_type = fields.get("file_type") or _file_type(name)
    if file_type not in FILE_TYPES:
        raise ApiError(
            400,
            f"Invalid file_type '{file_type}'. Must be one of: {', '.join(FILE_TYPES)}.",
            param="file_type",
        )
    return name


async def _read_multipart(
    request: web.Request, sink: FileSink, *, keep_file: bool
) -> tuple[dict[str, str], str | None]:
    """The form fields and the file part's name (its bytes go to `sink`, or are drained)."""
    fields: dict[str, str] = {}
    filename: str | None = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ApiError(400, "Nested multipart bodies are not supported.")
            if part.name == "file":
                if filename is not None:
                    raise ApiError(400, "Only one file may be uploaded at a time.")
                filename = part.filename or "file"
                if keep_file:
                    await _receive_file(part, sink)
                else:
                    await part.release()
            elif part.name:
                fields[part.name] = await _read_field(part)
            else:
                await part.release()
    except ValueError as exc:
        raise ApiError(400, f"Malformed multipart body: {exc}") from None
    return fields, filename


async def _store_upload(
    request: web.Request, sink: FileSink, fields: dict[str, str], filename: str
) -> web.Response:
    purpose = _check_purpose(fields)
    name = _check_name(fields, filename)
    store = request.app[STORE]
    record = await asyncio.to_thread(
        sink.commit,
        filename=name,
        purpose=purpose,
        created_at=int(store.clock.now()),
        expires_at=None,
    )
    view = await asyncio.to_thread(_file_view, request.app, record)
    return web.json_response(view)


async def _redirect(
    request: web.Request, fields: dict[str, str], filename: str | None
) -> web.Response:
    purpose = _check_purpose(fields)
    name = _check_name(fields, filename)
    file_id, url = await request.app[_STORAGE_KEY].presign(
        request, filename=name, purpose=purpose, checksum=fields.get("checksum")
    )
    return web.Response(status=302, headers={"Location": url, "X-Together-File-Id": file_id})


async def upload_documented(request: web.Request) -> web.Response:
    """``POST /files/upload``: multipart ``purpose``, ``file_name``, ``file`` → File object (or,
    with ``presigned_uploads``, a 302 to a presigned URL where the bytes must be PUT)."""
    if not request.content_type.startswith("multipart/"):
        raise ApiError(400, "The request must be multipart/form-data.")
    redirect = request.app[CONFIG].presigned_uploads
    with request.app[STORE].new_file() as sink:
        fields, filename = await _read_multipart(request, sink, keep_file=not redirect)
        if filename is None:
            raise ApiError(400, "Missing required field: 'file'.", param="file")
        if redirect:
            return await _redirect(request, fields, filename)
        return await _store_upload(request, sink, fields, filename)


async def upload_file(request: web.Request) -> web.Response:
    """``POST /files``: with a ``file`` part, a plain multipart upload; with form fields only
    (multipart or url-encoded: ``purpose``, ``file_name``, ``file_type``, ``checksum``), the
    SDKs' presigned flow: 302 with ``Location`` and ``X-Together-File-Id``."""
    if request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        fields = {key: str(value) for key, value in form.items()}
        return await _redirect(request, fields, None)
    if not request.content_type.startswith("multipart/"):
        raise ApiError(400, "The request must be multipart/form-data or a url-encoded form.")
    with request.app[STORE].new_file() as sink:
        fields, filename = await _read_multipart(request, sink, keep_file=True)
        if filename is None:
            return await _redirect(request, fields, None)
        return await _store_upload(request, sink, fields, filename)


async def receive_upload(request: web.Request) -> web.Response:
    """``PUT {STORAGE}/{file_id}`` on the storage site: the bytes of a presigned upload."""
    storage = request.app[_STORAGE_KEY]
    store = request.app[STORE]
    file_id = request.match_info["file_id"]
    pending = storage.pending(file_id)
    signature = request.query.get(SIGNATURE, "")
    if pending is None or not hmac.compare_digest(signature, pending.signature):
        raise ApiError(403, "The request signature does not match.", code="SignatureDoesNotMatch")
    if store.clock.now() >= pending.expires:
        raise ApiError(403, "The presigned URL has expired.", code="AccessDenied")
    with store.new_file() as sink:
        while chunk := await request.content.read(CHUNK_SIZE):
            sink.write(chunk)
            if sink.size > MAX_UPLOAD_BYTES:
                raise ApiError(413, "File is too large.")
        if request.content_length is not None and sink.size != request.content_length:
            raise ApiError(400, "The body is shorter than its Content-Length.")
        record = await asyncio.to_thread(
            sink.commit,
            filename=pending.filename,
            purpose=pending.purpose,
            created_at=int(store.clock.now()),
            expires_at=None,
            file_id=file_id,
        )
    if pending.checksum is not None and record.sha256 != pending.checksum:
        await asyncio.to_thread(store.delete_file, file_id)
        raise ApiError(400, "The SHA-256 of the body differs from the announced checksum.")
    storage.received(file_id)
    return web.Response(status=200, headers={"ETag": f'"{record.sha256[:32]}"'})


def _no_file(file_id: str) -> ApiError:
    return ApiError(404, f"File {file_id} not found.", param="id", code="not_found")


def _own_file(store: Store, file_id: str) -> FileRecord:
    record = store.get_file(file_id)
    if record is None or record.purpose not in FILE_PURPOSES:
        raise _no_file(file_id)
    return record


async def preprocess_file(request: web.Request) -> web.Response:
    """``POST /files/{id}/preprocess``: make an uploaded file usable → File object."""
    file_id = request.match_info["file_id"]
    if request.app[_STORAGE_KEY].pending(file_id) is not None:
        raise ApiError(
            400, f"File {file_id} has not been uploaded yet: PUT its bytes to the upload URL."
        )
    record = await asyncio.to_thread(_own_file, request.app[STORE], file_id)
    return web.json_response(await asyncio.to_thread(_file_view, request.app, record))


async def list_files(request: web.Request) -> web.Response:
    """``GET /files``: every Together file, newest first (no pagination)."""
    app = request.app

    def views() -> list[dict[str, Any]]:
        records = [r for r in app[STORE].list_files() if r.purpose in FILE_PURPOSES]
        return [_file_view(app, record) for record in records]

    return web.json_response({"object": "list", "data": await asyncio.to_thread(views)})


async def retrieve_file(request: web.Request) -> web.Response:
    """``GET /files/{id}``."""
    record = await asyncio.to_thread(_own_file, request.app[STORE], request.match_info["file_id"])
    return web.json_response(await asyncio.to_thread(_file_view, request.app, record))


async def delete_file(request: web.Request) -> web.Response:
    """``DELETE /files/{id}``."""
    store = request.app[STORE]
    file_id = request.match_info["file_id"]
    await asyncio.to_thread(_own_file, store, file_id)
    if not await asyncio.to_thread(store.delete_file, file_id):
        raise _no_file(file_id)
    return web.json_response({"id": file_id, "object": "file", "deleted": True})


async def file_content(request: web.Request) -> web.StreamResponse:
    """``GET /files/{id}/content``: the stored bytes, streamed from disk."""
    store = request.app[STORE]
    file_id = request.match_info["file_id"]
    await asyncio.to_thread(_own_file, store, file_id)
    path = await asyncio.to_thread(store.file_path, file_id)
    if path is None:
        raise _no_file(file_id)
    return await send_file(request, path)


# batches


@attrs.frozen
class _NewBatch:
    input_file_id: str
    endpoint: str
    model_id: str | None
    priority: int | None


async def create_batch(request: web.Request) -> web.Response:
    """``POST /batches`` → ``{"job": BatchJob, "warning": null}``."""
    body = await read_json(request)
    input_file_id = body.get("input_file_id")
    if not isinstance(input_file_id, str) or not input_file_id:
        raise ApiError(400, "Missing required field: 'input_file_id'.", param="input_file_id")
    endpoint = body.get("endpoint")
    if endpoint not in ENDPOINTS:
        raise ApiError(
            400,
            f"Invalid endpoint {endpoint!r}. Must be one of: {', '.join(ENDPOINTS)}.",
            param="endpoint",
        )
    assert isinstance(endpoint, str)
    if endpoint not in ANSWERED_ENDPOINTS:
        raise ApiError(400, f"The emulator does not answer {endpoint} requests.", param="endpoint")
    window = body.get("completion_window", "24h")
    if window != "24h":
        raise ApiError(
            400,
            f"Invalid completion_window {window!r}: batches complete within 24h.",
            param="completion_window",
        )
    model_id = body.get("model_id")
    if model_id is not None and (not isinstance(model_id, str) or not model_id):
        raise ApiError(400, "'model_id' must be a non-empty string.", param="model_id")
    priority = body.get("priority")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
        raise ApiError(400, "'priority' must be an integer.", param="priority")
    job = _NewBatch(input_file_id, endpoint, model_id, priority)
    payload = await asyncio.to_thread(_create, request.app[STORE], request.app[CONFIG], job)
    return web.json_response(payload)


def _create(store: Store, config: EmulatorConfig, job: _NewBatch) -> dict[str, Any]:
    file = store.get_file(job.input_file_id)
    if file is None:
        raise ApiError(400, f"File {job.input_file_id} not found.", param="input_file_id")
    if file.purpose != "batch-api":
        raise ApiError(
            400,
            f"File {job.input_file_id} has purpose '{file.purpose}'; batch input files need "
            "purpose 'batch-api'.",
            param="input_file_id",
        )
    if file.bytes > MAX_BATCH_FILE_BYTES:
        raise ApiError(400, "Batch input files may hold at most 100 MB.", param="input_file_id")
    batch_id = str(uuid.uuid4())
    snapshot = store.snapshot_input(job.input_file_id, batch_id)
    if snapshot is None:
        raise ApiError(400, f"File {job.input_file_id} not found.", param="input_file_id")
    try:
        scan = scan_input(snapshot, job.model_id)
        options: dict[str, Any] = {"file_size_bytes": file.bytes}
        if job.priority is not None:
            options["priority"] = job.priority
        record = BatchRecord(
            id=batch_id,
            provider=PROVIDER,
            endpoint=job.endpoint,
            input_file_id=job.input_file_id,
            created=store.clock.now(),
            seq=0,
            timings=Timings.from_config(config),
            total=scan.total,
            model=job.model_id or scan.model,
            failing=scan.failing,
            validation_errors=scan.errors,
            metadata=None,
            options=options,
        )
        state = store.add_batch(record)
    except BaseException:
        store.discard_snapshot(batch_id)
        raise
    return {"job": job_json(record, state), "warning": None}


def _no_batch(batch_id: str) -> ApiError:
    return ApiError(404, f"Batch job {batch_id} not found.", code="not_found")


def _own_batch(store: Store, batch_id: str) -> tuple[BatchRecord, Progress]:
    found = store.get_batch(batch_id)
    if found is None or found[0].provider != PROVIDER:
        raise _no_batch(batch_id)
    return found


async def retrieve_batch(request: web.Request) -> web.Response:
    """``GET /batches/{id}`` → BatchJob."""
    found = await asyncio.to_thread(_own_batch, request.app[STORE], request.match_info["batch_id"])
    return web.json_response(job_json(*found))


async def list_batches(request: web.Request) -> web.Response:
    """``GET /batches`` → a bare array of every Together batch, newest first."""
    batches = await asyncio.to_thread(request.app[STORE].list_batches)
    return web.json_response(
        [job_json(record, state) for record, state in batches if record.provider == PROVIDER]
    )


async def cancel_batch(request: web.Request) -> web.Response:
    """``POST /batches/{id}/cancel`` → BatchJob (CANCELING)."""
    store = request.app[STORE]
    batch_id = request.match_info["batch_id"]
    await asyncio.to_thread(_own_batch, store, batch_id)
    try:
        found = await asyncio.to_thread(store.cancel_batch, batch_id)
    except CancelRejectedError as exc:
        raise ApiError(
            400, f"Batch job {batch_id} is {_STATUSES[exc.status]} and cannot be cancelled."
        ) from None
    if found is None:
        raise _no_batch(batch_id)
    return web.json_response(job_json(*found))


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


def scan_input(path: Path, model_id: str | None) -> ScanResult:
    """Validate a batch input file in one streaming pass: every line ``{custom_id (≤ 64
    characters, unique), body}``, at most 50,000 lines. At most 100 errors are reported."""
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    failing: list[int] = []
    model: str | None = None
    count = 0

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
        elif len(custom_id) > MAX_CUSTOM_ID:
            report(
                "invalid_custom_id",
                f"Line {number}: custom_id is longer than {MAX_CUSTOM_ID} characters.",
                number,
            )
        elif custom_id in seen:
            report(
                "duplicate_custom_id",
                f"Line {number}: custom_id '{custom_id}' is used more than once.",
                number,
            )
        else:
            seen.add(custom_id)
        body = item.get("body")
        if not isinstance(body, dict):
            report("invalid_body", f"Line {number}: 'body' must be a JSON object.", number)
            continue
        if model is None and isinstance(body.get("model"), str):
            model = body["model"]
        if _failure(body, model_id) is not None:
            failing.append(index)
    if count == 0:
        report("empty_file", "The input file has no requests.", None)
    elif count > MAX_REQUESTS:
        report(
            "too_many_requests",
            f"The input file has {count} requests; a batch takes at most {MAX_REQUESTS}.",
            None,
        )
    return ScanResult(total=count, model=model, failing=failing, errors=errors)


# results


@attrs.frozen
class _Failure:
    status: int | None  # None: no HTTP response, an {"error": {...}} line
    message: str
    param: str | None = None


def _failure(body: dict[str, Any], model_id: str | None) -> _Failure | None:
    marker = find_marker(json.dumps(body, ensure_ascii=False))
    if marker is not None:
        if marker.status is None:
            return _Failure(None, "Emulated processing error (the request holds [[error]]).")
        return _Failure(
            marker.status, f"Emulated failure with status {marker.status} (marker in request)."
        )
    model = body.get("model") or model_id
    if not isinstance(model, str) or not model:
        return _Failure(
            400, "A model is required: set body.model or the batch's model_id.", "model"
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _Failure(400, "'messages' must be a non-empty list.", "messages")
    return None


def write_results(
    store: Store, record: BatchRecord, processed: int, finished_at: float
) -> Settlement:
    """Answer the first `processed` requests of a batch into its output and error files."""
    created = int(record.created + record.timings.validating)
    input_tokens = output_tokens = 0
    with store.new_file() as output, store.new_file() as error:
        successes, failures = PairSwap(output), PairSwap(error)
        for index, (_number, raw) in enumerate(_request_lines(store.input_path(record))):
            if index >= processed:
                break
            item = json.loads(raw)
            custom_id: str = item["custom_id"]
            body: dict[str, Any] = item["body"]
            seed = hashlib.sha256(f"{record.id}\0{custom_id}".encode()).hexdigest()
            failure = _failure(body, record.model)
            if failure is None:
                answer, prompt_tokens, completion_tokens = _chat_answer(
                    body, seed, created, str(body.get("model") or record.model)
                )
                input_tokens += prompt_tokens
                output_tokens += completion_tokens
                successes.push(
                    {"custom_id": custom_id, "response": {"status_code": 200, "body": answer}}
                )
            elif failure.status is None:
                failures.push(
                    {
                        "custom_id": custom_id,
                        "error": {"message": failure.message, "code": "emulated_error"},
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
                failures.push(
                    {
                        "custom_id": custom_id,
                        "response": {"status_code": failure.status, "body": envelope},
                    }
                )
        successes.flush()
        failures.flush()
        stamp = int(finished_at)

        def commit(sink: FileSink, lines: PairSwap, suffix: str) -> str | None:
            if lines.count == 0:
                return None
            return sink.commit(
                filename=f"{record.id}_{suffix}.jsonl",
                purpose="batch-api",
                created_at=stamp,
                expires_at=None,
            ).id

        output_id = commit(output, successes, "output")
        error_id = commit(error, failures, "error")
    return Settlement(output_id, error_id, input_tokens, output_tokens)


# deterministic answers


def _text(content: object) -> str:
    """The text of a message content: a string or a list of parts (non-text parts skipped)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _chat_answer(
    body: dict[str, Any], seed: str, created: int, model: str
) -> tuple[dict[str, Any], int, int]:
    texts: list[str] = []
    last_user = ""
    for item in body.get("messages") or []:
        if not isinstance(item, dict):
            continue
        text = _text(item.get("content"))
        texts.append(text)
        if item.get("role", "user") == "user":
            last_user = text
    reply = "echo: " + " ".join(last_user.split())[:40]
    prompt_tokens, completion_tokens = len(" ".join(texts).split()), len(reply.split())
    message: dict[str, Any] = {"role": "assistant", "content": reply, "tool_calls": []}
    finish = "stop"
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if isinstance(tools, list) and tools and (choice == "required" or isinstance(choice, dict)):
        wanted = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
        first = tools[0].get("function", {}) if isinstance(tools[0], dict) else {}
        name = wanted or first.get("name") or "tool"
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{seed[:24]}",
                    "type": "function",
                    "index": 0,
                    "function": {"name": name, "arguments": "{}"},
                }
            ],
        }
        finish = "tool_calls"
    answer = {
        "id": f"{seed[:16]}-EMU",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "prompt": [],
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish,
                "seed": int(seed[:12], 16),
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return answer, prompt_tokens, completion_tokens


MOUNT = ProviderMount(
    name=PROVIDER,
    prefix=PREFIX,
    api_base=f"{PREFIX}/v1",
    add_routes=add_routes,
    authenticate=authenticate,
    render_error=openai_emulator.render_error,  # the same envelope
    write_results=write_results,
)
