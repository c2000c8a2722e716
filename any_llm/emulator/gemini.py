"""The Gemini Developer API batch mode (providers/gemini.md) and its deterministic answers.

Routes, under ``/gemini`` and for both API versions ``v1beta`` and ``v1`` (``{v}``):

- ``POST /upload/{v}/files``: the resumable upload protocol. ``start`` answers the session URL
  in ``x-goog-upload-url``; ``upload`` / ``upload, finalize`` / ``query`` go to that URL. A
  chunk's ``X-Goog-Upload-Offset`` must be the number of bytes the session holds, else it is a
  400 ``Invalid X-Goog-Upload-Offset`` (so a chunk sent again after its answer was lost is
  refused); a chunk sent after the ``finalize`` is a 400 too. ``query`` answers
  ``x-goog-upload-status`` (``active`` or ``final``) and ``x-goog-upload-size-received``, and
  once final the finalize's answer ``{"file": File}`` again. A chunk broken off by a
  ``reset_mid_chunk`` fault leaves the bytes received stored, anywhere in the chunk.
- ``GET /{v}/files``, ``GET/DELETE /{v}/files/{id}``, ``GET /{v}/files/{id}:download`` and
  ``GET /download/{v}/files/{id}:download`` (``alt=media``; any uploaded or generated file).
- ``POST /{v}/models/{model}:batchGenerateContent``: inline requests (the create body must stay
  under ``INLINE_REQUEST_MAX_BYTES``, each request is checked at once: a bad one is a 400) or
  ``inputConfig.fileName`` (lines checked as the batch runs).
- ``GET /{v}/batches`` (``pageSize``, ``pageToken``), ``GET/DELETE /{v}/batches/{id}``,
  ``POST /{v}/batches/{id}:cancel`` and ``POST /{v}/batches/{id}:delete``.

Batches are long-running operations named ``batches/{id}``: PENDING → RUNNING (the store's
in_progress and finalizing phases) → SUCCEEDED on the store's clock; there is no cancelling
state on the wire (a batch being cancelled still says RUNNING or PENDING); a batch still
running after the completion window (48 h unless the emulator's window is set) ends EXPIRED
with no results, a cancelled one keeps the results of the requests already run. Results are a
``responsesFile`` (file input) or ``inlinedResponses`` inside the batch (inline input), in
pairwise swapped order, so that clients must join them on their key.

Each request is answered in Gemini's native shape: the text ``"echo: "`` and the first 40
characters of the last user text (as ``{"echo": ...}`` with ``responseMimeType:
application/json``), a ``functionCall`` of the first allowed function when ``toolConfig`` forces
a call (mode ANY), ``MAX_TOKENS`` at ``maxOutputTokens`` words and ``candidateCount``
candidates; usage counts words. ``[[fail]]`` / ``[[fail:NNN]]`` fail a request with that status
and ``[[error]]`` with INTERNAL: as ``{"code": <HTTP>, "message", "status"}`` in a responses
file, as ``{"code": <gRPC>, "message", "details": []}`` inline (the spec's two shapes).

Choices where the spec is unverified: a missing or wrong key is a 401 UNAUTHENTICATED; upload
chunks are authenticated by their session id (as the official SDK sends them, without the key);
every line of an input file needs a string ``key``; uploaded files expire after 48 h, generated
ones do not; cancelling an ended batch is a 400 FAILED_PRECONDITION. Upload sessions take the
strict reading: an offset other than the bytes held is refused (a server did so in issue 11's
adversarial pass; the official SDK never sends one), and a query of a final session carries the
File (Google's own resumable-upload client, google-api-ruby-client's ``upload.rb``, takes a
final query's answer as the upload's result).
"""

from __future__ import annotations

import asyncio
import base64
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
    FileRecord,
    FileSink,
    PairSwap,
    Progress,
    Settlement,
    Store,
    Timings,
    paginate,
    progress,
)
from .web_support import CONFIG, STORE, ApiError, current_context, send_file

__all__ = ["INLINE_REQUEST_MAX_BYTES", "MOUNT", "PROVIDER", "add_routes", "operation_json"]

PROVIDER = "gemini"
PREFIX = "/gemini"
VERSION = "{version:v1beta|v1}"
INLINE_REQUEST_MAX_BYTES = 20_000_000
MAX_FILE_BYTES = 2_000_000_000
FILE_TTL = 48 * 3600
EXPIRY = 48 * 3600
FILE_PAGE_DEFAULT, FILE_PAGE_MAX = 10, 100
BATCH_PAGE_MAX = 1000
BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
UPLOADED, GENERATED, INTERNAL = "gemini:uploaded:", "gemini:generated:", "gemini:internal"
"""File purposes: the MIME type follows the first two; inline inputs and results are internal
(the batch carries them), never listed."""
RESULTS_MIME = "application/jsonl"

_HTTP_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_GRPC = {
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "NOT_IMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "UNAUTHENTICATED": 16,
}
_UPLOAD_PATH = re.compile(r"/upload/(v1beta|v1)/files")


def _status_name(status: int) -> str:
    return _HTTP_STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")


