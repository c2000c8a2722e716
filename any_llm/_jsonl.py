"""JSONL: the one validating pass over an input file, and line splitting for downloads."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from any_llm import _json
from any_llm._compat import check_stopped
from any_llm.errors import InputFileError

MAX_LINE_BYTES = 64 * 1024 * 1024
"""Longest input line read (one request); a longer line is refused, keeping memory bounded."""
READ_SIZE = 1024 * 1024
"""Bytes read from the input file at a time by the validating pass."""


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
    requests: int
    model: str | None
    staged_path: Path | None = None
    """The translated input, written during the pass; the caller deletes it."""
    staged_size: int = 0


def _fail(
    path: Path, line: int | None, message: str, custom_id: str | None = None
) -> InputFileError:
    return InputFileError(message, path=str(path), line=line, custom_id=custom_id)


def stat_regular_file(path: Path) -> os.stat_result:
    """The file's stat; InputFileError unless it is a regular file. A FIFO, a device or a
    socket is refused from its stat, so it is never opened (opening a FIFO blocks)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _fail(path, None, "file not found; check input_file_path") from None
    except OSError as exc:
        raise _fail(path, None, f"cannot read the file: {exc.strerror}") from exc
    except ValueError:  # a NUL character
        raise _fail(path, None, "not a usable path (it contains a NUL character)") from None
    if stat.S_ISREG(info.st_mode):
        return info
    if stat.S_ISDIR(info.st_mode):
        kind = "is a directory"
    elif stat.S_ISFIFO(info.st_mode):
        kind = "is a FIFO (named pipe)"
    elif stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        kind = "is a device"
    elif stat.S_ISSOCK(info.st_mode):
        kind = "is a socket"
    else:
        kind = "is a special file"
    raise _fail(path, None, f"{kind}, not a regular file; pass the path of a JSONL file")


def _check_file(path: Path, limits: InputLimits) -> None:
    size = stat_regular_file(path).st_size
    if size == 0:
        raise _fail(path, None, "the file is empty; a batch needs at least one request")
    if size > limits.max_file_bytes:
        raise _fail(
            path,
            None,
            f"the file is {size:,} bytes, over the provider's limit of "
            f"{limits.max_file_bytes:,} bytes; split it into several batches",
        )


def _open(path: Path) -> BinaryIO:
    stat_regular_file(path)  # never open a FIFO or a device
    try:
        return path.open("rb")
    except OSError as exc:
        raise _fail(path, None, f"cannot open the file: {exc.strerror}") from exc


def _read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with _open(path) as stream:
        number = 0
        while True:
            raw = stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise _fail(path, number, f"line longer than {MAX_LINE_BYTES:,} bytes")
            yield number, raw


def _parse_line(path: Path, number: int, raw: bytes | memoryview) -> dict[str, Any]:
    try:
        obj = _json.loads(raw)  # a line is parsed once, from the bytes read
    except ValueError as exc:
        raise _explain(path, number, bytes(raw), exc) from None
    if not isinstance(obj, dict):
        raise _fail(path, number, f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _explain(path: Path, number: int, raw: bytes, exc: ValueError) -> InputFileError:
    """Why a line is not JSON, in the words a user needs."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return _fail(path, number, "the line starts with a UTF-8 byte order mark; save without BOM")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return _fail(path, number, f"not valid UTF-8 (byte {bad.start + 1} of the line)")
    if not raw.strip():
        return _fail(path, number, "blank line; every line must be one JSON request")
    return _fail(path, number, f"not valid JSON: {_json.reason(exc)}")


def _check_request(
    path: str | os.PathLike[str], *, endpoint: str, limits: InputLimits, provider: str
) -> Path:
    """The checks that need no reading: the endpoint, and the file's presence and size."""
    p = Path(path)
    if endpoint not in limits.endpoints:
        supported = ", ".join(sorted(limits.endpoints))
        raise _fail(
            p, None, f"{provider} does not batch endpoint {endpoint!r}; use one of: {supported}"
        )
    _check_file(p, limits)
    return p


def validate_input_file(
    path: str | os.PathLike[str], *, endpoint: str, limits: InputLimits, provider: str
) -> InputSummary:
    """Check the whole file in one streaming pass; raise InputFileError at the first problem.

    Nothing is sent before this returns.
    """
    p = _check_request(path, endpoint=endpoint, limits=limits, provider=provider)
    staging = limits.staging
    if staging is None:
        return _validate(p, endpoint=endpoint, limits=limits, provider=provider)
    fd, name = tempfile.mkstemp(prefix=f"any-llm-{provider}-", suffix=staging.suffix)
    target = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            summary = _validate(p, endpoint=endpoint, limits=limits, provider=provider, out=out)
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
    out: BinaryIO | None = None,
) -> InputSummary:
    """The validating pass; with ``out``, the translated lines are written there as well."""
    validator = InputValidator(p, endpoint=endpoint, limits=limits, provider=provider, out=out)
    with _open(p) as stream:
        while chunk := stream.read(READ_SIZE):
            check_stopped()  # the caller was cancelled (a threaded pass): stop, clean up
            validator.feed(chunk)
    return validator.finish()


