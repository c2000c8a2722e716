"""The exceptions of any_llm, shared by the async core and the sync twin.

Every message says what happened, where (provider, method, path, HTTP status, file and line)
and what to do. API keys never appear in messages: requests are described by method and path,
never by headers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from any_llm._transport import Response
    from any_llm.types import Batch

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
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "UnprocessableEntityError",
    "UnsupportedParameterError",
    "UnsupportedProviderError",
    "UpstreamProviderError",
    "raise_for_status",
]


class AnyLLMError(Exception):
    """Base class of every error raised by any_llm.

    It also answers to the fields any-llm's errors carry (``message``, ``provider_name``,
    ``status_code``, ``code``, ``param``, ``error_type``, ``original_exception``); a field an
    error cannot know is None.
    """

    status_code: int | None = None
    """The HTTP status the provider answered with (None when the error is not an HTTP status)."""
    code: str | None = None
    """The provider's error code from the response body, when it gave one."""
    param: str | None = None
    """The request field the provider named as the cause, when it named one."""
    error_type: str | None = None
    """The provider's error category (OpenAI's ``type``), when it gave one."""

    @property
    def message(self) -> str:
        """The error's message (``str(error)``)."""
        return str(self.args[0]) if self.args else ""

    @property
    def provider_name(self) -> str | None:
        """The provider the error came from, when it is known."""
        provider = self.__dict__.get("provider")
        if not provider:
            batch = self.__dict__.get("batch")
            provider = getattr(batch, "provider", None)
        return str(provider) if provider else None

    @property
    def original_exception(self) -> BaseException | None:
        """The exception this one was raised from (``raise ... from``), if any."""
        return self.__cause__


class InvalidRequestError(AnyLLMError):
    """The request is invalid: refused by the provider (HTTP 400 and 422: ``BadRequestError``,
    ``UnprocessableEntityError``) or, before anything was sent, by any_llm
    (``InvalidArgumentError``, ``InputFileError``). any-llm's ``InvalidRequestError``."""


class ConfigurationError(AnyLLMError):
    """The call cannot be made as configured (missing key, bad argument, unknown provider)."""


class InvalidArgumentError(ConfigurationError, InvalidRequestError):
    """An argument's value cannot be sent as given (a bad id, metadata, path, header, URL, page
    size); nothing was sent. Also an ``InvalidRequestError``: where any-llm would send it and
    get the provider's HTTP 400, any_llm refuses it first."""


class MissingApiKeyError(ConfigurationError):
    """No API key was passed and the provider's environment variable is not set.

    ``provider_name`` names the provider, ``env_var_name`` the variable read.
    """

    def __init__(self, message: str, *, provider: str, env_var_name: str) -> None:
        self.provider = provider
        self.env_var_name = env_var_name
        super().__init__(message)


class UnsupportedParameterError(ConfigurationError):
    """An argument the provider (or any_llm) cannot use; ``parameter_name`` names it."""

    def __init__(self, message: str, *, parameter_name: str, provider: str = "") -> None:
        self.parameter_name = parameter_name
        self.provider = provider
        super().__init__(message)


class UnsupportedProviderError(ConfigurationError):
    """The provider name is not one any_llm supports.

    ``provider_key`` is the name as given, ``supported_providers`` the names that run batches.
    """

    def __init__(
        self,
        message: str,
        *,
        provider_key: str = "",
        supported_providers: Sequence[str] = (),
    ) -> None:
        self.provider_key = provider_key
        self.supported_providers = list(supported_providers)
        super().__init__(message)


class BatchNotSupportedError(UnsupportedProviderError, NotImplementedError):
    """The provider is a known one, but any_llm runs no batches on it (it has no batch API, or
    any_llm does not serve it). Also a ``NotImplementedError``, as any-llm raises for a
    provider without batch support."""


class ClientClosedError(ConfigurationError):
    """The client was closed (``aclose()``/``close()``, or the end of its ``with`` block): every
    later call raises this, and nothing reopens its connections. Create a new client."""


