"""Gemini's resumable upload under faults: a chunk whose answer is lost, or that the server
kept only part of, is resumed from the offset the session reports (``query``), never re-sent
blindly at its old offset (which a real session refuses with 400 Invalid X-Goog-Upload-Offset).

Each case faults one chunk of a create big enough to be uploaded, in the middle of the file or
its last chunk (``upload, finalize``), and checks the promise: one batch, one uploaded file,
byte-identical to the staged upload, and the session asked where to go on after the fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from any_llm import acreate_batch, apoll_batch
from any_llm._jsonl import write_translated
from any_llm._providers import gemini as wire
from any_llm.emulator import Emulator, Fault, FaultKind, LoggedRequest
from any_llm.errors import InternalServerError, NotFoundError
from tests.helpers import CHAT, KEY, client_args, sha256, write_requests

MODEL = "gemini-2.5-flash"
CHUNK = 4096
UPLOAD = "/gemini/upload/v1beta/files"


@pytest.fixture(autouse=True)
def file_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every input goes through the resumable upload, in 4 KiB chunks."""
    monkeypatch.setattr(wire, "INLINE_MAX_BYTES", 0)
    monkeypatch.setattr(wire, "UPLOAD_CHUNK_BYTES", CHUNK)


def common(emu: Emulator) -> dict[str, Any]:
    return {"api_key": KEY, "api_base": emu.api_base("gemini"), "client_args": client_args()}


def staged(tmp_path: Path, count: int) -> tuple[Path, Path, int]:
    """The user's input, the upload the SDK stages from it, and that upload's size."""
    path = tmp_path / "requests.jsonl"
    write_requests(path, count, model=MODEL)
    expected = tmp_path / "expected.jsonl"
    return path, expected, write_translated(path, expected, wire.file_line)


def session_requests(emu: Emulator) -> list[LoggedRequest]:
    """The requests the upload sent, start first."""
    return [r for r in emu.requests() if r["path"] == UPLOAD]


def command(request: LoggedRequest) -> str:
    return request["headers"]["X-Goog-Upload-Command"]


def offset(request: LoggedRequest) -> int:
    return int(request["headers"]["X-Goog-Upload-Offset"])


def fault_request(emu: Emulator, index: int, fault: Fault) -> None:
    """Arm ``fault`` for the ``index``-th request on the upload path (0 is the start)."""
    if index:
        emu.add_fault(Fault(method="POST", path=UPLOAD, kind="delay", times=index))
    emu.add_fault(attrs.evolve(fault, method="POST", path=UPLOAD, times=1))


def uploaded(emu: Emulator) -> list[dict[str, Any]]:
    return [f for f in emu.files() if f["purpose"].startswith("gemini:uploaded")]


FAULTS = {
    # the chunk is stored, its answer lost
    "stored, answer lost": Fault(kind="reset_after"),
    # part of the chunk arrives, then the connection resets; the session keeps nothing
    "reset mid-chunk, nothing kept": Fault(kind="reset_mid_upload"),
    # part of the chunk arrives and the session keeps it: the upload resumes mid-chunk
    "reset mid-chunk, 1,001 bytes kept": Fault(kind="reset_mid_chunk", after_bytes=1001),
    "503": Fault(kind="status", status=503),
}