def authenticate(request: web.Request, config: EmulatorConfig) -> None:
    """Accept ``x-goog-api-key`` (or ``?key=``): any non-empty key, or the configured one.

    Upload chunks sent to a session URL carry no key: the session id is their credential.
    """
    if "upload_id" in request.query and _UPLOAD_PATH.search(request.path):
        return
    key = (request.headers.get("x-goog-api-key") or request.query.get("key") or "").strip()
    if not key:
        raise ApiError(
            401,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
            code="UNAUTHENTICATED",
        )
    if config.api_key is not None and not hmac.compare_digest(
        key.encode(), config.api_key.encode()
    ):
        raise ApiError(
            401, "API key not valid. Please pass a valid API key.", code="UNAUTHENTICATED"
        )


def render_error(error: ApiError) -> web.Response:
    """Google's error envelope: ``{"error": {"code", "message", "status"}}``."""
    code = error.code
    name = code if code and code.isupper() else _status_name(error.status)
    body = {"error": {"code": error.status, "message": error.message, "status": name}}
    return web.json_response(body, status=error.status, headers=error.headers)


def add_routes(app: web.Application, prefix: str = PREFIX) -> None:
    """Add the Gemini files and batches routes to `app` under `prefix`."""
    app[UPLOADS] = _Uploads()

    async def drop_open_sessions(app: web.Application) -> None:
        # An upload never finalized holds an open file: drop it when the server stops.
        for session in app[UPLOADS].sessions.values():
            if session.final is None:
                session.sink.discard()

    app.on_cleanup.append(drop_open_sessions)
    files = f"{prefix}/{VERSION}/files"
    batches = f"{prefix}/{VERSION}/batches"
    file_id = "{file_id:[^/:]+}"
    batch_id = "{batch_id:[^/:]+}"
    router = app.router
    router.add_post(f"{prefix}/upload/{VERSION}/files", upload)
    router.add_get(files, list_files)
    router.add_get(f"{files}/{file_id}", get_file)
    router.add_delete(f"{files}/{file_id}", delete_file)
    router.add_get(f"{files}/{file_id}:download", download_file)
    router.add_get(f"{prefix}/download/{VERSION}/files/{file_id}:download", download_file)
    router.add_post(
        f"{prefix}/{VERSION}/models/{{model:[^/:]+}}:batchGenerateContent", create_batch
    )
    router.add_get(batches, list_batches)
    router.add_get(f"{batches}/{batch_id}", get_batch)
    router.add_delete(f"{batches}/{batch_id}", delete_batch)
    router.add_post(f"{batches}/{batch_id}:delete", delete_batch)
    router.add_post(f"{batches}/{batch_id}:cancel", cancel_batch)


# JSON views


def rfc3339(stamp: float) -> str:
    """Unix seconds as RFC 3339 with microseconds, in UTC."""
    return datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _gemini_id(record_id: str) -> str:
    """Gemini file ids are lowercase letters and digits: the store's id without its dash."""
    return record_id.replace("-", "")


def _store_id(gemini_id: str) -> str:
    if gemini_id.startswith("file") and "-" not in gemini_id:
        return "file-" + gemini_id[4:]
    return gemini_id


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def file_json(record: FileRecord, origin: str, version: str) -> dict[str, Any]:
    """The File resource of a stored file."""
    gid = _gemini_id(record.id)
    generated = record.purpose.startswith(GENERATED)
    mime = record.purpose.split(":", 2)[2] if record.purpose.count(":") >= 2 else RESULTS_MIME
    data: dict[str, Any] = {
        "name": f"files/{gid}",
        "displayName": record.filename,
        "mimeType": mime,
        "sizeBytes": str(record.bytes),
        "createTime": rfc3339(record.created_at),
        "updateTime": rfc3339(record.created_at),
        "sha256Hash": base64.b64encode(bytes.fromhex(record.sha256)).decode(),
        "uri": f"{origin}{PREFIX}/{version}/files/{gid}",
        "state": "ACTIVE",
        "source": "GENERATED" if generated else "UPLOADED",
    }
    if record.expires_at is not None:
        data["expirationTime"] = rfc3339(record.expires_at)
    if generated:
        data["downloadUri"] = f"{origin}{PREFIX}/download/{version}/files/{gid}:download?alt=media"
    return data


def _wire_state(state: Progress) -> str:
    status = state.status
    if status == "cancelling":  # no cancelling state on this API
        status = "in_progress" if state.in_progress_at is not None else "validating"
    return {
        "validating": "BATCH_STATE_PENDING",
        "in_progress": "BATCH_STATE_RUNNING",
        "finalizing": "BATCH_STATE_RUNNING",
        "completed": "BATCH_STATE_SUCCEEDED",
        "failed": "BATCH_STATE_FAILED",
        "cancelled": "BATCH_STATE_CANCELLED",
        "expired": "BATCH_STATE_EXPIRED",
    }[status]


def _jsonl(path: Path | None) -> Iterator[dict[str, Any]]:
    if path is None:
        return
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                yield json.loads(raw)


