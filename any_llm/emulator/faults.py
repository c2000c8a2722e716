"""Fault injection rules: which requests misbehave, and how."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterable, Mapping
from typing import Literal, get_args

import attrs

__all__ = ["Fault", "FaultKind", "FaultSet"]

FaultKind = Literal[
    "status",
    "reset",
    "reset_mid_upload",
    "reset_mid_chunk",
    "reset_after",
    "reset_mid_download",
    "delay",
    "slow_commit",
    "gateway",
]
_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


def _header_pairs(
    value: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(name), str(val)) for name, val in items)


def _check_kind(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if value not in _KINDS:
        raise ValueError(f"unknown fault kind {value!r}; expected one of {sorted(_KINDS)}")


def _check_status(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if not 100 <= value <= 599:
        raise ValueError(f"status must be an HTTP status code, got {value!r}")


@attrs.frozen(kw_only=True)
class Fault:
    """A misbehaviour applied to requests matching `method` and `path` (`times` of them).

    `method` is an HTTP method or ``"*"``. `path` is an exact request path (``"/v1/files"``) or,
    when it contains ``*``, ``?`` or ``[``, an `fnmatch` glob over the path, where ``*`` also
    crosses ``/`` (``"/v1/batches/*"`` matches retrieve and cancel). The query string is not
    matched. `times=None` (the default) applies the fault to every matching request until
    `clear_faults()`. Faults are tried in the order they were added; a request consumes at most
    one.

    Kinds:

    - ``status``: answer `status` with `headers` and an error envelope (`message` optional),
      without reading the request body.
    - ``reset``: reset the connection before reading the body; nothing is answered.
    - ``reset_mid_upload``: read `after_bytes` of the body (default: half its Content-Length,
      or 64 KiB when it is chunked), then reset the connection; nothing is stored.
    - ``reset_mid_chunk``: on a chunk of a resumable upload (Gemini's session URL), the session
      keeps the first `after_bytes` of the chunk (default: half its Content-Length), as a
      resumable server may keep what it received, then the connection resets; the chunk is not
      finalized. On any other request it is ``reset_mid_upload``.
    - ``reset_after``: handle the request completely (a batch is created, a file stored), then
      reset the connection instead of sending the response.
    - ``reset_mid_download``: send the headers and `after_bytes` of a file download (default:
      half of it), then close the connection.
    - ``delay``: wait `delay` seconds, then handle the request normally.
    - ``slow_commit``: read the whole body, wait `delay` seconds, then handle the request,
      whether or not the client still waits: a create that commits after the client's read
      timeout. For requests whose handler reads the body whole (JSON bodies).
    - ``gateway``: answer `status` at once (a gateway's 502 or 504), and handle the request
      `delay` seconds later all the same: a backend that commits after its gateway gave up.
      For requests whose handler reads the body whole.
    """

    method: str = "*"
    path: str = "*"
    kind: FaultKind = attrs.field(default="status", validator=_check_kind)
    status: int = attrs.field(default=500, validator=_check_status)
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_header_pairs)
    message: str | None = None
    times: int | None = None
    delay: float = 0.0
    after_bytes: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be >= 1 or None (forever), got {self.times!r}")

    def matches(self, method: str, path: str) -> bool:
        """Tell whether a request with this method and path is subject to the fault."""
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if any(ch in self.path for ch in "*?["):
            return fnmatch.fnmatchcase(path, self.path)
        return self.path == path


@attrs.define
class _Armed:
    fault: Fault
    remaining: int | None


class FaultSet:
    """The armed faults of one emulator, consumed by matching requests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []

    def add(self, fault: Fault) -> None:
        """Arm a fault."""
        with self._lock:
            self._armed.append(_Armed(fault, fault.times))

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """Return the first armed fault matching the request, consuming one of its uses."""
        with self._lock:
            for index, armed in enumerate(self._armed):
                if not armed.fault.matches(method, path):
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        del self._armed[index]
                return armed.fault
        return None
