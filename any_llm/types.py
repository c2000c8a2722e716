"""Public records. They hold data only; (un)structuring lives in ``any_llm._converter``.

``Batch`` carries every field of OpenAI's Batch object (timestamps are unix seconds, as in
OpenAI's JSON and the any-llm documentation), plus ``provider`` and the provider's own
``provider_status`` so that normalisation never hides detail.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from typing import Any, overload

import attrs

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


@attrs.frozen(kw_only=True)
class BatchRequestCounts:
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
class Batch:
    """A batch job, shaped like OpenAI's Batch object, on any provider."""

    id: str
    provider: str
    status: BatchStatus
    provider_status: str
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
    model: str | None = None
    usage: BatchUsage | None = None
    object: str = "batch"

    @property
    def is_terminal(self) -> bool:
        """True once the batch can no longer change (completed, failed, expired, cancelled)."""
        return self.status.is_terminal


@attrs.frozen(kw_only=True)
class BatchPage(Sequence[Batch]):
    """One page of ``list_batches``: a sequence of batches plus the cursor to the next page."""

    data: tuple[Batch, ...] = ()
    has_more: bool = False
    next_cursor: str | None = None
    """Pass as ``after=`` to get the next page; ``None`` when this is the last page."""

    @overload
    def __getitem__(self, index: int) -> Batch: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Batch]: ...
    def __getitem__(self, index: int | slice) -> Batch | Sequence[Batch]:
        return self.data[index]

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[Batch]:
        return iter(self.data)


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


@attrs.frozen(kw_only=True)
class BatchResultError:
    """Why one request did not succeed."""

    message: str
    code: str | None = None
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


@attrs.frozen(kw_only=True)
class BatchResultItem:
    """The outcome of one input request, matched by ``custom_id``.

    Exactly one of ``response`` (status ``succeeded``: the OpenAI-shaped response body) or
    ``error`` (every other status) is set.
    """

    custom_id: str
    status: BatchResultStatus
    response: dict[str, Any] | None = None
    error: BatchResultError | None = None
    status_code: int | None = None
    request_id: str | None = None

    @property
    def succeeded(self) -> bool:
        """True when the request produced a response."""
        return self.status is BatchResultStatus.SUCCEEDED

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
    """Every request of a batch, once: ``results`` in input order, with counts by status."""

    batch: Batch
    results: list[BatchResultItem]
    strays: list[BatchResultItem] = attrs.field(factory=list)
    """Lines the provider returned for custom_ids the input does not hold (status
    ``stray``): kept apart, never counted among ``results``."""

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
