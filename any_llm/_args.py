"""Checks of the public arguments, made before any request: one place for every provider and
both twins. Each refusal is an InvalidArgumentError (a ConfigurationError that is also an
InvalidRequestError; an InputFileError for the input file itself) naming the argument, what
is wrong with the value and what is accepted, and never echoes a secret.

Ids that go into URL paths (``batch_id``, file ids, Gemini resource names) are checked and
percent-encoded here too, by ``path_id`` (the caller's) and ``provider_id`` (the provider's
own, put back into a path: a hostile server must not steer a request elsewhere).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from any_llm import _json
from any_llm._jsonl import stat_regular_file
from any_llm._providers import IDEMPOTENCY_KEY, ProviderSpec
from any_llm.errors import (
    APIResponseValidationError,
    InvalidArgumentError,
    UnsupportedParameterError,
)
from any_llm.types import Batch

# ids as URL path segments


def id_problem(value: object, *, prefix: str = "", refuse: str = "") -> str | None:
    """Why ``value`` cannot be an id in a URL path (one segment after an optional resource
    ``prefix`` such as Gemini's ``batches/``; none of the characters in ``refuse``), or None
    when it can."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    rest = value.removeprefix(prefix) if prefix else value
    if not rest:
        return "is empty"
    if rest in (".", ".."):
        return f"is {rest!r}, which would change the URL path"
    for char in rest:
        if char in "/\\?#" or char in refuse:
            return f"contains {char!r}, which would change the URL path"
        if char == "%":
            return "contains '%', which a server may decode into another path"
        if char.isspace() or not char.isprintable():
            return f"contains a whitespace or control character ({char!r})"
    return None


def _segment(value: str, prefix: str) -> str:
    return quote(value.removeprefix(prefix) if prefix else value, safe="")


def path_id(provider: str, name: str, value: object, *, prefix: str = "", refuse: str = "") -> str:
    """The caller's id ``value`` (argument ``name``) as one percent-encoded path segment;
    InvalidArgumentError when it is not a usable id (see ``id_problem``)."""
    problem = id_problem(value, prefix=prefix, refuse=refuse)
    if problem is not None:
        raise InvalidArgumentError(
            f"{provider}: {name} {problem}; pass the id the provider returned "
            f"(e.g. batch.id){_shown(value)}"
        )
    assert isinstance(value, str)
    return _segment(value, prefix)


def provider_id(
    provider: str, name: str, value: object, *, prefix: str = "", refuse: str = ""
) -> str:
    """An id the provider returned (``name``: the field it came in) as one percent-encoded
    path segment; APIResponseValidationError, before any request with it, when it would
    change the URL path (see ``id_problem``)."""
    problem = id_problem(value, prefix=prefix, refuse=refuse)
    if problem is not None:
        raise APIResponseValidationError(
            f"{provider}: the provider's {name} {problem}; not putting it in a request path"
            f"{_shown(value)}",
            provider=provider,
        )
    assert isinstance(value, str)
    return _segment(value, prefix)


def result_files(provider: str, batch: Batch) -> list[tuple[str, str]]:
    """``(file id, path segment)`` of the batch's output and error files (those it has), all
    checked (``provider_id``) before either is downloaded."""
    return [
        (file_id, provider_id(provider, field, file_id))
        for field, file_id in (
            ("output_file_id", batch.output_file_id),
            ("error_file_id", batch.error_file_id),
        )
        if file_id
    ]


def _shown(value: object) -> str:
    if isinstance(value, (str, bytes)) and len(value) <= 100:
        return f" (got {value!r})"
    return ""


# create


def check_create(
    spec: ProviderSpec,
    *,
    input_file_path: object,
    endpoint: object,
    completion_window: object,
    metadata: object,
    on_upload_progress: object,
    extra: Mapping[str, Any],
) -> None:
    """The arguments of ``create_batch`` that need no reading of the file (its own checks
    follow, in the validating pass): types, the window, the metadata, and that every extra
    keyword argument can be sent as JSON."""
    provider = spec.provider.value
    check_input_path(provider, input_file_path)
    for name, value, example in (
        ("endpoint", endpoint, "/v1/chat/completions"),
        ("completion_window", completion_window, "24h"),
    ):
        if not isinstance(value, str):
            raise InvalidArgumentError(
                f"{provider}: {name} must be a string (e.g. {example!r}), got "
                f"{type(value).__name__}"
            )
    assert isinstance(completion_window, str)
    spec.check_completion_window(completion_window)
    check_metadata(provider, metadata, spec.metadata_max_pairs)
    if on_upload_progress is not None and not callable(on_upload_progress):
        raise InvalidArgumentError(
            f"{provider}: on_upload_progress must be a callable taking a byte count, or None; "
            f"got {type(on_upload_progress).__name__}"
        )
    for key, value in extra.items():
        try:
            _json.dumps(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidArgumentError(
                f"{provider}: create_batch keyword argument {key}= cannot be sent as JSON "
                f"({type(value).__name__}: {exc}); extra keyword arguments go into the create "
                "request and must be JSON values (str, int, float, bool, None, and lists and "
                "dicts of them)"
            ) from None


def check_results(provider: str, batch: object, input_file_path: object) -> None:
    """The arguments of the results calls: a batch id or a Batch, and, when given, the local
    input file (a regular file: checked now, not after the results are downloaded)."""
    if not isinstance(batch, (Batch, str)):  # an id is checked where it enters a path
        raise InvalidArgumentError(
            f"{provider}: batch_id must be a string (a batch id) or a Batch, got "
            f"{type(batch).__name__}"
        )
    if input_file_path is not None:
        stat_regular_file(check_input_path(provider, input_file_path))


def check_input_path(provider: str, value: object, name: str = "input_file_path") -> Path:
    """A path argument: a ``str`` or ``os.PathLike`` naming a file (not bytes, not None)."""
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(path, str):
        raise InvalidArgumentError(
            f"{provider}: {name} must be a str or os.PathLike path to a JSONL file, got "
            f"{type(value).__name__}"
        )
    if not path:
        raise InvalidArgumentError(f"{provider}: {name} is empty; pass the path to a JSONL file")
    if "\x00" in path:
        raise InvalidArgumentError(f"{provider}: {name} contains a NUL character")
    return Path(path)


def check_metadata(provider: str, metadata: object, max_pairs: int) -> None:
    """Refuse metadata the provider would refuse (or that would overwrite the SDK's key),
    before anything is sent."""
    if metadata is None:
        return
    if not isinstance(metadata, Mapping):
        raise InvalidArgumentError(
            f"{provider}: metadata must be a dict of string keys to string values, got "
            f"{type(metadata).__name__}"
        )
    if max_pairs == 0:
        raise UnsupportedParameterError(
            f"{provider}: batches carry no metadata on this provider; leave metadata= unset",
            parameter_name="metadata",
            provider=provider,
        )
    if len(metadata) > max_pairs:
        raise InvalidArgumentError(
            f"{provider}: metadata holds {len(metadata)} pairs; at most {max_pairs} "
            f"(any_llm may use one more of the provider's pairs for {IDEMPOTENCY_KEY})"
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidArgumentError(
                f"{provider}: metadata keys and values must be strings (key {key!r}: "
                f"{type(value).__name__})"
            )
        if key == IDEMPOTENCY_KEY:
            raise InvalidArgumentError(
                f"{provider}: metadata key {IDEMPOTENCY_KEY!r} is reserved: any_llm stamps it "
                "on every batch it creates (to find a batch whose create answer was lost); "
                "use another key"
            )


# listing


def check_listing(provider: str, *, after: object = None, limit: object = None) -> None:
    """``after`` (a cursor or batch id) and ``limit`` (a page size) of the list calls."""
    if after is not None and (not isinstance(after, str) or not after):
        raise InvalidArgumentError(
            f"{provider}: after must be a non-empty string (a page's next_cursor or a batch "
            f"id) or None, got {_kind(after)}"
        )
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidArgumentError(
            f"{provider}: limit must be an int >= 1 (the page size) or None, got {_kind(limit)}"
        )


def _kind(value: object) -> str:
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool):
        return f"{value!r} (a bool)"
    if isinstance(value, (int, float)):
        return repr(value)
    return type(value).__name__


# configuration

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def header_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as an HTTP header value, or None (never shows it)."""
    for char in value:
        if char == "\r" or char == "\n":
            return "a line break (a trailing newline? strip the value)"
        if (ord(char) < 32 and char != "\t") or ord(char) == 127:
            return "a control character"
        if ord(char) > 255:
            return "a character outside Latin-1"
    return None


def check_api_key(
    provider: str, key: object, source: str, auth_headers: Callable[[str], Mapping[str, str]]
) -> str:
    """The key (from ``source``: ``api_key`` or an environment variable): a string that can
    be sent in the provider's auth headers (``auth_headers``: as the provider's SDK sends it;
    Gemini's strips whitespace). The message never shows it."""
    if not isinstance(key, str):
        raise InvalidArgumentError(
            f"{provider}: {source} must be a string, got {type(key).__name__}"
        )
    for value in auth_headers(key).values():
        problem = header_value_problem(value)
        if problem is None and not value.isascii():
            problem = "a non-ASCII character"
        if problem is not None:
            raise InvalidArgumentError(
                f"{provider}: {source} holds {problem}, which cannot be sent in an HTTP "
                "header; check the key"
            )
    return key


def check_headers(
    provider: str, headers: object, what: str = "client_args['default_headers']"
) -> dict[str, str]:
    """``client_args['default_headers']`` (or the argument ``what``): header names (tokens) to
    values that can be sent."""
    if not isinstance(headers, Mapping):
        raise InvalidArgumentError(
            f"{provider}: {what} must map header names to string values, "
            f"got {type(headers).__name__}"
        )
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidArgumentError(
                f"{provider}: {what} must map header names to string values "
                f"(header {name!r}: {type(value).__name__})"
            )
        if not _TOKEN.fullmatch(name):
            raise InvalidArgumentError(
                f"{provider}: {what} name {name!r} is not a valid HTTP header name"
            )
        problem = header_value_problem(value)
        if problem is not None:
            raise InvalidArgumentError(f"{provider}: {what}[{name!r}] holds {problem}")
    return dict(headers)


def check_api_base(provider: str, base: object, source: str) -> str:
    """``api_base`` (from ``source``: the argument or an environment variable): an http(s)
    URL without userinfo. The message never shows a user name or password."""
    if not isinstance(base, str):
        raise InvalidArgumentError(
            f"{provider}: {source} must be a string URL, got {type(base).__name__}"
        )
    scheme, sep, rest = base.partition("://")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0] if sep else ""
    if "@" in authority or (not sep and "@" in base):
        host = f"{scheme}://{authority.rpartition('@')[2]}" if sep else "the URL"
        raise InvalidArgumentError(
            f"{provider}: {source} carries a user name or password ({host} with "
            "user:password@ before the host); "
            "any_llm refuses credentials in the URL, which would be sent and shown with it: "
            "remove them and pass the key as api_key= (extra auth headers go in "
            "client_args['default_headers'])"
        )
    if not base.startswith(("http://", "https://")):
        raise InvalidArgumentError(f"{provider}: {source} must be an http(s) URL, got {base!r}")
    if any(char.isspace() or not char.isprintable() for char in base):
        raise InvalidArgumentError(
            f"{provider}: {source} contains whitespace or a control character"
        )
    return base


_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_idempotency_key(key: object) -> str:
    """The idempotency key of a create call: ``key`` checked, or a new random one.

    A key rides in the batch's metadata (or display name) and in the upload's filename, so it
    is 1 to 64 letters, digits, ``_`` or ``-``."""
    if key is None:
        return uuid.uuid4().hex
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
        raise InvalidArgumentError(
            f"idempotency_key must be 1 to 64 letters, digits, '_' or '-'{_shown(key)}"
        )
    return key
