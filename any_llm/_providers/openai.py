"""OpenAI: the batch wire protocol's facts, request builders and response parsers.

Ground truth: shared/providers/openai.md. Nothing here does I/O.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

from any_llm import _json
from any_llm._jsonl import InputLimits
from any_llm.errors import ConfigurationError
from any_llm.types import (
    Batch,
    BatchPage,
    BatchResultError,
    BatchResultItem,
    BatchResultStatus,
    LLMProvider,
)

from . import IDEMPOTENCY_KEY, ProviderSpec, has_marker, unstamp

logger = logging.getLogger("any_llm")

PROVIDER = "openai"

ENDPOINTS = frozenset(
    {
        "/v1/responses",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/completions",
        "/v1/moderations",
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/videos",
    }
)


def auth_headers(api_key: str) -> dict[str, str]:
    """The headers that authenticate a request."""
    return {"Authorization": f"Bearer {api_key}"}


@attrs.frozen(kw_only=True)
class OpenAIProtocol:
    """How one provider's Files + Batches protocol differs from OpenAI's on the wire.

    Every OpenAI-compatible provider (Azure OpenAI, Groq, DashScope, Moonshot, Nebius,
    Cerebras) is served by the one OpenAI adapter configured with this record. What is not
    here is the same for all of them: the base URL and default query come from the client
    configuration (``ProviderSpec.resolve_api_base``), and the response quirks (``""`` file
    ids, ISO timestamps, capitalised or extra statuses, string ``errors``) are absorbed by
    the shared parsers below.
    """

    paged_list: bool = True
    """``GET /batches`` takes ``after``/``limit`` and answers ``has_more``. False: the list
    takes no parameters and answers every batch at once (Groq); the adapter then pages it
    locally so that ``after``/``limit`` keep their meaning."""
    create_endpoint: Callable[[str], str] | None = None
    """The ``endpoint`` value sent in ``POST /batches`` for the caller's endpoint (Azure
    documents ``/chat/completions`` without ``/v1`` on both of its surfaces)."""


OPENAI_PROTOCOL = OpenAIProtocol()


SPEC = ProviderSpec(
    provider=LLMProvider.OPENAI,
    default_api_base="https://api.openai.com/v1",
    api_key_env="OPENAI_API_KEY",
    # "200 MB" read as decimal megabytes: the smaller, defensive reading.
    limits=InputLimits(
        max_requests=50_000, max_file_bytes=200_000_000, endpoints=ENDPOINTS, single_model=True
    ),
    completion_windows=frozenset({"24h"}),
    auth_headers=auth_headers,
    metadata_max_pairs=15,  # 16 on the wire, one of them the idempotency key
    api_base_env="OPENAI_BASE_URL",
    openai_protocol=OPENAI_PROTOCOL,
)


def upload_filename(name: str) -> str:
    """OpenAI refuses batch uploads whose filename does not end in ``.jsonl``."""
    return name if name.endswith(".jsonl") else f"{name}.jsonl"


def marked_file_ids(data: Any, idempotency_key: str) -> list[str]:
    """The ids of the files in a ``GET /files`` answer (``{"data": [File, ...]}``) whose
    filename carries ``idempotency_key`` (``marked_filename``)."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise TypeError("expected {'object': 'list', 'data': [...]} from GET /files")
    return [
        f["id"]
        for f in data["data"]
        if isinstance(f, dict)
        and isinstance(f.get("id"), str)
        and has_marker(f.get("filename"), idempotency_key)
    ]


