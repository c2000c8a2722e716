"""Resumable-upload answers that cannot be trusted end the upload with a clear error: a session
claiming bytes it was never sent, one that finishes short of the file, a chunk answered
without progress. A small loopback server plays the session (the emulator never lies):
``tests/gemini_session.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from any_llm import acreate_batch
from any_llm._providers import gemini as wire
from any_llm.errors import APIResponseValidationError
from tests.gemini_session import Session
from tests.helpers import CHAT, KEY, client_args, write_requests

CHUNK = 4096


@pytest.fixture(autouse=True)
def file_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "INLINE_MAX_BYTES", 0)
    monkeypatch.setattr(wire, "UPLOAD_CHUNK_BYTES", CHUNK)


def honest(command: str, offset: int, length: int) -> tuple[int, dict[str, str]]:
    status = "final" if "finalize" in command else "active"
    received = str(offset + length)
    return 200, {"x-goog-upload-status": status, "x-goog-upload-size-received": received}


async def upload_through(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_requests(path, 100, model="gemini-2.5-flash")
    with session:
        await acreate_batch(
            "gemini", path, CHAT, api_key=KEY, api_base=session.url, client_args=client_args()
        )


async def test_a_session_claiming_bytes_never_sent(tmp_path: Path) -> None:
    def answer(command: str, offset: int, length: int) -> tuple[int, dict[str, str]]:
        if command == "query":
            return 200, {"x-goog-upload-status": "active", "x-goog-upload-size-received": "9999999"}
        if offset == CHUNK:
            return 503, {}
        return honest(command, offset, length)

    session = Session(answer)
    with pytest.raises(APIResponseValidationError, match=r"9999999.* not a byte count from 0"):
        await upload_through(session, tmp_path)
    assert session.seen == [("upload", 0), ("upload", CHUNK), ("query", -1)]


async def test_a_session_finishing_short_of_the_file(tmp_path: Path) -> None:
    def answer(command: str, offset: int, length: int) -> tuple[int, dict[str, str]]:
        status, headers = honest(command, offset, length)
        if "finalize" in command:
            headers["x-goog-upload-size-received"] = str(offset)  # the last chunk is missing
        return status, headers

    with pytest.raises(APIResponseValidationError, match=r"finished with .* of the .* bytes"):
        await upload_through(Session(answer), tmp_path)


async def test_a_chunk_answered_without_progress(tmp_path: Path) -> None:
    def answer(command: str, offset: int, length: int) -> tuple[int, dict[str, str]]:
        status, headers = honest(command, offset, length)
        if offset:  # after the first chunk, the session keeps nothing of any
            headers["x-goog-upload-size-received"] = str(offset)
        return status, headers

    session = Session(answer)
    with pytest.raises(APIResponseValidationError, match="at byte 4,096 was answered without"):
        await upload_through(session, tmp_path)
    assert session.seen == [("upload", 0), ("upload", CHUNK)]
