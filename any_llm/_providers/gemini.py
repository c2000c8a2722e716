"""Gemini Developer API: the batch wire protocol's facts, request translation and parsers.

Ground truth: shared/providers/gemini.md. Nothing here talks to the network; the body factories
at the end open the staged file lazily, on every attempt of a request.

Choices on points the spec marks unverified (the defensive reading each time):

- Inline vs file: the translated requests are sent inline in the create body while the whole
  body stays under ``INLINE_MAX_BYTES`` (the spec's "< 20 MB", read as decimal megabytes);
  bigger inputs are uploaded as a JSONL file with the resumable protocol.
- Per-request keys: inline requests carry ``metadata: {"key": custom_id}``, file lines a
  top-level ``key``; results are joined on that key, never on position.
- Images: ``data:`` URLs become ``inlineData``; Files-API URIs become ``fileData``; any other
  URL is refused (whether Gemini fetches arbitrary web URLs is unverified).
- Error codes of a failed request may be HTTP codes or gRPC codes: both are read.
- Batch states arrive as ``BATCH_STATE_*``; the ``JOB_STATE_*`` spellings are accepted too.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

from any_llm import _json
from any_llm._args import path_id, provider_id
from any_llm._jsonl import InputLimits, TranslationError, write_translated
from any_llm._transport import CHUNK_SIZE, FileBody
from any_llm.errors import InputFileError
from any_llm.types import (
    Batch,
    BatchPage,
    BatchResultError,
    BatchResultItem,
    BatchResultStatus,
    BatchStatus,
    LLMProvider,
)

from . import ProviderSpec
from .openai import load_result_line

logger = logging.getLogger("any_llm")

PROVIDER = "gemini"
CHAT = "/v1/chat/completions"
ENDPOINTS = frozenset({CHAT})

DEFAULT_API_VERSION = "v1beta"
"""The version Google's batch guide documents; an ``api_base`` ending in a version wins."""
API_VERSIONS = ("v1beta", "v1")

INLINE_MAX_BYTES = 20_000_000
"""Largest create request carrying the requests inline (spec §6: "< 20 MB"). Tests lower it."""
INLINE_ENVELOPE_BYTES = 4096
"""Room kept for the create body around the inline requests (display name, priority)."""
MAX_FILE_BYTES = 2_000_000_000
"""Largest uploaded JSONL file (spec §6: "2 GB", read as decimal)."""
MAX_REQUESTS = 10_000_000
"""No per-batch request count is documented; the file size is the real bound."""
UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024
"""Bytes per resumable-upload request (the official SDK's size; a multiple of 256 KiB)."""
EXPIRY_SECONDS = 48 * 3600
"""Batches pending or running longer than this become EXPIRED, with no results (spec §6)."""
INPUT_MIME_TYPE = "application/jsonl"
MAX_DISPLAY_NAME = 512
"""Display names longer than this are refused (the Files API's documented limit; the batch
limit is unverified)."""
FILES_API_URI = re.compile(
    r"https://generativelanguage\.googleapis\.com/(v1beta|v1)/files/[a-z0-9-]+"
)
THOUGHT_SIGNATURE_SKIP = "skip_thought_signature_validator"
"""Google's documented placeholder for replayed function calls Gemini 3 did not sign."""
GRPC_CODES = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}


def auth_headers(api_key: str) -> dict[str, str]:
    """The headers that authenticate a request (never the ``?key=`` query: queries get logged)."""
    return {"x-goog-api-key": api_key.strip()}


# request translation: OpenAI chat completions -> GenerateContentRequest

_MODEL = re.compile(r"(?:models/|tunedModels/)?[A-Za-z0-9][A-Za-z0-9._-]*")
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)((?:;[\w.+-]+=[^;,]*)*);base64,", re.ASCII)
_AUDIO_FORMATS = {"wav": "audio/wav", "mp3": "audio/mp3"}

# Fields that change nothing in the answer: the model is the job's (in the create URL), store
# and metadata are OpenAI-side bookkeeping of stored completions.
_IGNORED = frozenset({"model", "store", "metadata"})
_REFUSED = {
    "logit_bias": "Gemini has no token biasing",
    "user": "Gemini has no end-user field",
    "safety_identifier": "Gemini has no end-user field",
    "prompt_cache_key": "Gemini caches through cachedContent, not a key",
    "audio": "audio output is not batched by any_llm for Gemini",
    "prediction": "Gemini has no predicted outputs",
    "web_search_options": "use Gemini's own googleSearch tool outside any_llm",
    "functions": "the legacy functions field is not translated; use tools",
    "function_call": "the legacy function_call field is not translated; use tool_choice",
    "reasoning_effort": (
        "Gemini's thinking budget is model dependent and not translated; remove the field"
    ),
    "verbosity": "Gemini has no verbosity control",
    "top_logprobs": "Gemini log probabilities are not translated back into OpenAI's logprobs",
    "stream_options": "batches are not streamed",
}


def _fail(field: str, message: str) -> TranslationError:
    return TranslationError(field, message)


