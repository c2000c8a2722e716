"""Anthropic: the Message Batches protocol's facts, request translation and result parsing.

Ground truth: shared/providers/anthropic.md. Nothing here talks to the network; the create
body is staged by the validating pass (``InputLimits.staging``) and checked by ``staged_body``,
local file I/O shared by both twins.

Anthropic takes no input file: the requests go inline in the create body
``{"requests": [{"custom_id", "params"}, ...]}``, each ``params`` a Messages API request
translated from an OpenAI chat-completions body by ``translate_body``. Results are one JSONL
stream (``results_url``) holding a line for every request once the batch has ended.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from any_llm._jsonl import InputLimits, InputSummary, Staging, TranslationError
from any_llm.errors import APIResponseValidationError, InputFileError
from any_llm.types import (
    Batch,
    BatchPage,
    BatchResultError,
    BatchResultItem,
    BatchResultStatus,
    LLMProvider,
)

from . import ProviderSpec
from .openai import load_result_line

logger = logging.getLogger("any_llm")

PROVIDER = "anthropic"
API_VERSION = "2023-06-01"
CHAT_ENDPOINT = "/v1/chat/completions"
BATCHES_PATH = "/v1/messages/batches"
CUSTOM_ID_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
MAX_REQUESTS = 100_000
MAX_BODY_BYTES = 256_000_000
"""256 MB per create request. Read as decimal megabytes, the smaller (defensive) reading; it
applies to the JSON body, which is what ``staged_body`` measures."""
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def auth_headers(api_key: str) -> dict[str, str]:
    """The headers every request carries: the key and the API version."""
    return {"x-api-key": api_key, "anthropic-version": API_VERSION}


# --- request translation: OpenAI chat-completions body -> Anthropic Messages params ---------

_DROPPED: dict[str, str] = {
    # Dropped because they change nothing about the answer (shared/providers/anthropic.md §4).
    "store": "OpenAI's stored-completions switch; Anthropic stores nothing to opt out of",
    "metadata": "OpenAI's request tags for its dashboard; not part of the answer",
    "stream_options": "only meaningful with stream=true, which batches refuse",
    "service_tier": "OpenAI's tier names; a batch request always runs on the batch tier",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Fields with no Anthropic equivalent: accepted only at the value that leaves OpenAI's
# behaviour unchanged (so dropping it changes nothing), refused otherwise.
_INERT: dict[str, tuple[Callable[[Any], bool], str]] = {
    "n": (
        lambda v: v is None or (_is_int(v) and v == 1),
        "Anthropic returns one choice per request; send separate requests instead",
    ),
    "logprobs": (lambda v: v is None or v is False, "Anthropic returns no log probabilities"),
    "top_logprobs": (
        lambda v: v is None or (_is_int(v) and v == 0),
        "Anthropic returns no log probabilities",
    ),
    "logit_bias": (lambda v: v is None or v == {}, "Anthropic has no logit bias"),
    "presence_penalty": (
        lambda v: v is None or (_is_number(v) and v == 0),
        "Anthropic has no presence penalty",
    ),
    "frequency_penalty": (
        lambda v: v is None or (_is_number(v) and v == 0),
        "Anthropic has no frequency penalty",
    ),
    "seed": (lambda v: v is None, "Anthropic has no seed parameter; remove it"),
    "stream": (lambda v: v is None or v is False, "batch requests cannot stream"),
    "modalities": (lambda v: v is None or v == ["text"], "Anthropic answers with text only"),
    "audio": (lambda v: v is None, "Anthropic answers with text only"),
    "prediction": (lambda v: v is None, "Anthropic has no predicted outputs"),
    "web_search_options": (
        lambda v: v is None,
        "OpenAI's built-in web search has no Anthropic equivalent here",
    ),
    "functions": (lambda v: v is None, "legacy function calling: use tools instead"),
    "function_call": (lambda v: v is None, "legacy function calling: use tool_choice instead"),
}

_TRANSLATED = frozenset(
    {
        "model",
        "messages",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
        "user",
    }
)
_EFFORTS = frozenset({"low", "medium", "high", "xhigh"})


def translate_line(line: dict[str, Any]) -> dict[str, Any]:
    """One validated OpenAI batch input line → one Anthropic batch request."""
    body = line.get("body")
    if not isinstance(body, dict):
        raise TranslationError("body", "must be a JSON object")
    return {"custom_id": line["custom_id"], "params": translate_body(body)}


def translate_body(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat-completions body → Anthropic Messages ``params``; raises
    TranslationError naming the first field that has no faithful translation."""
    for key in sorted(body):
        if key in _TRANSLATED or key in _DROPPED:
            continue
        inert = _INERT.get(key)
        if inert is None:
            raise TranslationError(f"body.{key}", "has no Anthropic equivalent; remove it")
        accepts, reason = inert
        if not accepts(body[key]):
            raise TranslationError(f"body.{key}", reason)
    params: dict[str, Any] = {
        "model": body.get("model"),
        "max_tokens": _max_tokens(body),
    }
    system, messages = _messages(body.get("messages"))
    if system is not None:
        params["system"] = system
    params["messages"] = messages
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is None:
            continue
        if not _is_number(value) or not 0 <= value <= 1:
            raise TranslationError(f"body.{name}", f"Anthropic accepts 0 to 1, got {value!r}")
        params[name] = value
    stop = _stop(body.get("stop"))
    if stop:
        params["stop_sequences"] = stop
    tools = _tools(body.get("tools"))
    if tools:
        params["tools"] = tools
    tool_choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"), tools)
    if tool_choice is not None:
        params["tool_choice"] = tool_choice
    output_config = _output_config(body.get("response_format"), body.get("reasoning_effort"))
    if output_config:
        params["output_config"] = output_config
    user = body.get("user")
    if user is not None:
        if not isinstance(user, str):
            raise TranslationError("body.user", "must be a string")
        params["metadata"] = {"user_id": user}
    return params


