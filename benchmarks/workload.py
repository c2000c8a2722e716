"""Deterministic workloads: batch input files of a given size or request count.

Every byte depends only on the arguments, so two runs (and two machines) upload the same files.
Request ``i`` has the custom_id ``req-<i, six digits>``; adapters check the ids that come back
with a bitmap over ``i`` instead of a set of strings, which would itself cost memory.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

CHAT = "/v1/chat/completions"
MODEL = "gpt-4o-mini"
ID_PREFIX = "req-"

# fmt: off
_WORDS = (
    "batch", "request", "model", "token", "stream", "upload", "file", "result", "error",
    "window", "status", "poll", "merge", "line", "custom", "id", "provider", "emulator",
    "latency", "memory", "chunk", "retry", "backoff", "server", "client", "session", "pool",
    "socket", "queue", "answer", "prompt", "system", "user", "assistant", "content",
)
# fmt: on


def custom_id(index: int) -> str:
    """The custom_id of request ``index``."""
    return f"{ID_PREFIX}{index:06d}"


def _corpus(size: int, seed: int) -> str:
    """A deterministic text of ``size`` characters (words from a fixed vocabulary)."""
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        parts.append(word)
        length += len(word) + 1
    return " ".join(parts)[:size]


def _line(index: int, text: str, *, fail: str | None, n: int) -> str:
    body: dict[str, object] = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You answer in one short sentence."},
            {"role": "user", "content": text if fail is None else f"{fail} {text}"},
        ],
        "max_tokens": 64,
    }
    if n > 1:
        body["n"] = n
    return json.dumps(
        {"custom_id": custom_id(index), "method": "POST", "url": CHAT, "body": body},
        separators=(",", ":"),
    )


def write_requests(
    path: Path,
    requests: int,
    *,
    text_chars: int = 120,
    fail_every: int = 0,
    choices: int = 1,
    seed: int = 1,
) -> int:
    """Write ``requests`` chat-completion lines; return the file size in bytes.

    With ``fail_every=k``, every k-th request fails when the emulator runs it: alternately
    with an HTTP 400 response line (``[[fail]]``) and a line with a top-level error
    (``[[error]]``), so the results are spread over the output and the error file.
    ``choices`` sets ``n`` (more choices make bigger result lines).
    """
    corpus = _corpus(64 * 1024 + text_chars, seed)
    span = len(corpus) - text_chars
    written = 0
    failures = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for index in range(requests):
            start = (index * 7919) % span
            fail = None
            if fail_every and index % fail_every == fail_every - 1:
                fail = "[[fail]]" if failures % 2 == 0 else "[[error]]"
                failures += 1
            line = _line(index, corpus[start : start + text_chars], fail=fail, n=choices) + "\n"
            out.write(line)
            written += len(line)
    return written


def write_sized(path: Path, size_bytes: int, *, requests: int = 50_000, seed: int = 2) -> int:
    """Write about ``size_bytes`` of at most ``requests`` lines (none fails); return the size.

    Every line gets the same length, so a 100 MB file of 50,000 requests has 2 KB lines.
    """
    overhead = len(_line(0, "", fail=None, n=1)) + 1
    text_chars = max(size_bytes // requests - overhead, 16)
    return write_requests(path, requests, text_chars=text_chars, seed=seed)


def expected_failures(requests: int, fail_every: int) -> int:
    """How many of ``requests`` fail with ``fail_every``."""
    return requests // fail_every if fail_every else 0


def main(argv: list[str]) -> int:
    """``python benchmarks/workload.py PATH [MB]``: write a file of 2 KB lines, print its size."""
    target = Path(argv[0] if argv else "requests.jsonl")
    size = int(float(argv[1] if len(argv) > 1 else 1) * 1_000_000)
    print(write_sized(target, size, requests=max(1, min(50_000, size // 2000))))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
