"""OpenAI: the batch wire protocol's facts, request builders and response parsers.

Ground truth: shared/providers/openai.md. Nothing here does I/O.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from any_llm._jsonl import InputLimits
from any_llm.types import (
    Batch,
    BatchPage,
    BatchResultError,
    BatchResultItem,
    BatchResultStatus,
    LLMProvider,
)

from . import IDEMPOTENCY_KEY, ProviderSpec

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
)


def upload_filename(name: str) -> str:
    """OpenAI refuses batch uploads whose filename does not end in ``.jsonl``."""
    return name if name.endswith(".jsonl") else f"{name}.jsonl"


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
    return batch.metadata is not None and batch.metadata.get(IDEMPOTENCY_KEY) == idempotency_key


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def batch_to_record(data: Any) -> dict[str, Any]:
    """Wire Batch JSON → the dict the converter structures into ``Batch``."""
    if not isinstance(data, dict):
        raise TypeError(f"expected a Batch object, got {type(data).__name__}")
    record = _without_nulls(data)
    record["provider"] = PROVIDER
    record["provider_status"] = str(data.get("status"))
    if isinstance(record.get("errors"), dict):
        errors = dict(record["errors"])
        errors["data"] = [
            _without_nulls(e) for e in errors.get("data") or [] if isinstance(e, dict)
        ]
        record["errors"] = errors
    return record


def input_custom_id(line: bytes) -> str | None:
    """The custom_id of one input line read back from the provider, if it has one."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    custom_id = obj.get("custom_id") if isinstance(obj, dict) else None
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


def parse_file_id(data: Any) -> str:
    """The id of an uploaded File object."""
    if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]:
        return str(data["id"])
    raise TypeError("expected a File object with an 'id'")


def _error_from(obj: Any, status_code: int | None, fallback: str) -> BatchResultError:
    if isinstance(obj, dict):
        message = obj.get("message")
        return BatchResultError(
            message=str(message) if message else fallback,
            code=str(obj["code"]) if obj.get("code") is not None else None,
            type=str(obj["type"]) if obj.get("type") is not None else None,
            param=str(obj["param"]) if obj.get("param") is not None else None,
            status_code=status_code,
        )
    return BatchResultError(message=str(obj) if obj else fallback, status_code=status_code)


def parse_result_line(line: bytes, *, where: str) -> BatchResultItem | None:
    """One output- or error-file line as an item; ``None`` (logged) if no custom_id can be read.

    A line succeeds only when ``response`` is set and its status code is 2xx; failures come in
    two shapes (``response.status_code >= 400`` with ``body.error``, or a top-level ``error``).
    """
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except ValueError as exc:
        logger.warning("%s: %s: result line is not JSON (%s); skipped", PROVIDER, where, exc)
        return None
    custom_id = obj.get("custom_id") if isinstance(obj, dict) else None
    if not isinstance(custom_id, str) or not custom_id:
        logger.warning("%s: %s: result line has no custom_id; skipped", PROVIDER, where)
        return None
    response = obj.get("response")
    error = obj.get("error")
    if isinstance(response, dict):
        status_code = response.get("status_code")
        status_code = status_code if isinstance(status_code, int) else None
        body = response.get("body")
        request_id = response.get("request_id")
        request_id = request_id if isinstance(request_id, str) else None
        if (
            status_code is not None
            and 200 <= status_code < 300
            and isinstance(body, dict)
            and not error
        ):
            return BatchResultItem(
                custom_id=custom_id,
                status=BatchResultStatus.SUCCEEDED,
                response=body,
                status_code=status_code,
                request_id=request_id,
            )
        detail = body.get("error") if isinstance(body, dict) and body.get("error") else error
        return BatchResultItem(
            custom_id=custom_id,
            status=BatchResultStatus.FAILED,
            error=_error_from(detail, status_code, f"request failed with HTTP {status_code}"),
            status_code=status_code,
            request_id=request_id,
        )
    return BatchResultItem(
        custom_id=custom_id,
        status=BatchResultStatus.FAILED,
        error=_error_from(error, None, f"malformed result line at {where}"),
    )