def create_body(
    *,
    input_file_id: str,
    endpoint: str,
    completion_window: str,
    metadata: dict[str, str] | None,
    idempotency_key: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The JSON body of ``POST /batches``; the idempotency key rides in the metadata."""
    return {
        "input_file_id": input_file_id,
        "endpoint": endpoint,
        "completion_window": completion_window,
        "metadata": {**(metadata or {}), IDEMPOTENCY_KEY: idempotency_key},
        **extra,
    }


def has_idempotency_key(batch: Batch, idempotency_key: str) -> bool:
    """True when ``batch`` was created with ``idempotency_key``."""
    return batch.idempotency_key == idempotency_key


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


STATUS_ALIASES = {"queued": "in_progress"}
"""Statuses beyond OpenAI's enum, by the status they mean. Cerebras reports ``queued`` between
``validating`` and ``in_progress``: the input passed validation and waits for capacity, which
OpenAI reports as ``in_progress`` with nothing processed yet."""

TIMESTAMP_FIELDS = (
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)
FILE_ID_FIELDS = ("input_file_id", "output_file_id", "error_file_id")

_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def unix_seconds(value: Any) -> int:
    """A timestamp as unix seconds: an int, a float, or an ISO-8601 string (older Azure
    api-versions; UTC when no offset is given, more than six fraction digits allowed)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if not isinstance(value, str):
        raise TypeError(f"timestamp {value!r} is not a number or a string")
    text = value.strip()
    if text.isdigit():
        return int(text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text, count=1))
    except ValueError:
        raise ValueError(f"timestamp {value!r} is neither unix seconds nor ISO 8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def normalize_status(status: Any) -> str:
    """The OpenAI status a provider's status string means (case-insensitive: some Azure
    api-versions answer ``"Validating"``); an unknown one is kept and becomes UNKNOWN."""
    text = str(status).strip().lower()
    return STATUS_ALIASES.get(text, text)


def _errors_record(errors: Any) -> dict[str, Any] | None:
    """OpenAI's ``{object, data: [...]}``; Cerebras may send a plain message string instead."""
    if isinstance(errors, str):
        return {"object": "list", "data": [{"message": errors}]} if errors.strip() else None
    if isinstance(errors, list):
        errors = {"object": "list", "data": errors}
    if not isinstance(errors, dict):
        return None
    record = dict(errors)
    record["data"] = [
        _without_nulls(e) if isinstance(e, dict) else {"message": str(e)}
        for e in record.get("data") or []
    ]
    return record


def _metadata_record(metadata: Any) -> Any:
    """Metadata values that are not strings (Cerebras documents a list value) as JSON text."""
    if not isinstance(metadata, dict):
        return metadata
    return {
        str(k): v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
        for k, v in metadata.items()
    }


def batch_to_record(data: Any, *, provider: str = PROVIDER) -> dict[str, Any]:
    """Wire Batch JSON → the dict the converter structures into ``Batch``.

    Lenient where OpenAI-compatible providers differ: ``""`` file ids (Azure) mean absent,
    timestamps may be ISO strings, statuses are compared case-insensitively and mapped
    through STATUS_ALIASES (``provider_status`` keeps the raw value), ``request_counts``
    members may be null, ``errors`` may be a string.
    """
    if not isinstance(data, dict):
        raise TypeError(f"expected a Batch object, got {type(data).__name__}")
    record = _without_nulls(data)
    record["provider"] = provider
    record["provider_status"] = str(data.get("status"))
    if "status" in record:
        record["status"] = normalize_status(record["status"])
    for name in FILE_ID_FIELDS:
        if record.get(name) == "":
            del record[name]
    for name in TIMESTAMP_FIELDS:
        if name in record:
            record[name] = unix_seconds(record[name])
    if isinstance(record.get("request_counts"), dict):
        record["request_counts"] = _without_nulls(record["request_counts"])
    if "errors" in record:
        errors = _errors_record(record["errors"])
        if errors is None:
            del record["errors"]
        else:
            record["errors"] = errors
    if "metadata" in record:
        record["metadata"] = _metadata_record(record["metadata"])
    return unstamp(record)


def input_custom_id(line: bytes) -> str | None:
    """The custom_id of one input line read back from the provider, if it has one (only that
    field is built: results read the whole input back for its custom_ids)."""
    from any_llm._fastcheck import decode_keyed

    try:
        custom_id = decode_keyed(line).custom_id
    except ValueError:
        return None
    return custom_id if isinstance(custom_id, str) and custom_id else None


def parse_page(data: Any, parse: Callable[[Any], Batch]) -> BatchPage:
    """A ``GET /batches`` page, each batch parsed by ``parse``; the cursor is the last id."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise TypeError("expected {'object': 'list', 'data': [...]} from GET /batches")
    batches = tuple(parse(b) for b in data["data"])
    # A missing has_more means "keep paging until an empty page" (as the official SDK does).
    has_more = bool(data.get("has_more", bool(batches)))
    last = data.get("last_id") or (batches[-1].id if batches else None)
    return BatchPage(
        data=batches, has_more=has_more and bool(batches), next_cursor=last if has_more else None
    )


def page_locally(
    data: Any,
    parse: Callable[[Any], Batch],
    *,
    after: str | None,
    limit: int | None,
    provider: str = PROVIDER,
) -> BatchPage:
    """A page cut from an unpaged ``GET /batches`` answer (Groq's ``{object, data}``, every
    batch at once, newest first): the batches after ``after``, at most ``limit`` of them.

    Pagination keys, should the provider start sending them, are ignored: the request carried
    no cursor, so the answer is taken to be the whole list.
    """
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise TypeError("expected {'object': 'list', 'data': [...]} from GET /batches")
    return cut_page([parse(b) for b in data["data"]], after=after, limit=limit, provider=provider)


def cut_page(
    batches: Sequence[Batch], *, after: str | None, limit: int | None, provider: str
) -> BatchPage:
    """A page of a whole list (newest first) that the provider does not page itself: the
    batches after the one named ``after``, at most ``limit`` of them."""
    if limit is not None and limit < 1:
        raise ConfigurationError(f"{provider}: limit must be at least 1, got {limit}")
    start = 0
    if after is not None:
        ids = [b.id for b in batches]
        if after not in ids:
            raise ConfigurationError(
                f"{provider}: after={after!r} names no batch in the list (deleted since?); "
                "pass the next_cursor of the previous page, or list again without after="
            )
        start = ids.index(after) + 1
    end = len(batches) if limit is None else start + limit
    page = tuple(batches[start:end])
    has_more = end < len(batches) and bool(page)
    return BatchPage(data=page, has_more=has_more, next_cursor=page[-1].id if has_more else None)


def parse_file_id(data: Any) -> str:
    """The id of an uploaded File object."""
    if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]:
        return str(data["id"])
    raise TypeError("expected a File object with an 'id'")


def _detail_message(detail: object) -> str | None:
    """The text of a FastAPI-style ``detail`` (a string, or a list of ``{loc, msg}``)."""
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = item.get("loc")
                where = ".".join(str(x) for x in loc) if isinstance(loc, list) else ""
                msg = str(item.get("msg") or item.get("message") or item)
                parts.append(f"{where}: {msg}" if where else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts) or None
    return None


def result_error(obj: Any, status_code: int | None, fallback: str) -> BatchResultError:
    """A per-request error from an error object (``{message, code, type, param}``, possibly
    wrapped in ``{"error": ...}``, or a 422 ``{"detail": [...]}``) or a plain string."""
    if isinstance(obj, dict):
        inner = obj.get("error")
        if isinstance(inner, dict):
            obj = inner
        message = obj.get("message") or _detail_message(obj.get("detail")) or fallback
        code = obj.get("code")
        if code is None and isinstance(obj.get("detail"), list):
            code = "validation_error"
        return BatchResultError(
            message=str(message),
            code=str(code) if code is not None else None,
            type=str(obj["type"]) if obj.get("type") is not None else None,
            param=str(obj["param"]) if obj.get("param") is not None else None,
            status_code=status_code,
        )
    return BatchResultError(message=str(obj) if obj else fallback, status_code=status_code)


Normalise = Callable[[dict[str, Any]], tuple[dict[str, Any], str | None]]
"""A provider's response body → (the OpenAI-shaped body, or a problem that fails the item)."""


def load_result_line(line: bytes, *, where: str, provider: str) -> Any:
    """The JSON value of one results line; ``None`` for a blank line, or (logged) for one that
    is not JSON. Every provider's result parser starts here."""
    if not line.strip():
        return None
    try:
        return _json.loads(line)
    except ValueError as exc:
        logger.warning("%s: %s: result line is not JSON (%s); skipped", provider, where, exc)
        return None


def parse_result_line(
    line: bytes, *, where: str, provider: str = PROVIDER, normalise: Normalise | None = None
) -> BatchResultItem | None:
    """One output- or error-file line of OpenAI's result format (Mistral's and Together's
    too) as an item; ``None`` (logged) if no custom_id can be read.

    A line succeeds only when ``response`` is set, its status code is 2xx and it has a body
    (passed through ``normalise``); failures come as ``response.status_code >= 400`` with
    ``body.error``, or as a top-level ``error``.
    """
    obj = load_result_line(line, where=where, provider=provider)
    if obj is None:
        return None
    custom_id = obj.get("custom_id") if isinstance(obj, dict) else None
    if not isinstance(custom_id, str) or not custom_id:
        logger.warning("%s: %s: result line has no custom_id; skipped", provider, where)
        return None
    response = obj.get("response")
    error = obj.get("error")
    if not isinstance(response, dict):
        return BatchResultItem(
            custom_id=custom_id,
            status=BatchResultStatus.FAILED,
            error=result_error(error, None, f"malformed result line at {where}"),
        )
    status_code = response.get("status_code")
    status_code = status_code if isinstance(status_code, int) else None
    body = response.get("body")
    request_id = response.get("request_id")
    request_id = request_id if isinstance(request_id, str) else None
    ok = status_code is not None and 200 <= status_code < 300
    if ok and isinstance(body, dict) and not error:
        problem = None
        if normalise is not None:
            body, problem = normalise(body)
        if problem is None:
            return BatchResultItem(
                custom_id=custom_id,
                status=BatchResultStatus.SUCCEEDED,
                response=body,
                status_code=status_code,
                request_id=request_id,
            )
        return BatchResultItem(
            custom_id=custom_id,
            status=BatchResultStatus.FAILED,
            error=BatchResultError(
                message=problem, code="generation_error", status_code=status_code
            ),
            status_code=status_code,
            request_id=request_id,
        )
    # body.error (an HTTP-level failure) first, then a top-level error, then the body itself
    detail = body["error"] if isinstance(body, dict) and body.get("error") else error or body
    fallback = (
        f"request failed with HTTP {status_code}"
        if not ok
        else f"request returned no response body ({where})"
    )
    return BatchResultItem(
        custom_id=custom_id,
        status=BatchResultStatus.FAILED,
        error=result_error(detail, status_code, fallback),
        status_code=status_code,
        request_id=request_id,
    )
