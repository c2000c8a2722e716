"""The batch API: module functions and the ``AnyLLM`` client."""

from any_llm._retry import RetryConfig
from any_llm.errors import (
    AnyLLMError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    BatchError,
    BatchFailedError,
    BatchTimeoutError,
    ClientClosedError,
    ConfigurationError,
    InputFileError,
    RateLimitError,
    UnsupportedProviderError,
)
from any_llm.types import (
    Batch,
    BatchPage,
    BatchRequestCounts,
    BatchResult,
    BatchResultItem,
    BatchResultStatus,
    BatchStatus,
    LLMProvider,
)

from .batches import (
    acancel_batch,
    acreate_batch,
    aiter_batch_results,
    aiter_batches,
    alist_batches,
    apoll_batch,
    aretrieve_batch,
    aretrieve_batch_results,
)
from .client import AsyncAnyLLM as AnyLLM

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AnyLLM",
    "AnyLLMError",
    "Batch",
    "BatchError",
    "BatchFailedError",
    "BatchPage",
    "BatchRequestCounts",
    "BatchResult",
    "BatchResultItem",
    "BatchResultStatus",
    "BatchStatus",
    "BatchTimeoutError",
    "ClientClosedError",
    "ConfigurationError",
    "InputFileError",
    "LLMProvider",
    "RateLimitError",
    "RetryConfig",
    "UnsupportedProviderError",
    "acancel_batch",
    "acreate_batch",
    "aiter_batch_results",
    "aiter_batches",
    "alist_batches",
    "apoll_batch",
    "aretrieve_batch",
    "aretrieve_batch_results",
]
