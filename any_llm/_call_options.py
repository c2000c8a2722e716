"""The openai SDK's per-request options, as any-llm users pass them in a batch call's
``**kwargs``: ``timeout``, ``extra_headers``, ``extra_query`` and ``extra_body``.

``split_call_options`` takes them out of the kwargs (checked, before any request);
``call_scope`` makes them the options of every request the call sends: the HTTP layer
(``AsyncHTTPClient.request``) reads them from ``any_llm._transport.CALL_OPTIONS``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from any_llm._args import check_headers
from any_llm._transport import CALL_OPTIONS, CallOptions, Timeout
from any_llm.errors import ConfigurationError

OPTION_NAMES = ("timeout", "extra_headers", "extra_query", "extra_body")
_NOT_GIVEN = object()


def split_call_options(
    provider: str, call: str, kwargs: Mapping[str, Any], *, body_fields: bool = False
) -> tuple[CallOptions, dict[str, Any]]:
    """(the call's options, what is left of ``kwargs``).

    With ``body_fields`` (the create) the rest are fields of the create body, and
    ``extra_body`` is merged into them (a field given both ways is refused). Any other call has
    no body to put them in: every other kwarg, and ``extra_body``, is a ConfigurationError.
    """
    rest = dict(kwargs)
    timeout = timeout_option(provider, f"{call}(timeout=)", rest.pop("timeout", None))
    headers = rest.pop("extra_headers", None)
    headers = {} if headers is None else check_headers(provider, headers, f"{call}(extra_headers)")
    query = _query(provider, call, rest.pop("extra_query", None))
    body = rest.pop("extra_body", None)
    if not body_fields:
        unknown = sorted(rest)
        if body is not None:
            unknown.append("extra_body")
        if unknown:
            raise ConfigurationError(
                f"{provider}: {call} takes no {', '.join(unknown)}: its requests carry no "
                "body; it accepts the per-request options timeout, extra_headers and "
                "extra_query"
            )
    elif body is not None:
        if not isinstance(body, Mapping) or not all(isinstance(k, str) for k in body):
            raise ConfigurationError(
                f"{provider}: {call}(extra_body) must map field names (strings) to values, "
                f"got {type(body).__name__}"
            )
        clash = sorted(set(body) & set(rest))
        if clash:
            raise ConfigurationError(
                f"{provider}: {call} got {', '.join(clash)} both as a keyword argument and in "
                "extra_body; pass each once"
            )
        rest.update(body)
    return CallOptions(timeout=timeout, headers=headers, query=query), rest


@contextmanager
def call_scope(options: CallOptions) -> Iterator[None]:
    """Make ``options`` those of every request sent inside the block (in this task or
    thread). A call without options leaves those of an enclosing call in force."""
    if options == CallOptions():
        yield
        return
    token = CALL_OPTIONS.set(options)
    try:
        yield
    finally:
        CALL_OPTIONS.reset(token)


def timeout_option(provider: str, where: str, value: object) -> Timeout | None:
    """``timeout=``: seconds (connect and each read), an ``any_llm._transport.Timeout``, or an
    ``httpx.Timeout``-like object (its ``connect`` and ``read``; the openai SDK takes one
    there). None (openai's "not given" for most users) keeps the client's timeout."""
    if value is None:
        return None
    if isinstance(value, Timeout):
        return value
    seconds = _seconds(value)
    if seconds is not None:
        return Timeout(connect=seconds, read=seconds)
    connect = getattr(value, "connect", _NOT_GIVEN)
    read = getattr(value, "read", _NOT_GIVEN)
    if connect is not _NOT_GIVEN and read is not _NOT_GIVEN:
        connect_s, read_s = (None if p is None else _seconds(p) for p in (connect, read))
        if (connect_s is not None or connect is None) and (read_s is not None or read is None):
            return Timeout(connect=connect_s, read=read_s)
    raise ConfigurationError(
        f"{provider}: {where} must be a number of seconds > 0, or a timeout object "
        f"with connect and read seconds (httpx.Timeout), got {value!r}"
    )


def _seconds(value: object) -> float | None:
    """``value`` as seconds when it is a finite number > 0, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


def _query(provider: str, call: str, value: object) -> dict[str, str]:
    """``extra_query=``: parameter names to strings (numbers are sent as written)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{provider}: {call}(extra_query) must map parameter names to values, "
            f"got {type(value).__name__}"
        )
    query: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name:
            raise ConfigurationError(
                f"{provider}: {call}(extra_query) names must be non-empty strings, got {name!r}"
            )
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ConfigurationError(
                f"{provider}: {call}(extra_query)[{name!r}] must be a string or a number, "
                f"got {type(item).__name__}"
            )
        query[name] = str(item)
    return query
