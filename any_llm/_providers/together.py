"""Together AI: the batch wire protocol's facts, request translation and response parsers.

Ground truth: shared/providers/together.md. Together is OpenAI-ish but not OpenAI on the wire:
input lines are ``{custom_id, body}`` (no ``method``/``url``), files are uploaded with purpose
``batch-api`` by ``POST /files/upload``, the batch object has ISO-8601 timestamps, upper-case
statuses and a ``progress`` percentage, create answers ``{"job": ..., "warning": ...}`` and the
list is one bare, unpaginated JSON array. Nothing here does I/O except staging the translated
input file on local disk.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from any_llm._jsonl import InputLimits, Staging, TranslationError
from any_llm._transport import FileBody
from any_llm.types import (
    Batch,
    BatchPage,
    BatchResultItem,
    BatchStatus,
    LLMProvider,
)

from . import ProviderSpec, openai
from .openai import auth_headers as auth_headers  # Bearer, as OpenAI's
from .openai import input_custom_id as input_custom_id  # the same line shape
from .openai import parse_file_id as parse_file_id  # the same File object
from .openai import upload_filename as upload_filename  # batch input files end in .jsonl

logger = logging.getLogger("any_llm")

PROVIDER = "together"
FILE_PURPOSE = "batch-api"
MAX_CUSTOM_ID = 64

# The v2 SDK also names /v1/audio/transcriptions and /v1/audio/translations, the legacy SDK
# /v1/completions; only chat completions are in both and have a documented line format, so only
# they are accepted (the defensive reading).
ENDPOINTS = frozenset({"/v1/chat/completions"})

STATUS_MAP: Mapping[str, BatchStatus] = {
    "VALIDATING": BatchStatus.VALIDATING,
    "IN_PROGRESS": BatchStatus.IN_PROGRESS,
    "COMPLETED": BatchStatus.COMPLETED,
    "FAILED": BatchStatus.FAILED,
    "EXPIRED": BatchStatus.EXPIRED,
    # CANCELING (one L) is in the legacy SDK's enum; the double-L spellings are accepted too.
    "CANCELING": BatchStatus.CANCELLING,
    "CANCELLING": BatchStatus.CANCELLING,
    "CANCELLED": BatchStatus.CANCELLED,
    "CANCELED": BatchStatus.CANCELLED,
}
"""Together's batch statuses; any other value maps to ``BatchStatus.UNKNOWN`` (still polled)."""

# Together reports a single end time, ``completed_at``; it is filed under the OpenAI timestamp of
# the terminal state the batch is in (unverified: the defensive reading of one ambiguous field).
_END_FIELDS: Mapping[BatchStatus, str] = {
    BatchStatus.COMPLETED: "completed_at",
    BatchStatus.FAILED: "failed_at",
    BatchStatus.EXPIRED: "expired_at",
    BatchStatus.CANCELLED: "cancelled_at",
}


# request translation: OpenAI chat-completions body -> Together chat-completions body

_UNSET = object()
# OpenAI fields Together's chat API does not have: a value other than the listed default (None:
# no default) cannot be sent. A field equal to OpenAI's default is left out: nothing is lost.
_UNSUPPORTED: Mapping[str, tuple[object, str]] = {
    "audio": (_UNSET, "Together does not produce audio output"),
    "modalities": (["text"], "Together answers with text only"),
    "prediction": (_UNSET, "Together has no predicted outputs"),
    "metadata": (_UNSET, "Together's chat requests take no metadata"),
    "store": (False, "Together does not store completions"),
    "service_tier": ("auto", "Together has no service tiers"),
    "stream": (False, "a batch request cannot stream"),
    "stream_options": (_UNSET, "a batch request cannot stream"),
    "web_search_options": (_UNSET, "Together has no built-in web search"),
    "verbosity": (_UNSET, "Together has no verbosity setting"),
    "prompt_cache_key": (_UNSET, "Together has no prompt cache key"),
    "safety_identifier": (_UNSET, "Together has no end-user safety identifier"),
    "user": (_UNSET, "Together has no end-user identifier"),
    "functions": (_UNSET, "the deprecated functions are not translated; use tools"),
    "parallel_tool_calls": (True, "parallel tool calls cannot be turned off on Together"),
    "logprobs": (
        False,
        "Together's logprobs is a top-k integer answered in its own shape; not translated",
    ),
    "top_logprobs": (_UNSET, "Together's logprobs is answered in its own shape; not translated"),
}
_REASONING_EFFORTS = frozenset({"low", "medium", "high"})
_TOOL_CHOICES = frozenset({"auto", "none", "required"})
_RESPONSE_FORMATS = frozenset({"text", "json_object", "json_schema"})
_AUDIO_FORMATS = frozenset({"wav"})