@attrs.frozen(kw_only=True)
class InputCheck:
    """A file sent as is, whose start passed the checks (``check_input_start``). The rest is
    checked as the file is read for sending: each attempt feeds a new ``stream_check()`` every
    byte before it is sent, and the last bytes leave only once the whole file passed."""

    path: Path
    endpoint: str
    limits: InputLimits
    provider: str

    def validator(self) -> InputValidator:
        """The checks for one reading of the file, from its first byte."""
        return InputValidator(
            self.path,
            endpoint=self.endpoint,
            limits=self.limits,
            provider=self.provider,
        )

    def stream_check(self, clock: Callable[[], float] = time.monotonic) -> StreamCheck:
        """The check of one attempt at sending the file."""
        return StreamCheck(self, clock=clock)


SCOUT_SHARE = 0.25
"""Part of the time spent sending that the scout may spend checking ahead on a slow link."""
SCOUT_SLOW_RATE = 50_000_000
"""Bytes per second: a link that has sent slower than this on average is slow. Loopback and
data-centre links send much faster, so the scout never runs there."""
SCOUT_MAX_SECONDS = 0.01
"""Longest the scout checks ahead at once (it runs on the sending thread or event loop)."""


class StreamCheck:
    """The check of one attempt at sending a file as is (a ``BodyCheck`` of its upload).

    Every chunk is checked before it is sent (``feed``) and the whole file before the last
    bytes (``finish``): the bytes checked are the bytes sent. On a slow link (slower than
    ``SCOUT_SLOW_RATE`` on average), a scout also checks ahead, from its own handle and from
    where the upload is, the lines the upload has not reached, so that a bad line deep in the
    file is reported soon, not when the upload reaches it. The scout earns ``SCOUT_SHARE`` of
    the time spent sending and spends it at most ``SCOUT_MAX_SECONDS`` at a time, before a
    chunk is checked.
    """

    def __init__(self, source: InputCheck, *, clock: Callable[[], float]) -> None:
        self._source = source
        self._clock = clock
        self._validator = source.validator()
        self._scout: InputValidator | None = None
        self._scout_stream: BinaryIO | None = None
        self._scout_done = False
        self._sent_at: float | None = None
        self._sending = 0.0
        """Seconds spent sending so far (between two feeds)."""
        self._check_seconds = 0.0
        """How long checking the last chunk took."""
        self._credit = 0.0

    @property
    def summary(self) -> InputSummary | None:
        """What the check learned, once ``finish`` passed."""
        return self._validator.summary

    def feed(self, data: bytes) -> None:
        """Check ``data`` before it is sent (after letting the scout run if the link is slow)."""
        started = self._clock()
        if self._sent_at is not None and not self._scout_done:
            sending = started - self._sent_at  # how long the previous chunk took to send
            self._sending += sending
            if self._validator.fed < SCOUT_SLOW_RATE * self._sending:  # a slow link
                self._credit += sending * SCOUT_SHARE
                if self._credit > self._check_seconds:
                    self._scout_ahead(started, min(self._credit, SCOUT_MAX_SECONDS))
        checking = self._clock()
        self._validator.feed(data)
        self._sent_at = self._clock()
        self._check_seconds = self._sent_at - checking

    def finish(self) -> InputSummary:
        """Check the end of the file, before the upload's last bytes."""
        self.close()
        return self._validator.finish()

    def close(self) -> None:
        """Close the scout's handle (the upload ended or was cut)."""
        if self._scout_stream is not None:
            self._scout_stream.close()
            self._scout_stream = None

    def _scout_ahead(self, now: float, budget: float) -> None:
        if self._scout is None or self._scout.fed < self._validator.fed:
            self.close()  # (re)start from where the upload is, with what it has seen
            self._scout = self._validator.copy()
            self._scout_stream = _open(self._source.path)
            self._scout_stream.seek(self._scout.fed)
        stream, scout = self._scout_stream, self._scout
        assert stream is not None
        deadline = now + budget
        while self._clock() + self._check_seconds <= deadline:
            data = stream.read(READ_SIZE)
            if not data:
                self._scout_done = True
                self.close()
                scout.finish()
                break
            scout.feed(data)
        self._credit -= min(self._credit, self._clock() - now)