class InputFileError(InvalidRequestError):
    """The JSONL input file is missing, unreadable or invalid; nothing was sent.

    ``path`` and ``line`` (1-based, ``None`` for whole-file problems) say where, ``custom_id``
    names the request when it is known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int | None = None,
        custom_id: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.custom_id = custom_id
        self.reason = message
        where = path if line is None else f"{path}:{line}"
        if custom_id is not None:
            where += f" (custom_id {custom_id!r})"
        super().__init__(f"{where}: {message}")


class APIError(AnyLLMError):
    """A call to the provider's API did not succeed."""

    def __init__(
        self, message: str, *, provider: str = "", method: str = "", url: str = ""
    ) -> None:
        self.provider = provider
        self.method = method
        if "@" in url:  # never a user name or password (the retry log prints ``url``)
            from any_llm._transport._models import redact_url

            url = redact_url(url)
        self.url = url
        super().__init__(message)


class ProviderError(APIError):
    """The provider failed or could not be reached: connection errors and timeouts, HTTP 5xx,
    answers of the wrong shape. The errors any-llm reports as ``ProviderError``."""


class APIConnectionError(ProviderError):
    """The provider could not be reached, or the connection broke mid-request.

    ``sent`` is False only when the request provably never left (the connection could not be
    made: refused, DNS, TLS handshake, connect timeout), so the server cannot have acted on it.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        method: str = "",
        url: str = "",
        sent: bool = True,
    ) -> None:
        super().__init__(message, provider=provider, method=method, url=url)
        self.sent = sent


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class APIResponseValidationError(ProviderError):
    """The provider answered with data that does not have the documented shape."""


class APIStatusError(APIError):
    """The provider answered with an HTTP error status."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        provider: str = "",
        method: str = "",
        url: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, method=method, url=url)
        self.status_code = status_code
        self.headers: Mapping[str, str] = dict(headers or {})
        self.body = body
        self.retry_after = retry_after
        lowered = {k.lower(): v for k, v in self.headers.items()}
        self.request_id = lowered.get("x-request-id") or lowered.get("request-id")
        detail = body.get("error", body) if isinstance(body, dict) else None
        if isinstance(detail, dict):
            self.code = _text(detail.get("code"))
            self.param = _text(detail.get("param"))
            self.error_type = _text(detail.get("type") or detail.get("status"))


def _text(value: object) -> str | None:
    """A body field as a string (codes may be numbers), None when absent."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


class BadRequestError(APIStatusError, InvalidRequestError):
    """HTTP 400."""


class ContextLengthExceededError(BadRequestError):
    """any-llm's name for a prompt too long for the model. Batch calls never raise it: a
    request's own failure is in its result item (``BatchResultItem.error``)."""


class ContentFilterError(BadRequestError):
    """any-llm's name for a request blocked by a safety filter. Batch calls never raise it: a
    request's own failure is in its result item (``BatchResultItem.error``)."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the API key is missing or wrong."""


class PermissionDeniedError(AuthenticationError):
    """HTTP 403; also an ``AuthenticationError``, as any-llm classes a 403."""


class NotFoundError(APIStatusError):
    """HTTP 404."""


class ConflictError(APIStatusError):
    """HTTP 409."""


class UnprocessableEntityError(APIStatusError, InvalidRequestError):
    """HTTP 422."""


class RateLimitError(APIStatusError):
    """HTTP 429; ``retry_after`` carries the server's requested wait in seconds, if any."""


class InsufficientFundsError(APIStatusError):
    """HTTP 402: the account's credits or budget are exhausted."""


class InternalServerError(APIStatusError, ProviderError):
    """HTTP 5xx; also a ``ProviderError``."""


class UpstreamProviderError(InternalServerError):
    """HTTP 502: a gateway could not reach the provider behind it."""


class GatewayTimeoutError(InternalServerError):
    """HTTP 504: a gateway timed out waiting for the provider behind it."""


