"""Test helpers shared by the async tests and their generated sync twins."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from any_llm import RetryConfig

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
MODEL = "gpt-4o-mini"
KEY = "sk-test-SECRET-0123456789"

NO_WAIT = RetryConfig(initial_delay=0, max_delay=0, poll_initial=0, poll_max=0)


def client_args(**extra: Any) -> dict[str, Any]:
    """client_args with zero backoff so that retries cost no time in tests."""
    return {"retry": NO_WAIT, **extra}


def write_requests(
    path: Path,
    count: int,
    *,
    endpoint: str = CHAT,
    model: str = MODEL,
    fail: tuple[int, ...] = (),
    error: tuple[int, ...] = (),
) -> list[str]:
    """Write ``count`` requests; indexes in ``fail``/``error`` carry the emulator's markers."""
    ids = []
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            custom_id = f"req-{i}"
            ids.append(custom_id)
            text = f"question {i}"
            if i in fail:
                text += " [[fail]]"
            if i in error:
                text += " [[error]]"
            body: dict[str, Any]
            if endpoint == EMBEDDINGS:
                body = {"model": model, "input": text}
            else:
                body = {"model": model, "messages": [{"role": "user", "content": text}]}
            out.write(
                json.dumps(
                    {"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body}
                )
                + "\n"
            )
    return ids


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read by chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
