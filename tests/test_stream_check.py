"""The check of a file sent as is (StreamCheck), driven by hand with a fake clock: each chunk
is checked before it is sent, and the scout checks ahead only while the link is slow."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from any_llm._jsonl import READ_SIZE, InputCheck, StreamCheck
from any_llm._providers import get_spec
from any_llm.errors import InputFileError

CHAT = "/v1/chat/completions"


class FakeClock:
    """Time moves only when the test says so (sending a chunk); checking takes no time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _write(path: Path, count: int, *, duplicate_last: bool) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            custom_id = "r0" if duplicate_last and i == count - 1 else f"r{i}"
            body = {"model": "m", "messages": [{"role": "user", "content": "x" * 200}]}
            line = {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": body}
            out.write(json.dumps(line) + "\n")


def _check(path: Path, clock: FakeClock) -> StreamCheck:
    source = InputCheck(
        path=path,
        endpoint=CHAT,
        limits=get_spec("openai").limits,
        provider="openai",
    )
    return source.stream_check(clock=clock)


def _send(
    check: StreamCheck, path: Path, clock: FakeClock, seconds: float | Callable[[int], float]
) -> tuple[int, InputFileError | None]:
    """Feed the file chunk by chunk as an upload would, chunk ``n`` (from 1) taking
    ``seconds(n)`` (or ``seconds``) to send: the chunks fed, and the error that stopped it."""
    fed = 0
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(READ_SIZE):
                fed += 1
                check.feed(chunk)
                clock.now += seconds(fed) if callable(seconds) else seconds  # it is sent
        check.finish()
    except InputFileError as exc:
        check.close()
        return fed, exc
    return fed, None


@pytest.fixture
def deep_duplicate(tmp_path: Path) -> Path:
    path = tmp_path / "deep.jsonl"
    _write(path, 20_000, duplicate_last=True)  # about 5 MB: five chunks and more
    assert path.stat().st_size > 4 * READ_SIZE
    return path


def test_on_a_fast_link_the_error_comes_when_the_upload_reaches_it(
    deep_duplicate: Path,
) -> None:
    clock = FakeClock()
    chunks = -(-deep_duplicate.stat().st_size // READ_SIZE)
    # No time passes sending: the scout never runs, the last chunk finds the duplicate.
    fed, error = _send(_check(deep_duplicate, clock), deep_duplicate, clock, 0.0)
    assert fed == chunks
    assert error is not None
    assert error.line == 20_000
    assert "duplicate custom_id" in str(error)


def test_a_hiccup_on_a_fast_link_does_not_start_the_scout(deep_duplicate: Path) -> None:
    clock = FakeClock()
    chunks = -(-deep_duplicate.stat().st_size // READ_SIZE)
    # 1 ms a chunk (1 GB/s), but the second one takes 20 ms: still 200 MB/s on average.
    fed, error = _send(
        _check(deep_duplicate, clock), deep_duplicate, clock, lambda n: 0.02 if n == 2 else 0.001
    )
    assert fed == chunks  # found by the upload itself, at the last chunk
    assert error is not None
    assert error.line == 20_000


def test_on_a_slow_link_the_scout_reports_it_at_the_second_chunk(deep_duplicate: Path) -> None:
    clock = FakeClock()
    # The first chunk takes a second to send: before checking the second, the scout checks
    # ahead (checking takes no time on this clock, so it reaches the end).
    fed, error = _send(_check(deep_duplicate, clock), deep_duplicate, clock, 1.0)
    assert fed == 2
    assert error is not None
    assert error.line == 20_000


def test_a_good_file_passes_on_a_slow_link_and_the_scout_closes_its_handle(
    tmp_path: Path,
) -> None:
    path = tmp_path / "good.jsonl"
    _write(path, 20_000, duplicate_last=False)
    clock = FakeClock()
    check = _check(path, clock)
    fed, error = _send(check, path, clock, 1.0)
    assert error is None
    assert fed > 4
    assert check.summary is not None
    assert check.summary.requests == 20_000
    assert check._scout_stream is None  # closed once it reached the end
