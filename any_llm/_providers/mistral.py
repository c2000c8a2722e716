"""Mistral: the Files + Batch Jobs protocol's facts, request translation and response parsers.

Ground truth: shared/providers/mistral.md. Nothing here does network I/O (the translation is
staged in a local temp file by the validating pass, ``InputLimits.staging``).

Decisions on points the spec marks unverified (the defensive reading each time):

- One model per job: the OpenAI file's ``body.model`` (all lines agree, checked by the validating
  pass) is sent as the job's ``model``; ``model``, ``method`` and ``url`` are stripped from each
  line, which becomes ``{"custom_id": ..., "body": {...}}``.
- OpenAI parameters Mistral does not take are refused before anything is sent (Mistral answers
  unknown parameters with 422, per request, after the batch ran); a refused parameter whose value
  is ``null`` or ``false`` asks for nothing and is left out.
- Tool-call ids: Mistral has been reported to require 9 alphanumeric characters. Ids that do not
  match are replaced by a 9-character digest of themselves, the same in the assistant's
  ``tool_calls`` and in the ``tool`` messages, so the pairing inside a request is kept.
- Result lines: a line succeeds only when ``response.status_code`` is 2xx and ``response.body``
  is an object; the error shape of the error file is unknown, so a top-level ``error`` and a
  non-2xx ``response`` are both read.
- The batch object carries no ``timeout_hours``: ``completion_window`` is the create call's (or
  the object's ``timeout_hours`` if a future API returns it), otherwise the default ``24h``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import string
from collections.abc import Callable
from typing import Any

from any_llm._jsonl import InputLimits, Staging, TranslationError
from any_llm.errors import ConfigurationError
from any_llm.types import (
    Batch,
    BatchPage,
    BatchResultItem,
    BatchStatus,
    LLMProvider,
)

from . import IDEMPOTENCY_KEY, ProviderSpec, WindowRange, openai, unstamp
from .openai import auth_headers as auth_headers  # Bearer, as OpenAI's
from .openai import has_idempotency_key as has_idempotency_key  # job metadata, as OpenAI's
from .openai import input_custom_id as input_custom_id  # the same line shape
from .openai import parse_file_id as parse_file_id  # the same File object
from .openai import upload_filename as upload_filename  # batch input files end in .jsonl

logger = logging.getLogger("any_llm")

PROVIDER = "mistral"

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
FIM = "/v1/fim/completions"

ENDPOINTS = frozenset(
    {
        CHAT,
        EMBEDDINGS,
        # The bodies of these have no OpenAI counterpart to translate from: they are sent as
        # written (Mistral's own parameters), only ``model`` is moved to the job.
        FIM,
        "/v1/moderations",
        "/v1/chat/moderations",
        "/v1/ocr",
        "/v1/classifications",
        "/v1/chat/classifications",
        "/v1/conversations",
        "/v1/audio/transcriptions",
    }
)

MAX_REQUESTS = 1_000_000
"""Pending requests per workspace; one job can hold no more."""
MAX_FILE_BYTES = 512_000_000
""""512 MB" per uploaded file, read as decimal megabytes: the smaller, defensive reading."""
MAX_TIMEOUT_HOURS = 167
"""``timeout_hours`` "should be lower than 7 days"."""
WINDOWS = WindowRange(min_hours=1, max_hours=MAX_TIMEOUT_HOURS)
"""``"1h"`` .. ``"167h"`` (or ``"1d"`` .. ``"6d"``), sent as ``timeout_hours``."""
DEFAULT_PAGE_SIZE = 100
"""The API's own default ``page_size``."""
METADATA_MAX_PAIRS = 15
"""Mistral documents no cap on job metadata. 15 (+1 for the idempotency key) is OpenAI's cap:
a metadata dict accepted for one provider is accepted for the other, and it stays small enough
for the list filter, which sends metadata as query parameters."""