InputSource = InputSummary | InputCheck
"""What an adapter uploads: a file validated whole (and staged, if the provider translates),
or a file sent as is and checked while it is read (``InputCheck``)."""


def validated(source: InputSource) -> InputSummary:
    """The summary of an input validated whole, as every adapter that translates gets it."""
    if not isinstance(source, InputSummary):
        raise TypeError("this adapter translates its input: validate the whole file first")
    return source


def check_input_start(
    path: str | os.PathLike[str], *, endpoint: str, limits: InputLimits, provider: str
) -> InputCheck:
    """For a file sent as is: every check that needs no reading, then the lines of its first
    ``READ_SIZE`` bytes (the whole file when it is no bigger). Nothing is sent before this
    returns; the rest of the file is checked while it is read for sending."""
    p = _check_request(path, endpoint=endpoint, limits=limits, provider=provider)
    source = InputCheck(path=p, endpoint=endpoint, limits=limits, provider=provider)
    validator = source.validator()
    with _open(p) as stream:
        validator.feed(stream.read(READ_SIZE))
        if not stream.read(1):
            validator.finish()
    return source


def check_input(
    path: str | os.PathLike[str],
    *,
    endpoint: str,
    limits: InputLimits,
    provider: str,
    as_is: bool,
) -> InputSource:
    """What a create checks before any request: the start of a file sent as is
    (``check_input_start``), else the whole file, translated and staged when the provider
    takes it so (``validate_input_file``). A CPU-bound pass: the async twin runs it in a
    worker thread (``arun_sync``), with ``discard_input`` for a cancelled call."""
    if as_is:
        return check_input_start(path, endpoint=endpoint, limits=limits, provider=provider)
    return validate_input_file(path, endpoint=endpoint, limits=limits, provider=provider)


def discard_input(source: InputSource) -> None:
    """Delete what ``check_input`` staged (its result came after its caller was cancelled)."""
    if isinstance(source, InputSummary) and source.staged_path is not None:
        with contextlib.suppress(OSError):
            source.staged_path.unlink(missing_ok=True)


def _fast_decoder() -> Callable[[bytes | memoryview], Any]:
    """The fast path's decoder (``_fastcheck``), imported on the first check."""
    from any_llm._fastcheck import decode_request

    return decode_request


