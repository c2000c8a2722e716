"""The Mistral Files and Batch Jobs API (providers/mistral.md) and its deterministic answers.

Routes, under ``/mistral``: ``POST/GET /v1/files``, ``GET/DELETE /v1/files/{id}``,
``GET /v1/files/{id}/content``, ``GET /v1/files/{id}/url`` (a signed URL served by
``GET /signed/{id}`` without a key), ``POST/GET /v1/batch/jobs``, ``GET/DELETE
/v1/batch/jobs/{id}``, ``POST /v1/batch/jobs/{id}/cancel``.

Jobs go QUEUED → RUNNING → SUCCESS on the store's clock (the finalizing phase is reported as
RUNNING); a job whose ``timeout_hours`` (or the emulator's completion window, whichever is
shorter) runs out first ends TIMEOUT_EXCEEDED with partial results. Each request is answered in
Mistral's native shape: a chat completion says ``"echo: "`` and the first 40 characters of the
last user text, calls the first tool when tools are given (arguments as an object), returns
thinking and text chunks for ``prompt_mode: "reasoning"`` and stops with ``length`` at
``max_tokens`` words; embeddings are derived from the SHA-256 of the input.

Per-request failures go to the error file: ``[[fail]]``/``[[fail:NNN]]`` as a ``response`` with
that status and an error body, ``[[error]]`` as a top-level ``error`` without a response, and a
chat, FIM, embeddings or moderation body with a parameter Mistral's schema lacks as a 422 with a
validation ``detail`` (Mistral's strictness). Where the wire spec is unverified the emulator
chooses: uploads without ``purpose`` are ``fine-tune``; ``expiry`` is in hours; every input
line needs a string ``custom_id``; cancelling or deleting a job in the wrong state is a 400.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import struct
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
from aiohttp import BodyPartReader, web

from .config import EmulatorConfig
from .markers import find_marker
from .mounts import ProviderMount
from .openai import conversation, echo_reply, word_count
from .store import (
    CHUNK_SIZE,
    TERMINAL_STATUSES,
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
from .web_support import (
    CONFIG,
    STORE,
    ApiError,
    current_context,
    read_json,
    send_file,
)

__all__ = [
    "ANSWERED_ENDPOINTS",
    "MOUNT",
    "PROVIDER",
    "add_routes",
    "file_json",
    "job_json",
    "scan_input",
    "write_results",
]

PROVIDER = "mistral"
PREFIX = "/mistral"

SPEC_ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/fim/completions",
    "/v1/moderations",
    "/v1/chat/moderations",
    "/v1/ocr",
    "/v1/classifications",
    "/v1/chat/classifications",
    "/v1/conversations",
    "/v1/audio/transcriptions",
)
ANSWERED_ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/fim/completions",
    "/v1/moderations",
    "/v1/chat/moderations",
)
FILE_PURPOSES = ("fine-tune", "batch", "ocr")
RESULT_PURPOSES = ("batch_result", "batch_error")
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_REQUESTS = 1_000_000
MAX_REPORTED_ERRORS = 100
MAX_FORM_FIELD = 64 * 1024
MAX_PAGE_SIZE = 1000
HOUR = 3600
MAX_TIMEOUT_HOURS = 167
SIGNED_ROUTE = "mistral-signed-download"

_STATUS = {
    "validating": "QUEUED",
    "in_progress": "RUNNING",
    "finalizing": "RUNNING",
    "completed": "SUCCESS",
    "failed": "FAILED",
    "expired": "TIMEOUT_EXCEEDED",
    "cancelling": "CANCELLATION_REQUESTED",
    "cancelled": "CANCELLED",
}
_WITH_RESULTS = frozenset({"completed", "expired", "cancelled"})

# The request schemas of the answered endpoints (mistralai 3.7): other keys are refused (422).
_FIELDS: dict[str, frozenset[str]] = {
    "/v1/chat/completions": frozenset(
        {
            "model",
            "messages",
            "temperature",
            "top_p",
            "max_tokens",
            "stream",
            "stop",
            "random_seed",
            "metadata",
            "response_format",
            "tools",
            "tool_choice",
            "presence_penalty",
            "frequency_penalty",
            "min_tokens",
            "repetition_penalty",
            "top_k",
            "logprobs",
            "top_logprobs",
            "prompt_logprobs",
            "top_prompt_logprobs",
            "n",
            "prediction",
            "parallel_tool_calls",
            "reasoning_effort",
            "prompt_mode",
            "guardrails",
            "prompt_cache_key",
            "service_tier",
            "safe_prompt",
        }
    ),
    "/v1/embeddings": frozenset(
        {"model", "input", "metadata", "output_dimension", "output_dtype", "encoding_format"}
    ),
    "/v1/fim/completions": frozenset(
        {
            "model",
            "prompt",
            "suffix",
            "temperature",
            "top_p",
            "max_tokens",
            "min_tokens",
            "stream",
            "stop",
            "random_seed",
            "metadata",
            "prompt_cache_key",
        }
    ),
    "/v1/moderations": frozenset({"model", "input", "metadata"}),
    "/v1/chat/moderations": frozenset({"model", "input"}),
}
_REQUIRED = {
    "/v1/chat/completions": "messages",
    "/v1/embeddings": "input",
    "/v1/fim/completions": "prompt",
    "/v1/moderations": "input",
    "/v1/chat/moderations": "input",
}
_ROLES = frozenset({"system", "user", "assistant", "tool"})

_SIGNING_KEY = secrets.token_bytes(32)
"""Signs download URLs; they stop working when the emulator's process ends."""