def _max_tokens(body: dict[str, Any]) -> int:
    # max_completion_tokens is OpenAI's current name, max_tokens the deprecated alias: the
    # first wins when both are set (each must still be valid).
    found: list[int] = []
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not _is_int(value) or value < 1:
            raise TranslationError(f"body.{name}", f"must be a positive integer, got {value!r}")
        found.append(int(value))
    if found:
        return found[0]
    raise TranslationError(
        "body.max_tokens",
        "max_completion_tokens (or max_tokens) is required by Anthropic; set it on every request",
    )


def _check_keys(obj: dict[str, Any], where: str, allowed: Iterable[str]) -> None:
    extra = sorted(set(obj) - set(allowed))
    if extra:
        raise TranslationError(f"{where}.{extra[0]}", "has no Anthropic equivalent; remove it")


def _text_part(part: Any, where: str) -> dict[str, Any]:
    if not isinstance(part, dict) or part.get("type") != "text":
        raise TranslationError(where, "only text parts are accepted here")
    _check_keys(part, where, ("type", "text"))
    text = part.get("text")
    if not isinstance(text, str):
        raise TranslationError(f"{where}.text", "must be a string")
    return {"type": "text", "text": text}


def _text_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    """The content of a system, developer or tool message: a string or text parts."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):
        return [_text_part(part, f"{where}[{j}]") for j, part in enumerate(content)]
    raise TranslationError(where, "must be a string or a list of text parts")


_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.DOTALL)


def _image_block(part: dict[str, Any], where: str) -> dict[str, Any]:
    _check_keys(part, where, ("type", "image_url"))
    image = part.get("image_url")
    if not isinstance(image, dict):
        raise TranslationError(f"{where}.image_url", "must be an object with a url")
    # detail (OpenAI's resolution hint) has no Anthropic equivalent and is dropped (spec §4).
    _check_keys(image, f"{where}.image_url", ("url", "detail"))
    url = image.get("url")
    if not isinstance(url, str) or not url:
        raise TranslationError(f"{where}.image_url.url", "must be a non-empty string")
    if url.startswith("data:"):
        match = _DATA_URL.fullmatch(url)
        if match is None:
            raise TranslationError(
                f"{where}.image_url.url", "a data URL must be data:<mime>;base64,<data>"
            )
        mime = match.group("mime").lower()
        if mime not in IMAGE_MEDIA_TYPES:
            allowed = ", ".join(sorted(IMAGE_MEDIA_TYPES))
            raise TranslationError(
                f"{where}.image_url.url", f"Anthropic accepts {allowed} images, not {mime}"
            )
        source = {"type": "base64", "media_type": mime, "data": match.group("data")}
        return {"type": "image", "source": source}
    if urlsplit(url).scheme.lower() in ("http", "https"):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise TranslationError(f"{where}.image_url.url", "must be an http(s) or base64 data URL")


def _document_block(part: dict[str, Any], where: str) -> dict[str, Any]:
    _check_keys(part, where, ("type", "file"))
    file = part.get("file")
    if not isinstance(file, dict):
        raise TranslationError(f"{where}.file", "must be an object")
    if file.get("file_id") is not None:
        raise TranslationError(
            f"{where}.file.file_id", "OpenAI file ids mean nothing to Anthropic; send file_data"
        )
    _check_keys(file, f"{where}.file", ("file_data", "filename", "file_id"))
    data = file.get("file_data")
    match = _DATA_URL.fullmatch(data) if isinstance(data, str) else None
    if match is None or match.group("mime").lower() != "application/pdf":
        raise TranslationError(
            f"{where}.file.file_data", "Anthropic takes PDF files as data:application/pdf;base64,"
        )
    block: dict[str, Any] = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": match.group("data")},
    }
    filename = file.get("filename")
    if filename is not None:
        if not isinstance(filename, str):
            raise TranslationError(f"{where}.file.filename", "must be a string")
        block["title"] = filename
    return block


def _user_content(content: Any, where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError(where, "must be a string or a list of content parts")
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        at = f"{where}[{j}]"
        if not isinstance(part, dict):
            raise TranslationError(at, "must be a content part object")
        kind = part.get("type")
        if kind == "text":
            blocks.append(_text_part(part, at))
        elif kind == "image_url":
            blocks.append(_image_block(part, at))
        elif kind == "file":
            blocks.append(_document_block(part, at))
        else:
            raise TranslationError(
                at,
                f"content part type {kind!r} has no Anthropic equivalent (text, image_url, file)",
            )
    return blocks


def _tool_use(call: Any, where: str) -> dict[str, Any]:
    if not isinstance(call, dict) or call.get("type", "function") != "function":
        raise TranslationError(where, "only function tool calls are accepted")
    _check_keys(call, where, ("id", "type", "function"))
    function = call.get("function")
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise TranslationError(f"{where}.id", "must be a non-empty string")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise TranslationError(f"{where}.function", "must be an object with a name")
    _check_keys(function, f"{where}.function", ("name", "arguments"))
    raw = function.get("arguments")
    if raw is None or raw == "":
        arguments: Any = {}
    elif isinstance(raw, str):
        try:
            arguments = json.loads(raw)
        except ValueError:
            raise TranslationError(f"{where}.function.arguments", "is not valid JSON") from None
    else:
        raise TranslationError(f"{where}.function.arguments", "must be a JSON string")
    if not isinstance(arguments, dict):
        raise TranslationError(
            f"{where}.function.arguments", "Anthropic needs the arguments as a JSON object"
        )
    return {"type": "tool_use", "id": call_id, "name": function["name"], "input": arguments}


def _assistant_content(message: dict[str, Any], where: str) -> str | list[dict[str, Any]]:
    content = message.get("content")
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise TranslationError(f"{where}.tool_calls", "must be a list")
    if message.get("refusal") is not None:
        raise TranslationError(f"{where}.refusal", "Anthropic has no refusal message field")
    if isinstance(content, str) and not calls:
        return content
    blocks: list[dict[str, Any]] = []
    if isinstance(content, str):
        if content:  # Anthropic refuses empty text blocks; an empty text changes nothing
            blocks.append({"type": "text", "text": content})
    elif isinstance(content, list):
        blocks += [_text_part(part, f"{where}.content[{j}]") for j, part in enumerate(content)]
    elif content is not None:
        raise TranslationError(f"{where}.content", "must be a string or a list of text parts")
    blocks += [_tool_use(call, f"{where}.tool_calls[{j}]") for j, call in enumerate(calls)]
    if not blocks:
        raise TranslationError(where, "an assistant message needs content or tool_calls")
    return blocks


def _tool_result(message: dict[str, Any], where: str) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise TranslationError(f"{where}.tool_call_id", "must be a non-empty string")
    content = message.get("content")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id}
    if isinstance(content, str):
        block["content"] = content
    else:
        block["content"] = _text_blocks(content, f"{where}.content")
    return block


_MESSAGE_KEYS = {
    "system": ("role", "content"),
    "developer": ("role", "content"),
    "user": ("role", "content"),
    "assistant": ("role", "content", "tool_calls", "refusal", "audio", "function_call"),
    "tool": ("role", "content", "tool_call_id"),
}


def _messages(raw: Any) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """System/developer messages → ``system``; the rest → Anthropic turns, with consecutive
    tool results merged into one user turn."""
    if not isinstance(raw, list) or not raw:
        raise TranslationError("body.messages", "must be a non-empty list of messages")
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    previous_tool = False
    for i, message in enumerate(raw):
        where = f"body.messages[{i}]"
        if not isinstance(message, dict):
            raise TranslationError(where, "must be an object")
        role = message.get("role")
        allowed = _MESSAGE_KEYS.get(role) if isinstance(role, str) else None
        if allowed is None:
            raise TranslationError(f"{where}.role", f"role {role!r} has no Anthropic equivalent")
        if "name" in message:
            raise TranslationError(
                f"{where}.name", "Anthropic messages carry no participant name; remove it"
            )
        for key in ("audio", "function_call"):
            if key in message and message[key] is not None:
                raise TranslationError(f"{where}.{key}", "has no Anthropic equivalent")
        _check_keys(message, where, allowed)
        is_tool = role == "tool"
        if role in ("system", "developer"):
            system += _text_blocks(message.get("content"), f"{where}.content")
        elif role == "user":
            turns.append(
                {
                    "role": "user",
                    "content": _user_content(message.get("content"), f"{where}.content"),
                }
            )
        elif role == "assistant":
            turns.append({"role": "assistant", "content": _assistant_content(message, where)})
        else:
            block = _tool_result(message, where)
            if previous_tool:
                turns[-1]["content"].append(block)
            else:
                turns.append({"role": "user", "content": [block]})
        previous_tool = is_tool
    if not turns:
        raise TranslationError(
            "body.messages", "Anthropic needs a user or assistant message besides the system ones"
        )
    if not system:
        return None, turns
    if len(system) == 1:
        return str(system[0]["text"]), turns
    return system, turns


def _stop(stop: Any) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return list(stop)
    raise TranslationError("body.stop", "must be a string or a list of strings")


def _tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise TranslationError("body.tools", "must be a list")
    out: list[dict[str, Any]] = []
    for j, tool in enumerate(tools):
        where = f"body.tools[{j}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise TranslationError(where, "only function tools have an Anthropic equivalent")
        _check_keys(tool, where, ("type", "function"))
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise TranslationError(f"{where}.function", "must be an object with a name")
        _check_keys(function, f"{where}.function", ("name", "description", "parameters", "strict"))
        schema = function.get("parameters")
        if schema is None:
            schema = {"type": "object", "properties": {}}
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise TranslationError(
                f"{where}.function.parameters",
                'Anthropic needs an object schema ({"type": "object", ...})',
            )
        native: dict[str, Any] = {"name": function["name"], "input_schema": schema}
        description = function.get("description")
        if description is not None:
            if not isinstance(description, str):
                raise TranslationError(f"{where}.function.description", "must be a string")
            native["description"] = description
        strict = function.get("strict")
        if strict is not None:
            if not isinstance(strict, bool):
                raise TranslationError(f"{where}.function.strict", "must be a boolean")
            native["strict"] = strict
        out.append(native)
    return out


def _tool_choice(choice: Any, parallel: Any, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    if parallel is not None and not isinstance(parallel, bool):
        raise TranslationError("body.parallel_tool_calls", "must be a boolean")
    native: dict[str, Any] | None
    if choice is None:
        native = None
    elif choice == "auto":
        native = {"type": "auto"}
    elif choice == "none":
        native = {"type": "none"}
    elif choice == "required":
        native = {"type": "any"}
    elif (
        isinstance(choice, dict)
        and choice.get("type") == "function"
        and set(choice) <= {"type", "function"}
        and isinstance(choice.get("function"), dict)
        and set(choice["function"]) == {"name"}
        and isinstance(choice["function"]["name"], str)
    ):
        native = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise TranslationError(
            "body.tool_choice",
            "Anthropic takes auto, none, required or {type: function, function: {name}}",
        )
    if parallel is False:
        # With tool_choice none no tool is called, so there is nothing to serialise.
        if native is None and tools:
            native = {"type": "auto"}
        if native is not None and native["type"] != "none":
            native["disable_parallel_tool_use"] = True
    return native


def _output_config(response_format: Any, effort: Any) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if response_format is not None:
        if not isinstance(response_format, dict):
            raise TranslationError("body.response_format", "must be an object")
        kind = response_format.get("type")
        if kind == "json_schema":
            _check_keys(response_format, "body.response_format", ("type", "json_schema"))
            spec = response_format.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
                raise TranslationError(
                    "body.response_format.json_schema.schema", "must be a JSON schema object"
                )
            # name, description and strict shape nothing on Anthropic, whose structured
            # outputs are always enforced against the schema.
            _check_keys(
                spec,
                "body.response_format.json_schema",
                ("name", "schema", "strict", "description"),
            )
            config["format"] = {"type": "json_schema", "schema": spec["schema"]}
        elif kind == "json_object":
            raise TranslationError(
                "body.response_format",
                "Anthropic has no schema-less JSON mode; use type json_schema with a schema",
            )
        elif kind != "text" or len(response_format) != 1:
            raise TranslationError("body.response_format", "must be text or json_schema")
    if effort is not None:
        if effort not in _EFFORTS:
            raise TranslationError(
                "body.reasoning_effort",
                f"Anthropic's effort takes {', '.join(sorted(_EFFORTS))}, not {effort!r}",
            )
        config["effort"] = effort
    return config


BODY_HEAD = b'{"requests":['
BODY_SEPARATOR = b","
BODY_TAIL = b"]}"
"""The create body: the translated requests between these bytes."""


SPEC = ProviderSpec(
    provider=LLMProvider.ANTHROPIC,
    default_api_base="https://api.anthropic.com",
    api_key_env="ANTHROPIC_API_KEY",
    limits=InputLimits(
        max_requests=MAX_REQUESTS,
        # The real limit is on the create body, checked exactly once it is staged. An input
        # file over it is refused at once: its body is about as large (the envelope shrinks,
        # JSON escapes grow), and splitting is the answer either way.
        max_file_bytes=MAX_BODY_BYTES,
        endpoints=frozenset({CHAT_ENDPOINT}),
        single_model=False,
        custom_id_pattern=CUSTOM_ID_PATTERN,
        translate=translate_line,
        staging=Staging(suffix=".json", head=BODY_HEAD, separator=BODY_SEPARATOR, tail=BODY_TAIL),
    ),
    completion_windows=frozenset({"24h"}),
    auth_headers=auth_headers,
    metadata_max_pairs=0,  # Anthropic batches carry no metadata
    api_base_env="ANTHROPIC_BASE_URL",  # what the official SDK reads
)


# --- the create body -------------------------------------------------------------------------


def staged_body(summary: InputSummary) -> Path:
    """The create body the validating pass staged (``{"requests": [...]}``); refused, and
    removed, when it is over Anthropic's body limit."""
    path = summary.staged_path
    assert path is not None, "the spec's staging writes the body during validation"
    if summary.staged_size > MAX_BODY_BYTES:
        path.unlink(missing_ok=True)
        raise InputFileError(
            f"the translated create request is {summary.staged_size:,} bytes, over Anthropic's "
            f"limit of {MAX_BODY_BYTES:,} bytes; split the file into several batches",
            path=str(summary.path),
        )
    return path