STATUS_MAP: dict[str, BatchStatus] = {
    # No validation phase is documented; a queued job is reported as validating (any-llm's
    # choice), the state in which OpenAI batches wait too.
    "QUEUED": BatchStatus.VALIDATING,
    "RUNNING": BatchStatus.IN_PROGRESS,
    "SUCCESS": BatchStatus.COMPLETED,
    "FAILED": BatchStatus.FAILED,
    "TIMEOUT_EXCEEDED": BatchStatus.EXPIRED,
    "CANCELLATION_REQUESTED": BatchStatus.CANCELLING,
    "CANCELLED": BatchStatus.CANCELLED,
}

_TERMINAL_STAMP = {
    BatchStatus.COMPLETED: "completed_at",
    BatchStatus.FAILED: "failed_at",
    BatchStatus.EXPIRED: "expired_at",
    BatchStatus.CANCELLED: "cancelled_at",
}


# request translation: OpenAI body -> Mistral body

_CHAT_SAME = frozenset(
    {
        "temperature",
        "top_p",
        "n",
        "presence_penalty",
        "frequency_penalty",
        "parallel_tool_calls",
        "stop",
        "metadata",
        # Mistral's schema lists none..max; whether a model takes a value is its business.
        "reasoning_effort",
        # Mistral's own parameters, passed through for files written for Mistral.
        "safe_prompt",
        "prompt_mode",
        "guardrails",
        "prompt_cache_key",
    }
)
_CHAT_REFUSED = {
    "logprobs": "Mistral batches return no log probabilities",
    "top_logprobs": "Mistral batches return no log probabilities",
    "logit_bias": "Mistral has no logit bias",
    "user": "Mistral has no end-user identifier",
    "store": "Mistral does not store completions",
    "service_tier": "Mistral batches have no service tier",
    "modalities": "Mistral chat answers with text only",
    "audio": "Mistral chat answers with text only",
    "web_search_options": "Mistral chat has no web search option",
    "stream_options": "a batch request cannot stream",
    "functions": "legacy functions are not supported; use tools",
    "function_call": "legacy function_call is not supported; use tool_choice",
}
_TOOL_ID = re.compile(r"[A-Za-z0-9]{9}")
_ALPHABET = string.ascii_letters + string.digits


def _path(*parts: str | int) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _asks_nothing(value: object) -> bool:
    return value is None or value is False


def _only_keys(obj: dict[str, Any], allowed: frozenset[str], where: str, what: str) -> None:
    for key, value in obj.items():
        if key not in allowed and not _asks_nothing(value):
            raise TranslationError(_path(where, key), f"Mistral's {what} has no such field")