def operation_json(store: Store, record: BatchRecord, state: Progress) -> dict[str, Any]:
    """The long-running operation of a batch in state `state` (reads inline inputs/results)."""
    options = record.options
    name = f"batches/{record.id}"
    stamps = [
        record.created,
        state.in_progress_at,
        state.finalizing_at,
        state.cancelling_at,
        state.finished_at,
    ]
    updated = max(s for s in stamps if s is not None)
    metadata: dict[str, Any] = {
        "@type": BATCH_TYPE,
        "name": name,
        "displayName": options.get("display_name", ""),
        "model": options["model"],
        "createTime": rfc3339(record.created),
        "updateTime": rfc3339(updated),
        "batchStats": {
            "requestCount": str(record.total),
            "successfulRequestCount": str(state.succeeded),
            "failedRequestCount": str(state.failed),
            "pendingRequestCount": str(record.total - state.processed),
        },
        "state": _wire_state(state),
        "priority": str(options.get("priority", 0)),
    }
    if options.get("mode") == "inline":
        metadata["inputConfig"] = {
            "requests": {"requests": list(_jsonl(store.file_path(record.input_file_id)))}
        }
    else:
        metadata["inputConfig"] = {"fileName": options["file_name"]}
    done = state.status in TERMINAL_STATUSES
    operation: dict[str, Any] = {"name": name, "metadata": metadata, "done": done}
    if done and state.finished_at is not None:
        metadata["endTime"] = rfc3339(state.finished_at)
    output: dict[str, Any] | None = None
    if done and record.settled and record.output_file_id is not None:
        if options.get("mode") == "inline":
            responses = list(_jsonl(store.file_path(record.output_file_id)))
            output = {"inlinedResponses": {"inlinedResponses": responses}}
        else:
            output = {"responsesFile": f"files/{_gemini_id(record.output_file_id)}"}
    if output is not None:
        metadata["output"] = output
        operation["response"] = {"@type": OUTPUT_TYPE, **output}
    if state.status == "failed":
        message = "; ".join(str(e.get("message")) for e in record.validation_errors)
        operation["error"] = {"code": _GRPC["INVALID_ARGUMENT"], "message": message}
    return operation


# files and uploads


@attrs.define
class _Session:
    display_name: str
    mime_type: str
    declared: int | None
    sink: FileSink
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    received: int = 0
    final: dict[str, Any] | None = None


class _Uploads:
    """The resumable upload sessions of one emulator (lost on restart, as sessions expire)."""

    def __init__(self) -> None:
        self.sessions: dict[str, _Session] = {}


UPLOADS = web.AppKey("any_llm_gemini_uploads", _Uploads)


def takes_chunk(request: web.Request) -> bool:
    """A chunk of a resumable upload: sent to a session URL with the ``upload`` command."""
    if "upload_id" not in request.query or not _UPLOAD_PATH.search(request.path):
        return False
    commands = request.headers.get("X-Goog-Upload-Command", "").split(",")
    return "upload" in {c.strip().lower() for c in commands}


def _upload_headers(status: str, received: int) -> dict[str, str]:
    return {"x-goog-upload-status": status, "x-goog-upload-size-received": str(received)}


async def upload(request: web.Request) -> web.Response:
    """``POST /upload/{v}/files``: start a session, or take a chunk of one."""
    upload_id = request.query.get("upload_id")
    if upload_id is None:
        return await _start_upload(request)
    session = request.app[UPLOADS].sessions.get(upload_id)
    if session is None:
        raise ApiError(404, f"No upload session {upload_id!r}.")
    commands = {
        c.strip().lower() for c in request.headers.get("X-Goog-Upload-Command", "").split(",")
    }
    async with session.lock:
        if "query" in commands:
            if session.final is not None:
                headers = _upload_headers("final", session.received)
                return web.json_response(session.final, headers=headers)
            return web.Response(headers=_upload_headers("active", session.received))
        if not commands & {"upload", "finalize"}:
            raise ApiError(400, "X-Goog-Upload-Command must be upload, finalize or query.")
        return await _take_chunk(request, session, commands)


async def _start_upload(request: web.Request) -> web.Response:
    if request.headers.get("X-Goog-Upload-Protocol", "").lower() != "resumable":
        raise ApiError(400, "Only the resumable upload protocol is emulated.")
    if request.headers.get("X-Goog-Upload-Command", "").strip().lower() != "start":
        raise ApiError(400, "A resumable upload starts with X-Goog-Upload-Command: start.")
    raw = await request.read()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError(400, "Invalid JSON payload received.") from None
    file = body.get("file", {}) if isinstance(body, dict) else None
    if not isinstance(file, dict):
        raise ApiError(400, "Invalid JSON payload received: 'file' must be an object.")
    for key in file:
        if key not in (
            "displayName",
            "display_name",
            "mimeType",
            "mime_type",
            "sizeBytes",
            "size_bytes",
        ):
            raise ApiError(400, f"The file field {key!r} is not emulated.")
    declared_raw = request.headers.get("X-Goog-Upload-Header-Content-Length")
    declared: int | None = None
    if declared_raw is not None:
        if not declared_raw.strip().isdigit():
            raise ApiError(400, "X-Goog-Upload-Header-Content-Length must be a byte count.")
        declared = int(declared_raw)
        if declared > MAX_FILE_BYTES:
            raise ApiError(400, f"Files are limited to {MAX_FILE_BYTES} bytes.")
    mime = (
        file.get("mimeType")
        or file.get("mime_type")
        or request.headers.get("X-Goog-Upload-Header-Content-Type")
        or "application/octet-stream"
    )
    display = (
        file.get("displayName")
        or file.get("display_name")
        or request.headers.get("X-Goog-Upload-File-Name", "")
    )
    upload_id = secrets.token_urlsafe(24)
    session = _Session(
        display_name=str(display),
        mime_type=str(mime),
        declared=declared,
        sink=request.app[STORE].new_file(),
    )
    request.app[UPLOADS].sessions[upload_id] = session
    version = request.match_info["version"]
    url = (
        f"{_origin(request)}{PREFIX}/upload/{version}/files"
        f"?upload_id={upload_id}&upload_protocol=resumable"
    )
    headers = {
        **_upload_headers("active", 0),
        "x-goog-upload-url": url,
        "x-goog-upload-control-url": url,
        "x-goog-upload-chunk-granularity": "262144",
    }
    return web.Response(headers=headers)