# --- batches ---------------------------------------------------------------------------------

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: Any, field: str) -> int | None:
    """An RFC 3339 timestamp (``2024-09-24T18:37:24.100435Z``) → unix seconds; null → None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{field} must be an RFC 3339 string, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(r"\1", text)  # Python 3.10 reads at most 6 fractional digits
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TypeError(f"{field} is not an RFC 3339 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


_COUNT_KEYS = ("processing", "succeeded", "errored", "canceled", "expired")


def _counts(data: Any) -> dict[str, int]:
    if not isinstance(data, dict):
        raise TypeError("request_counts must be an object")
    counts: dict[str, int] = {}
    for key in _COUNT_KEYS:
        value = data.get(key, 0)
        if not _is_int(value) or value < 0:
            raise TypeError(f"request_counts.{key} must be a non-negative integer")
        counts[key] = int(value)
    return counts


def batch_status(processing_status: Any, cancel_initiated_at: Any, expired: int) -> str:
    """Anthropic's three processing states → OpenAI's status (spec §3.1): ``ended`` splits into
    cancelled (a cancel was asked), expired (the 24 h window cut requests off) and completed."""
    if processing_status == "in_progress":
        return "in_progress"
    if processing_status == "canceling":
        return "cancelling"
    if processing_status == "ended":
        if cancel_initiated_at is not None:
            return "cancelled"
        return "expired" if expired > 0 else "completed"
    return "unknown"


def batch_to_record(data: Any) -> dict[str, Any]:
    """Wire MessageBatch JSON → the dict the converter structures into ``Batch``."""
    if not isinstance(data, dict):
        raise TypeError(f"expected a MessageBatch object, got {type(data).__name__}")
    batch_id = data.get("id")
    if not isinstance(batch_id, str) or not batch_id:
        raise TypeError("MessageBatch has no id")
    counts = _counts(data.get("request_counts"))
    raw_status = data.get("processing_status")
    status = batch_status(raw_status, data.get("cancel_initiated_at"), counts["expired"])
    created = parse_time(data.get("created_at"), "created_at")
    if created is None:
        raise TypeError("MessageBatch has no created_at")
    ended = parse_time(data.get("ended_at"), "ended_at")
    record: dict[str, Any] = {
        "id": batch_id,
        "object": "batch",
        "provider": PROVIDER,
        "provider_status": str(raw_status),
        "status": status,
        "endpoint": CHAT_ENDPOINT,
        # No input file: "" as OpenAI's Batch needs a string here (and any-llm gives "").
        "input_file_id": "",
        "completion_window": "24h",
        "created_at": created,
        "in_progress_at": created,  # Anthropic starts processing at once
        "expires_at": parse_time(data.get("expires_at"), "expires_at"),
        "cancelling_at": parse_time(data.get("cancel_initiated_at"), "cancel_initiated_at"),
        "request_counts": {
            "total": sum(counts.values()),
            "completed": counts["succeeded"],
            "failed": counts["errored"] + counts["canceled"] + counts["expired"],
        },
    }
    if ended is not None:
        stamp = {"cancelled": "cancelled_at", "expired": "expired_at"}.get(status, "completed_at")
        record[stamp] = ended
    if data.get("results_url"):
        # No result files exist; the batch id stands for its results stream (spec §3.3).
        record["output_file_id"] = batch_id
    return record


def parse_page(data: Any, parse: Callable[[Any], Batch]) -> BatchPage:
    """A list page ``{"data", "has_more", "first_id", "last_id"}``; the cursor is ``last_id``,
    passed back as ``after_id``."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise TypeError("expected {'data': [...], 'has_more': ...} from GET /v1/messages/batches")
    batches = tuple(parse(b) for b in data["data"])
    # A missing has_more means "keep paging until an empty page" (as the official SDK does).
    has_more = bool(data.get("has_more", bool(batches))) and bool(batches)
    last = data.get("last_id") or (batches[-1].id if batches else None)
    return BatchPage(data=batches, has_more=has_more, next_cursor=last if has_more else None)