def _request_id() -> str:
    context = current_context()
    return context.request_id if context is not None else "req_" + secrets.token_hex(16)


def authenticate(request: web.Request, config: EmulatorConfig) -> None:
    """Accept ``Authorization: Bearer <key>`` (any non-empty key, or the configured one);
    signed download URLs need none."""
    if request.match_info.route.name == SIGNED_ROUTE:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "Unauthorized", code="unauthorized")
    if config.api_key is not None and not hmac.compare_digest(
        token.encode(), config.api_key.encode()
    ):
        raise ApiError(401, "Unauthorized", code="unauthorized")


def render_error(error: ApiError) -> web.Response:
    """Mistral's error bodies: ``{"message", "request_id"}`` (with ``code``/``param`` when
    known), and a validation ``detail`` list for 422."""
    body: dict[str, Any]
    if error.status == 422:
        loc: list[str] = ["body", error.param] if error.param else ["body"]
        body = {"detail": [{"type": error.code or "value_error", "loc": loc, "msg": error.message}]}
    else:
        body = {"message": error.message, "request_id": _request_id()}
        if error.code is not None:
            body["code"] = error.code
        if error.param is not None:
            body["param"] = error.param
    return web.json_response(body, status=error.status, headers=error.headers)


def add_routes(app: web.Application, prefix: str = PREFIX) -> None:
    """Add the Mistral files and batch-job routes to `app` (under `prefix` + /v1)."""
    base = prefix + "/v1"
    app.router.add_post(f"{base}/files", upload_file)
    app.router.add_get(f"{base}/files", list_files)
    app.router.add_get(f"{base}/files/{{file_id}}", retrieve_file)
    app.router.add_delete(f"{base}/files/{{file_id}}", delete_file)
    app.router.add_get(f"{base}/files/{{file_id}}/content", file_content)
    app.router.add_get(f"{base}/files/{{file_id}}/url", signed_url)
    app.router.add_get(f"{prefix}/signed/{{file_id}}", signed_download, name=SIGNED_ROUTE)
    app.router.add_post(f"{base}/batch/jobs", create_job)
    app.router.add_get(f"{base}/batch/jobs", list_jobs)
    app.router.add_get(f"{base}/batch/jobs/{{job_id}}", retrieve_job)
    app.router.add_delete(f"{base}/batch/jobs/{{job_id}}", delete_job)
    app.router.add_post(f"{base}/batch/jobs/{{job_id}}/cancel", cancel_job)


# JSON views


def _stamp(value: float | None) -> int | None:
    return None if value is None else int(value)


def _sample_type(purpose: str) -> str:
    if purpose in RESULT_PURPOSES:
        return purpose
    # No sample type is documented for fine-tune or OCR uploads; "instruct" is the nearest.
    return "batch_request" if purpose == "batch" else "instruct"


