"""any_llm: one API over the LLM providers' batch endpoints.

Async names (``acreate_batch``, ...) come from the async core; the sync names
(``create_batch``, ...) are re-exported from ``any_llm_sync``; ``AnyLLM`` has both (its sync
methods run on ``any_llm_sync.AnyLLM``). Everything is imported on first
use, so ``import any_llm`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_ASYNC = (
    "acancel_batch",
    "acreate_batch",
    "afind_batch",
    "aiter_batch_results",
    "aiter_batches",
    "alist_batches",
    "apoll_batch",
    "aretrieve_batch",
    "aretrieve_batch_results",
)
_SYNC = (
    "cancel_batch",
    "create_batch",
    "find_batch",
    "iter_batch_results",
    "iter_batches",
    "list_batches",
    "poll_batch",
    "retrieve_batch",
    "retrieve_batch_results",
)
_TYPES = (
    "Batch",
    "BatchPage",
    "BatchRequestCounts",
    "BatchResult",
    "BatchResultError",
    "BatchResultItem",
    "BatchResultStatus",
    "BatchStatus",
    "ChatCompletion",
    "CreateEmbeddingResponse",
    "LLMProvider",
)
_ERRORS = (
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AnyLLMError",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
    "BatchFailedError",
    "BatchMayExistError",
    "BatchNotCompleteError",
    "BatchNotSupportedError",
    "BatchTimeoutError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ContentFilterError",
    "ContextLengthExceededError",
    "GatewayTimeoutError",
    "InputFileError",
    "InsufficientFundsError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "MissingApiKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "UnprocessableEntityError",
    "UnsupportedParameterError",
    "UnsupportedProviderError",
    "UpstreamProviderError",
)

_WHERE: dict[str, str] = {
    **dict.fromkeys(_ASYNC, "any_llm._async"),
    "AnyLLM": "any_llm._anyllm",
    **dict.fromkeys(_SYNC, "any_llm_sync"),
    **dict.fromkeys(_TYPES, "any_llm.types"),
    **dict.fromkeys(_ERRORS, "any_llm.errors"),
    "ModelNotFoundError": "any_llm.exceptions",
    "RetryConfig": "any_llm._retry",
    "converter": "any_llm._converter",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'any_llm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


if TYPE_CHECKING:
    from any_llm._anyllm import AnyLLM as AnyLLM
    from any_llm._async import (
        acancel_batch as acancel_batch,
    )
    from any_llm._async import (
        acreate_batch as acreate_batch,
    )
    from any_llm._async import (
        afind_batch as afind_batch,
    )
    from any_llm._async import (
        aiter_batch_results as aiter_batch_results,
    )
    from any_llm._async import (
        aiter_batches as aiter_batches,
    )
    from any_llm._async import (
        alist_batches as alist_batches,
    )
    from any_llm._async import (
        apoll_batch as apoll_batch,
    )
    from any_llm._async import (
        aretrieve_batch as aretrieve_batch,
    )
    from any_llm._async import (
        aretrieve_batch_results as aretrieve_batch_results,
    )
    from any_llm._converter import converter as converter
    from any_llm._retry import RetryConfig as RetryConfig
    from any_llm.errors import (
        AnyLLMError as AnyLLMError,
    )
    from any_llm.errors import (
        APIConnectionError as APIConnectionError,
    )
    from any_llm.errors import (
        APIError as APIError,
    )
    from any_llm.errors import (
        APIResponseValidationError as APIResponseValidationError,
    )
    from any_llm.errors import (
        APIStatusError as APIStatusError,
    )
    from any_llm.errors import (
        APITimeoutError as APITimeoutError,
    )
    from any_llm.errors import (
        AuthenticationError as AuthenticationError,
    )
    from any_llm.errors import (
        BadRequestError as BadRequestError,
    )
    from any_llm.errors import (
        BatchError as BatchError,
    )
    from any_llm.errors import (
        BatchFailedError as BatchFailedError,
    )
    from any_llm.errors import (
        BatchMayExistError as BatchMayExistError,
    )
    from any_llm.errors import (
        BatchNotCompleteError as BatchNotCompleteError,
    )
    from any_llm.errors import (
        BatchNotSupportedError as BatchNotSupportedError,
    )
    from any_llm.errors import (
        BatchTimeoutError as BatchTimeoutError,
    )
    from any_llm.errors import (
        ClientClosedError as ClientClosedError,
    )
    from any_llm.errors import (
        ConfigurationError as ConfigurationError,
    )
    from any_llm.errors import (
        ConflictError as ConflictError,
    )
    from any_llm.errors import (
        ContentFilterError as ContentFilterError,
    )
    from any_llm.errors import (
        ContextLengthExceededError as ContextLengthExceededError,
    )
    from any_llm.errors import (
        GatewayTimeoutError as GatewayTimeoutError,
    )
    from any_llm.errors import (
        InputFileError as InputFileError,
    )
    from any_llm.errors import (
        InsufficientFundsError as InsufficientFundsError,
    )
    from any_llm.errors import (
        InternalServerError as InternalServerError,
    )
    from any_llm.errors import (
        InvalidArgumentError as InvalidArgumentError,
    )
    from any_llm.errors import (
        InvalidRequestError as InvalidRequestError,
    )
    from any_llm.errors import (
        MissingApiKeyError as MissingApiKeyError,
    )
    from any_llm.errors import (
        NotFoundError as NotFoundError,
    )
    from any_llm.errors import (
        PermissionDeniedError as PermissionDeniedError,
    )
    from any_llm.errors import (
        ProviderError as ProviderError,
    )
    from any_llm.errors import (
        RateLimitError as RateLimitError,
    )
    from any_llm.errors import (
        UnprocessableEntityError as UnprocessableEntityError,
    )
    from any_llm.errors import (
        UnsupportedParameterError as UnsupportedParameterError,
    )
    from any_llm.errors import (
        UnsupportedProviderError as UnsupportedProviderError,
    )
    from any_llm.errors import (
        UpstreamProviderError as UpstreamProviderError,
    )
    from any_llm.exceptions import (
        ModelNotFoundError as ModelNotFoundError,
    )
    from any_llm.types import (
        Batch as Batch,
    )
    from any_llm.types import (
        BatchPage as BatchPage,
    )
    from any_llm.types import (
        BatchRequestCounts as BatchRequestCounts,
    )
    from any_llm.types import (
        BatchResult as BatchResult,
    )
    from any_llm.types import (
        BatchResultError as BatchResultError,
    )
    from any_llm.types import (
        BatchResultItem as BatchResultItem,
    )
    from any_llm.types import (
        BatchResultStatus as BatchResultStatus,
    )
    from any_llm.types import (
        BatchStatus as BatchStatus,
    )
    from any_llm.types import (
        ChatCompletion as ChatCompletion,
    )
    from any_llm.types import (
        CreateEmbeddingResponse as CreateEmbeddingResponse,
    )
    from any_llm.types import (
        LLMProvider as LLMProvider,
    )
    from any_llm_sync import (
        cancel_batch as cancel_batch,
    )
    from any_llm_sync import (
        create_batch as create_batch,
    )
    from any_llm_sync import (
        find_batch as find_batch,
    )
    from any_llm_sync import (
        iter_batch_results as iter_batch_results,
    )
    from any_llm_sync import (
        iter_batches as iter_batches,
    )
    from any_llm_sync import (
        list_batches as list_batches,
    )
    from any_llm_sync import (
        poll_batch as poll_batch,
    )
    from any_llm_sync import (
        retrieve_batch as retrieve_batch,
    )
    from any_llm_sync import (
        retrieve_batch_results as retrieve_batch_results,
    )
