"""Failure markers: text in a request body that makes the emulated request fail.

- ``[[fail]]``: the request gets an HTTP error response with status 400.
- ``[[fail:NNN]]``: the same with status NNN (400..599; any other number means 400).
- ``[[error]]``: the request fails without an HTTP response (a processing error).
- ``[[stray]]`` (OpenAI's protocol): the request's result line comes back under another
  custom_id (``stray-<custom_id>``), as a misbehaving provider might answer.

The markers are looked for in the JSON text of the request body, so they may sit in any string
field, typically a message.
"""

from __future__ import annotations

import re

import attrs

__all__ = ["STRAY_MARKER", "Marker", "find_marker"]

STRAY_MARKER = "[[stray]]"

_MARKER = re.compile(r"\[\[(?:fail(?::([0-9]{3}))?|error)\]\]")


@attrs.frozen
class Marker:
    """A failure asked for by a request: `status` is None for a non-HTTP error."""

    status: int | None


def find_marker(text: str) -> Marker | None:
    """Return the first failure marker in `text`, if any."""
    match = _MARKER.search(text)
    if match is None:
        return None
    if match.group(0) == "[[error]]":
        return Marker(status=None)
    status = int(match.group(1)) if match.group(1) else 400
    return Marker(status=status if 400 <= status <= 599 else 400)
