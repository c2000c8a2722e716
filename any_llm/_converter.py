"""The one cattrs converter: every (un)structure hook of the project lives here.

Provider modules that need renames contribute them through ``register_hooks(converter)``;
OpenAI's JSON is the public shape and needs none.
"""

from __future__ import annotations

from typing import Any, TypeVar

import cattrs

from any_llm.errors import APIResponseValidationError
from any_llm.types import BatchResultItem, BatchStatus, LLMProvider

T = TypeVar("T")


def _structure_status(value: Any, _: type) -> BatchStatus:
    try:
        return BatchStatus(value)
    except ValueError:
        return BatchStatus.UNKNOWN


def make_converter() -> cattrs.Converter:
    """Build the project's converter (lenient about extra keys, strict about shapes)."""
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(BatchStatus, _structure_status)
    conv.register_unstructure_hook(BatchStatus, lambda s: s.value)
    conv.register_unstructure_hook(LLMProvider, lambda p: p.value)
    return conv


converter = make_converter()


def validation_error(provider: str, what: str, exc: Exception) -> APIResponseValidationError:
    """The error for provider JSON that does not have the documented shape."""
    if isinstance(exc, cattrs.BaseValidationError):
        detail = "; ".join(cattrs.transform_error(exc))
    else:
        detail = f"{exc.__class__.__name__}: {exc}"
    return APIResponseValidationError(
        f"{provider}: unexpected {what} from the API: {detail}", provider=provider
    )


def structure(data: Any, cls: type[T], *, provider: str, what: str) -> T:
    """Structure provider JSON into ``cls``; a shape mismatch raises APIResponseValidationError."""
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise validation_error(provider, what, exc) from exc


def structure_body(item: BatchResultItem, cls: type[T], object_name: str) -> T:
    """The response body of a succeeded item as ``cls``; ValueError if it is not that object."""
    body = item.response
    if body is None:
        raise ValueError(f"custom_id {item.custom_id!r} has no response (status {item.status})")
    if body.get("object") != object_name:
        raise ValueError(
            f"custom_id {item.custom_id!r}: response object is {body.get('object')!r}, "
            f"not {object_name!r}"
        )
    try:
        return converter.structure(body, cls)
    except cattrs.BaseValidationError as exc:
        detail = "; ".join(cattrs.transform_error(exc))
        raise ValueError(f"custom_id {item.custom_id!r}: {detail}") from exc
