"""Gemini batch operations decoded without building their inline requests and responses.

A batch small enough to go inline comes back with every request it was created with
(``metadata.inputConfig.requests``) and, once done, every answer (``inlinedResponses``): up to
20 MB of JSON in each create, retrieve and list answer. Decoding all of it into Python objects
holds the GIL for a few hundred milliseconds, blocking an asyncio service's loop each poll.

``decode_operation`` decodes the fields a ``Batch`` is made of and keeps those two parts as
``msgspec.Raw`` (bytes, not parsed); only the results and input-keys readers parse them, one
entry at a time (``response_entries``, ``request_keys``). Imported on the first decode, so
``import any_llm`` does not import msgspec.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from any_llm import _json


class _Output(Struct):
    """``metadata.output`` or the operation's ``response``."""

    responsesFile: Any = UNSET
    inlinedResponses: Raw | UnsetType = UNSET


class _InputConfig(Struct):
    fileName: Any = UNSET
    requests: Raw | UnsetType = UNSET


class _Metadata(Struct):
    state: Any = UNSET
    createTime: Any = UNSET
    updateTime: Any = UNSET
    endTime: Any = UNSET
    batchStats: Any = UNSET
    model: Any = UNSET
    displayName: Any = UNSET
    inputConfig: _InputConfig | UnsetType = UNSET
    output: _Output | UnsetType = UNSET


class _Operation(Struct):
    name: Any = UNSET
    state: Any = UNSET
    done: Any = UNSET
    error: Any = UNSET
    metadata: _Metadata | UnsetType = UNSET
    response: _Output | UnsetType = UNSET


class _Page(Struct):
    operations: list[Raw] | None = None
    nextPageToken: Any = UNSET


class _Entries(Struct):
    """``{"inlinedResponses": [...]}`` or ``{"requests": [...]}``: each entry left as bytes."""

    inlinedResponses: list[Raw] | None = None
    requests: list[Raw] | None = None


class _Keyed(Struct):
    """An inline request, read for its key only (its ``request`` is skipped, not built)."""

    metadata: Any = None


_operation = msgspec.json.Decoder(_Operation)
_page = msgspec.json.Decoder(_Page)
_entries = msgspec.json.Decoder(_Entries)
_keyed = msgspec.json.Decoder(_Keyed)


def _plain(value: Any) -> Any:
    """A decoded struct as the dict of the fields the answer had (Raw values kept)."""
    if isinstance(value, Struct):
        fields = ((name, getattr(value, name)) for name in value.__struct_fields__)
        return {name: _plain(field) for name, field in fields if field is not UNSET}
    return value


def _load(content: bytes | memoryview) -> Any:
    try:
        return _plain(_operation.decode(content))
    except msgspec.ValidationError:
        # Not the documented shape (say, a metadata that is no object): decoded whole, as
        # before, so batch_to_record names what is wrong.
        return _json.loads(content)


def decode_operation(content: bytes | memoryview) -> Any:
    """A batch operation's JSON as the dict ``batch_to_record`` reads, its inline requests
    and responses left as ``msgspec.Raw``. ValueError when it is not JSON."""
    try:
        return _load(content)
    except RecursionError:
        raise ValueError("JSON is malformed: nested too deeply") from None


def decode_page(content: bytes | memoryview) -> Any:
    """A ``GET /batches`` page, each operation decoded as ``decode_operation`` does."""
    try:
        page = _page.decode(content)
    except msgspec.ValidationError:
        return _json.loads(content)
    except RecursionError:
        raise ValueError("JSON is malformed: nested too deeply") from None
    data: dict[str, Any] = {}
    if page.operations is not None:
        data["operations"] = [decode_operation(op) for op in page.operations]
    if page.nextPageToken is not UNSET:
        data["nextPageToken"] = page.nextPageToken
    return data


def _raw_entries(raw: Raw, field: str) -> list[Raw]:
    try:
        entries = getattr(_entries.decode(raw), field)
    except (msgspec.ValidationError, RecursionError):
        return []  # not an object holding a list: no entries, as before
    return entries or []


def response_entries(value: Any) -> Iterator[Any]:
    """The entries of an ``inlinedResponses`` value, each parsed only when it is reached."""
    if isinstance(value, Raw):
        for raw in _raw_entries(value, "inlinedResponses"):
            yield _json.loads(raw)
        return
    entries = value.get("inlinedResponses") if isinstance(value, dict) else None
    yield from entries if isinstance(entries, list) else ()


def request_keys(value: Any) -> Iterator[Any]:
    """The ``metadata`` of each inline request of an ``inputConfig.requests`` value; the
    requests themselves are skipped, not built."""
    if isinstance(value, Raw):
        for raw in _raw_entries(value, "requests"):
            try:
                yield _keyed.decode(raw).metadata
            except msgspec.ValidationError:
                continue  # an entry that is no object has no key
        return
    entries = value.get("requests") if isinstance(value, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict):
            yield entry.get("metadata")