@pytest.mark.parametrize("where", ["middle chunk", "last chunk"])
@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_a_faulted_chunk_resumes_where_the_session_says(
    emu: Emulator, tmp_path: Path, name: str, where: str
) -> None:
    path, expected, size = staged(tmp_path, 300)
    chunks = -(-size // CHUNK)
    assert chunks >= 4
    number = 2 if where == "middle chunk" else chunks - 1  # 0-based chunk of the fault
    fault = FAULTS[name]
    if fault.after_bytes is not None:
        assert fault.after_bytes < size - number * CHUNK  # inside the faulted chunk
    fault_request(emu, 1 + number, fault)

    batch = await acreate_batch("gemini", path, CHAT, **common(emu))

    sent = session_requests(emu)
    [faulted] = [i for i, r in enumerate(sent) if r["fault"] not in (None, "delay")]
    assert (command(sent[faulted]), offset(sent[faulted])) == (
        "upload, finalize" if number == chunks - 1 else "upload",
        number * CHUNK,
    )
    assert command(sent[faulted + 1]) == "query"  # asked, not re-sent blindly
    kept = {"stored, answer lost": CHUNK, "reset mid-chunk, 1,001 bytes kept": 1001}.get(name, 0)
    resumed = number * CHUNK + kept
    if resumed < size:
        assert offset(sent[faulted + 2]) == resumed
    else:  # the session held the whole file: its query answer carried the File
        assert faulted + 2 == len(sent)
    chunk_offsets = [offset(r) for r in sent if command(r) != "query" and r["fault"] is None]
    assert chunk_offsets == sorted(set(chunk_offsets))  # no byte sent twice once stored
    assert all(r["status"] == 200 for r in sent if r["fault"] in (None, "delay"))

    assert len(emu.batches("gemini")) == 1
    [stored] = uploaded(emu)  # no orphan
    assert stored["sha256"] == sha256(expected)
    assert stored["bytes"] == size
    assert batch.input_file_id == "files/" + stored["id"].replace("-", "")
    done = await apoll_batch("gemini", batch.id, **common(emu))
    assert done.request_counts.total == 300


async def test_faults_on_every_chunk_and_query(emu: Emulator, tmp_path: Path) -> None:
    """Each chunk fails once, the queries after them too: the upload still completes."""
    path, expected, size = staged(tmp_path, 120)
    chunks = -(-size // CHUNK)
    assert chunks >= 2
    kinds: list[FaultKind] = ["reset_after", "reset_mid_chunk", "reset_mid_upload"]
    emu.add_fault(Fault(method="POST", path=UPLOAD, kind="delay", times=1))  # start
    for number in range(chunks):
        kind = kinds[number % len(kinds)]
        emu.add_fault(Fault(method="POST", path=UPLOAD, kind=kind, after_bytes=777, times=1))
        emu.add_fault(Fault(method="POST", path=UPLOAD, kind="reset", times=1))  # the query
        emu.add_fault(Fault(method="POST", path=UPLOAD, kind="delay", times=1))  # query again
        if kind != "reset_after":  # the rest of the chunk goes through
            emu.add_fault(Fault(method="POST", path=UPLOAD, kind="delay", times=1))

    batch = await acreate_batch("gemini", path, CHAT, **common(emu))

    [stored] = uploaded(emu)
    assert stored["sha256"] == sha256(expected)
    assert batch.input_file_id == "files/" + stored["id"].replace("-", "")
    assert len(emu.batches("gemini")) == 1


async def test_a_chunk_that_keeps_failing_ends_after_the_retry_budget(
    emu: Emulator, tmp_path: Path
) -> None:
    path, _expected, _size = staged(tmp_path, 100)
    emu.add_fault(Fault(method="POST", path=UPLOAD, kind="delay", times=1))  # the start
    emu.add_fault(Fault(method="POST", path=UPLOAD, kind="status", status=503))  # then all
    with pytest.raises(InternalServerError, match="HTTP 503"):
        await acreate_batch("gemini", path, CHAT, **common(emu))
    sent = session_requests(emu)[1:]
    attempts = client_args()["retry"].max_attempts
    # one attempt at the chunk, then one query per further attempt: the budget is the chunk's
    assert [command(r) for r in sent] == ["upload"] + ["query"] * (attempts - 1)
    assert emu.batches("gemini") == []
    assert uploaded(emu) == []


async def test_an_answer_that_is_not_retried_ends_the_upload(emu: Emulator, tmp_path: Path) -> None:
    """The session has expired (404 to the query): the upload stops at once, nothing left."""
    path, _expected, _size = staged(tmp_path, 100)
    fault_request(emu, 2, Fault(kind="reset_after"))  # the second chunk is stored, answer lost
    emu.add_fault(Fault(method="POST", path=UPLOAD, kind="status", status=404, times=1))
    with pytest.raises(NotFoundError, match=r"HTTP 404"):
        await acreate_batch("gemini", path, CHAT, **common(emu))
    sent = session_requests(emu)
    assert [command(r) for r in sent[2:]] == ["upload", "query"]  # nothing after the 404
    assert emu.batches("gemini") == []
    assert uploaded(emu) == []
