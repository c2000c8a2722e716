"""The exceptions under any-llm's names (``any_llm.exceptions``), for code written against it.

Each is one of ours (``any_llm.errors``), so ``except any_llm.exceptions.X`` catches what
any-llm's ``X`` catches in a batch call, and every one is an ``AnyLLMError``:

- ``AuthenticationError``: HTTP 401 and 403 (``PermissionDeniedError`` is a subclass).
- ``RateLimitError``: HTTP 429; ``retry_after`` is in seconds (a float), not the raw header.
- ``InvalidRequestError``: HTTP 400 and 422 (``BadRequestError``, ``UnprocessableEntityError``),
  and the bad arguments and input files any_llm refuses before sending (``InvalidArgumentError``,
  ``InputFileError``), which any-llm would have sent and seen refused.
- ``ModelNotFoundError``: HTTP 404, our ``NotFoundError`` (in a batch call: an unknown id).
- ``ProviderError``: connection errors, timeouts, HTTP 5xx, answers of the wrong shape.
- ``InsufficientFundsError`` (402), ``UpstreamProviderError`` (502), ``GatewayTimeoutError``
  (504): HTTP statuses (the last two are also ``ProviderError``s).
- ``MissingApiKeyError``, ``UnsupportedProviderError``, ``UnsupportedParameterError``: raised
  before any request (all ``ConfigurationError``s).
- ``BatchNotCompleteError``: results asked of a batch that has not ended (a failed one raises
  ``BatchFailedError``, a subclass).
- ``ContextLengthExceededError``, ``ContentFilterError``: importable, never raised by a batch
  call (a request's own failure is in its result item).
"""

from __future__ import annotations

from any_llm.errors import (
    AnyLLMError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchError,
    BatchFailedError,
    BatchMayExistError,
    BatchNotCompleteError,
    BatchNotSupportedError,
    BatchTimeoutError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    ContentFilterError,
    ContextLengthExceededError,
    GatewayTimeoutError,
    InputFileError,
    InsufficientFundsError,
    InternalServerError,
    InvalidArgumentError,
    InvalidRequestError,
    MissingApiKeyError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    UnprocessableEntityError,
    UnsupportedParameterError,
    UnsupportedProviderError,
    UpstreamProviderError,
)

ModelNotFoundError = NotFoundError
"""any-llm's name for HTTP 404 (it reads a 404 as an unknown model; in a batch call it is
mostly an unknown batch or file id)."""

__all__ = [
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
    "ModelNotFoundError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "UnprocessableEntityError",
    "UnsupportedParameterError",
    "UnsupportedProviderError",
    "UpstreamProviderError",
]
