"""The fields every input line is checked for, decoded by msgspec: it checks the JSON of the
whole line but builds none of the rest (messages, parameters), which makes it about 40% cheaper
than a full parse. Imported on the first check (``_jsonl``), not at ``import any_llm``."""

from __future__ import annotations

import msgspec


class Body(msgspec.Struct):
    """``body.model``; every other parameter is checked as JSON and skipped."""

    model: str


class Request(msgspec.Struct):
    """One input line's checked fields; any other field is checked as JSON and skipped."""

    custom_id: str
    method: str
    url: str
    body: Body


decode_request = msgspec.json.Decoder(Request).decode
"""bytes of one line → Request; raises a ValueError (msgspec's errors) when it is not one."""


class Keyed(msgspec.Struct):
    """A line's ``custom_id`` alone; the rest is checked as JSON and skipped."""

    custom_id: object = None


decode_keyed = msgspec.json.Decoder(Keyed).decode
"""bytes of one line → Keyed; raises a ValueError when it is not a JSON object."""