async def _take_chunk(request: web.Request, session: _Session, commands: set[str]) -> web.Response:
    raw_offset = request.headers.get("X-Goog-Upload-Offset", "")
    if not raw_offset.strip().isdigit():
        raise ApiError(400, "X-Goog-Upload-Offset must be a byte offset.")
    offset = int(raw_offset)
    version = request.match_info["version"]
    if session.final is not None:
        raise ApiError(
            400,
            "The upload is already finalized; query the session for its answer.",
            headers=_upload_headers("final", session.received),
        )
    if offset != session.received:
        raise ApiError(
            400,
            f"Invalid X-Goog-Upload-Offset {offset}: the upload holds {session.received} "
            "bytes (X-Goog-Upload-Command: query tells where to resume).",
            headers=_upload_headers("active", session.received),
        )
    context = current_context()
    keep = context.keep_after if context is not None else None
    read = 0
    while keep is None or read < keep:
        want = CHUNK_SIZE if keep is None else min(CHUNK_SIZE, keep - read)
        chunk = await request.content.read(want)
        if not chunk:
            break
        read += len(chunk)
        session.sink.write(chunk)
        session.received += len(chunk)
        if session.received > MAX_FILE_BYTES:
            raise ApiError(413, f"Files are limited to {MAX_FILE_BYTES} bytes.")
    if keep is not None:  # broken off mid-chunk: the bytes received stay, nothing is final
        return web.Response(headers=_upload_headers("active", session.received))
    if "finalize" not in commands:
        return web.Response(headers=_upload_headers("active", session.received))
    if session.declared is not None and session.received != session.declared:
        raise ApiError(
            400,
            f"The upload holds {session.received} bytes, not the "
            f"{session.declared} announced at its start.",
            headers=_upload_headers("active", session.received),
        )
    store = request.app[STORE]
    created = int(store.clock.now())
    record = await asyncio.to_thread(
        session.sink.commit,
        filename=session.display_name,
        purpose=UPLOADED + session.mime_type,
        created_at=created,
        expires_at=created + FILE_TTL,
    )
    session.final = {"file": file_json(record, _origin(request), version)}
    return web.json_response(session.final, headers=_upload_headers("final", session.received))


def _visible(record: FileRecord | None) -> bool:
    return record is not None and record.purpose.startswith((UPLOADED, GENERATED))


def _no_file(file_id: str) -> ApiError:
    return ApiError(404, f"File files/{file_id} was not found.", code="NOT_FOUND")


async def _own_file(request: web.Request) -> FileRecord:
    file_id = request.match_info["file_id"]
    record = await asyncio.to_thread(request.app[STORE].get_file, _store_id(file_id))
    if record is None or not _visible(record):
        raise _no_file(file_id)
    return record


def _page_size(request: web.Request, default: int, maximum: int) -> int:
    raw = request.query.get("pageSize")
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid value for pageSize: {raw!r}.") from None
    if size < 0:
        raise ApiError(400, "pageSize must not be negative.")
    return default if size == 0 else min(size, maximum)


async def list_files(request: web.Request) -> web.Response:
    """``GET /{v}/files``: uploaded and generated files, newest first."""
    size = _page_size(request, FILE_PAGE_DEFAULT, FILE_PAGE_MAX)
    records = [r for r in await asyncio.to_thread(request.app[STORE].list_files) if _visible(r)]
    token = request.query.get("pageToken") or None
    page = paginate(records, lambda r: _gemini_id(r.id), token, size)
    if page is None:
        raise ApiError(400, "Invalid page token.")
    items, more = page
    origin, version = _origin(request), request.match_info["version"]
    data: dict[str, Any] = {}
    if items:
        data["files"] = [file_json(r, origin, version) for r in items]
    if more:
        data["nextPageToken"] = _gemini_id(items[-1].id)
    return web.json_response(data)


async def get_file(request: web.Request) -> web.Response:
    """``GET /{v}/files/{id}``."""
    record = await _own_file(request)
    return web.json_response(file_json(record, _origin(request), request.match_info["version"]))


async def delete_file(request: web.Request) -> web.Response:
    """``DELETE /{v}/files/{id}``."""
    record = await _own_file(request)
    await asyncio.to_thread(request.app[STORE].delete_file, record.id)
    return web.json_response({})


async def download_file(request: web.Request) -> web.StreamResponse:
    """``GET …/files/{id}:download?alt=media``: the bytes, streamed from disk."""
    if request.query.get("alt") != "media":
        raise ApiError(400, "Downloads need alt=media.")
    record = await _own_file(request)
    path = await asyncio.to_thread(request.app[STORE].file_path, record.id)
    if path is None:
        raise _no_file(request.match_info["file_id"])
    mime = record.purpose.split(":", 2)[2]
    return await send_file(request, path, content_type=mime)


