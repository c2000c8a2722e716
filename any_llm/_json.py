"""JSON for the whole package, by one library (msgspec): ``loads`` and ``dumps``.

msgspec is imported on the first call, not at ``import any_llm`` / ``import any_llm_sync``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_codec: tuple[Callable[[Any], Any], Callable[[Any], bytes]] | None = None


def _load_codec() -> tuple[Callable[[Any], Any], Callable[[Any], bytes]]:
    global _codec
    import msgspec

    _codec = (msgspec.json.Decoder().decode, msgspec.json.Encoder().encode)
    return _codec


def loads(data: bytes | memoryview | str) -> Any:
    """The value of a JSON document; raises ValueError (msgspec's DecodeError) when it is not
    one, or is nested too deeply to decode."""
    try:
        return (_codec or _load_codec())[0](data)
    except RecursionError:
        raise ValueError("JSON is malformed: nested too deeply") from None


def dumps(value: Any) -> bytes:
    """Compact JSON bytes of ``value``."""
    return (_codec or _load_codec())[1](value)


def reason(exc: ValueError) -> str:
    """What ``loads`` found wrong, in a few words (``invalid character (byte 72)``)."""
    return str(exc).removeprefix("JSON is malformed: ")
