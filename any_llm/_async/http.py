"""The HTTP layer of the core: retries, status errors, JSON and streamed lines."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from tenacity import AsyncRetrying

from any_llm._compat import asleep
from any_llm._json import dumps, loads
from any_llm._jsonl import LineBuffer
from any_llm._retry import SINGLE_ATTEMPT, RetryConfig, is_retryable, request_policy, retry_delay
from any_llm._transport import (
    CALL_OPTIONS,
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    AsyncTransport,
    FileBody,
    Headers,
    Request,
    Response,
    Timeout,
    closed_error,
    redirect_request,
    strip_query,
    with_upload_progress,
)
from any_llm.errors import APIError, APIResponseValidationError, APIStatusError, raise_for_status

logger = logging.getLogger("any_llm")


class AsyncHTTPClient:
    """Sends a provider's requests through one transport, with retries."""

    def __init__(
        self,
        transport: AsyncTransport,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        retry: RetryConfig,
        timeout: Timeout,
    ) -> None:
        self._transport = transport
        self.provider = provider
        # A query in the base URL (Azure's ?api-version=) is sent with every request.
        parts = urlsplit(base_url)
        self.default_params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.base_url = urlunsplit(parts._replace(query="", fragment="")).rstrip("/")
        self._headers = Headers(headers)
        # Every header the client adds (keys above all) stays on the provider's origin.
        self._credentials = frozenset(name.lower() for name in headers)
        self.retry = retry
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.provider} {self.base_url}>"

    def check_open(self, what: str) -> None:
        """Raise ClientClosedError, saying ``what`` cannot be done, if the client was closed."""
        if self._transport.closed:
            raise closed_error(self.provider, what)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        body: FileBody | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Request:
        """Build a request to ``base_url + path`` carrying the auth headers (and the base
        URL's query parameters, under ``params``).

        The running call's options (``CALL_OPTIONS``: the openai SDK's ``timeout``,
        ``extra_headers``, ``extra_query``) apply last, as in the openai SDK."""
        all_headers = Headers(self._headers)
        content: bytes | FileBody | None = with_upload_progress(body)
        if json_body is not None:
            content = dumps(json_body)
            all_headers["Content-Type"] = "application/json"
        if headers:
            all_headers.update(headers)
        options = CALL_OPTIONS.get()
        timeout = self._timeout
        if options is not None:
            all_headers.update(options.headers)
            if options.query:
                params = {**(params or {}), **options.query}
            timeout = options.timeout or timeout
        if self.default_params:
            params = {**self.default_params, **(params or {})}
        return Request(
            method=method,
            url=self.base_url + path,
            headers=all_headers,
            params=params,
            body=content,
            timeout=timeout,
            provider=self.provider,
        )

    def external_request(
        self,
        method: str,
        url: str,
        *,
        body: FileBody | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Request:
        """Build a request to an absolute URL outside the provider's API (a presigned upload
        URL, say): it carries none of the client's headers, so no credential. Of the running
        call's options only the timeout applies: its extra headers may be credentials, and a
        presigned URL's query is signed."""
        options = CALL_OPTIONS.get()
        return Request(
            method=method,
            url=url,
            headers=Headers(headers or {}),
            body=with_upload_progress(body),
            timeout=(options.timeout if options else None) or self._timeout,
            provider=self.provider,
        )

    def _origin_bound(self) -> frozenset[str]:
        """The headers that never follow a redirect to another origin: the client's own and
        the running call's ``extra_headers`` (either may carry a credential)."""
        options = CALL_OPTIONS.get()
        if options is None or not options.headers:
            return self._credentials
        return self._credentials | {name.lower() for name in options.headers}

    async def asend(
        self, request: Request, *, retry: bool = True, follow_redirects: bool = True
    ) -> Response:
        """Send (with retries unless ``retry=False``); an error status raises APIStatusError.

        With ``follow_redirects=False`` a redirect answer is returned to the caller as is.
        Inside ``single_attempts()`` (a wait's polls) the request is sent once.
        """
        if not retry or SINGLE_ATTEMPT.get():
            return await self._send_following(request, follow_redirects)
        async for attempt in AsyncRetrying(**request_policy(self.retry)):
            with attempt:
                return await self._send_following(request, follow_redirects)
        raise AssertionError("unreachable")

    async def _send_following(self, request: Request, follow_redirects: bool = True) -> Response:
        """One attempt, following redirects (credentials stay on the provider's origin)."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._transport.asend(request)
            location = response.headers.get("location")
            if not follow_redirects and response.status in REDIRECT_STATUSES:
                return response
            if response.status not in REDIRECT_STATUSES or not location:
                raise_for_status(response, provider=self.provider)
                return response
            request = redirect_request(
                request, response.status, location, credentials=self._origin_bound()
            )
        raise self._too_many_redirects(request)

    def _too_many_redirects(self, request: Request) -> APIError:
        return APIError(
            f"{self.provider}: more than {MAX_REDIRECTS} redirects, the last to "
            f"{request.method} {request.path}; check api_base",
            provider=self.provider,
            method=request.method,
            url=strip_query(request.url),
        )

    async def ajson(
        self, request: Request, *, retry: bool = True, load: Callable[[bytes], Any] = loads
    ) -> Any:
        """Send (with retries unless ``retry=False``) and decode the JSON answer (with
        ``load``: a decoder raising ValueError on what is not JSON)."""
        return self.decode(await self.asend(request, retry=retry), load=load)

    def decode(self, response: Response, *, load: Callable[[bytes], Any] = loads) -> Any:
        """The JSON of an answer, decoded by ``load``; APIResponseValidationError when it is
        not JSON."""
        try:
            return load(response.content)
        except ValueError as exc:
            raise APIResponseValidationError(
                f"{self.provider}: {response.method} {response.path} returned invalid JSON "
                f"(HTTP {response.status}): {response.content[:200]!r}",
                provider=self.provider,
                method=response.method,
                url=response.url,
            ) from exc

    async def aiter_lines(self, request: Request) -> AsyncIterator[bytes]:
        """Stream the body's lines. A broken download restarts and skips the lines already given,
        so no line is yielded twice."""
        done = 0
        attempt = 0
        redirects = 0
        while True:
            attempt += 1
            skip = done
            buffer = LineBuffer()
            try:
                async with aclosing(self._transport.aiter_bytes(request)) as chunks:
                    async for chunk in chunks:
                        for line in buffer.feed(chunk):
                            if skip:
                                skip -= 1
                                continue
                            done += 1
                            yield line
                last = buffer.flush()
                if last is not None and not skip:
                    yield last
                return
            except APIError as exc:
                if (
                    isinstance(exc, APIStatusError)
                    and exc.status_code in REDIRECT_STATUSES
                    and exc.headers.get("location")
                ):
                    redirects += 1
                    if redirects > MAX_REDIRECTS:
                        raise self._too_many_redirects(request) from exc
                    request = redirect_request(
                        request,
                        exc.status_code,
                        exc.headers["location"],
                        credentials=self._origin_bound(),
                    )
                    attempt -= 1  # a redirect is not a failed attempt
                    continue
                if not is_retryable(exc, self.retry) or attempt >= self.retry.max_attempts:
                    raise
                delay = retry_delay(self.retry, attempt, exc)
                logger.warning(
                    "%s: %s %s broke after %d lines (attempt %d): %s; restarting in %.2fs",
                    self.provider,
                    request.method,
                    request.path,
                    done,
                    attempt,
                    exc.__class__.__name__,
                    delay,
                )
                await asleep(delay)
