"""Retry and polling policies: kwargs for tenacity's ``AsyncRetrying`` and ``Retrying`` alike."""

from __future__ import annotations

import logging
from typing import Any

import attrs
from tenacity import (
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
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


def retry_delay(cfg: RetryConfig, attempt: int, exc: BaseException) -> float:
    """The pause before retry number ``attempt`` of a loop that tenacity cannot wrap
    (a streamed download that yields while it runs)."""
    if isinstance(exc, APIStatusError) and exc.retry_after is not None:
        return min(exc.retry_after, cfg.max_retry_after)
    import random

    base: float = min(cfg.initial_delay * 2.0 ** (attempt - 1), cfg.max_delay)
    return base + random.uniform(0, cfg.initial_delay / 2)
