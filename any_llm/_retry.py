"""Retry and polling policies: kwargs for tenacity's ``AsyncRetrying`` and ``Retrying`` alike."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import attrs
from tenacity import (
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    stop_never,
    wait_exponential,
    wait_random,
)
from tenacity.wait import wait_base

from any_llm.errors import APIConnectionError, APIError, APIStatusError

logger = logging.getLogger("any_llm")

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})


@attrs.frozen(kw_only=True)
class RetryConfig:
    """How requests are retried and batches polled. Tests set the delays to zero."""

    max_attempts: int = 5
    """Attempts per request, the first included."""
    initial_delay: float = 0.5
    """First backoff in seconds; doubles each attempt, with jitter."""
    max_delay: float = 30.0
    """Upper bound of one backoff."""
    max_retry_after: float = 120.0
    """A ``Retry-After`` longer than this is not waited for: the error is raised instead."""
    poll_initial: float = 1.0
    """First pause between two polls of a batch."""
    poll_max: float = 60.0
    """Longest pause between two polls."""
    create_settle: float = 30.0
    """After a create whose answer was lost in transit (a broken connection, a timeout, a 502
    or 504 from a gateway), how long to keep looking for the batch it may still be making
    before the create is sent again."""


def is_retryable(exc: BaseException, cfg: RetryConfig) -> bool:
    """Connection errors, timeouts, 408, 429 and 5xx are retried; other 4xx never are."""
    if isinstance(exc, APIConnectionError):
        return True
    if isinstance(exc, APIStatusError):
        if exc.status_code not in RETRYABLE_STATUS and exc.status_code < 500:
            return False
        return exc.retry_after is None or exc.retry_after <= cfg.max_retry_after
    return False


def create_doubt(exc: BaseException) -> str:
    """What a failed create attempt tells of its batch.

    ``"none"``: it made none (the request never left, or the server answered that it refused
    it: a 4xx, 408 and 429 included). ``"committing"``: the answer was lost on the way (a
    broken connection after sending, a read timeout, a gateway's 502/504), so the batch may
    still be in the making. ``"unknown"``: the server answered but cannot be trusted to have
    made nothing (another 5xx, an answer that is not a batch).
    """
    if isinstance(exc, APIConnectionError):
        return "committing" if exc.sent else "none"
    if isinstance(exc, APIStatusError):
        if exc.status_code in (502, 504):
            return "committing"
        return "unknown" if exc.status_code >= 500 else "none"
    return "unknown"


class WaitRetryAfter(wait_base):
    """Wait what the server asked (``Retry-After`` / ``retry-after-ms``), else the fallback."""

    def __init__(self, fallback: wait_base, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, APIStatusError) and exc.retry_after is not None:
            return min(exc.retry_after, self.cap)
        delay: float = self.fallback(retry_state)
        return delay


def _log_retry(retry_state: RetryCallState) -> None:
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    if isinstance(exc, APIError):
        logger.warning(
            "%s: %s %s failed (attempt %d): %s; retrying in %.2fs",
            exc.provider,
            exc.method,
            exc.url,
            retry_state.attempt_number,
            exc.__class__.__name__,
            wait,
        )
    else:
        logger.warning(
            "attempt %d failed: %r; retrying in %.2fs", retry_state.attempt_number, exc, wait
        )


def backoff(initial: float, maximum: float) -> wait_base:
    """``initial * 2**(n-1)`` capped at ``maximum``, plus up to ``initial / 2`` of jitter."""
    return wait_exponential(multiplier=initial, max=maximum) + wait_random(0, initial / 2)


def request_policy(cfg: RetryConfig) -> dict[str, Any]:
    """The policy of every single HTTP call (upload, create, retrieve, download)."""
    return {
        "retry": retry_if_exception(lambda exc: is_retryable(exc, cfg)),
        "stop": stop_after_attempt(cfg.max_attempts),
        "wait": WaitRetryAfter(
            fallback=backoff(cfg.initial_delay, cfg.max_delay),
            cap=cfg.max_retry_after,
        ),
        "before_sleep": _log_retry,
        "reraise": True,
    }


def poll_wait(cfg: RetryConfig) -> wait_base:
    """Pauses between polls: jittered exponential from ``poll_initial`` up to ``poll_max``."""
    return backoff(cfg.poll_initial, cfg.poll_max)


class WaitWithin(wait_base):
    """``inner``'s pause, cut to end at ``limit`` seconds after the first attempt began (no
    cut when ``limit`` is None): the attempt after it is made at the deadline at the latest."""

    def __init__(self, inner: wait_base, limit: float | None) -> None:
        self.inner = inner
        self.limit = limit

    def __call__(self, retry_state: RetryCallState) -> float:
        delay: float = self.inner(retry_state)
        if self.limit is None:
            return delay
        left = self.limit - (retry_state.seconds_since_start or 0.0)
        return max(0.0, min(delay, left))


def _log_poll_failure(retry_state: RetryCallState) -> None:
    """A failed poll while waiting (a polled batch that is still running is not logged)."""
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None else None
    if not isinstance(exc, APIError):  # a batch still running (only our errors are retried)
        return
    logger.warning(
        "%s: %s %s failed while waiting for the batch (poll %d): %s; polling again in %.2fs",
        exc.provider,
        exc.method,
        exc.url,
        retry_state.attempt_number,
        exc.__class__.__name__,
        retry_state.next_action.sleep if retry_state.next_action else 0.0,
    )


def poll_policy(cfg: RetryConfig, *, timeout: float | None) -> dict[str, Any]:
    """The policy of waiting for a batch (``apoll_batch``): poll until the polled object is
    terminal (its ``is_terminal``), pausing by ``poll_wait`` (or a ``Retry-After``) between
    polls. A poll that fails as ``is_retryable`` says (connection errors, 408, 429, 5xx) is
    logged and followed by another one, with the same pauses, for as long as the wait lasts;
    any other error ends the wait. Each poll is one request sent once (``single_attempts``).

    With a ``timeout``, every pause is cut to end at the deadline, where one last poll is
    made; after it the wait stops and the call returns None (the caller raises the timeout).
    So the wait ends within ``timeout`` plus one request.
    """
    return {
        "retry": retry_if_result(lambda polled: not polled.is_terminal)
        | retry_if_exception(lambda exc: is_retryable(exc, cfg)),
        "stop": stop_never if timeout is None else stop_after_delay(timeout),
        "wait": WaitWithin(
            WaitRetryAfter(fallback=poll_wait(cfg), cap=cfg.max_retry_after), timeout
        ),
        "before_sleep": _log_poll_failure,
        "retry_error_callback": lambda retry_state: None,
    }


SINGLE_ATTEMPT: ContextVar[bool] = ContextVar("any_llm_single_attempt", default=False)
"""Set while a wait polls (``single_attempts``): requests are then sent once, not retried."""


@contextmanager
def single_attempts() -> Iterator[None]:
    """Requests made inside are sent once: the caller's loop (a wait, ``poll_policy``) decides
    when to try again, so that one poll never outlasts its deadline by a request's retries."""
    token = SINGLE_ATTEMPT.set(True)
    try:
        yield
    finally:
        SINGLE_ATTEMPT.reset(token)


def retry_delay(cfg: RetryConfig, attempt: int, exc: BaseException) -> float:
    """The pause before retry number ``attempt`` of a loop that tenacity cannot wrap
    (a streamed download that yields while it runs)."""
    if isinstance(exc, APIStatusError) and exc.retry_after is not None:
        return min(exc.retry_after, cfg.max_retry_after)
    import random

    base: float = min(cfg.initial_delay * 2.0 ** (attempt - 1), cfg.max_delay)
    return base + random.uniform(0, cfg.initial_delay / 2)
