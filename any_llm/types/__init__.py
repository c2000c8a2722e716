"""Public records. They hold data only; (un)structuring lives in ``any_llm._converter``.

``Batch`` carries every field of OpenAI's Batch object (timestamps are unix seconds, as in
OpenAI's JSON and the any-llm documentation), plus ``provider`` and the provider's own
``provider_status`` so that normalisation never hides detail.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from typing import Any, Literal, TypeVar

import attrs

_M = TypeVar("_M", bound="_OpenAIShaped")

__all__ = [
    "Batch",
    "BatchErrorData",
    "BatchErrors",
    "BatchPage",
    "BatchRequestCounts",
    "BatchResult",
    "BatchResultError",
    "BatchResultItem",
    "BatchResultStatus",
    "BatchStatus",
    "BatchUsage",
    "ChatCompletion",
    "ChatCompletionChoice",
    "ChatCompletionMessage",
    "Choice",
    "CompletionUsage",
    "CreateEmbeddingResponse",
    "Embedding",
    "EmbeddingUsage",
    "InputTokensDetails",
    "LLMProvider",
    "OutputTokensDetails",
]


class LLMProvider(str, enum.Enum):
    """The providers any_llm can run batches on."""

    OPENAI = "openai"
    MISTRAL = "mistral"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"
    AZUREOPENAI = "azureopenai"
    GROQ = "groq"
    TOGETHER = "together"
    DASHSCOPE = "dashscope"
    MOONSHOT = "moonshot"
    NEBIUS = "nebius"
    CEREBRAS = "cerebras"

    def __str__(self) -> str:
        return self.value


class BatchStatus(str, enum.Enum):
    """OpenAI's batch status enum; provider statuses are mapped onto it (unknown → UNKNOWN)."""

    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        """True once the batch can no longer change."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {BatchStatus.FAILED, BatchStatus.COMPLETED, BatchStatus.EXPIRED, BatchStatus.CANCELLED}
)


def _status(value: BatchStatus | str) -> BatchStatus:
    if isinstance(value, BatchStatus):
        return value
    try:
        return BatchStatus(value)
    except ValueError:
        return BatchStatus.UNKNOWN


class _OpenAIShaped:
    """The pydantic-style (de)serialization of openai's models, done by our one converter."""

    __slots__ = ()

    def model_dump(
        self, *, mode: Literal["python", "json"] | str = "python", exclude_none: bool = False
    ) -> dict[str, Any]:
        """The record as OpenAI-shaped JSON (a dict of JSON values, in either ``mode``)."""
        from any_llm._converter import dump

        return dump(self, exclude_none=exclude_none)

    def model_dump_json(self, *, indent: int | None = None, exclude_none: bool = False) -> str:
        """``model_dump()`` as JSON text (compact, as pydantic writes it, unless ``indent``)."""
        from any_llm._converter import dump_json

        return dump_json(self, indent=indent, exclude_none=exclude_none)

    @classmethod
    def model_validate(cls: type[_M], obj: Any) -> _M:
        """The record from OpenAI-shaped JSON: a dict, or an object with ``model_dump()``
        (openai's own models); raises ``ValueError`` for a wrong shape."""
        from any_llm._converter import validate

        return validate(obj, cls)

    @classmethod
    def model_validate_json(cls: type[_M], data: str | bytes) -> _M:
        """``model_validate`` of JSON text."""
        from any_llm._json import loads

        return cls.model_validate(loads(data))


@attrs.frozen(kw_only=True)
class BatchRequestCounts(_OpenAIShaped):
    """How many requests the batch holds, and how many completed or failed so far."""

    total: int = 0
    completed: int = 0
    failed: int = 0


@attrs.frozen(kw_only=True)
class BatchErrorData:
    """A batch-level error (for example, a validation failure of the input file)."""

    code: str | None = None
    message: str | None = None
    param: str | None = None
    line: int | None = None