class BatchMayExistError(APIError):
    """A create request's outcome is unknown: the provider may hold a batch made by it.

    Raised when the answer to a create was lost (a broken connection, a timeout, a gateway
    error) and no batch could be shown to exist or not to exist. Do not create the batch
    again: ``find_batch(provider, idempotency_key)`` (or ``any-llm batch find KEY``) finds it
    once the provider lists it. ``batch_id`` names a batch that may be it (for a provider whose
    batches carry no key, a batch of the same size made meanwhile), ``input_file_id`` the
    uploaded input, which was kept.
    """

    def __init__(
        self,
        message: str,
        *,
        idempotency_key: str,
        batch_id: str | None = None,
        input_file_id: str | None = None,
        provider: str = "",
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message, provider=provider, method=method, url=url)
        self.idempotency_key = idempotency_key
        self.batch_id = batch_id
        self.input_file_id = input_file_id


class BatchError(AnyLLMError):
    """A batch did not end as asked; ``batch`` is the last known state."""

    def __init__(self, message: str, *, batch: Batch | None = None) -> None:
        self.batch = batch
        super().__init__(message)


class BatchNotCompleteError(BatchError):
    """Results were asked of a batch that has not ended yet: wait for it (``poll_batch``).

    ``batch_id``, ``batch_status`` (the status's string value) and ``provider`` (also
    ``provider_name``) say which batch and where it stands; ``batch`` is its last known state.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        batch: Batch | None = None,
        batch_id: str | None = None,
        status: str | None = None,
        provider_name: str | None = None,
    ) -> None:
        # ``batch_id``/``status``/``provider_name``: any-llm's keywords (code that builds the
        # error itself, as any-llm's tests do); a batch, when given, wins.
        if batch is not None:
            batch_id, status, provider_name = batch.id, str(batch.status.value), batch.provider
        if message is None:
            message = (
                f"{provider_name or 'batch'}: batch {batch_id} is still {status}; wait for it "
                "to end (poll_batch, or retrieve_batch() until it has) before reading results"
            )
        super().__init__(message, batch=batch)
        self.batch_id: str | None = batch_id
        self.batch_status: str | None = status
        self.provider: str | None = provider_name


class BatchFailedError(BatchNotCompleteError):
    """The batch ended in ``failed`` (for example, the provider rejected the input file).

    Also a ``BatchNotCompleteError`` (``batch_status`` ``"failed"``): any-llm raises that for
    the results of a failed batch.
    """


class BatchTimeoutError(BatchError):
    """Waiting for the batch ran past its deadline."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientFundsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    502: UpstreamProviderError,
    504: GatewayTimeoutError,
}

_HINTS: dict[int, str] = {
    401: "check the API key (api_key= or the provider's environment variable)",
    403: "the key lacks permission for this resource or region",
    404: "check the id and that it belongs to this provider and account",
    429: "rate limited; lower concurrency or call again later",
}


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait according to ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    import time

    return max(when.timestamp() - time.time(), 0.0)


def _error_message(body: Any, text: str) -> str:
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            msg = err.get("message")
            if isinstance(msg, str) and msg:
                return msg
        elif isinstance(err, str) and err:
            return err
        msg = body.get("message")
        if isinstance(msg, str) and msg:
            return msg
    return text[:500] if text else "(empty body)"


def raise_for_status(response: Response, *, provider: str) -> None:
    """Raise the matching ``APIStatusError`` subclass for a 3xx/4xx/5xx response."""
    status = response.status
    if status < 300:
        return
    text = response.content.decode("utf-8", "replace")
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = text
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    detail = _error_message(body, text)
    hint = _HINTS.get(status)
    retry_after = parse_retry_after(response.headers)
    message = f"{provider}: {response.method} {response.path} returned HTTP {status}: {detail}"
    if retry_after is not None:
        message += f" (the server asks to wait {retry_after:g} s)"
    if hint:
        message += f" ({hint})"
    raise cls(
        message,
        status_code=status,
        headers=response.headers,
        body=body,
        provider=provider,
        method=response.method,
        url=response.url,
        retry_after=retry_after,
    )