# request checks


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def _unknown(name: str, where: str) -> str:
    return (
        f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
    )


_REQUEST_FIELDS = frozenset(
    {
        "contents",
        "systemInstruction",
        "tools",
        "toolConfig",
        "safetySettings",
        "generationConfig",
        "cachedContent",
        "model",
        "serviceTier",
    }
)
_GENERATION_FIELDS = frozenset(
    {
        "stopSequences",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "responseModalities",
        "candidateCount",
        "maxOutputTokens",
        "temperature",
        "topP",
        "topK",
        "seed",
        "presencePenalty",
        "frequencyPenalty",
        "responseLogprobs",
        "logprobs",
        "enableEnhancedCivicAnswers",
        "speechConfig",
        "thinkingConfig",
        "imageConfig",
        "mediaResolution",
    }
)
_PART_DATA = frozenset(
    {
        "text",
        "inlineData",
        "fileData",
        "functionCall",
        "functionResponse",
        "executableCode",
        "codeExecutionResult",
    }
)
_PART_EXTRA = frozenset({"thought", "thoughtSignature", "videoMetadata", "mediaResolution"})
_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_MODES = frozenset({"AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"})


def _norm(obj: dict[str, Any]) -> dict[str, Any]:
    return {_camel(k): v for k, v in obj.items()}


def _check_part(part: Any, where: str) -> str | None:
    if not isinstance(part, dict):
        return f"{where} must be an object."
    part = _norm(part)
    data = [k for k in part if k in _PART_DATA]
    for key in part:
        if key not in _PART_DATA and key not in _PART_EXTRA:
            return _unknown(key, where)
    if len(data) != 1:
        return f"{where} must hold exactly one of {', '.join(sorted(_PART_DATA))}."
    kind, value = data[0], part[data[0]]
    if kind == "text" and not isinstance(value, str):
        return f"{where}.text must be a string."
    if kind == "inlineData":
        blob = _norm(value) if isinstance(value, dict) else {}
        if not isinstance(blob.get("mimeType"), str) or not isinstance(blob.get("data"), str):
            return f"{where}.inline_data needs mime_type and data."
        if not _BASE64.fullmatch(blob["data"]):
            return f"{where}.inline_data.data is not valid base64."
    if kind == "fileData":
        blob = _norm(value) if isinstance(value, dict) else {}
        if not isinstance(blob.get("fileUri"), str):
            return f"{where}.file_data needs file_uri."
    if kind in ("functionCall", "functionResponse"):
        call = _norm(value) if isinstance(value, dict) else {}
        name = call.get("name")
        if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name):
            return f"{where}.{kind} needs a valid function name."
        payload = call.get("args" if kind == "functionCall" else "response")
        if payload is not None and not isinstance(payload, dict):
            return f"{where}.{kind} arguments must be an object."
    return None


def _check_content(content: Any, where: str, *, roles: tuple[str, ...]) -> str | None:
    if not isinstance(content, dict):
        return f"{where} must be an object."
    for key in content:
        if key not in ("role", "parts"):
            return _unknown(key, where)
    role = content.get("role")
    if role is not None and role not in roles:
        return f"{where}.role must be one of {', '.join(roles)}; got {role!r}."
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        return f"{where}.parts must be a non-empty list."
    for j, part in enumerate(parts):
        if problem := _check_part(part, f"{where}.parts[{j}]"):
            return problem
    return None


def _check_tools(tools: Any) -> tuple[str | None, set[str]]:
    names: set[str] = set()
    if not isinstance(tools, list):
        return "request.tools must be a list.", names
    for i, tool in enumerate(tools):
        where = f"request.tools[{i}]"
        if not isinstance(tool, dict) or not tool:
            return f"{where} must be a non-empty object.", names
        for key, value in _norm(tool).items():
            if key != "functionDeclarations":
                continue  # googleSearch, codeExecution, ...: accepted as is
            if not isinstance(value, list):
                return f"{where}.function_declarations must be a list.", names
            for j, declaration in enumerate(value):
                spot = f"{where}.function_declarations[{j}]"
                decl = _norm(declaration) if isinstance(declaration, dict) else {}
                name = decl.get("name")
                if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name):
                    return f"{spot}.name is missing or invalid.", names
                for field in decl:
                    if field not in (
                        "name",
                        "description",
                        "parameters",
                        "parametersJsonSchema",
                        "response",
                        "responseJsonSchema",
                        "behavior",
                    ):
                        return _unknown(field, spot), names
                if "parameters" in decl and "parametersJsonSchema" in decl:
                    return f"{spot}: set parameters or parameters_json_schema, not both.", names
                names.add(name)
    return None, names