def _number(value: Any, field: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(field, f"must be a number, got {value!r}")
    return value


def _integer(value: Any, field: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(field, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _text_of(content: Any, field: str) -> str:
    """A message content that may only hold text: a string or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content:
        texts = []
        for j, part in enumerate(content):
            if (
                not isinstance(part, dict)
                or part.get("type") != "text"
                or not isinstance(part.get("text"), str)
            ):
                raise _fail(f"{field}[{j}]", "only text parts can be translated here")
            texts.append(part["text"])
        return "".join(texts)
    raise _fail(field, "must be a string or a non-empty list of text parts")


def _data_url(url: str, field: str) -> dict[str, Any]:
    match = _DATA_URL.match(url)
    if match is None:
        raise _fail(field, "a data: URL must be base64 encoded (data:<mime>;base64,<data>)")
    return {"inlineData": {"mimeType": match.group(1), "data": url[match.end() :]}}


def _image_part(part: dict[str, Any], field: str) -> dict[str, Any]:
    image = part.get("image_url")
    if not isinstance(image, dict) or not isinstance(image.get("url"), str):
        raise _fail(f"{field}.image_url", "must be an object with a 'url' string")
    for key, value in image.items():
        if key == "detail":
            if value not in (None, "auto"):
                raise _fail(
                    f"{field}.image_url.detail",
                    f"{value!r} has no Gemini equivalent per image; remove it or use 'auto'",
                )
        elif key != "url":
            raise _fail(f"{field}.image_url.{key}", "unknown field")
    url: str = image["url"]
    if url.startswith("data:"):
        return _data_url(url, f"{field}.image_url.url")
    if FILES_API_URI.fullmatch(url):
        # The Files API knows the file's MIME type, so it is not repeated here.
        return {"fileData": {"fileUri": url}}
    raise _fail(
        f"{field}.image_url.url",
        "Gemini batches take images as data: URLs or Files-API URIs "
        "(https://generativelanguage.googleapis.com/v1beta/files/...); fetching other URLs "
        "is not documented, so download the image and send it as a data: URL",
    )


def _audio_part(part: dict[str, Any], field: str) -> dict[str, Any]:
    audio = part.get("input_audio")
    if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
        raise _fail(f"{field}.input_audio", "must be an object with base64 'data'")
    audio_format = audio.get("format")
    mime = _AUDIO_FORMATS.get(audio_format) if isinstance(audio_format, str) else None
    if mime is None:
        raise _fail(f"{field}.input_audio.format", "must be 'wav' or 'mp3'")
    return {"inlineData": {"mimeType": mime, "data": audio["data"]}}


def _file_part(part: dict[str, Any], field: str) -> dict[str, Any]:
    file = part.get("file")
    data = file.get("file_data") if isinstance(file, dict) else None
    if not isinstance(data, str) or not data.startswith("data:"):
        raise _fail(
            f"{field}.file",
            "only file_data given as a base64 data: URL can be sent to Gemini "
            "(OpenAI file ids mean nothing there)",
        )
    return _data_url(data, f"{field}.file.file_data")


def _user_parts(content: Any, field: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, list) or not content:
        raise _fail(field, "must be a string or a non-empty list of parts")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        where = f"{field}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append({"text": part["text"]})
        elif kind == "image_url":
            parts.append(_image_part(part, where))
        elif kind == "input_audio":
            parts.append(_audio_part(part, where))
        elif kind == "file":
            parts.append(_file_part(part, where))
        else:
            raise _fail(where, f"part type {kind!r} cannot be sent to Gemini")
    return parts


def _check_keys(message: dict[str, Any], allowed: frozenset[str], field: str) -> None:
    for key, value in message.items():
        if key in allowed or value is None:
            continue
        if key == "name":
            raise _fail(f"{field}.name", "Gemini has no participant names; remove it")
        raise _fail(f"{field}.{key}", "cannot be translated for this role")


def _function_call(call: Any, field: str) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(call, dict) or call.get("type", "function") != "function":
        raise _fail(field, "only function tool calls can be sent to Gemini")
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise _fail(f"{field}.function", "must hold a 'name'")
    raw = function.get("arguments", "{}")
    try:
        args = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise _fail(f"{field}.function.arguments", "is not valid JSON") from None
    if not isinstance(args, dict):
        raise _fail(f"{field}.function.arguments", "must encode a JSON object for Gemini")
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise _fail(f"{field}.id", "must be a non-empty string")
    return call_id, function["name"], args


def _tool_response(content: Any, field: str) -> dict[str, Any]:
    text = _text_of(content, field)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    # Gemini wants an object: a JSON object is passed as is, anything else is wrapped.
    return parsed if isinstance(parsed, dict) else {"result": text}


_ROLE_KEYS = {
    "system": frozenset({"role", "content"}),
    "developer": frozenset({"role", "content"}),
    "user": frozenset({"role", "content"}),
    "assistant": frozenset({"role", "content", "tool_calls"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
}


def _translate_messages(
    messages: Any, *, sign_calls: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(systemInstruction parts, contents) of an OpenAI message list."""
    if not isinstance(messages, list) or not messages:
        raise _fail("body.messages", "must be a non-empty list")
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for i, message in enumerate(messages):
        field = f"body.messages[{i}]"
        if not isinstance(message, dict):
            raise _fail(field, "must be an object")
        role = message.get("role")
        allowed = _ROLE_KEYS.get(role) if isinstance(role, str) else None
        if allowed is None:
            raise _fail(f"{field}.role", f"role {role!r} cannot be sent to Gemini")
        _check_keys(message, allowed, field)
        content = message.get("content")
        if role in ("system", "developer"):
            system.append({"text": _text_of(content, f"{field}.content")})
        elif role == "user":
            contents.append({"role": "user", "parts": _user_parts(content, f"{field}.content")})
        elif role == "assistant":
            parts: list[dict[str, Any]] = []
            if content is not None and content != "":
                parts.append({"text": _text_of(content, f"{field}.content")})
            calls = message.get("tool_calls") or []
            if not isinstance(calls, list):
                raise _fail(f"{field}.tool_calls", "must be a list")
            for j, call in enumerate(calls):
                call_id, name, args = _function_call(call, f"{field}.tool_calls[{j}]")
                call_names[call_id] = name
                part: dict[str, Any] = {"functionCall": {"name": name, "args": args}}
                if sign_calls and j == 0:
                    part["thoughtSignature"] = THOUGHT_SIGNATURE_SKIP
                parts.append(part)
            if not parts:
                raise _fail(field, "an assistant message needs content or tool_calls")
            contents.append({"role": "model", "parts": parts})
        else:  # tool
            answered = message.get("tool_call_id")
            function = call_names.get(answered) if isinstance(answered, str) else None
            if function is None:
                raise _fail(
                    f"{field}.tool_call_id",
                    f"{answered!r} names no earlier assistant tool call; Gemini needs the "
                    "function's name",
                )
            part = {
                "functionResponse": {
                    "name": function,
                    "response": _tool_response(content, f"{field}.content"),
                }
            }
            previous = contents[-1] if contents else None
            if previous is not None and all("functionResponse" in p for p in previous["parts"]):
                previous["parts"].append(part)  # answers to parallel calls share one turn
            else:
                contents.append({"role": "user", "parts": [part]})
    if not contents:
        raise _fail("body.messages", "needs at least one user message besides system prompts")
    return system, contents


def _translate_tools(tools: Any) -> tuple[list[dict[str, Any]], set[str]]:
    if not isinstance(tools, list):
        raise _fail("body.tools", "must be a list")
    declarations: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, tool in enumerate(tools):
        field = f"body.tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise _fail(field, "only function tools can be sent to Gemini")
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _fail(f"{field}.function", "must hold a 'name'")
        declaration: dict[str, Any] = {"name": function["name"]}
        for key, value in function.items():
            if key == "name" or value is None:
                continue
            if key == "description" and isinstance(value, str):
                declaration["description"] = value
            elif key == "parameters" and isinstance(value, dict):
                # OpenAI parameters are JSON Schema: Gemini's field for that (not the
                # OpenAPI subset of 'parameters').
                declaration["parametersJsonSchema"] = value
            elif key == "strict" and value is False:
                continue
            elif key == "strict":
                raise _fail(f"{field}.function.strict", "Gemini has no strict function calling")
            else:
                raise _fail(f"{field}.function.{key}", "cannot be translated")
        names.add(function["name"])
        declarations.append(declaration)
    return ([{"functionDeclarations": declarations}] if declarations else []), names


def _translate_tool_choice(choice: Any, names: set[str]) -> dict[str, Any]:
    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
    if isinstance(choice, str) and choice in modes:
        if choice == "required" and not names:
            raise _fail("body.tool_choice", "'required' needs body.tools")
        return {"functionCallingConfig": {"mode": modes[choice]}}
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or name not in names:
            raise _fail("body.tool_choice.function.name", f"{name!r} is not one of body.tools")
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    raise _fail("body.tool_choice", f"{choice!r} cannot be translated")


def _translate_response_format(value: Any) -> dict[str, Any]:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise _fail("body.response_format.json_schema.schema", "must be a JSON Schema object")
        # name, description and strict label the schema for OpenAI; Gemini always
        # constrains the output to responseJsonSchema.
        return {"responseMimeType": "application/json", "responseJsonSchema": schema}
    raise _fail("body.response_format", f"type {kind!r} cannot be translated")


def _stop_sequences(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return list(value)
    raise _fail("body.stop", "must be a string or a list of strings")


def translate_body(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat-completions body as a Gemini ``GenerateContentRequest`` (camelCase).

    Raises TranslationError naming the first field that has no faithful translation.
    """
    model = body.get("model")
    sign_calls = isinstance(model, str) and model.removeprefix("models/").startswith("gemini-3")
    system, contents = _translate_messages(body.get("messages"), sign_calls=sign_calls)
    request: dict[str, Any] = {"contents": contents}
    if system:
        request["systemInstruction"] = {"parts": system}
    config: dict[str, Any] = {}
    names: set[str] = set()
    tools = body.get("tools")
    if tools:
        request["tools"], names = _translate_tools(tools)
    for key, value in body.items():
        field = f"body.{key}"
        if key in ("messages", "tools") or key in _IGNORED or value is None:
            continue
        if key == "temperature":
            config["temperature"] = _number(value, field)
        elif key == "top_p":
            config["topP"] = _number(value, field)
        elif key in ("max_tokens", "max_completion_tokens"):
            tokens = _integer(value, field, 1)
            if config.get("maxOutputTokens", tokens) != tokens:
                raise _fail(field, "differs from the other max token field")
            config["maxOutputTokens"] = tokens
        elif key == "stop":
            if stops := _stop_sequences(value):
                config["stopSequences"] = stops
        elif key == "n":
            config["candidateCount"] = _integer(value, field, 1)
        elif key == "seed":
            config["seed"] = _integer(value, field, -(2**63))
        elif key == "presence_penalty":
            config["presencePenalty"] = _number(value, field)
        elif key == "frequency_penalty":
            config["frequencyPenalty"] = _number(value, field)
        elif key == "response_format":
            config.update(_translate_response_format(value))
        elif key == "tool_choice":
            request["toolConfig"] = _translate_tool_choice(value, names)
        elif key == "parallel_tool_calls":
            if value is not True:
                raise _fail(field, "Gemini cannot be told to make one call at a time")
        elif key == "logprobs":
            if value is not False:
                raise _fail(field, _REFUSED["top_logprobs"])
        elif key == "stream":
            if value is not False:
                raise _fail(field, "batch requests cannot stream")
        elif key == "service_tier":
            if value not in ("auto", "default"):
                raise _fail(field, "OpenAI service tiers have no Gemini equivalent")
        elif key == "modalities":
            if value != ["text"]:
                raise _fail(field, "only text output is batched by any_llm for Gemini")
        else:
            raise _fail(field, _REFUSED.get(key, "has no Gemini equivalent"))
    if config:
        request["generationConfig"] = config
    return request


def _custom_id(line: dict[str, Any]) -> str:
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str):
        raise _fail("custom_id", "must be a string")
    return custom_id


def _checked_body(line: dict[str, Any]) -> dict[str, Any]:
    body = line.get("body")
    if not isinstance(body, dict):
        raise _fail("body", "must be an object")
    model = body.get("model")
    if not isinstance(model, str) or not _MODEL.fullmatch(model):
        raise _fail("body.model", f"{model!r} is not a Gemini model id (e.g. gemini-2.5-flash)")
    return body


def file_line(line: dict[str, Any]) -> dict[str, Any]:
    """One OpenAI input line as a line of the uploaded JSONL file."""
    return {"key": _custom_id(line), "request": translate_body(_checked_body(line))}


def inline_item(line: dict[str, Any]) -> dict[str, Any]:
    """One OpenAI input line as an inline request of the create body."""
    return {
        "request": translate_body(_checked_body(line)),
        "metadata": {"key": _custom_id(line)},
    }


SPEC = ProviderSpec(
    provider=LLMProvider.GEMINI,
    default_api_base="https://generativelanguage.googleapis.com",
    api_key_env="GEMINI_API_KEY",
    limits=InputLimits(
        max_requests=MAX_REQUESTS,
        max_file_bytes=MAX_FILE_BYTES,
        endpoints=ENDPOINTS,
        single_model=True,
        translate=file_line,
    ),
    # Gemini takes no window: it aims at 24 h and expires batches after 48 h. Both values
    # are accepted (24h is the default of every caller); batches report "24h", Gemini's
    # target (as any-llm does), and the 48 h limit in expires_at.
    completion_windows=frozenset({"24h", "48h"}),
    auth_headers=auth_headers,
    metadata_max_pairs=0,  # Gemini batches have no metadata
    api_base_env="GOOGLE_GEMINI_BASE_URL",  # what the official SDK reads
)


# paths and create bodies


def split_api_base(base_url: str) -> tuple[str, str, str]:
    """(root, API version, prefix of the API's paths) of an ``api_base``.

    ``https://generativelanguage.googleapis.com`` → version ``v1beta``, paths under ``/v1beta``;
    an ``api_base`` that already ends in ``/v1`` or ``/v1beta`` uses that version.
    Uploads live under ``<root>/upload/<version>``.
    """
    base = base_url.rstrip("/")
    for version in API_VERSIONS:
        if base.endswith("/" + version):
            return base[: -len(version) - 1], version, ""
    return base, DEFAULT_API_VERSION, "/" + DEFAULT_API_VERSION


def model_resource(model: str) -> str:
    """``gemini-2.5-flash`` → ``models/gemini-2.5-flash`` (tuned models keep their prefix)."""
    return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"


CUSTOM_METHOD = ":"
"""Starts a custom method in a Google API path (``batches/abc:cancel``): never part of an id
(a server that decodes ``%3A`` before routing would take it for one; unverified, so refused)."""


def batch_path(batch_id: object) -> str:
    """The path of a batch from the caller's id (``batches/abc`` or ``abc``): the resource
    name's id, one percent-encoded segment; ConfigurationError for anything else (``..``,
    ``batches/a/b``, ``abc:cancel``, a query, an empty id)."""
    return "/batches/" + path_id(
        PROVIDER, "batch_id", batch_id, prefix="batches/", refuse=CUSTOM_METHOD
    )


def file_path(file_name: object, field: str = "file name") -> str:
    """The path of a file from the name Gemini gave it (``files/abc`` or ``abc``, from the
    ``field`` of its answer); APIResponseValidationError when it would change the path."""
    return "/files/" + provider_id(
        PROVIDER, field, file_name, prefix="files/", refuse=CUSTOM_METHOD
    )


# What ``display_name`` writes: the stamp alone, or "<name> [<stamp>]"; a key as _args allows.
_STAMP_ALONE = re.compile(r"any-llm-([A-Za-z0-9_-]{1,64})")
_STAMP_AFTER_NAME = re.compile(r"(.*) \[any-llm-([A-Za-z0-9_-]{1,64})\]", re.DOTALL)


def display_name(idempotency_key: str, requested: Any) -> str:
    """The batch's display name: the caller's (if any) plus the idempotency stamp."""
    stamp = f"any-llm-{idempotency_key}"
    if requested is None:
        return stamp
    if not isinstance(requested, str) or not requested.strip():
        raise ValueError("display_name must be a non-empty string")
    name = f"{requested} [{stamp}]"
    if len(name) > MAX_DISPLAY_NAME:
        raise ValueError(f"display_name must be at most {MAX_DISPLAY_NAME - 50} characters")
    return name


def split_display_name(display: str) -> tuple[str | None, str | None]:
    """A batch's display name → (the name the user gave, the idempotency key of the stamp):
    the inverse of ``display_name``. A name without a stamp is all the user's."""
    alone = _STAMP_ALONE.fullmatch(display)
    if alone is not None:
        return None, alone.group(1)
    after = _STAMP_AFTER_NAME.fullmatch(display)
    if after is not None:
        return after.group(1), after.group(2)
    return display, None


def _batch_fields(display: str, priority: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"displayName": display}
    if priority is not None:
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise ValueError("priority must be an integer")
        fields["priority"] = str(priority)  # int64 travels as a JSON string
    return fields


def file_create_body(file_name: str, display: str, priority: Any = None) -> dict[str, Any]:
    """The create body of a batch whose requests are in an uploaded file."""
    return {"batch": {**_batch_fields(display, priority), "inputConfig": {"fileName": file_name}}}


def inline_envelope(display: str, priority: Any = None) -> tuple[bytes, bytes]:
    """(head, tail) of a create body; the staged inline requests, comma-joined, go between."""
    fields = json.dumps(_batch_fields(display, priority), separators=(",", ":"))
    head = fields[:-1] + ',"inputConfig":{"requests":{"requests":['
    return b'{"batch":' + head.encode(), b"]}}}}"


# batch objects


_STATUS = {
    "PENDING": BatchStatus.VALIDATING,
    "RUNNING": BatchStatus.IN_PROGRESS,
    "SUCCEEDED": BatchStatus.COMPLETED,
    "FAILED": BatchStatus.FAILED,
    "CANCELLED": BatchStatus.CANCELLED,
    "EXPIRED": BatchStatus.EXPIRED,
    "UNSPECIFIED": BatchStatus.IN_PROGRESS,
    # Vertex AI's JOB_STATE_* names beyond those (read as any-llm reads them)
    "QUEUED": BatchStatus.VALIDATING,
    "CANCELLING": BatchStatus.CANCELLING,
    "PARTIALLY_SUCCEEDED": BatchStatus.COMPLETED,
}
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
INLINE_INPUT = ":inlinedRequests"
"""Suffix of the synthetic input file id of a batch whose requests were inline."""
INLINE_OUTPUT = ":inlinedResponses"
"""Suffix of the synthetic output file id of a batch whose results are inside it."""
INLINE_ITEMS_PER_TURN = 100
"""Inline results (or input keys) parsed between two turns given to the event loop."""


def map_status(state: Any, *, done: Any = None, error: Any = None) -> BatchStatus:
    """A wire state (``BATCH_STATE_*`` or ``JOB_STATE_*``) as an OpenAI status."""
    name = state if isinstance(state, str) else ""
    for prefix in ("BATCH_STATE_", "JOB_STATE_"):
        name = name.removeprefix(prefix)
    status = _STATUS.get(name)
    if status is not None and not (status is BatchStatus.IN_PROGRESS and done is True):
        return status
    if done is True:
        return BatchStatus.FAILED if error else BatchStatus.COMPLETED
    logger.warning("%s: unknown batch state %r; read as in_progress", PROVIDER, state)
    return BatchStatus.IN_PROGRESS


def rfc3339_seconds(value: Any) -> int | None:
    """RFC 3339 (``2025-07-01T12:00:00.123456789Z``) → unix seconds; ``None`` if absent."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        return None
    date, clock, _fraction, zone = match.groups()
    zone = "+00:00" if zone in ("Z", "z") else zone
    return int(datetime.fromisoformat(f"{date}T{clock}{zone}").timestamp())


def _count(stats: dict[str, Any], key: str) -> int:
    value = stats.get(key)
    try:
        return int(value) if value is not None else 0  # int64 counters arrive as strings
    except (TypeError, ValueError):
        return 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def batch_output(data: dict[str, Any]) -> dict[str, Any]:
    """The output of a batch operation: ``metadata.output``, else ``response``."""
    return _dict(_dict(data.get("metadata")).get("output")) or _dict(data.get("response"))


def _error_detail(error: dict[str, Any]) -> tuple[str | None, str]:
    code = error.get("code")
    status = error.get("status")
    name = status if isinstance(status, str) and status else None
    if name is None and isinstance(code, int):
        name = GRPC_CODES.get(code, str(code))
    message = error.get("message")
    return name, str(message) if message else "no message given"


def decode_operation(content: bytes | memoryview) -> Any:
    """A batch operation's JSON, its inline requests and responses kept as bytes (not built:
    on 20 MB that would hold the GIL for hundreds of milliseconds per poll); ValueError when
    it is not JSON. ``batch_to_record``, ``inline_results`` and ``inline_input_keys`` read it."""
    from .gemini_operation import decode_operation as decode

    return decode(content)


def decode_page(content: bytes | memoryview) -> Any:
    """A ``GET /batches`` page, each operation decoded as ``decode_operation`` does."""
    from .gemini_operation import decode_page as decode

    return decode(content)


def batch_to_record(data: Any) -> dict[str, Any]:
    """A batch operation (``{"name", "metadata", "done", "response", "error"}``) → the dict the
    converter structures into ``Batch``."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise TypeError("expected a batch operation with a 'name'")
    name: str = data["name"]
    meta = _dict(data.get("metadata"))
    state = meta.get("state", data.get("state"))
    error = _dict(data.get("error"))
    status = map_status(state, done=data.get("done"), error=error)
    created = rfc3339_seconds(meta.get("createTime")) or 0
    ended = rfc3339_seconds(meta.get("endTime")) or rfc3339_seconds(meta.get("updateTime"))
    stats = _dict(meta.get("batchStats"))
    record: dict[str, Any] = {
        "id": name,
        "provider": PROVIDER,
        "status": status.value,
        "provider_status": str(state),
        "endpoint": CHAT,
        "completion_window": "24h",  # the target; the 48 h limit is expires_at
        "created_at": created,
        "expires_at": created + EXPIRY_SECONDS if created else None,
        "request_counts": {
            "total": _count(stats, "requestCount"),
            "completed": _count(stats, "successfulRequestCount"),
            "failed": _count(stats, "failedRequestCount"),
        },
    }
    stamp_field = {
        BatchStatus.COMPLETED: "completed_at",
        BatchStatus.FAILED: "failed_at",
        BatchStatus.CANCELLED: "cancelled_at",
        BatchStatus.EXPIRED: "expired_at",
    }.get(status)
    if stamp_field is not None and ended is not None:
        record[stamp_field] = ended
    model = meta.get("model")
    if isinstance(model, str):
        record["model"] = model.removeprefix("models/")
    display = meta.get("displayName")
    if isinstance(display, str):
        user_name, key = split_display_name(display)
        record["idempotency_key"] = key
        # The metadata is the display name the user gave; None when any_llm's stamp was all
        # of it (create_batch without display_name).
        record["metadata"] = {"displayName": user_name} if user_name is not None else None
    source = _dict(meta.get("inputConfig"))
    output = batch_output(data)
    if isinstance(source.get("fileName"), str):
        record["input_file_id"] = source["fileName"]
    elif "requests" in source or "inlinedResponses" in output:
        record["input_file_id"] = name + INLINE_INPUT
    if isinstance(output.get("responsesFile"), str):
        record["output_file_id"] = output["responsesFile"]
    elif "inlinedResponses" in output:
        record["output_file_id"] = name + INLINE_OUTPUT
    if error:
        code, message = _error_detail(error)
        record["errors"] = {"object": "list", "data": [{"code": code, "message": message}]}
    return record


def parse_page(data: Any, parse: Callable[[Any], Batch]) -> BatchPage:
    """A ``GET /batches`` page; the cursor is ``nextPageToken``."""
    if not isinstance(data, dict):
        raise TypeError("expected {'operations': [...], 'nextPageToken': ...} from GET /batches")
    operations = data.get("operations")
    operations = [] if operations is None else operations  # an empty page omits the field
    if not isinstance(operations, list):
        raise TypeError("'operations' must be a list")
    token = data.get("nextPageToken")
    token = token if isinstance(token, str) and token else None
    return BatchPage(
        data=tuple(parse(op) for op in operations), has_more=token is not None, next_cursor=token
    )


def upload_progress(headers: Mapping[str, str], *, most: int) -> tuple[str, int | None]:
    """``(status, bytes held)`` of a resumable upload session, from an answer's lower-cased
    ``x-goog-upload-status`` and ``x-goog-upload-size-received`` headers.

    The count is None when the header is absent; ValueError when it is not a byte count from 0
    to ``most`` (the bytes sent so far: a session holding more than it was sent is broken).
    """
    status = headers.get("x-goog-upload-status", "").strip().lower()
    raw = headers.get("x-goog-upload-size-received")
    if raw is None:
        return status, None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > most:
        raise ValueError(
            f"x-goog-upload-size-received {raw!r} is not a byte count from 0 to {most:,}, "
            "the bytes sent"
        )
    return status, int(text)


def parse_file_name(data: Any) -> str:
    """The name (``files/...``) of the File in an upload's final answer ``{"file": File}``."""
    file = data.get("file") if isinstance(data, dict) else None
    name = file.get("name") if isinstance(file, dict) else None
    if isinstance(name, str) and name.startswith("files/"):
        return name
    raise TypeError("expected {'file': {'name': 'files/...'}} from the finished upload")


# results


_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    **dict.fromkeys(
        (
            "SAFETY",
            "RECITATION",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
            "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT",
            "IMAGE_RECITATION",
        ),
        "content_filter",
    ),
}


def _choice(candidate: dict[str, Any], index: int, call_prefix: str) -> dict[str, Any]:
    content = _dict(candidate.get("content"))
    parts = content.get("parts")
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            (thoughts if part.get("thought") is True else texts).append(part["text"])
        call = part.get("functionCall")
        if isinstance(call, dict):
            calls.append(
                {
                    # Gemini has no call ids: one is made from the request and position.
                    "id": f"{call_prefix}_{index}_{len(calls)}",
                    "type": "function",
                    "function": {
                        "name": str(call.get("name", "")),
                        "arguments": json.dumps(call.get("args") or {}, ensure_ascii=False),
                    },
                }
            )
    reason = candidate.get("finishReason")
    finish = _FINISH.get(reason, "stop") if isinstance(reason, str) else "stop"
    if calls and finish == "stop":
        finish = "tool_calls"
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = calls
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    position = candidate.get("index")
    return {
        "index": position if isinstance(position, int) else index,
        "message": message,
        "logprobs": None,
        "finish_reason": finish,
    }


def _usage(metadata: dict[str, Any]) -> dict[str, Any]:
    prompt = _count(metadata, "promptTokenCount")
    thoughts = _count(metadata, "thoughtsTokenCount")
    completion = _count(metadata, "candidatesTokenCount") + thoughts
    total = _count(metadata, "totalTokenCount") or prompt + completion
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "prompt_tokens_details": {"cached_tokens": _count(metadata, "cachedContentTokenCount")},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def completion_from_response(
    response: dict[str, Any], *, custom_id: str, batch: Batch
) -> dict[str, Any]:
    """A ``GenerateContentResponse`` as an OpenAI ``chat.completion`` body."""
    token = re.sub(r"[^A-Za-z0-9]", "", f"{batch.id}{custom_id}")[-24:]
    candidates = [c for c in response.get("candidates") or [] if isinstance(c, dict)]
    choices = [_choice(c, i, f"call_{token}") for i, c in enumerate(candidates)]
    feedback = _dict(response.get("promptFeedback"))
    if not choices and feedback.get("blockReason"):
        choices = [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": f"prompt blocked: {feedback['blockReason']}",
                },
                "logprobs": None,
                "finish_reason": "content_filter",
            }
        ]
    response_id = response.get("responseId")
    model = response.get("modelVersion")
    return {
        "id": str(response_id) if response_id else f"chatcmpl-{token}",
        "object": "chat.completion",
        "created": batch.completed_at or batch.cancelled_at or batch.created_at,
        "model": str(model) if model else (batch.model or ""),
        "choices": choices,
        "usage": _usage(_dict(response.get("usageMetadata"))),
    }


def _result_item(custom_id: str, obj: dict[str, Any], batch: Batch, where: str) -> BatchResultItem:
    response = obj.get("response")
    if isinstance(response, dict):
        return BatchResultItem(
            custom_id=custom_id,
            status=BatchResultStatus.SUCCEEDED,
            response=completion_from_response(response, custom_id=custom_id, batch=batch),
            status_code=200,
        )
    # The error's field name is unverified: "error" (SDK) or "status" (google.rpc.Status).
    error = obj.get("error") or obj.get("status")
    if isinstance(error, dict):
        code = error.get("code")
        http = code if isinstance(code, int) and 100 <= code <= 599 else None
        name, message = _error_detail(error)
        return BatchResultItem(
            custom_id=custom_id,
            status=BatchResultStatus.FAILED,
            error=BatchResultError(message=message, code=name, status_code=http),
            status_code=http,
        )
    return BatchResultItem(
        custom_id=custom_id,
        status=BatchResultStatus.FAILED,
        error=BatchResultError(message=f"result at {where} has neither response nor error"),
    )


def _key_of(metadata: Any) -> str | None:
    meta = _dict(metadata)
    key = meta.get("key", meta.get("custom_id"))
    return key if isinstance(key, str) and key else None


def parse_result_line(line: bytes, *, batch: Batch, where: str) -> BatchResultItem | None:
    """One line of a responses file (``{"key", "response"|"error"}``); ``None`` (logged) when
    it has no key."""
    obj = load_result_line(line, where=where, provider=PROVIDER)
    if obj is None:
        return None
    key = obj.get("key") if isinstance(obj, dict) else None
    if not isinstance(key, str) or not key:
        key = _key_of(obj.get("metadata")) if isinstance(obj, dict) else None
    if key is None:
        logger.warning("%s: %s: result line has no key; skipped", PROVIDER, where)
        return None
    return _result_item(key, obj, batch, where)


def inline_results(data: Any, *, batch: Batch) -> Iterator[BatchResultItem]:
    """The results inside a finished batch operation (``inlinedResponses``), joined on
    ``metadata.key``."""
    from .gemini_operation import response_entries

    output = batch_output(data) if isinstance(data, dict) else {}
    # Kept as bytes by decode_operation: parsed here one entry at a time.
    entries = response_entries(output.get("inlinedResponses"))
    for number, entry in enumerate(entries, start=1):
        where = f"batch {batch.id} inline response {number}"
        key = _key_of(entry.get("metadata")) if isinstance(entry, dict) else None
        if key is None:
            logger.warning("%s: %s has no metadata.key; skipped", PROVIDER, where)
            continue
        yield _result_item(key, entry, batch, where)


def inline_input_keys(data: Any) -> Iterator[str]:
    """The keys of the inline requests a batch operation echoes in ``inputConfig`` (whether
    Gemini echoes them is unverified: nothing is yielded when it does not)."""
    from .gemini_operation import request_keys

    meta = _dict(data.get("metadata")) if isinstance(data, dict) else {}
    # Kept as bytes by decode_operation: only each request's metadata is parsed.
    for metadata in request_keys(_dict(meta.get("inputConfig")).get("requests")):
        key = _key_of(metadata)
        if key is not None:
            yield key


def input_custom_id(line: bytes) -> str | None:
    """The key of one line of an uploaded input file, read back from Gemini."""
    try:
        obj = _json.loads(line)
    except ValueError:
        return None
    key = obj.get("key") if isinstance(obj, dict) else None
    return key if isinstance(key, str) and key else None


# request bodies streamed from disk

Segment: TypeAlias = "bytes | tuple[Path, int, int]"
"""Bytes in memory, or ``(path, offset, length)`` of a file."""


class _SegmentReader(io.RawIOBase):
    """Reads segments one after the other, opening each file only when it is reached."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        super().__init__()
        self._segments = list(segments)
        self._file: BinaryIO | None = None
        self._left = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._segments:
            segment = self._segments[0]
            if isinstance(segment, bytes):
                n = min(len(segment), len(view))
                view[:n] = segment[:n]
                if n == len(segment):
                    self._segments.pop(0)
                else:
                    self._segments[0] = segment[n:]
                if n:
                    return n
                continue
            if self._file is None:
                path, offset, length = segment
                self._file = path.open("rb")
                self._file.seek(offset)
                self._left = length
            data = self._file.read(min(self._left, len(view))) if self._left else b""
            if data:
                view[: len(data)] = data
                self._left -= len(data)
                return len(data)
            if self._left:
                raise OSError(f"{segment[0]} is shorter than expected")
            self._file.close()
            self._file = None
            self._segments.pop(0)
        return 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._segments = []
        super().close()


def segments_body(segments: Sequence[Segment], content_type: str) -> FileBody:
    """A request body of ``segments`` with its exact length, streamed on every attempt."""
    length = sum(len(s) if isinstance(s, bytes) else s[2] for s in segments)
    frozen = tuple(segments)

    def open_body() -> BinaryIO:
        return io.BufferedReader(_SegmentReader(frozen), CHUNK_SIZE)

    return FileBody(open=open_body, length=length, content_type=content_type)


def staged_size(path: Path) -> int:
    """Bytes of a staged file."""
    return os.stat(path).st_size


def stage_input(source: Path) -> tuple[Path, bool, int]:
    """Translate a validated input into a temporary file: ``(path, inline, size)``.

    The comma-joined inline requests when the create body they make stays under
    ``INLINE_MAX_BYTES``; else the JSONL lines of a file to upload (refused over
    ``MAX_FILE_BYTES``). The caller deletes the file (``discard``).
    """
    handle, name = tempfile.mkstemp(prefix="any-llm-gemini-", suffix=".json")
    os.close(handle)
    staged = Path(name)
    try:
        size = write_translated(source, staged, inline_item, separator=b",", tail=b"")
        if size + INLINE_ENVELOPE_BYTES <= INLINE_MAX_BYTES:
            return staged, True, size
        size = write_translated(source, staged, file_line)
        if size > MAX_FILE_BYTES:
            raise InputFileError(
                f"translated for Gemini the file is {size:,} bytes, over its limit of "
                f"{MAX_FILE_BYTES:,} bytes; split it into several batches",
                path=str(source),
            )
        return staged, False, size
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def discard(path: Path) -> None:
    """Delete a staged file."""
    path.unlink(missing_ok=True)