def tool_call_id(value: object, where: str) -> str:
    """A tool-call id Mistral accepts: kept if it is 9 alphanumerics, else a digest of it."""
    if not isinstance(value, str) or not value:
        raise TranslationError(where, "must be a non-empty string")
    if _TOOL_ID.fullmatch(value):
        return value
    number = int.from_bytes(hashlib.sha256(value.encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "".join(chars)


def _text_part(part: dict[str, Any], where: str) -> dict[str, Any]:
    _only_keys(part, frozenset({"type", "text"}), where, "text chunk")
    if not isinstance(part.get("text"), str):
        raise TranslationError(_path(where, "text"), "must be a string")
    return {"type": "text", "text": part["text"]}


def _image_part(part: dict[str, Any], where: str) -> dict[str, Any]:
    _only_keys(part, frozenset({"type", "image_url"}), where, "image chunk")
    image = part.get("image_url")
    if isinstance(image, str):
        return {"type": "image_url", "image_url": image}
    if not isinstance(image, dict) or not isinstance(image.get("url"), str):
        raise TranslationError(_path(where, "image_url"), "must be a URL or {'url': ...}")
    _only_keys(image, frozenset({"url", "detail"}), _path(where, "image_url"), "image_url")
    out = {"url": image["url"]}
    if image.get("detail") is not None:
        out["detail"] = image["detail"]
    return {"type": "image_url", "image_url": out}


def _content(content: object, where: str, *, images: bool) -> object:
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError(where, "must be a string or a list of content parts")
    parts: list[dict[str, Any]] = []
    for index, part in enumerate(content):
        at = _path(where, index)
        kind = part.get("type") if isinstance(part, dict) else None
        if not isinstance(part, dict):
            raise TranslationError(at, "must be a content part object")
        if kind == "text":
            parts.append(_text_part(part, at))
        elif kind == "image_url" and images:
            parts.append(_image_part(part, at))
        else:
            raise TranslationError(
                _path(at, "type"),
                f"content part {kind!r} cannot be sent to Mistral here "
                f"(supported: text{', image_url' if images else ''})",
            )
    return parts


def _tool_calls(calls: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(calls, list):
        raise TranslationError(where, "must be a list")
    out = []
    for index, call in enumerate(calls):
        at = _path(where, index)
        if not isinstance(call, dict):
            raise TranslationError(at, "must be an object")
        if call.get("type", "function") != "function":
            raise TranslationError(_path(at, "type"), "Mistral only has function tool calls")
        _only_keys(call, frozenset({"id", "type", "function"}), at, "tool call")
        function = call.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise TranslationError(_path(at, "function"), "must be {'name': ..., 'arguments'}")
        _only_keys(function, frozenset({"name", "arguments"}), _path(at, "function"), "call")
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, (str, dict)):
            raise TranslationError(
                _path(at, "function", "arguments"), "must be a JSON string or an object"
            )
        out.append(
            {
                "id": tool_call_id(call.get("id"), _path(at, "id")),
                "type": "function",
                "function": {"name": function["name"], "arguments": arguments},
            }
        )
    return out


_ROLE_KEYS = {
    "system": frozenset({"role", "content"}),
    "user": frozenset({"role", "content"}),
    "assistant": frozenset({"role", "content", "tool_calls", "prefix"}),
    "tool": frozenset({"role", "content", "tool_call_id", "name"}),
}


def _message(message: object, where: str) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise TranslationError(where, "must be a message object")
    role = message.get("role")
    if role == "developer":
        role = "system"
    if role not in _ROLE_KEYS:
        raise TranslationError(
            _path(where, "role"),
            f"role {role!r} cannot be sent to Mistral (system, developer, user, assistant, tool)",
        )
    _only_keys(message, _ROLE_KEYS[role], where, f"{role} message")
    out: dict[str, Any] = {"role": role}
    if "content" in message:
        out["content"] = _content(
            message["content"], _path(where, "content"), images=role == "user"
        )
    elif role != "assistant":
        raise TranslationError(_path(where, "content"), "is required")
    if role == "assistant":
        if message.get("tool_calls") is not None:
            out["tool_calls"] = _tool_calls(message["tool_calls"], _path(where, "tool_calls"))
        if message.get("prefix") is not None:
            out["prefix"] = message["prefix"]
    if role == "tool":
        if message.get("tool_call_id") is not None:
            out["tool_call_id"] = tool_call_id(
                message["tool_call_id"], _path(where, "tool_call_id")
            )
        if message.get("name") is not None:
            out["name"] = message["name"]
    return out


def _tools(tools: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise TranslationError(where, "must be a list")
    out = []
    for index, tool in enumerate(tools):
        at = _path(where, index)
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise TranslationError(_path(at, "type"), "Mistral only takes function tools")
        _only_keys(tool, frozenset({"type", "function"}), at, "tool")
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise TranslationError(_path(at, "function"), "must be {'name': ..., ...}")
        fields = frozenset({"name", "description", "parameters", "strict"})
        _only_keys(function, fields, _path(at, "function"), "function")
        native = {k: v for k, v in function.items() if k in fields and v is not None}
        # Mistral requires parameters; OpenAI's omission means "no parameters".
        native.setdefault("parameters", {"type": "object", "properties": {}})
        out.append({"type": "function", "function": native})
    return out


def _tool_choice(choice: object, where: str) -> object:
    if choice in ("auto", "none", "required", "any"):
        return choice
    if (
        isinstance(choice, dict)
        and choice.get("type") == "function"
        and isinstance(choice.get("function"), dict)
        and isinstance(choice["function"].get("name"), str)
    ):
        return {"type": "function", "function": {"name": choice["function"]["name"]}}
    raise TranslationError(
        where, "Mistral takes 'auto', 'none', 'required', 'any' or one named function"
    )


def _response_format(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TranslationError(where, "must be an object")
    kind = value.get("type")
    if kind in ("text", "json_object"):
        _only_keys(value, frozenset({"type"}), where, "response_format")
        return {"type": kind}
    if kind != "json_schema":
        raise TranslationError(_path(where, "type"), f"unknown response format {kind!r}")
    _only_keys(value, frozenset({"type", "json_schema"}), where, "response_format")
    schema = value.get("json_schema")
    at = _path(where, "json_schema")
    if not isinstance(schema, dict) or not isinstance(schema.get("name"), str):
        raise TranslationError(at, "must be an object with a name")
    _only_keys(schema, frozenset({"name", "description", "schema", "strict"}), at, "json_schema")
    if not isinstance(schema.get("schema"), dict):
        raise TranslationError(_path(at, "schema"), "Mistral requires the JSON schema itself")
    native = {k: v for k, v in schema.items() if v is not None}
    return {"type": "json_schema", "json_schema": native}


def _prediction(value: object, where: str) -> dict[str, Any]:
    # Mistral's prediction is {"type": "content", "content": str}: OpenAI's string form, never
    # its list-of-parts form.
    if (
        not isinstance(value, dict)
        or value.get("type") != "content"
        or not isinstance(value.get("content"), str)
    ):
        raise TranslationError(where, "Mistral takes only {'type': 'content', 'content': <string>}")
    _only_keys(value, frozenset({"type", "content"}), where, "prediction")
    return {"type": "content", "content": value["content"]}


def _same_or_one(body: dict[str, Any], first: str, second: str, where: str) -> object:
    a, b = body.get(first), body.get(second)
    if a is not None and b is not None and a != b:
        raise TranslationError(
            _path(where, second), f"differs from {first}; Mistral has one field for both"
        )
    return a if a is not None else b


def translate_chat(body: dict[str, Any], where: str = "body") -> dict[str, Any]:
    """An OpenAI chat-completions body → Mistral's (without ``model``, which goes to the job)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        at = _path(where, key)
        if key in ("model", "seed", "random_seed", "max_tokens", "max_completion_tokens"):
            continue
        if key == "messages":
            if not isinstance(value, list) or not value:
                raise TranslationError(at, "must be a non-empty list of messages")
            out["messages"] = [_message(m, _path(at, i)) for i, m in enumerate(value)]
        elif key == "stream":
            if value:
                raise TranslationError(at, "a batch request cannot stream")
        elif key in _CHAT_REFUSED:
            if not _asks_nothing(value):
                raise TranslationError(at, _CHAT_REFUSED[key])
        elif value is None:
            continue
        elif key in _CHAT_SAME:
            out[key] = value
        elif key == "tools":
            out["tools"] = _tools(value, at)
        elif key == "tool_choice":
            out["tool_choice"] = _tool_choice(value, at)
        elif key == "response_format":
            out["response_format"] = _response_format(value, at)
        elif key == "prediction":
            out["prediction"] = _prediction(value, at)
        else:
            raise TranslationError(at, "not a parameter of Mistral's chat completions")
    if "messages" not in out:
        raise TranslationError(_path(where, "messages"), "is required")
    seed = _same_or_one(body, "seed", "random_seed", where)
    if seed is not None:
        out["random_seed"] = seed
    limit = _same_or_one(body, "max_completion_tokens", "max_tokens", where)
    if limit is not None:
        out["max_tokens"] = limit
    return out


def translate_embeddings(body: dict[str, Any], where: str = "body") -> dict[str, Any]:
    """An OpenAI embeddings body → Mistral's (``dimensions`` → ``output_dimension``)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        at = _path(where, key)
        if key in ("model", "dimensions", "output_dimension"):
            continue
        if key == "input":
            strings = isinstance(value, list) and all(isinstance(x, str) for x in value)
            if not (isinstance(value, str) or (strings and value)):
                raise TranslationError(at, "Mistral embeds a string or a list of strings")
            out["input"] = value
        elif key == "user":
            if not _asks_nothing(value):
                raise TranslationError(at, _CHAT_REFUSED["user"])
        elif value is None:
            continue
        elif key == "encoding_format":
            if value not in ("float", "base64"):
                raise TranslationError(at, "Mistral takes 'float' or 'base64'")
            out[key] = value
        elif key in ("output_dtype", "metadata"):
            out[key] = value
        else:
            raise TranslationError(at, "not a parameter of Mistral's embeddings")
    if "input" not in out:
        raise TranslationError(_path(where, "input"), "is required")
    dimensions = _same_or_one(body, "dimensions", "output_dimension", where)
    if dimensions is not None:
        out["output_dimension"] = dimensions
    return out


def translate_line(line: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-format input line (already validated) → Mistral's ``{custom_id, body}``."""
    for key, value in line.items():
        if key not in ("custom_id", "method", "url", "body") and not _asks_nothing(value):
            raise TranslationError(key, "not a field of a batch input line")
    endpoint = line.get("url")
    body = line.get("body")
    if not isinstance(body, dict):
        raise TranslationError("body", "must be an object")
    if endpoint == CHAT:
        native = translate_chat(body)
    elif endpoint == EMBEDDINGS:
        native = translate_embeddings(body)
    else:
        native = {k: v for k, v in body.items() if k != "model"}
    return {"custom_id": line.get("custom_id"), "body": native}


SPEC = ProviderSpec(
    provider=LLMProvider.MISTRAL,
    default_api_base="https://api.mistral.ai",
    api_key_env="MISTRAL_API_KEY",
    limits=InputLimits(
        max_requests=MAX_REQUESTS,
        max_file_bytes=MAX_FILE_BYTES,
        endpoints=ENDPOINTS,
        single_model=True,
        translate=translate_line,
        staging=Staging(),
    ),
    completion_windows=frozenset({"24h"}),
    completion_window_range=WINDOWS,
    auth_headers=auth_headers,
    metadata_max_pairs=METADATA_MAX_PAIRS,
)


# create


def timeout_hours(completion_window: str) -> int:
    """``"24h"`` → 24, ``"2d"`` → 48 (the client checked the window against ``WINDOWS``)."""
    hours = WINDOWS.hours(completion_window)
    if hours is None or not WINDOWS.accepts(completion_window):
        raise ConfigurationError(
            f"{PROVIDER}: completion_window {completion_window!r} is not {WINDOWS}"
        )
    return hours


def create_body(
    *,
    input_file_id: str,
    endpoint: str,
    model: str | None,
    completion_window: str,
    metadata: dict[str, str] | None,
    idempotency_key: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The JSON body of ``POST /v1/batch/jobs``; the idempotency key rides in the metadata."""
    body: dict[str, Any] = {
        "input_files": [input_file_id],
        "endpoint": endpoint,
        "metadata": {**(metadata or {}), IDEMPOTENCY_KEY: idempotency_key},
        "timeout_hours": timeout_hours(completion_window),
    }
    if model is not None:
        body["model"] = model
    body.update(extra)
    return body


# batch jobs


def _unix(value: object) -> int | None:
    """``openai.unix_seconds`` (UTC when no offset is given), or None for a missing or
    unreadable timestamp."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return openai.unix_seconds(value)
    except (TypeError, ValueError):
        return None


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def map_status(raw: object) -> BatchStatus:
    """Mistral's job status → OpenAI's; an unknown one is UNKNOWN (the raw string is kept)."""
    status = STATUS_MAP.get(str(raw))
    if status is None:
        logger.warning("%s: unknown job status %r; reported as unknown", PROVIDER, raw)
        return BatchStatus.UNKNOWN
    return status


def _errors(value: object) -> dict[str, Any] | None:
    if not isinstance(value, list) or not value:
        return None
    data = []
    for error in value:
        if isinstance(error, dict):
            message = str(error.get("message") or "unspecified error")
            count = error.get("count")
            if isinstance(count, int) and count > 1:
                message += f" ({count} times)"
        else:
            message = str(error)
        data.append({"code": "batch_error", "message": message})
    return {"object": "list", "data": data}


def _metadata(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {
        str(k): v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
        for k, v in value.items()
    }


def batch_to_record(data: Any, *, completion_window: str | None = None) -> dict[str, Any]:
    """Wire BatchJob JSON → the dict the converter structures into ``Batch``.

    ``completion`` = ``succeeded_requests`` (``completed_requests`` counts failures too).
    """
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise TypeError("expected a BatchJob object with an 'id'")
    raw_status = data.get("status")
    status = map_status(raw_status)
    input_files = data.get("input_files")
    input_files = input_files if isinstance(input_files, list) else []
    if len(input_files) > 1:
        logger.warning(
            "%s: job %s has %d input files; input_file_id is the first",
            PROVIDER,
            data["id"],
            len(input_files),
        )
    created_at = _unix(data.get("created_at")) or 0
    hours = data.get("timeout_hours")
    if isinstance(hours, int) and not isinstance(hours, bool) and hours > 0:
        completion_window = f"{hours}h"
    record: dict[str, Any] = {
        "id": data["id"],
        "object": "batch",
        "provider": PROVIDER,
        "status": status.value,
        "provider_status": str(raw_status),
        "endpoint": str(data.get("endpoint") or ""),
        "model": data.get("model") if isinstance(data.get("model"), str) else None,
        "input_file_id": str(input_files[0]) if input_files else None,
        "output_file_id": data.get("output_file") or None,
        "error_file_id": data.get("error_file") or None,
        "errors": _errors(data.get("errors")),
        "created_at": created_at,
        "in_progress_at": _unix(data.get("started_at")),
        "request_counts": {
            "total": _count(data.get("total_requests")),
            "completed": _count(data.get("succeeded_requests")),
            "failed": _count(data.get("failed_requests")),
        },
        "metadata": _metadata(data.get("metadata")),
    }
    if completion_window is not None:
        record["completion_window"] = completion_window
        hours = WINDOWS.hours(completion_window)
        if created_at and hours is not None:
            record["expires_at"] = created_at + hours * 3600
    stamp = _TERMINAL_STAMP.get(status)
    finished = _unix(data.get("completed_at"))
    if stamp is not None and finished is not None:
        record[stamp] = finished
    return unstamp(record)


# listing: page numbers behind an opaque cursor

_CURSOR = re.compile(r"page:([0-9]+):([0-9]+)")


def page_cursor(page: int, size: int) -> str:
    """The ``after=`` cursor of page ``page`` (0-based) at ``size`` jobs per page."""
    return f"page:{page}:{size}"


def parse_cursor(after: str, limit: int | None) -> tuple[int, int] | None:
    """``(page, page_size)`` of a cursor from ``page_cursor``; None when ``after`` is not one
    (it is then taken as a job id, OpenAI style).

    A cursor keeps the page size it was made with; a different ``limit`` is honoured when the
    cursor's offset is a whole number of such pages, and refused otherwise.
    """
    match = _CURSOR.fullmatch(after)
    if match is None:
        return None
    page, size = int(match.group(1)), int(match.group(2))
    if size < 1:
        raise ConfigurationError(f"{PROVIDER}: invalid list cursor {after!r}")
    if limit is None or limit == size:
        return page, size
    offset = page * size
    if offset % limit:
        raise ConfigurationError(
            f"{PROVIDER}: the cursor {after!r} starts at job {offset}, not at a page boundary "
            f"for limit={limit}; pass limit={size} (or None) with this cursor"
        )
    return offset // limit, limit


def list_params(page: int, size: int, filters: dict[str, str] | None = None) -> dict[str, str]:
    """Query parameters of ``GET /v1/batch/jobs``; metadata filters are form-exploded (each
    key is its own parameter)."""
    params = {"page": str(page), "page_size": str(size), "order_by": "-created"}
    for key, value in (filters or {}).items():
        if key in params:
            raise ValueError(f"metadata key {key!r} collides with a list parameter")
        params[key] = value
    return params


def parse_page(data: Any, parse: Callable[[Any], Batch], *, page: int, size: int) -> BatchPage:
    """A ``GET /v1/batch/jobs`` answer as a page; the next cursor is computed from ``total``
    (or, without one, from a full page)."""
    if not isinstance(data, dict):
        raise TypeError("expected {'object': 'list', 'total': ..., 'data': [...]}")
    items = data.get("data")
    items = [] if items is None else items
    if not isinstance(items, list):
        raise TypeError("'data' of the job list is not a list")
    batches = tuple(parse(item) for item in items)
    total = data.get("total")
    if isinstance(total, int) and not isinstance(total, bool):
        has_more = (page + 1) * size < total and bool(batches)
    else:
        has_more = len(batches) >= size
    return BatchPage(
        data=batches,
        has_more=has_more,
        next_cursor=page_cursor(page + 1, size) if has_more else None,
    )


# results


def _chunks_text(chunks: list[Any], kind: str) -> str:
    texts: list[str] = []
    for chunk in chunks:
        if not isinstance(chunk, dict) or chunk.get("type") != kind:
            continue
        if kind == "text" and isinstance(chunk.get("text"), str):
            texts.append(chunk["text"])
        elif kind == "thinking" and isinstance(chunk.get("thinking"), list):
            texts.append(_chunks_text(chunk["thinking"], "text"))
    return "".join(texts)


def _message_out(message: dict[str, Any]) -> dict[str, Any]:
    out = dict(message)
    out.setdefault("role", "assistant")
    content = message.get("content")
    if isinstance(content, list):
        # Text chunks become the content, thinking chunks the reasoning; the chunks themselves
        # stay under provider_content (references and other kinds included).
        out["content"] = _chunks_text(content, "text")
        reasoning = _chunks_text(content, "thinking")
        if reasoning:
            out["reasoning_content"] = reasoning
        out["provider_content"] = content
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        fixed = []
        for call in calls:
            if isinstance(call, dict):
                call = dict(call)
                call.setdefault("type", "function")
                function = call.get("function")
                if isinstance(function, dict) and not isinstance(function.get("arguments"), str):
                    function = dict(function)
                    function["arguments"] = json.dumps(
                        function.get("arguments") or {}, separators=(",", ":")
                    )
                    call["function"] = function
            fixed.append(call)
        out["tool_calls"] = fixed or None
    return out


def _usage(usage: object) -> dict[str, Any]:
    out = dict(usage) if isinstance(usage, dict) else {}
    for key in ("prompt_tokens", "completion_tokens"):
        out[key] = _count(out.get(key))
    if not _count(out.get("total_tokens")):
        out["total_tokens"] = out["prompt_tokens"] + out["completion_tokens"]
    return out


def normalise_chat(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A Mistral chat (or FIM) completion → OpenAI's ``chat.completion``, and the complaint
    that makes it a failure (a choice that ended with ``finish_reason: error``), if any."""
    out = dict(body)
    out["object"] = "chat.completion"
    out["usage"] = _usage(body.get("usage"))
    choices = []
    problem = None
    raw_choices = body.get("choices")
    for index, choice in enumerate(raw_choices if isinstance(raw_choices, list) else []):
        if not isinstance(choice, dict):
            continue
        choice = dict(choice)
        reason = choice.get("finish_reason")
        if reason == "model_length":
            choice["finish_reason"] = "length"
        elif reason == "error":
            problem = (
                f"Mistral ended choice {choice.get('index', index)} with finish_reason 'error'"
            )
        if isinstance(choice.get("message"), dict):
            choice["message"] = _message_out(choice["message"])
        choices.append(choice)
    out["choices"] = choices
    return out, problem


def normalise_embeddings(body: dict[str, Any]) -> dict[str, Any]:
    """A Mistral embeddings response → OpenAI's shape (object names, usage counts)."""
    out = dict(body)
    out["object"] = "list"
    data = body.get("data")
    out["data"] = [
        {**item, "object": "embedding", "index": item.get("index", i)}
        for i, item in enumerate(data if isinstance(data, list) else [])
        if isinstance(item, dict)
    ]
    usage = _usage(body.get("usage"))
    out["usage"] = {**usage, "total_tokens": usage["total_tokens"] or usage["prompt_tokens"]}
    return out


def parse_result_line(line: bytes, *, where: str, endpoint: str) -> BatchResultItem | None:
    """One output- or error-file line as an OpenAI-shaped item; ``None`` (logged) if no
    custom_id can be read."""

    def normalise(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        if endpoint in (CHAT, FIM) or "choices" in body:
            return normalise_chat(body)
        if endpoint == EMBEDDINGS:
            return normalise_embeddings(body), None
        return body, None

    return openai.parse_result_line(line, where=where, provider=PROVIDER, normalise=normalise)