def check_request(request: Any) -> str | None:
    """What is wrong with a ``GenerateContentRequest`` (camelCase or snake_case), if anything."""
    if not isinstance(request, dict):
        return "request must be an object."
    req = _norm(request)
    for key in req:
        if key not in _REQUEST_FIELDS:
            return _unknown(key, "request")
    contents = req.get("contents")
    if not isinstance(contents, list) or not contents:
        return "request.contents must be a non-empty list."
    for i, content in enumerate(contents):
        if problem := _check_content(content, f"request.contents[{i}]", roles=("user", "model")):
            return problem
    system = req.get("systemInstruction")
    if system is not None and (
        problem := _check_content(system, "request.system_instruction", roles=("user", "system"))
    ):
        return problem
    names: set[str] = set()
    if req.get("tools") is not None:
        problem, names = _check_tools(req["tools"])
        if problem:
            return problem
    tool_config = req.get("toolConfig")
    if tool_config is not None:
        calling = _norm(_norm(tool_config).get("functionCallingConfig") or {})
        mode = calling.get("mode", "AUTO")
        if mode not in _MODES:
            return f"request.tool_config.function_calling_config.mode {mode!r} is invalid."
        for name in calling.get("allowedFunctionNames") or []:
            if name not in names:
                return f"allowed function name {name!r} is not declared in request.tools."
    config = req.get("generationConfig")
    if config is not None:
        if not isinstance(config, dict):
            return "request.generation_config must be an object."
        for key, value in _norm(config).items():
            if key not in _GENERATION_FIELDS:
                return _unknown(key, "request.generation_config")
            if key in ("maxOutputTokens", "candidateCount", "topK") and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                return f"request.generation_config.{key} must be a positive integer."
            if key == "stopSequences" and (
                not isinstance(value, list) or not all(isinstance(s, str) for s in value)
            ):
                return "request.generation_config.stop_sequences must be a list of strings."
    return None


# batches


def _grpc_error(status: int, message: str) -> dict[str, Any]:
    return {"code": _GRPC.get(_status_name(status), 2), "message": message, "details": []}


def _http_error(status: int, message: str) -> dict[str, Any]:
    return {"code": status, "message": message, "status": _status_name(status)}


def _failure(request: Any, *, inline: bool) -> dict[str, Any] | None:
    """The error a request ends with: a failure marker, or a request Gemini would refuse."""
    make = _grpc_error if inline else _http_error
    marker = find_marker(json.dumps(request, ensure_ascii=False))
    if marker is not None:
        if marker.status is None:
            return make(500, "Emulated processing error (the request holds [[error]]).")
        return make(
            marker.status, f"Emulated failure with status {marker.status} (marker in request)."
        )
    problem = check_request(request)
    return None if problem is None else make(400, problem)


@attrs.frozen
class _NewBatch:
    model: str
    display_name: str
    priority: int
    inline: list[dict[str, Any]] | None
    file_name: str | None


def _priority(value: Any) -> int:
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid value at 'batch.priority': {value!r}.") from None


def _parse_create(model: str, body: Any) -> _NewBatch:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    for key in body:
        if key != "batch":
            raise ApiError(400, _unknown(key, ""))
    batch = body.get("batch")
    if not isinstance(batch, dict):
        raise ApiError(400, "Missing required field 'batch'.")
    batch = _norm(batch)
    output_only = {"name", "output", "createTime", "endTime", "updateTime", "batchStats", "state"}
    accepted = {"displayName", "inputConfig", "priority", "model", "webhookConfig"}
    for key in batch:
        if key not in accepted and key not in output_only:
            raise ApiError(400, _unknown(key, "batch"))
    if batch.get("model") not in (None, f"models/{model}"):
        raise ApiError(400, "batch.model differs from the model in the URL.")
    display = batch.get("displayName", "")
    if not isinstance(display, str):
        raise ApiError(400, "Invalid value at 'batch.display_name': expected a string.")
    source = batch.get("inputConfig")
    source = _norm(source) if isinstance(source, dict) else None
    if source is None or ("requests" in source) == ("fileName" in source):
        raise ApiError(400, "batch.input_config needs exactly one of requests or file_name.")
    for key in source:
        if key not in ("requests", "fileName"):
            raise ApiError(400, _unknown(key, "batch.input_config"))
    priority = _priority(batch.get("priority"))
    if "fileName" in source:
        name = source["fileName"]
        if not isinstance(name, str) or not name.startswith("files/"):
            raise ApiError(400, "batch.input_config.file_name must be 'files/<id>'.")
        return _NewBatch(model, display, priority, inline=None, file_name=name)
    holder = source["requests"]
    items = holder.get("requests") if isinstance(holder, dict) else None
    if not isinstance(items, list) or not items:
        raise ApiError(400, "batch.input_config.requests.requests must be a non-empty list.")
    lines: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        where = f"batch.input_config.requests.requests[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
            raise ApiError(400, f"{where}.request must be an object.")
        for key in item:
            if key not in ("request", "metadata"):
                raise ApiError(400, _unknown(key, where))
        meta = item.get("metadata")
        if meta is not None and (
            not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values())
        ):
            raise ApiError(400, f"{where}.metadata must map strings to strings.")
        if problem := check_request(item["request"]):
            raise ApiError(400, f"{where}: {problem}")
        line: dict[str, Any] = {"request": item["request"]}
        if meta is not None:
            line["metadata"] = meta
        lines.append(line)
    return _NewBatch(model, display, priority, inline=lines, file_name=None)


async def create_batch(request: web.Request) -> web.Response:
    """``POST /{v}/models/{model}:batchGenerateContent``."""
    limit = INLINE_REQUEST_MAX_BYTES
    raw = bytearray()
    received = 0
    while chunk := await request.content.read(CHUNK_SIZE):
        received += len(chunk)
        if received <= limit:
            raw += chunk
    if received > limit:  # read to the end (and dropped), so the connection stays usable
        raise ApiError(400, f"Request payload size exceeds the limit: {limit} bytes.")
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Invalid JSON payload received.") from None
    new = _parse_create(request.match_info["model"], body)
    store, config = request.app[STORE], request.app[CONFIG]
    operation = await asyncio.to_thread(_create, store, config, new)
    return web.json_response(operation)