@attrs.frozen(kw_only=True)
class BatchErrors:
    """The ``errors`` list of a batch."""

    object: str = "list"
    data: list[BatchErrorData] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class InputTokensDetails:
    """Breakdown of input tokens."""

    cached_tokens: int = 0


@attrs.frozen(kw_only=True)
class OutputTokensDetails:
    """Breakdown of output tokens."""

    reasoning_tokens: int = 0


@attrs.frozen(kw_only=True)
class BatchUsage:
    """Token usage of the whole batch."""

    input_tokens: int = 0
    input_tokens_details: InputTokensDetails = attrs.field(factory=InputTokensDetails)
    output_tokens: int = 0
    output_tokens_details: OutputTokensDetails = attrs.field(factory=OutputTokensDetails)
    total_tokens: int = 0


@attrs.frozen(kw_only=True)
class Batch(_OpenAIShaped):
    """A batch job, shaped like OpenAI's Batch object, on any provider.

    It can be built from OpenAI's fields alone (``Batch(id=..., status="completed", ...)``,
    ``Batch.model_validate(openai_batch)``): ``provider`` is then ``"openai"`` and
    ``provider_status`` the status as given. ``model_dump()`` gives OpenAI's fields plus
    ``provider``, ``provider_status`` and ``idempotency_key``, which openai's own
    ``Batch.model_validate`` keeps as extra fields.
    """

    id: str
    status: BatchStatus = attrs.field(converter=_status)
    provider: str = "openai"
    provider_status: str = attrs.field(
        default=attrs.Factory(lambda self: self.status.value, takes_self=True)
    )
    """The provider's own status string, before normalisation into ``status``."""
    endpoint: str = ""
    completion_window: str = "24h"
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: BatchErrors | None = None
    created_at: int = 0
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: BatchRequestCounts = attrs.field(factory=BatchRequestCounts)
    metadata: dict[str, str] | None = None
    """The metadata the user gave, without the idempotency key any_llm stamps on every batch
    (that is ``idempotency_key``); None when the user gave none."""
    model: str | None = None
    usage: BatchUsage | None = None
    object: str = "batch"
    idempotency_key: str | None = None
    """The key any_llm stamped on the batch when it created it (the ``idempotency_key`` of
    ``create_batch``, or a random one); None for a batch any_llm did not create, or on a
    provider whose batches cannot carry it (Anthropic, Together)."""

    @property
    def is_terminal(self) -> bool:
        """True once the batch can no longer change (completed, failed, expired, cancelled)."""
        return self.status.is_terminal


class BatchPage(list[Batch]):
    """One page of ``list_batches``: a ``list`` of batches (compared, added, sliced and
    measured as lists are) that also carries ``has_more`` and ``next_cursor``."""

    has_more: bool
    """True when the provider has more batches after this page."""
    next_cursor: str | None
    """Pass as ``after=`` to get the next page; ``None`` when this is the last page."""

    def __init__(
        self,
        data: Iterable[Batch] = (),
        *,
        has_more: bool = False,
        next_cursor: str | None = None,
    ) -> None:
        super().__init__(data)
        self.has_more = has_more
        self.next_cursor = next_cursor

    @property
    def data(self) -> list[Batch]:
        """The batches as a plain list (as the ``data`` of OpenAI's list page)."""
        return list(self)

    def __repr__(self) -> str:
        return (
            f"BatchPage({list.__repr__(self)}, has_more={self.has_more!r}, "
            f"next_cursor={self.next_cursor!r})"
        )


class BatchResultStatus(str, enum.Enum):
    """What became of one request of a batch."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    """The batch was cancelled before this request ran."""
    EXPIRED = "expired"
    """The batch expired before this request ran."""
    MISSING = "missing"
    """The batch ended but the provider returned no line for this request."""
    STRAY = "stray"
    """A line the provider returned for a custom_id the input does not hold: not one of the
    batch's requests, never counted among them (``BatchResult.strays``)."""

    def __str__(self) -> str:
        return self.value