def file_json(record: FileRecord) -> dict[str, Any]:
    """The file object of a stored file (result files are purpose ``batch``)."""
    result = record.purpose in RESULT_PURPOSES
    return {
        "id": record.id,
        "object": "file",
        "bytes": record.bytes,
        "created_at": record.created_at,
        "filename": record.filename,
        "purpose": "batch" if result else record.purpose,
        "sample_type": _sample_type(record.purpose),
        "source": "mistral" if result else "upload",
        "num_lines": None,
        "mimetype": "application/jsonl" if record.filename.endswith(".jsonl") else None,
        "signature": None,
        "expires_at": record.expires_at,
        "visibility": "workspace",
    }


def _result_lines(store: Store, record: BatchRecord) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for file_id in (record.output_file_id, record.error_file_id):
        path = store.file_path(file_id) if file_id else None
        if path is not None:
            with path.open("rb") as handle:
                lines.extend(json.loads(raw) for raw in handle if raw.strip())
    return lines


def job_json(
    record: BatchRecord, state: Progress, *, outputs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The BatchJob object of a job in state `state`."""
    results = record.settled and state.status in _WITH_RESULTS
    return {
        "id": record.id,
        "object": "batch",
        "input_files": list(record.options.get("input_files", [record.input_file_id])),
        "metadata": record.metadata,
        "endpoint": record.endpoint,
        "model": record.model,
        "agent_id": None,
        "output_file": record.output_file_id if results else None,
        "error_file": record.error_file_id if results else None,
        "errors": record.validation_errors if state.status == "failed" else [],
        "outputs": outputs,
        "status": _STATUS[state.status],
        "created_at": int(record.created),
        "total_requests": state.total,
        "completed_requests": state.processed,
        "succeeded_requests": state.succeeded,
        "failed_requests": state.failed,
        "started_at": _stamp(state.in_progress_at),
        "completed_at": _stamp(state.finished_at),
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
        if sink.size > MAX_FILE_BYTES:
            raise ApiError(413, "File is too large. The maximum size is 512 MB.", param="file")


def _expiry(fields: dict[str, str], created_at: int) -> int | None:
    raw = fields.get("expiry")
    if raw is None or raw.strip() in ("", "null"):
        return None
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ApiError(422, "expiry must be a positive number of hours.", param="expiry")
    return created_at + int(raw) * HOUR


async def upload_file(request: web.Request) -> web.Response:
    """``POST /v1/files``: store a multipart upload, streamed to disk."""
    store = request.app[STORE]
    if not request.content_type.startswith("multipart/"):
        raise ApiError(422, "The request must be multipart/form-data.", param="file")
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
            raise ApiError(422, "Field required", param="file", code="missing")
        purpose = fields.get("purpose", "fine-tune")
        if purpose not in FILE_PURPOSES:
            raise ApiError(
                422,
                f"Input should be {', '.join(repr(p) for p in FILE_PURPOSES)}",
                param="purpose",
                code="enum",
            )
        visibility = fields.get("visibility", "workspace")
        if visibility not in ("workspace", "user"):
            raise ApiError(
                422, "Input should be 'workspace' or 'user'", param="visibility", code="enum"
            )
        if purpose in ("batch", "fine-tune") and not filename.endswith(".jsonl"):
            raise ApiError(400, f"Files with purpose '{purpose}' must be .jsonl files.")
        created_at = int(store.clock.now())
        record = await asyncio.to_thread(
            sink.commit,
            filename=filename,
            purpose=purpose,
            created_at=created_at,
            expires_at=_expiry(fields, created_at),
        )
    return web.json_response(file_json(record))


def _no_file(file_id: str) -> ApiError:
    return ApiError(404, f"File {file_id} not found.")


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
            422, f"{name} must be an integer from {low} to {high}.", param=name, code="int"
        )
    return value


def _bool_param(request: web.Request, name: str, default: bool) -> bool:
    raw = request.query.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(422, f"{name} must be a boolean.", param=name, code="bool_parsing")


def _page(request: web.Request, items: list[Any]) -> tuple[list[Any], int]:
    page = _int_param(request, "page", 0, 0, 1_000_000_000)
    size = _int_param(request, "page_size", 100, 1, MAX_PAGE_SIZE)
    return items[page * size : (page + 1) * size], len(items)


async def list_files(request: web.Request) -> web.Response:
    """``GET /v1/files``: newest first, page-numbered, with the usual filters."""
    records = await asyncio.to_thread(request.app[STORE].list_files)
    views = [file_json(r) for r in records if r.purpose in FILE_PURPOSES + RESULT_PURPOSES]
    purpose = request.query.get("purpose")
    if purpose is not None:
        views = [v for v in views if v["purpose"] == purpose]
    for name in ("sample_type", "source", "mimetypes"):
        wanted = request.query.getall(name, [])
        if wanted:
            key = "mimetype" if name == "mimetypes" else name
            views = [v for v in views if v[key] in wanted]
    search = request.query.get("search")
    if search:
        views = [v for v in views if search.lower() in v["filename"].lower()]
    data, total = _page(request, views)
    body: dict[str, Any] = {"data": data, "object": "list"}
    if _bool_param(request, "include_total", True):
        body["total"] = total
    return web.json_response(body)


async def retrieve_file(request: web.Request) -> web.Response:
    """``GET /v1/files/{id}``."""
    file_id = request.match_info["file_id"]
    record = await asyncio.to_thread(request.app[STORE].get_file, file_id)
    if record is None:
        raise _no_file(file_id)
    return web.json_response({**file_json(record), "deleted": False})


async def delete_file(request: web.Request) -> web.Response:
    """``DELETE /v1/files/{id}``."""
    file_id = request.match_info["file_id"]
    if not await asyncio.to_thread(request.app[STORE].delete_file, file_id):
        raise _no_file(file_id)
    return web.json_response({"id": file_id, "object": "file", "deleted": True})


async def file_content(request: web.Request) -> web.StreamResponse:
    """``GET /v1/files/{id}/content``: the stored bytes, streamed from disk."""
    file_id = request.match_info["file_id"]
    path = await asyncio.to_thread(request.app[STORE].file_path, file_id)
    if path is None:
        raise _no_file(file_id)
    return await send_file(request, path)


def _signature(file_id: str, expires: int) -> str:
    return hmac.new(_SIGNING_KEY, f"{file_id}\0{expires}".encode(), hashlib.sha256).hexdigest()


async def signed_url(request: web.Request) -> web.Response:
    """``GET /v1/files/{id}/url?expiry=<hours>``: a download URL that needs no key."""
    store = request.app[STORE]
    file_id = request.match_info["file_id"]
    hours = _int_param(request, "expiry", 24, 1, 168)
    if await asyncio.to_thread(store.get_file, file_id) is None:
        raise _no_file(file_id)
    expires = int(store.clock.now()) + hours * HOUR
    prefix = request.path[: request.path.rindex("/v1/files/")]
    url = request.url.origin().with_path(f"{prefix}/signed/{file_id}")
    query = {"expires": str(expires), "signature": _signature(file_id, expires)}
    return web.json_response({"url": str(url.with_query(query))})


async def signed_download(request: web.Request) -> web.StreamResponse:
    """The target of a signed URL."""
    store = request.app[STORE]
    file_id = request.match_info["file_id"]
    raw = request.query.get("expires", "")
    expires = int(raw) if raw.isdigit() else 0
    valid = hmac.compare_digest(request.query.get("signature", ""), _signature(file_id, expires))
    if not valid or store.clock.now() >= expires:
        raise ApiError(403, "The signed URL is invalid or has expired.")
    path = await asyncio.to_thread(store.file_path, file_id)
    if path is None:
        raise _no_file(file_id)
    return await send_file(request, path)


# batch jobs


def _metadata(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ApiError(422, "metadata must map strings to strings.", param="metadata")
    return dict(value)


def _timeout_hours(value: object) -> int:
    if value is None:
        return 24
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TIMEOUT_HOURS:
        raise ApiError(
            422,
            f"timeout_hours must be an integer from 1 to {MAX_TIMEOUT_HOURS} (under 7 days).",
            param="timeout_hours",
        )
    return value


async def create_job(request: web.Request) -> web.Response:
    """``POST /v1/batch/jobs``: create a job; its input is checked as the job is queued."""
    body = await read_json(request)
    endpoint = body.get("endpoint")
    if endpoint not in SPEC_ENDPOINTS:
        raise ApiError(
            422, f"endpoint must be one of {', '.join(SPEC_ENDPOINTS)}.", param="endpoint"
        )
    assert isinstance(endpoint, str)
    if endpoint not in ANSWERED_ENDPOINTS:
        raise ApiError(400, f"The emulator does not answer {endpoint} requests.")
    input_files = body.get("input_files")
    requests = body.get("requests")
    if bool(input_files) == bool(requests):
        raise ApiError(400, "Give either input_files or requests (and not both).")
    if input_files is not None and not (
        isinstance(input_files, list) and all(isinstance(f, str) and f for f in input_files)
    ):
        raise ApiError(422, "input_files must be a list of file ids.", param="input_files")
    if requests is not None and not (
        isinstance(requests, list)
        and all(isinstance(r, dict) and isinstance(r.get("body"), dict) for r in requests)
    ):
        raise ApiError(422, "requests must be a list of {custom_id, body}.", param="requests")
    if body.get("agent_id") is not None:
        raise ApiError(400, "The emulator does not run agents; give a model.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "A model (or an agent_id) is required.")
    store = request.app[STORE]
    config = request.app[CONFIG]
    job = _NewJob(
        endpoint=endpoint,
        model=model,
        input_files=list(input_files or []),
        requests=list(requests or []),
        metadata=_metadata(body.get("metadata")),
        timeout_hours=_timeout_hours(body.get("timeout_hours")),
    )
    payload = await asyncio.to_thread(_create, store, config, job)
    return web.json_response(payload)


@attrs.frozen(kw_only=True)
class _NewJob:
    endpoint: str
    model: str
    input_files: list[str]
    requests: list[dict[str, Any]]
    metadata: dict[str, str] | None
    timeout_hours: int


def _write_input(store: Store, job: _NewJob, target: Path) -> None:
    """Concatenate several input files (or write inline requests) as the job's snapshot."""
    with target.open("wb") as out:
        for request in job.requests:
            out.write(json.dumps(request, separators=(",", ":")).encode() + b"\n")
        for file_id in job.input_files:
            path = store.file_path(file_id)
            if path is None:
                raise _no_input(file_id)
            with path.open("rb") as handle:
                last = b"\n"
                while chunk := handle.read(CHUNK_SIZE):
                    out.write(chunk)
                    last = chunk[-1:]
                if last != b"\n":
                    out.write(b"\n")


def _no_input(file_id: str) -> ApiError:
    return ApiError(404, f"Input file {file_id} not found.")


def _create(store: Store, config: EmulatorConfig, job: _NewJob) -> dict[str, Any]:
    for file_id in job.input_files:
        file = store.get_file(file_id)
        if file is None:
            raise _no_input(file_id)
        if file.purpose != "batch":
            raise ApiError(
                400, f"File {file_id} has purpose '{file.purpose}'; batch inputs need 'batch'."
            )
    timings = Timings.from_config(config)
    window: float = job.timeout_hours * HOUR
    if timings.window is not None:  # the emulator's own (test) window, when shorter
        window = min(window, timings.window)
    record = BatchRecord(
        id=str(uuid.uuid4()),
        provider=PROVIDER,
        endpoint=job.endpoint,
        input_file_id=job.input_files[0] if job.input_files else "",
        created=store.clock.now(),
        seq=0,
        timings=attrs.evolve(timings, window=window),
        total=0,
        model=job.model,
        failing=[],
        validation_errors=[],
        metadata=job.metadata,
        options={
            "input_files": job.input_files,
            "timeout_hours": job.timeout_hours,
            "inline": bool(job.requests),
        },
    )
    if len(job.input_files) == 1 and not job.requests:
        snapshot = store.snapshot_input(job.input_files[0], record.id)
        if snapshot is None:
            raise _no_input(job.input_files[0])
    else:
        snapshot = store.input_path(record)
    try:
        if len(job.input_files) != 1 or job.requests:
            _write_input(store, job, snapshot)
        scan = scan_input(snapshot, job.endpoint)
        record.total = scan.total
        record.failing = scan.failing
        record.validation_errors = scan.errors
        state = store.add_batch(record)
    except BaseException:
        store.discard_snapshot(record.id)
        raise
    return job_json(record, state)


def _own_job(store: Store, job_id: str) -> tuple[BatchRecord, Progress]:
    found = store.get_batch(job_id)
    if found is None or found[0].provider != PROVIDER:
        raise ApiError(404, f"Batch job {job_id} not found.")
    return found


async def retrieve_job(request: web.Request) -> web.Response:
    """``GET /v1/batch/jobs/{id}?inline=<bool>``."""
    store = request.app[STORE]
    inline = _bool_param(request, "inline", False)
    record, state = await asyncio.to_thread(_own_job, store, request.match_info["job_id"])
    outputs = None
    if (inline or record.options.get("inline")) and state.status in _WITH_RESULTS:
        outputs = await asyncio.to_thread(_result_lines, store, record)
    return web.json_response(job_json(record, state, outputs=outputs))


_LIST_PARAMS = frozenset(
    {
        "page",
        "page_size",
        "model",
        "agent_id",
        "created_after",
        "created_by_me",
        "status",
        "order_by",
    }
)


def _created_after(request: web.Request) -> float | None:
    raw = request.query.get("created_after")
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ApiError(
            422, "created_after must be an ISO 8601 datetime.", param="created_after"
        ) from None


async def list_jobs(request: web.Request) -> web.Response:
    """``GET /v1/batch/jobs``: page-numbered with a total; every parameter that is not a known
    one is a metadata filter (metadata is form-exploded)."""
    order = request.query.get("order_by", "-created")
    if order not in ("created", "-created"):
        raise ApiError(422, "order_by must be 'created' or '-created'.", param="order_by")
    _bool_param(request, "created_by_me", False)  # every emulated job is the caller's
    after = _created_after(request)
    statuses = request.query.getall("status", [])
    model = request.query.get("model")
    filters = {k: v for k, v in request.query.items() if k not in _LIST_PARAMS}
    agent = request.query.get("agent_id")  # no emulated job runs an agent
    jobs = await asyncio.to_thread(request.app[STORE].list_batches)
    views = [
        job_json(record, state)
        for record, state in jobs
        if record.provider == PROVIDER
        and not agent
        and (after is None or record.created > after)
        and (model is None or record.model == model)
        and all((record.metadata or {}).get(k) == v for k, v in filters.items())
    ]
    if statuses:
        views = [v for v in views if v["status"] in statuses]
    if order == "created":
        views.reverse()
    data, total = _page(request, views)
    return web.json_response({"object": "list", "total": total, "data": data})


async def cancel_job(request: web.Request) -> web.Response:
    """``POST /v1/batch/jobs/{id}/cancel``."""
    store = request.app[STORE]
    job_id = request.match_info["job_id"]
    await asyncio.to_thread(_own_job, store, job_id)
    try:
        found = await asyncio.to_thread(store.cancel_batch, job_id)
    except CancelRejectedError as exc:
        status = _STATUS.get(exc.status, exc.status)
        raise ApiError(400, f"Cannot cancel a batch job with status {status}.") from None
    if found is None:
        raise ApiError(404, f"Batch job {job_id} not found.")
    return web.json_response(job_json(*found))


async def delete_job(request: web.Request) -> web.Response:
    """``DELETE /v1/batch/jobs/{id}``: only a job that has ended can be deleted."""
    store = request.app[STORE]
    job_id = request.match_info["job_id"]
    _, state = await asyncio.to_thread(_own_job, store, job_id)
    if state.status not in TERMINAL_STATUSES:
        raise ApiError(
            400, f"Cannot delete a batch job with status {_STATUS[state.status]}; cancel it first."
        )
    await asyncio.to_thread(store.delete_batch, job_id)
    return web.json_response({"id": job_id, "object": "batch", "deleted": True})


# input scan


@attrs.frozen
class ScanResult:
    """What one pass over a job's input found."""

    total: int
    failing: list[int]
    errors: list[dict[str, Any]]


def _request_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, raw


def scan_input(path: Path, endpoint: str) -> ScanResult:
    """Check a job's input lines (``{"custom_id", "body"}``) in one streaming pass.

    Problems with the file itself fail the job (``errors``: ``{message, count}``); problems with
    one request's body make that request fail when it runs.
    """
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    failing: list[int] = []
    count = 0

    def report(message: str) -> None:
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append({"message": message, "count": 1})

    for number, raw in _request_lines(path):
        index = count
        count += 1
        try:
            item = json.loads(raw)
        except ValueError:
            item = None
        if not isinstance(item, dict):
            report(f"Line {number} is not a valid JSON object.")
            continue
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            report(f"Line {number} has no custom_id string.")
        elif custom_id in seen:
            report(f"The custom_id '{custom_id}' on line {number} is used more than once.")
        else:
            seen.add(custom_id)
        body = item.get("body")
        if not isinstance(body, dict):
            report(f"Line {number}: 'body' must be a JSON object.")
            continue
        if _failure(body, endpoint) is not None:
            failing.append(index)
    if count == 0:
        report("The input has no requests.")
    elif count > MAX_REQUESTS:
        report(f"The input has {count} requests; at most {MAX_REQUESTS} may be pending.")
    return ScanResult(total=count, failing=failing, errors=errors)


# results


@attrs.frozen
class _Failure:
    status: int | None  # None: no HTTP response (a top-level error line)
    body: dict[str, Any]


def _invalid(loc: list[str | int], msg: str, kind: str) -> _Failure:
    return _Failure(422, {"detail": [{"type": kind, "loc": ["body", *loc], "msg": msg}]})


def _failure(body: dict[str, Any], endpoint: str) -> _Failure | None:
    marker = find_marker(json.dumps(body, ensure_ascii=False))
    if marker is not None:
        if marker.status is None:
            return _Failure(
                None,
                {
                    "code": "emulated_error",
                    "message": "Emulated processing error (the request holds [[error]]).",
                },
            )
        return _Failure(
            marker.status,
            {
                "object": "error",
                "message": f"Emulated failure with status {marker.status} (marker in request).",
                "type": "invalid_request_error" if marker.status < 500 else "server_error",
                "param": None,
                "code": None,
            },
        )
    for key in body:
        if key not in _FIELDS[endpoint]:
            return _invalid([key], "Extra inputs are not permitted", "extra_forbidden")
    required = _REQUIRED[endpoint]
    if body.get(required) in (None, "", []):
        return _invalid([required], "Field required", "missing")
    if endpoint == "/v1/chat/completions":
        if not isinstance(body["messages"], list):
            return _invalid(["messages"], "Input should be a valid list", "list_type")
        for index, message in enumerate(body["messages"]):
            if not isinstance(message, dict) or message.get("role") not in _ROLES:
                return _invalid(["messages", index], "Invalid message role", "union_tag_invalid")
    return None


def write_results(
    store: Store, record: BatchRecord, processed: int, finished_at: float
) -> Settlement:
    """Answer the first `processed` requests of a job into its output and error files."""
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
            failure = _failure(body, record.endpoint)
            if failure is None:
                answer = _ANSWERS[record.endpoint](body, seed, created, record.model or "")
                input_tokens += answer.input_tokens
                output_tokens += answer.output_tokens
                successes.push(
                    {
                        "custom_id": custom_id,
                        "response": {"status_code": 200, "body": answer.body},
                    }
                )
            elif failure.status is None:
                failures.push({"custom_id": custom_id, "error": failure.body})
            else:
                failures.push(
                    {
                        "custom_id": custom_id,
                        "response": {"status_code": failure.status, "body": failure.body},
                    }
                )
        successes.flush()
        failures.flush()
        stamp = int(finished_at)

        def commit(sink: FileSink, lines: PairSwap, purpose: str, suffix: str) -> str | None:
            if lines.count == 0:
                return None
            # Results "do not expire at this time".
            return sink.commit(
                filename=f"{record.id}_{suffix}.jsonl",
                purpose=purpose,
                created_at=stamp,
                expires_at=None,
            ).id

        output_id = commit(output, successes, "batch_result", "output")
        error_id = commit(error, failures, "batch_error", "error")
    return Settlement(output_id, error_id, input_tokens, output_tokens)


# deterministic answers


@attrs.frozen
class _Answer:
    body: dict[str, Any]
    input_tokens: int
    output_tokens: int


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _tool_call(body: dict[str, Any], seed: str) -> dict[str, Any] | None:
    tools = body.get("tools")
    choice = body.get("tool_choice", "auto")
    if not isinstance(tools, list) or not tools or choice == "none":
        return None
    name = None
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
    if name is None:
        first = tools[0].get("function") if isinstance(tools[0], dict) else None
        name = first.get("name") if isinstance(first, dict) else "tool"
    call_id = "".join(c for c in seed if c.isalnum())[:9]
    # Mistral may send arguments as an object (the SDK types them str | dict).
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": {"echo": True}},
        "index": 0,
    }