class InputValidator:
    """The per-line checks of one input file, fed its bytes in order: every line is checked
    as soon as its end is fed, and ``finish`` checks the last line and the whole-file limits.
    Raises InputFileError, naming the file and line, at the first problem. With ``out``, the
    translated lines are written there as they pass (``InputLimits.staging``)."""

    def __init__(
        self,
        path: Path,
        *,
        endpoint: str,
        limits: InputLimits,
        provider: str,
        out: BinaryIO | None = None,
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        self.limits = limits
        self.provider = provider
        self.out = out if limits.staging is not None else None
        self.summary: InputSummary | None = None
        """Set by ``finish``."""
        self._seen: set[str] = set()
        self._model: str | None = None
        self._requests = 0
        self._lines = 0
        self._fed = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._fast = _fast_decoder() if limits.translate is None else None
        """Set when no line needs translating: ASCII lines then take the fast path."""
        if self.out is not None and limits.staging is not None:
            self.out.write(limits.staging.head)

    @property
    def fed(self) -> int:
        """Bytes fed so far."""
        return self._fed

    def copy(self) -> InputValidator:
        """A validator that goes on from the same point, on its own (not for staging)."""
        twin = InputValidator(
            self.path, endpoint=self.endpoint, limits=self.limits, provider=self.provider
        )
        twin._seen = set(self._seen)
        twin._model = self._model
        twin._requests = self._requests
        twin._lines = self._lines
        twin._fed = self._fed
        twin._pending = list(self._pending)
        twin._pending_size = self._pending_size
        return twin

    def feed(self, data: bytes) -> None:
        """Check every line that ``data`` completes; keep the unfinished end for later."""
        self._fed += len(data)
        start = 0
        end = data.find(b"\n")
        if self._pending and end >= 0:
            self._pending.append(data[:end])
            line = b"".join(self._pending)
            self._pending, self._pending_size = [], 0
            self._line(line, line.isascii())
            start = end + 1
            end = data.find(b"\n", start)
        view = memoryview(data)
        ascii = data.isascii()  # msgspec checks no UTF-8 in what it skips: ASCII has none
        while end >= 0:
            self._line(view[start:end], ascii)
            start = end + 1
            end = data.find(b"\n", start)
        if start < len(data):
            self._pending.append(data[start:])
            self._pending_size += len(data) - start
            if self._pending_size > MAX_LINE_BYTES:
                raise _fail(
                    self.path, self._lines + 1, f"line longer than {MAX_LINE_BYTES:,} bytes"
                )

    def finish(self) -> InputSummary:
        """Check the last line (when the file does not end with a newline) and the limits on
        the whole file; return what the pass learned."""
        if self._pending:
            line = b"".join(self._pending)
            self._pending, self._pending_size = [], 0
            self._line(line, line.isascii())
        p, limits, provider = self.path, self.limits, self.provider
        if self._requests == 0:
            raise _fail(p, None, "the file holds no request")
        if self._requests < limits.min_requests:
            raise _fail(
                p,
                None,
                f"the file holds {self._requests:,} requests; a {provider} batch needs at least "
                f"{limits.min_requests:,}",
            )
        if self.out is not None and limits.staging is not None:
            self.out.write(limits.staging.tail)
        self.summary = InputSummary(path=p, requests=self._requests, model=self._model)
        return self.summary

    def _line(self, raw: bytes | memoryview, ascii: bool) -> None:
        """Check one line: an ASCII line that passes the fast path is done; any other line
        (or one the fast path doubts) gets the full check, which says what is wrong."""
        if ascii and self._fast is not None and len(raw) <= MAX_LINE_BYTES:
            try:
                request = self._fast(raw)
            except (ValueError, RecursionError):  # msgspec's errors are ValueErrors
                pass
            else:
                custom_id, model, limits = request.custom_id, request.body.model, self.limits
                if (
                    custom_id
                    and custom_id not in self._seen
                    and request.method == "POST"
                    and request.url == self.endpoint
                    and model
                    and (model == self._model or self._model is None or not limits.single_model)
                    and (
                        limits.custom_id_pattern is None
                        or limits.custom_id_pattern.fullmatch(custom_id)
                    )
                    and self._requests < limits.max_requests
                ):
                    self._lines += 1
                    self._seen.add(custom_id)
                    if self._model is None:
                        self._model = model
                    self._requests += 1
                    return
        self._full_line(raw)

    def _full_line(self, raw: bytes | memoryview) -> None:
        self._lines += 1
        p, number, limits, provider = self.path, self._lines, self.limits, self.provider
        if len(raw) > MAX_LINE_BYTES:
            raise _fail(p, number, f"line longer than {MAX_LINE_BYTES:,} bytes")
        obj = _parse_line(p, number, raw)
        custom_id = obj.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise _fail(p, number, "custom_id must be a non-empty string")
        pattern = limits.custom_id_pattern
        if pattern is not None and not pattern.fullmatch(custom_id):
            raise _fail(
                p, number, f"{provider} needs custom_ids matching {pattern.pattern}", custom_id
            )
        if custom_id in self._seen:
            raise _fail(p, number, "duplicate custom_id; each request needs its own", custom_id)
        self._seen.add(custom_id)
        method = obj.get("method")
        if method != "POST":
            raise _fail(p, number, f"method must be 'POST', got {method!r}", custom_id)
        url = obj.get("url")
        if url != self.endpoint:
            raise _fail(
                p,
                number,
                f"url {url!r} does not match the batch endpoint {self.endpoint!r}",
                custom_id,
            )
        body = obj.get("body")
        if not isinstance(body, dict):
            raise _fail(
                p, number, "body must be a JSON object (the request's parameters)", custom_id
            )
        line_model = body.get("model")
        if not isinstance(line_model, str) or not line_model:
            raise _fail(p, number, "body.model must be a non-empty string", custom_id)
        if self._model is None:
            self._model = line_model
        elif limits.single_model and line_model != self._model:
            raise _fail(
                p,
                number,
                f"body.model {line_model!r} differs from {self._model!r} on line 1; "
                f"{provider} batches take one model per file",
                custom_id,
            )
        if limits.translate is not None:
            try:
                native = limits.translate(obj)
            except TranslationError as exc:
                raise _fail(p, number, f"cannot send to {provider}: {exc}", custom_id) from None
            if self.out is not None and limits.staging is not None:
                if self._requests:
                    self.out.write(limits.staging.separator)
                self.out.write(_json.dumps(native))
        self._requests += 1
        if self._requests > limits.max_requests:
            raise _fail(
                p,
                number,
                f"more than {limits.max_requests:,} requests, the {provider} limit per batch; "
                "split the file",
            )


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
            check_stopped()  # the caller was cancelled (a threaded pass): stop, clean up
            native = _json.dumps(translate(_parse_line(source, number, raw)))
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
    """The custom_id of every line of a (validated) input file, in order. Only that field is
    built; a line that is not a JSON object gets the full parse, which names the problem."""
    from any_llm._fastcheck import decode_keyed

    p = Path(path)
    for number, raw in _read_lines(p):
        try:
            custom_id = decode_keyed(raw).custom_id
        except ValueError:
            custom_id = _parse_line(p, number, raw).get("custom_id")
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
