"""JSONL: the one validating pass over an input file, and line splitting for downloads."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import orjson

from any_llm.errors import InputFileError

MAX_LINE_BYTES = 64 * 1024 * 1024
"""Longest input line read (one request); a longer line is refused, keeping memory bounded."""


class TranslationError(ValueError):
    """A request cannot be expressed in the provider's native form; ``field`` is its JSON path
    (e.g. ``body.logprobs``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


Translate = Callable[[dict[str, Any]], dict[str, Any]]
"""An OpenAI-format input line → the provider's native request; raises TranslationError."""


@attrs.frozen(kw_only=True)
class Staging:
    """How a provider's translated input is laid out in the file that is sent: the translated
    lines (``InputLimits.translate``) joined by ``separator`` between ``head`` and ``tail``."""

    suffix: str = ".jsonl"
    head: bytes = b""
    separator: bytes = b"\n"
    tail: bytes = b"\n"


@attrs.frozen(kw_only=True)
class InputLimits:
    """What one provider accepts in one batch input file."""

    max_requests: int
    max_file_bytes: int
    endpoints: frozenset[str]
    single_model: bool = False
    """All lines must name the same ``body.model``."""
    custom_id_pattern: re.Pattern[str] | None = None
    """custom_ids must match it whole (e.g. Anthropic's ``[a-zA-Z0-9_-]{1,64}``)."""
    translate: Translate | None = None
    """Run on every line in the validating pass, so an untranslatable field fails early."""
    min_requests: int = 1
    """Fewest requests a batch may hold (Cerebras: 10)."""
    staging: Staging | None = None
    """Set when the provider takes the translation, not the file: the validating pass then
    writes it to a temporary file as it goes (``InputSummary.staged_path``)."""


@attrs.frozen(kw_only=True)
class InputSummary:
    """What the validating pass learned about a valid input file."""

    path: Path
    size: int
    requests: int
    model: str | None
    staged_path: Path | None = None
    """The translated input, written during the pass; the caller deletes it."""
    staged_size: int = 0


def _fail(
    path: Path, line: int | None, message: str, custom_id: str | None = None
) -> InputFileError:
    return InputFileError(message, path=str(path), line=line, custom_id=custom_id)


def _check_file(path: Path, limits: InputLimits) -> int:
    if not path.exists():
        raise _fail(path, None, "file not found; check input_file_path")
    if path.is_dir():
        raise _fail(path, None, "is a directory, not a JSONL file")
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise _fail(path, None, f"cannot read the file: {exc.strerror}") from exc
    if size == 0:
        raise _fail(path, None, "the file is empty; a batch needs at least one request")
    if size > limits.max_file_bytes:
        raise _fail(
            path,
            None,
            f"the file is {size:,} bytes, over the provider's limit of "
            f"{limits.max_file_bytes:,} bytes; split it into several batches",
        )
    return size


def _read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise _fail(path, None, f"cannot open the file: {exc.strerror}") from exc
    with stream:
        number = 0
        while True:
            raw = stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise _fail(path, number, f"line longer than {MAX_LINE_BYTES:,} bytes")
            yield number, raw


def _parse_line(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(raw)  # the fast path: a valid line is parsed once, from bytes
    except orjson.JSONDecodeError as exc:
        raise _explain(path, number, raw, exc) from None
    if not isinstance(obj, dict):
        raise _fail(path, number, f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _explain(path: Path, number: int, raw: bytes, exc: orjson.JSONDecodeError) -> InputFileError:
    """Why a line is not JSON, in the words a user needs."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return _fail(path, number, "the line starts with a UTF-8 byte order mark; save without BOM")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return _fail(path, number, f"not valid UTF-8 (byte {bad.start + 1} of the line)")
    if not raw.strip():
        return _fail(path, number, "blank line; every line must be one JSON request")
    return _fail(path, number, f"not valid JSON: {exc.msg} (column {exc.colno})")


def validate_input_file(
    path: str | os.PathLike[str], *, endpoint: str, limits: InputLimits, provider: str
) -> InputSummary:
    """Check the whole file in one streaming pass; raise InputFileError at the first problem.

    Nothing is sent before this returns.
    """
    p = Path(path)
    if endpoint not in limits.endpoints:
        supported = ", ".join(sorted(limits.endpoints))
        raise _fail(
            p, None, f"{provider} does not batch endpoint {endpoint!r}; use one of: {supported}"
        )
    size = _check_file(p, limits)
    staging = limits.staging
    if staging is None:
        return _validate(p, endpoint=endpoint, limits=limits, provider=provider, size=size)
    fd, name = tempfile.mkstemp(prefix=f"any-llm-{provider}-", suffix=staging.suffix)
    target = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            summary = _validate(
                p, endpoint=endpoint, limits=limits, provider=provider, size=size, out=out
            )
        return attrs.evolve(summary, staged_path=target, staged_size=target.stat().st_size)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _validate(
    p: Path,
    *,
    endpoint: str,
    limits: InputLimits,
    provider: str,
    size: int,
    out: BinaryIO | None = None,
) -> InputSummary:
    """The validating pass; with ``out``, the translated lines are written there as well."""
    staging = limits.staging
    if out is not None and staging is not None:
        out.write(staging.head)
    seen: set[str] = set()
    model: str | None = None
    count = 0
    for number, raw in _read_lines(p):
        obj = _parse_line(p, number, raw)
        custom_id = obj.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise _fail(p, number, "custom_id must be a non-empty string")
        pattern = limits.custom_id_pattern
        if pattern is not None and not pattern.fullmatch(custom_id):
            raise _fail(
                p, number, f"{provider} needs custom_ids matching {pattern.pattern}", custom_id
            )
        if custom_id in seen:
            raise _fail(p, number, "duplicate custom_id; each request needs its own", custom_id)
        seen.add(custom_id)
        method = obj.get("method")
        if method != "POST":
            raise _fail(p, number, f"method must be 'POST', got {method!r}", custom_id)
        url = obj.get("url")
        if url != endpoint:
            raise _fail(
                p, number, f"url {url!r} does not match the batch endpoint {endpoint!r}", custom_id
            )
        body = obj.get("body")
        if not isinstance(body, dict):
            raise _fail(
                p, number, "body must be a JSON object (the request's parameters)", custom_id
            )
        line_model = body.get("model")
        if not isinstance(line_model, str) or not line_model:
            raise _fail(p, number, "body.model must be a non-empty string", custom_id)
        if model is None:
            model = line_model
        elif limits.single_model and line_model != model:
            raise _fail(
                p,
                number,
                f"body.model {line_model!r} differs from {model!r} on line 1; {provider} "
                "batches take one model per file",
                custom_id,
            )
        if limits.translate is not None:
            try:
                native = limits.translate(obj)
            except TranslationError as exc:
                raise _fail(p, number, f"cannot send to {provider}: {exc}", custom_id) from None
            if out is not None and staging is not None:
                if count:
                    out.write(staging.separator)
                out.write(orjson.dumps(native))
        count += 1
        if count > limits.max_requests:
            raise _fail(
                p,
                number,
                f"more than {limits.max_requests:,} requests, the {provider} limit per batch; "
                "split the file",
            )
    if count == 0:
        raise _fail(p, None, "the file holds no request")
    if count < limits.min_requests:
        raise _fail(
            p,
            None,
            f"the file holds {count:,} requests; a {provider} batch needs at least "
            f"{limits.min_requests:,}",
        )
    if out is not None and staging is not None:
        out.write(staging.tail)
    return InputSummary(path=p, size=size, requests=count, model=model)


def write_translated(
    source: Path,
    target: Path,
    translate: Translate,
    *,
    head: bytes = b"",
    separator: bytes = b"\n",
    tail: bytes = b"\n",
) -> int:
    """Stream the (validated) ``source`` into ``target``, each line translated and JSON-encoded,
    joined by ``separator`` between ``head`` and ``tail``; return the bytes written."""
    written = 0
    with target.open("wb") as out:
        out.write(head)
        written += len(head)
        first = True
        for number, raw in _read_lines(source):
            native = orjson.dumps(translate(_parse_line(source, number, raw)))
            if not first:
                out.write(separator)
                written += len(separator)
            out.write(native)
            written += len(native)
            first = False
        out.write(tail)
        written += len(tail)
    return written


def iter_custom_ids(path: str | os.PathLike[str]) -> Iterator[str]:
    """The custom_id of every line of a (validated) input file, in order."""
    p = Path(path)
    for number, raw in _read_lines(p):
        obj = _parse_line(p, number, raw)
        custom_id = obj.get("custom_id")
        if isinstance(custom_id, str):
            yield custom_id


class LineBuffer:
    """Splits a byte stream into lines of any length (no library line limit applies)."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """Lines completed by ``chunk``, without their ``\\n``."""
        if b"\n" not in chunk:
            if chunk:
                self._pending.append(chunk)
            return []
        pieces = chunk.split(b"\n")
        if self._pending:
            self._pending.append(pieces[0])
            pieces[0] = b"".join(self._pending)
            self._pending = []
        last = pieces.pop()
        if last:
            self._pending.append(last)
        return pieces

    def flush(self) -> bytes | None:
        """The last line when the stream did not end with ``\\n``."""
        if not self._pending:
            return None
        rest = b"".join(self._pending)
        self._pending = []
        return rest