UNKNOWN_CODE = "unknown"
"""``BatchResultError.code`` where the provider gives no code."""


def _code(value: str | None) -> str:
    return UNKNOWN_CODE if value is None else value


@attrs.frozen(kw_only=True)
class BatchResultError:
    """Why one request did not succeed."""

    message: str
    code: str = attrs.field(default=UNKNOWN_CODE, converter=_code)
    """The provider's error code; ``"unknown"`` where it gives none (never None)."""
    type: str | None = None
    param: str | None = None
    status_code: int | None = None
    """The HTTP status of the sub-request, when the provider reports one."""


@attrs.frozen(kw_only=True)
class CompletionUsage:
    """Token usage of one chat completion."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@attrs.frozen(kw_only=True)
class ChatCompletionMessage:
    """The assistant's message."""

    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


@attrs.frozen(kw_only=True)
class ChatCompletionChoice:
    """One choice of a chat completion."""

    index: int = 0
    message: ChatCompletionMessage = attrs.field(factory=ChatCompletionMessage)
    finish_reason: str | None = None


Choice = ChatCompletionChoice
"""any-llm's (and openai's) name for one choice of a chat completion."""


@attrs.frozen(kw_only=True)
class ChatCompletion:
    """An OpenAI-shaped ``chat.completion`` body."""

    id: str
    model: str
    created: int = 0
    choices: list[ChatCompletionChoice] = attrs.field(factory=list)
    usage: CompletionUsage | None = None
    object: str = "chat.completion"


@attrs.frozen(kw_only=True)
class Embedding:
    """One embedding vector."""

    index: int
    embedding: list[float]
    object: str = "embedding"


@attrs.frozen(kw_only=True)
class EmbeddingUsage:
    """Token usage of one embeddings request."""

    prompt_tokens: int = 0
    total_tokens: int = 0


@attrs.frozen(kw_only=True)
class CreateEmbeddingResponse:
    """An OpenAI-shaped embeddings response body."""

    data: list[Embedding]
    model: str
    usage: EmbeddingUsage | None = None
    object: str = "list"


_RETURNED = frozenset({BatchResultStatus.SUCCEEDED, BatchResultStatus.FAILED})
_HAS_BODY = frozenset({BatchResultStatus.SUCCEEDED, BatchResultStatus.STRAY})


