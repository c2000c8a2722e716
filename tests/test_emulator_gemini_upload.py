"""The emulator's Gemini resumable upload session, spoken to directly: offsets are checked, a
``query`` tells what the session holds (and, once final, carries the File again), and the
``reset_mid_chunk`` fault leaves the part of a chunk received stored. Then the official
google-genai SDK uploads through a 503 on a chunk: the strict offsets do not hinder it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3
from google import genai
from google.genai import _api_client, types

from any_llm.emulator import Emulator, Fault

UPLOAD = "/gemini/upload/v1beta/files"


@pytest.fixture
def pool() -> Iterator[urllib3.PoolManager]:
    manager = urllib3.PoolManager(retries=False, timeout=10.0)
    yield manager
    manager.clear()


def start(pool: urllib3.PoolManager, emu: Emulator, size: int) -> str:
    response = pool.request(
        "POST",
        emu.url + UPLOAD,
        body=json.dumps({"file": {"displayName": "in", "mimeType": "application/jsonl"}}),
        headers={
            "x-goog-api-key": "k",
            "Content-Type": "application/json",
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(size),
        },
    )
    assert response.status == 200, response.data
    url: str = response.headers["x-goog-upload-url"]
    return url


def send(
    pool: urllib3.PoolManager, url: str, command: str, offset: int | None = None, body: bytes = b""
) -> urllib3.BaseHTTPResponse:
    headers = {"X-Goog-Upload-Command": command}
    if offset is not None:
        headers["X-Goog-Upload-Offset"] = str(offset)
    return pool.request("POST", url, body=body, headers=headers)


def progress(response: urllib3.BaseHTTPResponse) -> tuple[str, int]:
    headers = response.headers
    return headers["x-goog-upload-status"], int(headers["x-goog-upload-size-received"])


def test_query_offsets_and_the_final_answer(pool: urllib3.PoolManager, emu: Emulator) -> None:
    data = os.urandom(10_000)
    url = start(pool, emu, len(data))
    query = send(pool, url, "query")
    assert (query.status, progress(query), query.data) == (200, ("active", 0), b"")
    assert progress(send(pool, url, "upload", 0, data[:4096])) == ("active", 4096)

    # The chunk again (its answer was lost, say): refused, with what the session holds.
    again = send(pool, url, "upload", 0, data[:4096])
    assert again.status == 400
    assert "Invalid X-Goog-Upload-Offset 0" in again.json()["error"]["message"]
    assert progress(again) == ("active", 4096)
    ahead = send(pool, url, "upload", 8192, data[8192:])
    assert (ahead.status, progress(ahead)) == (400, ("active", 4096))
    assert progress(send(pool, url, "query")) == ("active", 4096)

    final = send(pool, url, "upload, finalize", 4096, data[4096:])
    assert (final.status, progress(final)) == (200, ("final", len(data)))
    file = final.json()["file"]
    assert file["sizeBytes"] == str(len(data))
    query = send(pool, url, "query")
    assert (query.status, progress(query)) == (200, ("final", len(data)))
    assert query.json() == {"file": file}  # the finalize's answer, for a client that lost it
    late = send(pool, url, "upload, finalize", 4096, data[4096:])
    assert (late.status, late.headers["x-goog-upload-status"]) == (400, "final")
    [stored] = emu.files()
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()


def test_reset_mid_chunk_keeps_what_arrived(pool: urllib3.PoolManager, emu: Emulator) -> None:
    data = os.urandom(10_000)
    url = start(pool, emu, len(data))
    emu.add_fault(Fault(method="POST", path=UPLOAD, kind="reset_mid_chunk", after_bytes=1234))
    with pytest.raises(urllib3.exceptions.ProtocolError):
        send(pool, url, "upload, finalize", 0, data)
    emu.clear_faults()
    assert progress(send(pool, url, "query")) == ("active", 1234)  # kept, not final
    final = send(pool, url, "upload, finalize", 1234, data[1234:])
    assert progress(final) == ("final", len(data))
    [stored] = emu.files()
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert [r["fault"] for r in emu.requests()] == [None, "reset_mid_chunk", None, None]


def test_reset_mid_chunk_elsewhere_is_reset_mid_upload(
    pool: urllib3.PoolManager, emu: Emulator
) -> None:
    """Off a resumable session (here the start, and OpenAI's file upload) nothing is kept."""
    emu.add_fault(Fault(method="POST", path="*", kind="reset_mid_chunk", after_bytes=10, times=2))
    with pytest.raises(urllib3.exceptions.ProtocolError):
        start(pool, emu, 100)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        pool.request(
            "POST",
            emu.url + "/v1/files",
            fields={"purpose": "batch", "file": ("in.jsonl", os.urandom(100_000), "text/plain")},
            headers={"Authorization": "Bearer sk-test"},
        )
    assert emu.files() == []
    assert list((emu.data_dir / "tmp").iterdir()) == []


def test_sdk_upload_survives_a_503_on_a_chunk(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK sends a chunk answered without x-goog-upload-status again from its offset."""
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setattr(_api_client, "CHUNK_SIZE", 128 * 1024)
    monkeypatch.setattr(_api_client, "INITIAL_RETRY_DELAY", 0)
    source = tmp_path / "requests.jsonl"
    source.write_bytes(os.urandom(300 * 1024))
    emu.add_fault(Fault(method="POST", path=UPLOAD, kind="delay", times=2))  # start, chunk 1
    emu.add_fault(Fault(method="POST", path=UPLOAD, kind="status", status=503, times=1))
    options = types.HttpOptions(base_url=emu.api_base("gemini"), api_version="v1beta")
    with genai.Client(api_key="k", http_options=options) as client:
        uploaded = client.files.upload(file=source, config={"mime_type": "application/jsonl"})
    assert uploaded.size_bytes == source.stat().st_size
    chunks = [r for r in emu.requests() if "upload_id" in r["query"]]
    assert [(r["headers"]["X-Goog-Upload-Offset"], r["status"]) for r in chunks] == [
        ("0", 200),
        (str(128 * 1024), 503),
        (str(128 * 1024), 200),
        (str(256 * 1024), 200),
    ]
    [stored] = emu.files()
    assert stored["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