def _write_inline(store: Store, lines: list[dict[str, Any]], batch_id: str) -> str:
    with store.new_file() as sink:
        for line in lines:
            sink.write(json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
        now = int(store.clock.now())
        return sink.commit(
            filename=f"batch-{batch_id}-requests.jsonl",
            purpose=INTERNAL,
            created_at=now,
            expires_at=None,
        ).id


def _create(store: Store, config: EmulatorConfig, new: _NewBatch) -> dict[str, Any]:
    batch_id = secrets.token_hex(10)
    if new.inline is not None:
        input_id = _write_inline(store, new.inline, batch_id)
    else:
        assert new.file_name is not None
        gid = new.file_name.removeprefix("files/")
        file = store.get_file(_store_id(gid))
        if file is None or not file.purpose.startswith(UPLOADED):
            raise ApiError(400, f"The input file {new.file_name} does not exist.")
        input_id = file.id
    snapshot = store.snapshot_input(input_id, batch_id)
    if snapshot is None:
        raise ApiError(400, f"The input file {new.file_name} does not exist.")
    try:
        scan = scan_input(snapshot, inline=new.inline is not None)
        timings = Timings.from_config(config)
        record = BatchRecord(
            id=batch_id,
            provider=PROVIDER,
            endpoint="batchGenerateContent",
            input_file_id=input_id,
            created=store.clock.now(),
            seq=0,
            timings=attrs.evolve(timings, window=timings.window or EXPIRY),
            total=scan.total,
            model=new.model,
            failing=scan.failing,
            validation_errors=scan.errors,
            metadata=None,
            options={
                "mode": "inline" if new.inline is not None else "file",
                "model": f"models/{new.model}",
                "display_name": new.display_name,
                "priority": new.priority,
                "file_name": new.file_name,
            },
        )
        state = store.add_batch(record)
    except BaseException:
        store.discard_snapshot(batch_id)
        raise
    return operation_json(store, record, state)


def _own_batch(store: Store, batch_id: str) -> tuple[BatchRecord, Progress]:
    found = store.get_batch(batch_id)
    if found is None or found[0].provider != PROVIDER:
        raise ApiError(404, f"Batch batches/{batch_id} was not found.", code="NOT_FOUND")
    return found


def _get(store: Store, batch_id: str) -> dict[str, Any]:
    return operation_json(store, *_own_batch(store, batch_id))


async def get_batch(request: web.Request) -> web.Response:
    """``GET /{v}/batches/{id}``."""
    operation = await asyncio.to_thread(_get, request.app[STORE], request.match_info["batch_id"])
    return web.json_response(operation)


def _list(store: Store, token: str | None, size: int) -> dict[str, Any]:
    found = [item for item in store.list_batches() if item[0].provider == PROVIDER]
    page = paginate(found, lambda item: item[0].id, token, size)
    if page is None:
        raise ApiError(400, "Invalid page token.")
    items, more = page
    data: dict[str, Any] = {"operations": [operation_json(store, *item) for item in items]}
    if more:
        data["nextPageToken"] = items[-1][0].id
    return data


async def list_batches(request: web.Request) -> web.Response:
    """``GET /{v}/batches``: newest first."""
    size = _page_size(request, request.app[CONFIG].page_size_default, BATCH_PAGE_MAX)
    token = request.query.get("pageToken") or None
    return web.json_response(await asyncio.to_thread(_list, request.app[STORE], token, size))


def _cancel(store: Store, batch_id: str) -> None:
    _own_batch(store, batch_id)
    try:
        store.cancel_batch(batch_id)
    except CancelRejectedError as exc:
        state = _wire_state(Progress(status=exc.status, total=0, processed=0, failed=0))
        raise ApiError(
            400,
            f"Batch batches/{batch_id} is in state {state} and cannot be cancelled.",
            code="FAILED_PRECONDITION",
        ) from None


async def cancel_batch(request: web.Request) -> web.Response:
    """``POST /{v}/batches/{id}:cancel``: answers ``{}``; the batch says CANCELLED later."""
    await asyncio.to_thread(_cancel, request.app[STORE], request.match_info["batch_id"])
    return web.json_response({})


def _delete(store: Store, batch_id: str) -> None:
    record, _state = _own_batch(store, batch_id)
    store.delete_batch(batch_id)
    if record.options.get("mode") == "inline":  # the batch held these; a responses file stays
        for file_id in (record.input_file_id, record.output_file_id):
            if file_id is not None:
                store.delete_file(file_id)


async def delete_batch(request: web.Request) -> web.Response:
    """``DELETE /{v}/batches/{id}`` (or ``POST …:delete``): forget the batch."""
    await asyncio.to_thread(_delete, request.app[STORE], request.match_info["batch_id"])
    return web.json_response({})


# input scan and results


@attrs.frozen
class ScanResult:
    """What one pass over a batch input found."""

    total: int
    failing: list[int]
    errors: list[dict[str, Any]]


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, raw


def scan_input(path: Path, *, inline: bool) -> ScanResult:
    """Check an input in one streaming pass: a malformed line fails the batch, a request
    Gemini would refuse (or one with a failure marker) fails alone."""
    errors: list[dict[str, Any]] = []
    failing: list[int] = []
    seen: set[str] = set()
    count = 0
    for number, raw in _lines(path):
        index, count = count, count + 1
        try:
            item = json.loads(raw)
        except ValueError:
            item = None
        problem = None
        if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
            problem = f"Line {number} is not a JSON object with a 'request' object."
        elif not inline:
            key = item.get("key")
            if not isinstance(key, str) or not key:
                problem = f"Line {number} has no 'key' string."
            elif key in seen:
                problem = f"The key '{key}' on line {number} is used more than once."
            else:
                seen.add(key)
        if problem is not None:
            if len(errors) < 100:
                errors.append({"code": "invalid_line", "message": problem, "line": number})
            continue
        assert isinstance(item, dict)
        if _failure(item["request"], inline=inline) is not None:
            failing.append(index)
    if count == 0:
        errors.append({"code": "empty_file", "message": "The input file has no requests."})
    return ScanResult(total=count, failing=failing, errors=errors)


def write_results(
    store: Store, record: BatchRecord, processed: int, finished_at: float
) -> Settlement:
    """Answer the first `processed` requests of an ended batch (none for an expired one)."""
    if progress(record, finished_at).status == "expired":
        return Settlement(None, None)  # Gemini returns nothing for an expired batch
    inline = record.options.get("mode") == "inline"
    input_tokens = output_tokens = 0
    with store.new_file() as sink:
        lines = PairSwap(sink)
        for index, (_number, raw) in enumerate(_lines(store.input_path(record))):
            if index >= processed:
                break
            item = json.loads(raw)
            request = item["request"]
            seed = hashlib.sha256(f"{record.id}\0{index}".encode()).hexdigest()
            error = _failure(request, inline=inline)
            result: dict[str, Any]
            if error is not None:
                result = {"error": error}
            else:
                response, used_in, used_out = answer(request, record.model or "", seed)
                input_tokens += used_in
                output_tokens += used_out
                result = {"response": response}
            if inline:
                lines.push(
                    {**({"metadata": item["metadata"]} if "metadata" in item else {}), **result}
                )
            else:
                lines.push({"key": item["key"], **result})
        lines.flush()
        if lines.count == 0:
            return Settlement(None, None)
        stamp = int(finished_at)
        output = sink.commit(
            filename=f"batch-{record.id}-responses.jsonl",
            purpose=INTERNAL if inline else GENERATED + RESULTS_MIME,
            created_at=stamp,
            expires_at=None,
        )
    return Settlement(output.id, None, input_tokens, output_tokens)


# deterministic answers


def _texts(content: Any) -> list[str]:
    parts = content.get("parts") if isinstance(content, dict) else None
    return [
        p["text"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str)
    ]


def _words(text: str) -> int:
    return len(text.split())


def answer(request: dict[str, Any], model: str, seed: str) -> tuple[dict[str, Any], int, int]:
    """A ``GenerateContentResponse`` for a valid request, with its token counts."""
    req = _norm(request)
    contents: list[Any] = req["contents"]
    system = (
        _norm(req["systemInstruction"]) if isinstance(req.get("systemInstruction"), dict) else {}
    )
    prompt = " ".join(_texts(system) + [t for c in contents for t in _texts(c)])
    last_user = ""
    for content in contents:
        if content.get("role", "user") == "user":
            texts = _texts(content)
            calls = [
                _norm(p)["functionResponse"]["name"]
                for p in content["parts"]
                if "functionResponse" in _norm(p)
            ]
            last_user = " ".join(texts) if texts else "results of " + " ".join(calls)
    config = _norm(req.get("generationConfig") or {})
    count = config.get("candidateCount", 1)
    reply = "echo: " + " ".join(last_user.split())[:40]
    finish = "STOP"
    limit = config.get("maxOutputTokens")
    if isinstance(limit, int) and _words(reply) > limit:
        reply, finish = " ".join(reply.split()[:limit]), "MAX_TOKENS"
    calling = _norm(_norm(req.get("toolConfig") or {}).get("functionCallingConfig") or {})
    parts: list[dict[str, Any]]
    allowed = calling.get("allowedFunctionNames") or [
        _norm(d)["name"]
        for tool in req.get("tools") or []
        for d in _norm(tool).get("functionDeclarations") or []
    ]
    if calling.get("mode") == "ANY" and allowed:
        parts = [{"functionCall": {"name": allowed[0], "args": {}}}]
        reply = ""
    elif config.get("responseMimeType") == "application/json":
        parts = [{"text": json.dumps({"echo": reply})}]
    else:
        parts = [{"text": reply}]
    prompt_tokens = _words(prompt)
    output_tokens = max(_words(reply), 1) * count
    response = {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": i}
            for i in range(count)
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens,
        },
        "modelVersion": model,
        "responseId": seed[:22],
    }
    return response, prompt_tokens, output_tokens


MOUNT = ProviderMount(
    name=PROVIDER,
    prefix=PREFIX,
    api_base=PREFIX,
    add_routes=add_routes,
    authenticate=authenticate,
    render_error=render_error,
    write_results=write_results,
    takes_chunk=takes_chunk,
)