def _chat_answer(body: dict[str, Any], seed: str, created: int, model: str) -> _Answer:
    prompt, last_user = conversation(body.get("messages"))
    reply = echo_reply(last_user)
    finish = "stop"
    limit = body.get("max_tokens")
    if isinstance(limit, int) and 0 < limit < word_count(reply):
        reply = " ".join(reply.split()[:limit])
        finish = "length"
    content: object = reply
    if body.get("prompt_mode") == "reasoning":
        content = [
            {"type": "thinking", "thinking": [{"type": "text", "text": "thinking: " + reply}]},
            {"type": "text", "text": reply},
        ]
    call = _tool_call(body, seed)
    if call is not None:
        content, reply, finish = "", "", "tool_calls"
    n = body.get("n")
    count = n if isinstance(n, int) and 1 <= n <= 16 else 1
    message = {
        "role": "assistant",
        "content": content,
        "tool_calls": [call] if call is not None else None,
        "prefix": False,
    }
    prompt_tokens, completion_tokens = word_count(prompt), max(word_count(reply), 1) * count
    return _Answer(
        {
            "id": seed[:32],
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {"index": i, "message": message, "finish_reason": finish} for i in range(count)
            ],
            "usage": _usage(prompt_tokens, completion_tokens),
        },
        prompt_tokens,
        completion_tokens,
    )


