"""The official Together SDK drives the emulator: every answer must parse into its models."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import together
from together.types import BatchJob, FileResponse
from together.types.chat import ChatCompletion

from any_llm.emulator import Emulator, EmulatorConfig, Fault, ManualClock

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
CHAT: Final = "/v1/chat/completions"
KEY = "together-test-key"


def sdk(emulator: Emulator, **kwargs: Any) -> together.Together:
    options: dict[str, Any] = {"api_key": KEY, "max_retries": 0, **kwargs}
    return together.Together(base_url=emulator.url + "/together", **options)


@pytest.fixture
def client(emu: Emulator) -> Iterator[together.Together]:
    with sdk(emu) as opened:
        yield opened


def write_input(path: Path, count: int, suffix: dict[int, str] | None = None) -> bytes:
    suffix = suffix or {}
    lines = [
        json.dumps(
            {
                "custom_id": f"req-{i}",
                "body": {
                    "model": MODEL,
                    "messages": [
                        {"role": "user", "content": f"what is {i} + {i}? {suffix.get(i, '')}"}
                    ],
                },
            }
        )
        for i in range(count)
    ]
    content = ("\n".join(lines) + "\n").encode()
    path.write_bytes(content)
    return content


def upload(client: together.Together, path: Path) -> FileResponse:
    # check=False: the SDK's client-side check is for fine-tuning data, which batch lines fail
    return client.files.upload(path, purpose="batch-api", check=False)


def headers_of(entry: Any) -> set[str]:
    return {name.lower() for name in entry["headers"]}


def test_round_trip(client: together.Together, emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "batch_input.jsonl"
    content = write_input(path, 5, {1: "[[fail]]", 3: "[[error]]"})
    file = upload(client, path)
    assert isinstance(file, FileResponse)
    assert (file.bytes, file.purpose, file.filename, file.file_type) == (
        len(content),
        "batch-api",
        "batch_input.jsonl",
        "jsonl",
    )
    # the SDK's redirect flow: form POST → 302 → keyless PUT to another port → preprocess
    post, put, preprocess = emu.requests()
    assert (post["method"], post["path"], post["status"]) == ("POST", "/together/v1/files", 302)
    assert (put["method"], put["path"], put["status"]) == (
        "PUT",
        f"/together/_storage/{file.id}",
        200,
    )
    assert "authorization" not in headers_of(put)
    assert "authorization" in headers_of(post) and "authorization" in headers_of(preprocess)
    assert preprocess["path"] == f"/together/v1/files/{file.id}/preprocess"

    retrieved = client.files.retrieve(file.id)
    assert retrieved.id == file.id
    extra = retrieved.model_extra or {}
    assert (extra["LineCount"], extra["Processed"]) == (5, True)
    assert [f.id for f in client.files.list().data] == [file.id]
    assert client.files.content(file.id).read() == content

    created = client.batches.create(
        input_file_id=file.id, endpoint=CHAT, completion_window="24h", model_id=MODEL, priority=1
    )
    assert created.warning is None
    job = created.job
    assert isinstance(job, BatchJob)
    assert job.status == "VALIDATING"
    assert job.progress == 0.0
    assert job.x_model_id == MODEL
    assert job.created_at is not None and job.job_deadline is not None
    assert job.created_at.tzinfo is not None
    window = (job.job_deadline - job.created_at).total_seconds()
    assert 86_399.99 < window < 86_400  # a few microseconds short, as Together's are
    assert job.file_size_bytes == len(content)

    assert job.id is not None
    done = client.batches.retrieve(job.id)
    assert done.status == "COMPLETED"
    assert done.progress == 100.0
    assert done.completed_at is not None and done.error is None
    assert done.output_file_id is not None and done.error_file_id is not None

    outputs = [
        json.loads(raw) for raw in client.files.content(done.output_file_id).read().splitlines()
    ]
    completions = {
        line["custom_id"]: ChatCompletion.model_validate(line["response"]["body"])
        for line in outputs
    }
    assert sorted(completions) == ["req-0", "req-2", "req-4"]
    assert [line["response"]["status_code"] for line in outputs] == [200, 200, 200]
    message = completions["req-2"].choices[0].message
    assert message is not None and message.content == "echo: what is 2 + 2?"
    assert completions["req-2"].usage is not None

    errors = {
        line["custom_id"]: line
        for line in (
            json.loads(raw) for raw in client.files.content(done.error_file_id).read().splitlines()
        )
    }
    assert errors["req-1"]["response"]["status_code"] == 400
    assert errors["req-1"]["response"]["body"]["error"]["message"]
    assert errors["req-3"]["error"]["code"] == "emulated_error"
    assert "response" not in errors["req-3"]

    listed = client.batches.list()
    assert [b.id for b in listed] == [job.id]
    assert all(isinstance(b, BatchJob) for b in listed)
    purposes = {f.purpose for f in client.files.list().data}
    assert purposes == {"batch-api"}

    deleted = client.files.delete(file.id)
    assert (deleted.id, deleted.deleted) == (file.id, True)
    with pytest.raises(together.NotFoundError):
        client.files.retrieve(file.id)


def test_list_is_newest_first(client: together.Together, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    write_input(path, 1)
    file = upload(client, path)
    jobs = [client.batches.create(input_file_id=file.id, endpoint=CHAT).job for _ in range(3)]
    ids = [job.id for job in jobs if job is not None]
    assert len(ids) == 3
    assert [b.id for b in client.batches.list()] == ids[::-1]


def test_documented_upload_route_answers_a_file(emu: Emulator, tmp_path: Path) -> None:
    content = write_input(tmp_path / "in.jsonl", 2)
    response = httpx.post(
        emu.api_base("together") + "/files/upload",
        headers={"Authorization": f"Bearer {KEY}"},
        data={"purpose": "batch-api", "file_name": "in.jsonl"},
        files={"file": ("in.jsonl", content, "application/jsonl")},
    )
    assert response.status_code == 200
    file = FileResponse.model_validate(response.json())
    assert (file.bytes, file.purpose, file.file_type) == (len(content), "batch-api", "jsonl")


def test_presigned_storage_refuses_a_leaked_key(emu: Emulator) -> None:
    content = b'{"custom_id": "a", "body": {"model": "m", "messages": []}}\n'
    checksum = hashlib.sha256(content).hexdigest()
    auth = {"Authorization": f"Bearer {KEY}"}
    form = {
        "purpose": "batch-api",
        "file_name": "in.jsonl",
        "file_type": "jsonl",
        "checksum": checksum,
    }
    announced = httpx.post(emu.api_base("together") + "/files", headers=auth, data=form)
    assert announced.status_code == 302
    file_id = announced.headers["X-Together-File-Id"]
    location = announced.headers["Location"]
    assert httpx.URL(location).port != httpx.URL(emu.url).port
    assert httpx.URL(location).host == "127.0.0.1"

    leaked = httpx.put(location, content=content, headers=auth)
    assert leaked.status_code == 400
    assert leaked.json()["error"]["code"] == "credential_sent_to_storage"
    unsigned = httpx.put(location.split("?")[0], content=content)
    assert unsigned.status_code == 403
    early = httpx.post(emu.api_base("together") + f"/files/{file_id}/preprocess", headers=auth)
    assert early.status_code == 400
    corrupt = httpx.put(location, content=content + b" ")
    assert corrupt.status_code == 400 and "checksum" in corrupt.json()["error"]["message"]
    stored = httpx.put(location, content=content)
    assert stored.status_code == 200 and stored.headers["ETag"]
    assert httpx.put(location, content=content).status_code == 403  # the URL is spent
    ready = httpx.post(emu.api_base("together") + f"/files/{file_id}/preprocess", headers=auth)
    assert FileResponse.model_validate(ready.json()).id == file_id
    [record] = emu.files()
    assert (record["id"], record["sha256"]) == (file_id, checksum)
    # the main port does not serve the storage path
    assert httpx.put(emu.url + f"/together/_storage/{file_id}", content=content).status_code == 404


def test_cancel(tmp_path: Path) -> None:
    clock = ManualClock()
    config = EmulatorConfig(validating_seconds=0, in_progress_seconds=10, cancelling_seconds=2)
    with (
        Emulator(tmp_path / "emu", config=config, clock=clock) as emulator,
        sdk(emulator) as client,
    ):
        path = tmp_path / "in.jsonl"
        write_input(path, 10)
        file = upload(client, path)
        job = client.batches.create(input_file_id=file.id, endpoint=CHAT).job
        assert job is not None and job.id is not None
        clock.advance(5)
        running = client.batches.retrieve(job.id)
        assert (running.status, running.progress) == ("IN_PROGRESS", 50.0)
        cancelling = client.batches.cancel(job.id)
        assert str(cancelling.status) == "CANCELING"  # (absent from the v2 SDK's literal)
        clock.advance(2)
        cancelled = client.batches.retrieve(job.id)
        assert cancelled.status == "CANCELLED"
        assert cancelled.completed_at is not None and cancelled.output_file_id is not None
        assert len(client.files.content(cancelled.output_file_id).read().splitlines()) == 5
        with pytest.raises(together.BadRequestError, match="cannot be cancelled"):
            client.batches.cancel(job.id)


def test_expiry(tmp_path: Path) -> None:
    clock = ManualClock()
    config = EmulatorConfig(
        validating_seconds=0, in_progress_seconds=100, completion_window_seconds=50
    )
    with (
        Emulator(tmp_path / "emu", config=config, clock=clock) as emulator,
        sdk(emulator) as client,
    ):
        path = tmp_path / "in.jsonl"
        write_input(path, 10)
        job = client.batches.create(input_file_id=upload(client, path).id, endpoint=CHAT).job
        assert job is not None and job.id is not None
        clock.advance(60)
        expired = client.batches.retrieve(job.id)
        assert expired.status == "EXPIRED"
        assert expired.output_file_id is not None
        assert len(client.files.content(expired.output_file_id).read().splitlines()) == 5


def test_invalid_input_fails_the_batch(client: together.Together, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"custom_id": "a", "body": {"model": MODEL, "messages": []}})
    long = json.dumps({"custom_id": "x" * 65, "body": {"model": MODEL}})
    path.write_text(f"{good}\nnot json\n{long}\n")
    job = client.batches.create(input_file_id=upload(client, path).id, endpoint=CHAT).job
    assert job is not None and job.id is not None
    failed = client.batches.retrieve(job.id)
    assert failed.status == "FAILED"
    assert failed.error == "Line 2 is not a valid JSON object. (and 1 more errors)"
    assert failed.output_file_id is None and failed.completed_at is not None


def test_errors_map_to_sdk_exceptions(emu: Emulator, tmp_path: Path) -> None:
    with sdk(emu) as client:
        with pytest.raises(together.NotFoundError) as missing:
            client.batches.retrieve("nope")
        assert missing.value.status_code == 404
        with pytest.raises(together.BadRequestError, match="not found"):
            client.batches.create(input_file_id="file-missing", endpoint=CHAT)
        with pytest.raises(together.BadRequestError, match="completion_window"):
            client.batches.create(input_file_id="f", endpoint=CHAT, completion_window="48h")
        emu.add_fault(
            Fault(
                method="GET",
                path="/together/v1/batches",
                status=429,
                headers={"Retry-After": "7"},
                times=1,
            )
        )
        with pytest.raises(together.RateLimitError) as limited:
            client.batches.list()
        assert limited.value.response.headers["retry-after"] == "7"
        emu.add_fault(Fault(method="GET", path="/together/v1/batches", status=502, times=1))
        with pytest.raises(together.InternalServerError):
            client.batches.list()
    with sdk(emu, api_key="") as keyless, pytest.raises(together.AuthenticationError):
        keyless.with_options(default_headers={"Authorization": ""}).batches.list()


def test_wrong_key(tmp_path: Path) -> None:
    config = EmulatorConfig(api_key="right")
    with Emulator(tmp_path / "emu", config=config) as emulator:
        with sdk(emulator, api_key="wrong") as client, pytest.raises(together.AuthenticationError):
            client.batches.list()
        with sdk(emulator, api_key="right") as client:
            assert client.batches.list() == []