def _text_only(content: Any, where: str, role: str) -> Any:
    """System, assistant and tool content: Together takes a string; OpenAI's list of text parts
    is joined with newlines."""
    if not isinstance(content, list):
        return content
    texts: list[str] = []
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind != "text" or not isinstance(part.get("text"), str):
            raise TranslationError(
                f"{where}.content[{index}]",
                f"Together takes only text in {role} messages, got a {kind!r} part",
            )
        texts.append(part["text"])
    return "\n".join(texts)


def _user_part(part: Any, where: str) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise TranslationError(where, "a content part must be an object")
    kind = part.get("type")
    if kind == "text":
        return dict(part)
    if kind == "image_url":
        image = part.get("image_url")
        if not isinstance(image, dict) or not isinstance(image.get("url"), str):
            raise TranslationError(f"{where}.image_url", "must be an object with a 'url'")
        if image.get("detail") not in (None, "auto"):
            raise TranslationError(
                f"{where}.image_url.detail",
                f"Together has no image detail setting ({image['detail']!r}); remove it",
            )
        extra = sorted(set(image) - {"url", "detail"})
        if extra:
            raise TranslationError(f"{where}.image_url", f"unknown fields {extra}")
        return {"type": "image_url", "image_url": {"url": image["url"]}}
    if kind == "input_audio":
        audio = part.get("input_audio")
        if not isinstance(audio, dict) or audio.get("format") not in _AUDIO_FORMATS:
            fmt = audio.get("format") if isinstance(audio, dict) else None
            raise TranslationError(
                f"{where}.input_audio.format", f"Together takes wav audio only, got {fmt!r}"
            )
        return dict(part)
    raise TranslationError(f"{where}.type", f"Together does not take {kind!r} content parts")


def _message(message: Any, where: str) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise TranslationError(where, "a message must be an object")
    out = dict(message)
    role = message.get("role")
    if role == "developer":
        out["role"] = role = "system"  # Together has no developer role; it is a system prompt
    if role in ("system", "tool"):
        out["content"] = _text_only(message.get("content"), where, str(role))
    elif role == "user":
        content = message.get("content")
        if isinstance(content, list):
            out["content"] = [
                _user_part(part, f"{where}.content[{index}]") for index, part in enumerate(content)
            ]
    elif role == "assistant":
        for field, reason in (
            ("refusal", "Together messages carry no refusal"),
            ("audio", "Together does not take audio replies"),
            ("function_call", "the deprecated function_call is not translated; use tool_calls"),
        ):
            if out.pop(field, None) is not None:
                raise TranslationError(f"{where}.{field}", reason)
        out["content"] = _text_only(message.get("content"), where, "assistant")
    else:
        raise TranslationError(
            f"{where}.role",
            f"Together takes system, user, assistant and tool messages, not {role!r}",
        )
    return out


def _tool(tool: Any, where: str) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else None
        raise TranslationError(f"{where}.type", f"Together takes function tools only, not {kind!r}")
    function = tool.get("function")
    if not isinstance(function, dict):
        raise TranslationError(f"{where}.function", "must be an object")
    function = dict(function)
    if function.pop("strict", None):
        raise TranslationError(
            f"{where}.function.strict", "Together has no strict mode for tools; remove it"
        )
    return {**tool, "function": function}