def _fim_answer(body: dict[str, Any], seed: str, created: int, model: str) -> _Answer:
    prompt = body["prompt"] if isinstance(body.get("prompt"), str) else ""
    reply = echo_reply(prompt)
    prompt_tokens, completion_tokens = word_count(prompt), word_count(reply)
    message = {"role": "assistant", "content": reply, "tool_calls": None, "prefix": False}
    return _Answer(
        {
            "id": seed[:32],
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": _usage(prompt_tokens, completion_tokens),
        },
        prompt_tokens,
        completion_tokens,
    )


def _vector(item: object, dimensions: int) -> list[float]:
    seed = json.dumps(item, ensure_ascii=False).encode()
    data = bytearray()
    counter = 0
    while len(data) < dimensions:
        data += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return [round(byte / 127.5 - 1.0, 6) for byte in data[:dimensions]]


def _embedding_answer(body: dict[str, Any], seed: str, created: int, model: str) -> _Answer:
    del created
    source = body.get("input")
    inputs = source if isinstance(source, list) else [source]
    size = body.get("output_dimension")
    dimensions = size if isinstance(size, int) and 1 <= size <= 4096 else 8
    data = []
    tokens = 0
    for index, item in enumerate(inputs):
        vector = _vector(item, dimensions)
        embedding: list[float] | str = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "embedding": embedding, "index": index})
        tokens += word_count(item) if isinstance(item, str) else 0
    return _Answer(
        {
            "id": seed[:32],
            "object": "list",
            "data": data,
            "model": model,
            "usage": _usage(tokens, 0),
        },
        tokens,
        0,
    )