def results_url(data: Any, *, batch_id: str, api_base: str) -> str | None:
    """The ``results_url`` of a MessageBatch JSON, used verbatim, if it is on the API's host
    (the key is sent with the download, so it never goes to another host)."""
    if not isinstance(data, dict):
        raise TypeError("expected a MessageBatch object")
    url = data.get("results_url")
    if url is None:
        return None
    if not isinstance(url, str) or not url:
        raise TypeError("results_url must be a string or null")
    target, base = urlsplit(url), urlsplit(api_base)
    if (target.scheme.lower(), target.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        raise APIResponseValidationError(
            f"{PROVIDER}: batch {batch_id} has its results at {target.scheme}://{target.netloc}, "
            f"not on the API host {base.scheme}://{base.netloc}; any_llm does not send the API "
            "key to another host",
            provider=PROVIDER,
        )
    return url


# --- results ---------------------------------------------------------------------------------

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",  # no OpenAI equivalent: the turn ended without a final answer
}
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""Anthropic's documented error types and the HTTP status each comes with (spec §7); a batch
result carries only the type, so the status of a failed item is derived from it."""


def _int(value: Any) -> int:
    return int(value) if _is_int(value) else 0


def _usage(usage: Any) -> dict[str, Any]:
    usage = usage if isinstance(usage, dict) else {}
    cached = _int(usage.get("cache_read_input_tokens"))
    prompt = (
        _int(usage.get("input_tokens")) + cached + _int(usage.get("cache_creation_input_tokens"))
    )
    completion = _int(usage.get("output_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def message_to_completion(message: dict[str, Any], *, created: int) -> dict[str, Any]:
    """An Anthropic Message → an OpenAI ``chat.completion`` body (spec §5). Text blocks are
    joined into ``content``, tool_use blocks become ``tool_calls``, thinking text goes to a
    non-standard ``reasoning`` field; redacted thinking and server-tool blocks have no OpenAI
    form and are left out."""
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    blocks = message.get("content")
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use":
            calls.append(
                {
                    "id": str(block.get("id", "")),
                    "type": "function",
                    "function": {
                        "name": str(block.get("name", "")),
                        "arguments": json.dumps(block.get("input", {}), ensure_ascii=False),
                    },
                }
            )
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thoughts.append(block["thinking"])
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        reply["tool_calls"] = calls
    if thoughts:
        reply["reasoning"] = "".join(thoughts)
    stop_reason = message.get("stop_reason")
    finish = FINISH_REASONS.get(stop_reason, stop_reason) if isinstance(stop_reason, str) else None
    return {
        "id": str(message.get("id", "")),
        "object": "chat.completion",
        "created": created,
        "model": str(message.get("model", "")),
        "choices": [{"index": 0, "message": reply, "logprobs": None, "finish_reason": finish}],
        "usage": _usage(message.get("usage")),
    }


_UNRAN = {
    "canceled": (BatchResultStatus.CANCELLED, "the batch was cancelled before this request ran"),
    "expired": (BatchResultStatus.EXPIRED, "the batch expired before this request ran"),
}


def parse_result_line(line: bytes, *, where: str, created: int) -> BatchResultItem | None:
    """One results line → an item; ``None`` (logged) when no custom_id can be read."""
    obj = load_result_line(line, where=where, provider=PROVIDER)
    if obj is None:
        return None
    custom_id = obj.get("custom_id") if isinstance(obj, dict) else None
    if not isinstance(custom_id, str) or not custom_id:
        logger.warning("%s: %s: result line has no custom_id; skipped", PROVIDER, where)
        return None
    result = obj.get("result")
    kind = result.get("type") if isinstance(result, dict) else None
    if kind == "succeeded" and isinstance(result, dict) and isinstance(result.get("message"), dict):
        return BatchResultItem(
            custom_id=custom_id,
            status=BatchResultStatus.SUCCEEDED,
            response=message_to_completion(result["message"], created=created),
            status_code=200,
        )
    if kind == "errored" and isinstance(result, dict):
        envelope = result.get("error")
        envelope = envelope if isinstance(envelope, dict) else {}
        detail = envelope.get("error")
        detail = detail if isinstance(detail, dict) else {}
        error_type = detail.get("type")
        error_type = error_type if isinstance(error_type, str) else None
        status = ERROR_STATUS.get(error_type) if error_type else None
        message = detail.get("message")
        request_id = envelope.get("request_id")
        return BatchResultItem(
            custom_id=custom_id,
            status=BatchResultStatus.FAILED,
            error=BatchResultError(
                message=str(message) if message else f"request errored ({error_type})",
                code=error_type,
                type=error_type,
                status_code=status,
            ),
            status_code=status,
            request_id=request_id if isinstance(request_id, str) else None,
        )
    if kind in _UNRAN:
        status_, message_ = _UNRAN[str(kind)]
        return BatchResultItem(
            custom_id=custom_id,
            status=status_,
            error=BatchResultError(message=message_, code=str(kind)),
        )
    return BatchResultItem(
        custom_id=custom_id,
        status=BatchResultStatus.FAILED,
        error=BatchResultError(message=f"malformed result at {where} (result type {kind!r})"),
    )


# --- idempotent create -----------------------------------------------------------------------
#
# Anthropic batches carry no metadata, name or tag, and the create call takes no idempotency
# key: a batch cannot be stamped. After a create attempt that failed without an answer (the
# connection dropped, a timeout), a batch it made can only be recognised by what a batch shows:
# when it was created and how many requests it holds. So:
#
# - before the first attempt, the adapter notes the newest batch of the workspace (``since``);
#   only batches listed before it (newer) are candidates, which needs no clock agreement;
# - a candidate holds exactly as many requests as the input;
# - batches already handed to another create of this process are not candidates;
# - no candidate (after the settle time of a lost answer) means nothing was made, and the
#   create is sent again; any candidate is only named, in a BatchMayExistError, never returned
#   as this call's batch: another process may have made a batch of the same size in the same
#   seconds, and taking it would hand back someone else's results.
#
# A failure that provably sent nothing (a refused connection) needs no search at all.


@attrs.frozen(kw_only=True)
class PendingCreate:
    """A create of this process that has not got its batch yet."""

    requests: int
    since: Batch | None
    """The newest batch before the first attempt (None: the workspace had none)."""
    staged_path: Path | None


class CreateLedger:
    """Creates of this process still waiting for their batch, and batches already handed out.
    Process-wide and thread-safe, so that concurrent clients do not take each other's batch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, PendingCreate] = {}
        self._claimed: set[str] = set()

    def begin(self, key: str, pending: PendingCreate) -> None:
        """Note a create attempt (only the first attempt of ``key`` counts)."""
        with self._lock:
            self._pending.setdefault(key, pending)

    def settle(self, key: str, batch_id: str) -> None:
        """The create ``key`` got ``batch_id``."""
        with self._lock:
            self._pending.pop(key, None)
            self._claimed.add(batch_id)

    def release(self, staged_path: Path | None) -> None:
        """Forget the creates of an input that is released."""
        with self._lock:
            for key in [k for k, p in self._pending.items() if p.staged_path == staged_path]:
                del self._pending[key]

    def pending(self, key: str) -> PendingCreate | None:
        """The unsettled create ``key``, if any."""
        with self._lock:
            return self._pending.get(key)

    def candidates(self, key: str, newest_first: Iterable[Batch]) -> tuple[Batch, ...]:
        """The batches that may be the one the create ``key`` made, from the newest batches
        (listing order): made since its first attempt, of as many requests, and not handed
        out to another create of this process. Anthropic's batches carry no key, so none of
        them can be shown to be it: the caller names them and never takes one."""
        with self._lock:
            pending = self._pending.get(key)
            if pending is None:
                return ()
            since = pending.since
            found: list[Batch] = []
            for batch in newest_first:
                if since is not None and (
                    batch.id == since.id or batch.created_at < since.created_at
                ):
                    break
                if batch.request_counts.total == pending.requests and batch.id not in self._claimed:
                    found.append(batch)
            return tuple(found)


LEDGER = CreateLedger()
"""The ledger of this process (tests use their own)."""