def translate_body(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat-completions body → Together's; raises TranslationError for a field that
    Together cannot take. Together's own fields (``top_k``, ``repetition_penalty``, ...) pass."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if value is None:
            continue  # null is "not set" in OpenAI's API
        if key in _UNSUPPORTED:
            default, reason = _UNSUPPORTED[key]
            if value == default:
                continue
            raise TranslationError(f"body.{key}", reason)
        out[key] = value
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise TranslationError("body.messages", "must be a non-empty list of messages")
    out["messages"] = [_message(m, f"body.messages[{i}]") for i, m in enumerate(messages)]
    if "max_completion_tokens" in out:
        limit = out.pop("max_completion_tokens")
        if "max_tokens" in out and out["max_tokens"] != limit:
            raise TranslationError(
                "body.max_completion_tokens",
                "differs from max_tokens; Together has one limit (max_tokens)",
            )
        out["max_tokens"] = limit
    if isinstance(out.get("stop"), str):
        out["stop"] = [out["stop"]]
    effort = out.get("reasoning_effort")
    if effort is not None and effort not in _REASONING_EFFORTS:
        raise TranslationError(
            "body.reasoning_effort", f"Together takes low, medium or high, not {effort!r}"
        )
    if "tools" in out:
        if not isinstance(out["tools"], list):
            raise TranslationError("body.tools", "must be a list")
        out["tools"] = [_tool(t, f"body.tools[{i}]") for i, t in enumerate(out["tools"])]
    choice = out.get("tool_choice")
    if choice is not None and not (
        (isinstance(choice, str) and choice in _TOOL_CHOICES)
        or (
            isinstance(choice, dict)
            and choice.get("type") == "function"
            and isinstance(choice.get("function"), dict)
        )
    ):
        raise TranslationError(
            "body.tool_choice",
            f"Together takes auto, none, required or one function, not {json.dumps(choice)[:80]}",
        )
    fmt = out.get("response_format")
    if fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") not in _RESPONSE_FORMATS):
        kind = fmt.get("type") if isinstance(fmt, dict) else fmt
        raise TranslationError(
            "body.response_format", f"Together takes text, json_object or json_schema, not {kind!r}"
        )
    return out


def translate_request(line: dict[str, Any]) -> dict[str, Any]:
    """A validated OpenAI batch line → Together's ``{custom_id, body}`` (method and url, which
    the batch's endpoint already says, are left out)."""
    custom_id = line.get("custom_id")
    if isinstance(custom_id, str) and len(custom_id) > MAX_CUSTOM_ID:
        raise TranslationError(
            "custom_id",
            f"is {len(custom_id)} characters; Together takes at most {MAX_CUSTOM_ID}",
        )
    body = line.get("body")
    if not isinstance(body, dict):
        raise TranslationError("body", "must be a JSON object")
    return {"custom_id": custom_id, "body": translate_body(body)}


SPEC = ProviderSpec(
    provider=LLMProvider.TOGETHER,
    default_api_base="https://api.together.xyz/v1",
    api_key_env="TOGETHER_API_KEY",
    # "100 MB" read as decimal megabytes, checked on the OpenAI-format file, which is a little
    # larger than the translated one that is uploaded: the defensive reading. One model per
    # file: create names it once (model_id, "model for all requests").
    limits=InputLimits(
        max_requests=50_000,
        max_file_bytes=100_000_000,
        endpoints=ENDPOINTS,
        single_model=True,
        translate=translate_request,
        staging=Staging(),
    ),
    completion_windows=frozenset({"24h"}),
    auth_headers=auth_headers,
    metadata_max_pairs=0,  # Together batches carry no metadata
)


def upload_fields(filename: str) -> dict[str, str]:
    """The form fields of ``POST /files/upload`` before the file part."""
    return {"purpose": FILE_PURPOSE, "file_name": filename}


def raw_file_body(path: Path) -> FileBody:
    """The file's bytes as the body of a presigned ``PUT``, streamed from disk."""
    return FileBody(
        open=lambda: path.open("rb"),
        length=path.stat().st_size,
        content_type="application/octet-stream",
    )


def presigned_target(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """(file id, presigned URL) from a redirect answer to an upload, when it has both."""
    file_id = headers.get("x-together-file-id")
    location = headers.get("location")
    if file_id and location:
        return file_id, location
    return None


def create_body(
    *,
    input_file_id: str,
    endpoint: str,
    completion_window: str,
    model: str | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The JSON body of ``POST /batches`` (``extra`` may add ``priority``, say)."""
    body: dict[str, Any] = {
        "input_file_id": input_file_id,
        "endpoint": endpoint,
        "completion_window": completion_window,
    }
    if model is not None:
        body["model_id"] = model
    return {**body, **extra}


def created_job(data: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The ``job`` and ``warning`` of a create answer; a null job means nothing was created."""
    if not isinstance(data, dict):
        raise TypeError("expected {'job': ..., 'warning': ...} from POST /batches")
    job = data.get("job")
    warning = data.get("warning")
    if job is not None and not isinstance(job, dict):
        raise TypeError("'job' of the create answer is not an object")
    return job, str(warning) if warning else None


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?"
    r"\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


def parse_timestamp(value: Any) -> int | None:
    """An ISO-8601 string (any fraction, ``Z`` or an offset; none means UTC) or a number → unix
    seconds. Null, an unreadable value and Go's zero time (year 1) are ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if value > 0 else None
    match = _ISO.fullmatch(str(value).strip())
    if match is None:
        logger.warning("%s: unreadable timestamp %r; ignored", PROVIDER, value)
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    if match.group(8):
        offset = int(match.group(9)) * 3600 + int(match.group(10)) * 60
        seconds -= offset if match.group(8) == "+" else -offset
    return seconds if seconds > 0 else None


def map_status(value: Any) -> BatchStatus:
    """A Together status (case-insensitive) as a BatchStatus; unknown values are UNKNOWN."""
    return STATUS_MAP.get(str(value).upper(), BatchStatus.UNKNOWN)


def completion_window(created_at: int | None, deadline: int | None) -> str:
    """``job_deadline − created_at`` in whole hours (the deadline can be a little short)."""
    if created_at is None or deadline is None:
        return "24h"
    hours = round((deadline - created_at) / 3600)
    return f"{hours}h" if hours > 0 else "24h"


def batch_to_record(data: Any) -> dict[str, Any]:
    """A Together BatchJob → the dict the converter structures into ``Batch``.

    Together reports no request counts (only ``progress``), no metadata and no usage: those
    stay at their defaults. Its ``error`` string becomes the batch's one error.
    """
    if not isinstance(data, dict):
        raise TypeError(f"expected a BatchJob object, got {type(data).__name__}")
    batch_id = data.get("id")
    if not isinstance(batch_id, str) or not batch_id:
        raise TypeError("the BatchJob has no 'id'")
    raw_status = data.get("status")
    status = map_status(raw_status)
    created = parse_timestamp(data.get("created_at"))
    deadline = parse_timestamp(data.get("job_deadline"))
    record: dict[str, Any] = {
        "id": batch_id,
        "provider": PROVIDER,
        "status": status.value,
        "provider_status": str(raw_status),
        "endpoint": str(data.get("endpoint") or ""),
        "completion_window": completion_window(created, deadline),
        "created_at": created or 0,
        "expires_at": deadline,
    }
    for key in ("input_file_id", "output_file_id", "error_file_id"):
        if isinstance(data.get(key), str) and data[key]:
            record[key] = data[key]
    if isinstance(data.get("model_id"), str):
        record["model"] = data["model_id"]
    ended = parse_timestamp(data.get("completed_at"))
    if ended is not None and status in _END_FIELDS:
        record[_END_FIELDS[status]] = ended
    error = data.get("error")
    if isinstance(error, dict):
        error = error.get("message") or json.dumps(error)
    if error:
        record["errors"] = {"object": "list", "data": [{"message": str(error)}]}
    return record


def parse_list(data: Any, parse: Callable[[Any], Batch]) -> list[Batch]:
    """``GET /batches``: a bare array (an ``{"data": [...]}`` wrapper is read too), newest first
    (sorted again here so that client-side pages are stable)."""
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise TypeError("expected a JSON array of BatchJob objects from GET /batches")
    batches = [parse(item) for item in data]
    return sorted(batches, key=lambda b: b.created_at, reverse=True)


def page_of(batches: Sequence[Batch], *, after: str | None, limit: int | None) -> BatchPage:
    """A page of the (unpaginated) list: the batches after the one named ``after``, at most
    ``limit`` of them."""
    return openai.cut_page(batches, after=after, limit=limit, provider=PROVIDER)


def _openai_body(body: dict[str, Any]) -> dict[str, Any]:
    """Together's chat completion as OpenAI's: its ``eos`` finish reason is OpenAI's ``stop``."""
    choices = body.get("choices")
    if isinstance(choices, list):
        for choice in choices:
            if isinstance(choice, dict) and choice.get("finish_reason") == "eos":
                choice["finish_reason"] = "stop"
    return body


def parse_result_line(line: bytes, *, where: str) -> BatchResultItem | None:
    """One output- or error-file line as an item; ``None`` (logged) if no custom_id can be read.

    Success: ``{custom_id, response: {status_code: 2xx, body}}``. Failure:
    ``{custom_id, error: {message, code}}``, or a response with an error status.
    """
    return openai.parse_result_line(
        line, where=where, provider=PROVIDER, normalise=lambda body: (_openai_body(body), None)
    )