_MODERATION_CATEGORIES = (
    "sexual",
    "hate_and_discrimination",
    "violence_and_threats",
    "dangerous_and_criminal_content",
    "selfharm",
    "health",
    "financial",
    "law",
    "pii",
)


def _moderation_answer(body: dict[str, Any], seed: str, created: int, model: str) -> _Answer:
    del created
    source = body.get("input")
    if isinstance(source, list) and source and all(isinstance(x, dict) for x in source):
        source = [source]  # chat moderation of one conversation
    inputs = source if isinstance(source, list) else [source]
    result = {
        "categories": dict.fromkeys(_MODERATION_CATEGORIES, False),
        "category_scores": dict.fromkeys(_MODERATION_CATEGORIES, 0.0),
    }
    return _Answer({"id": seed[:32], "model": model, "results": [result] * len(inputs)}, 0, 0)


_ANSWERS: dict[str, Callable[[dict[str, Any], str, int, str], _Answer]] = {
    "/v1/chat/completions": _chat_answer,
    "/v1/embeddings": _embedding_answer,
    "/v1/fim/completions": _fim_answer,
    "/v1/moderations": _moderation_answer,
    "/v1/chat/moderations": _moderation_answer,
}


MOUNT = ProviderMount(
    name=PROVIDER,
    prefix=PREFIX,
    api_base=PREFIX,
    add_routes=add_routes,
    authenticate=authenticate,
    render_error=render_error,
    write_results=write_results,
)
