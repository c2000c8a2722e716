"""The one cattrs converter: every (un)structure hook of the project lives here.

Provider modules that need renames contribute them through ``register_hooks(converter)``;
OpenAI's JSON is the public shape and needs none.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from any_llm.errors import APIResponseValidationError
from any_llm.types import (
    Batch,
    BatchResultItem,
    BatchStatus,
    ChatCompletion,
    CreateEmbeddingResponse,
    LLMProvider,
)

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
    # ``result`` is ``response`` typed: written once, as ``response``.
    conv.register_unstructure_hook(
        BatchResultItem,
        make_dict_unstructure_fn(
            BatchResultItem, conv, _result=override(omit=True), _typed=override(omit=True)
        ),
    )
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


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def dump(record: object, *, exclude_none: bool = False) -> dict[str, Any]:
    """``record`` as OpenAI-shaped JSON (``model_dump``)."""
    data: dict[str, Any] = converter.unstructure(record)
    return _without_none(data) if exclude_none else data


def dump_json(record: object, *, indent: int | None = None, exclude_none: bool = False) -> str:
    """``dump(record)`` as JSON text, compact as pydantic's unless ``indent`` is given."""
    data = dump(record, exclude_none=exclude_none)
    if indent is None:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(data, indent=indent, ensure_ascii=False)


def validate(obj: Any, cls: type[T]) -> T:
    """``cls`` from OpenAI-shaped JSON, or from an object with ``model_dump()`` (openai's
    models); a wrong shape raises ValueError naming what is wrong.

    A null means absent (openai's models dump every unset field as None). For ``Batch``, the
    idempotency key in ``metadata`` (a Batch dumped from openai's SDK) is moved to
    ``idempotency_key``, as every provider's batches are read, and ``provider_status`` is the
    status as given when absent.
    """
    if isinstance(obj, cls):
        return obj
    if not isinstance(obj, dict) and callable(getattr(obj, "model_dump", None)):
        obj = obj.model_dump(mode="json")
    if not isinstance(obj, dict):
        raise ValueError(f"{cls.__name__}.model_validate expects a dict, got {type(obj).__name__}")
    data = _without_none(obj)
    if cls is Batch:
        from any_llm._providers import unstamp

        if "status" in data and "provider_status" not in data:
            data["provider_status"] = str(data["status"])
        data = unstamp(data)
    try:
        return converter.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        detail = "; ".join(cattrs.transform_error(exc))
        raise ValueError(f"{cls.__name__}.model_validate: {detail}") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{cls.__name__}.model_validate: {exc}") from exc


def body_of(result: Any) -> dict[str, Any]:
    """The JSON body of a typed result given to ``BatchResultItem(result=...)``: one of our
    records, or a pydantic model (openai's ``ChatCompletion``) through its ``model_dump``."""
    dump = getattr(result, "model_dump", None)
    body = dump(mode="json") if callable(dump) else converter.unstructure(result)
    if not isinstance(body, dict):
        raise TypeError(f"result must be a chat completion or embeddings, got {result!r}")
    return body


def typed_body(body: dict[str, Any]) -> ChatCompletion | CreateEmbeddingResponse | None:
    """A succeeded response body as the typed record its ``object`` names; None for another
    kind of body or one without that record's shape."""
    kind = body.get("object")
    cls: type[ChatCompletion | CreateEmbeddingResponse]
    if kind == "chat.completion":
        cls = ChatCompletion
    elif kind == "list" and isinstance(body.get("data"), list):
        cls = CreateEmbeddingResponse
    else:
        return None
    try:
        return converter.structure(body, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError):
        return None  # chat_completion() / embeddings() say what is wrong