@attrs.frozen(kw_only=True)
class BatchResultItem:
    """The outcome of one input request, matched by ``custom_id``.

    Exactly one of ``response`` (status ``succeeded``: the OpenAI-shaped response body) or
    ``error`` (every other status) is set. ``result`` is that response typed: a
    ``ChatCompletion`` or a ``CreateEmbeddingResponse`` (None for an item that did not succeed,
    or for another kind of body, or one without that object's shape: ``chat_completion()``
    then says why).

    Built by hand, any-llm's arguments suffice: ``BatchResultItem(custom_id=..., result=...)``
    or ``(custom_id=..., error=...)``; ``status`` is then inferred (``succeeded`` when a
    result or response is given, ``failed`` when an error is, ``missing`` when neither is),
    and ``response`` is the body of ``result`` (ours, or a pydantic model such as openai's
    ``ChatCompletion``, which ``result`` then stays).
    """

    custom_id: str
    _result: ChatCompletion | CreateEmbeddingResponse | None = attrs.field(
        default=None, alias="result", eq=False, repr=False
    )
    error: BatchResultError | None = None
    status: BatchResultStatus = attrs.field(
        default=None, converter=attrs.converters.optional(BatchResultStatus)
    )
    """Inferred when not given (see above)."""
    response: dict[str, Any] | None = None
    status_code: int | None = None
    request_id: str | None = None
    _typed: bool = attrs.field(default=False, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        given: BatchResultStatus | None = self.status  # None when the caller gave none
        if given is None:
            if self._result is not None or self.response is not None:
                given = BatchResultStatus.SUCCEEDED
            elif self.error is not None:
                given = BatchResultStatus.FAILED
            else:
                given = BatchResultStatus.MISSING
            object.__setattr__(self, "status", given)
        if self._result is not None:
            object.__setattr__(self, "_typed", True)
            if self.response is None:
                from any_llm._converter import body_of

                object.__setattr__(self, "response", body_of(self._result))

    @property
    def result(self) -> ChatCompletion | CreateEmbeddingResponse | None:
        """The response of a succeeded item, typed: a ``ChatCompletion`` or a
        ``CreateEmbeddingResponse``; None otherwise, or for a body of another kind or shape
        (``chat_completion()`` / ``embeddings()`` then say why). Built on first use; left out
        of comparisons, reprs and ``converter.unstructure`` (``response`` is the same body)."""
        if not self._typed:
            from any_llm._converter import typed_body

            typed = None
            if self.response is not None and self.status in _HAS_BODY:
                typed = typed_body(self.response)
            object.__setattr__(self, "_result", typed)
            object.__setattr__(self, "_typed", True)
        return self._result

    @property
    def succeeded(self) -> bool:
        """True when the request produced a response."""
        return self.status is BatchResultStatus.SUCCEEDED

    @property
    def returned(self) -> bool:
        """True when the provider returned a line for this request (succeeded or failed);
        False for the ones any_llm reports on its behalf (cancelled, expired, missing) and for
        strays."""
        return self.status in _RETURNED

    def chat_completion(self) -> ChatCompletion:
        """The response as a typed ``ChatCompletion`` (raises ``ValueError`` if it is not one)."""
        from any_llm._converter import structure_body

        return structure_body(self, ChatCompletion, "chat.completion")

    def embeddings(self) -> CreateEmbeddingResponse:
        """The response as a typed ``CreateEmbeddingResponse`` (raises ``ValueError`` otherwise)."""
        from any_llm._converter import structure_body

        return structure_body(self, CreateEmbeddingResponse, "list")


@attrs.frozen(kw_only=True)
class BatchResult:
    """Every request of a batch, once, with counts by status.

    ``results`` holds the items the provider returned, in the order the provider returned
    them (output file, then error file, for OpenAI's protocol), then the requests it
    returned nothing for (cancelled, expired or missing), in input order. It is not input
    order: match items by ``custom_id``.

    any-llm's view, only what the provider returned, is ``returned``. Built by hand,
    ``BatchResult(results=[...])`` suffices (``batch`` is then None).
    """

    results: list[BatchResultItem] = attrs.field(factory=list)
    batch: Batch | None = None
    """The batch the results are of (None only for a result built by hand without one)."""
    strays: list[BatchResultItem] = attrs.field(factory=list)
    """Lines the provider returned for custom_ids the input does not hold (status
    ``stray``): kept apart, never counted among ``results``."""

    @property
    def returned(self) -> list[BatchResultItem]:
        """Only the items the provider returned a line for (succeeded or failed), in its
        order: what any-llm's ``results`` holds, without the cancelled, expired and missing
        items any_llm adds and without ``strays``."""
        return [r for r in self.results if r.returned]

    @property
    def succeeded(self) -> list[BatchResultItem]:
        """The items that produced a response."""
        return [r for r in self.results if r.status is BatchResultStatus.SUCCEEDED]

    @property
    def failed(self) -> list[BatchResultItem]:
        """Every item that did not succeed (failed, cancelled, expired or missing)."""
        return [r for r in self.results if r.status is not BatchResultStatus.SUCCEEDED]

    def counts(self) -> dict[BatchResultStatus, int]:
        """How many items have each status."""
        out = dict.fromkeys(BatchResultStatus, 0)
        for r in self.results:
            out[r.status] += 1
        return out

    def __iter__(self) -> Iterator[BatchResultItem]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)
