"""The official google-genai SDK drives the emulator's /gemini mount: every batch and file
operation it offers, and every answer parsed into its typed models (warnings are errors)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import _api_client, errors, types

from any_llm import BatchResultStatus, BatchStatus
from any_llm.emulator import Emulator, Fault, ManualClock
from any_llm.errors import BatchFailedError
from any_llm_sync import AnyLLM

MODEL = "gemini-2.5-flash"


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)


def sdk(emu: Emulator, version: str | None = "v1beta", key: str = "k") -> genai.Client:
    options = types.HttpOptions(base_url=emu.api_base("gemini"), api_version=version)
    if version is None:
        options = types.HttpOptions(base_url=emu.api_base("gemini"))
    return genai.Client(api_key=key, http_options=options)


@pytest.fixture
def client(emu: Emulator) -> Iterator[genai.Client]:
    with sdk(emu) as opened:
        yield opened


def inline(text: str, key: str, **config: Any) -> types.InlinedRequest:
    return types.InlinedRequest(
        contents=[types.Content(role="user", parts=[types.Part(text=text)])],
        metadata={"key": key},
        config=types.GenerateContentConfig(**config) if config else None,
    )


def file_lines(path: Path, count: int, **request: Any) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            body = {"contents": [{"parts": [{"text": f"line {i}"}]}], **request}
            out.write(json.dumps({"key": f"k{i}", "request": body}) + "\n")
    return path


def test_inline_batch_round_trip(client: genai.Client, emu: Emulator) -> None:
    job = client.batches.create(
        model=MODEL,
        src=[
            inline(
                "hello there",
                "a",
                system_instruction="be brief",
                temperature=0.1,
                max_output_tokens=20,
            ),
            inline("broken [[fail:429]]", "b"),
            inline("json please", "c", response_mime_type="application/json"),
            inline(
                "call it",
                "d",
                tools=[
                    types.Tool(
                        function_declarations=[
                            types.FunctionDeclaration(
                                name="lookup",
                                parameters_json_schema={"type": "object"},
                            )
                        ]
                    )
                ],
                tool_config=types.ToolConfig(
                    function_calling_config=types.FunctionCallingConfig(
                        mode=types.FunctionCallingConfigMode.ANY
                    )
                ),
            ),
        ],
        config={"display_name": "sdk inline"},
    )
    assert job.name is not None and job.name.startswith("batches/")
    assert job.state == types.JobState.JOB_STATE_PENDING
    assert job.display_name == "sdk inline"
    assert job.model == f"models/{MODEL}"
    assert job.create_time is not None

    done = client.batches.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.end_time is not None and done.update_time is not None
    assert done.dest is not None and done.dest.inlined_responses is not None
    responses = {r.metadata["key"]: r for r in done.dest.inlined_responses if r.metadata}
    assert sorted(responses) == ["a", "b", "c", "d"]
    hello = responses["a"].response
    assert hello is not None
    assert hello.text == "echo: hello there"
    assert hello.usage_metadata is not None and hello.usage_metadata.prompt_token_count == 4
    assert hello.candidates is not None
    assert hello.candidates[0].finish_reason == types.FinishReason.STOP
    failed = responses["b"]
    assert failed.response is None and failed.error is not None
    assert (failed.error.code, failed.error.message) == (
        8,
        "Emulated failure with status 429 (marker in request).",
    )
    as_json = responses["c"].response
    assert as_json is not None
    assert json.loads(as_json.text or "") == {"echo": "echo: json please"}
    call = responses["d"].response
    assert call is not None and call.function_calls is not None
    assert [(c.name, c.args) for c in call.function_calls] == [("lookup", {})]

    # the any_llm client reads the same batch, joined on the keys
    with AnyLLM.create("gemini", api_key="k", api_base=emu.api_base("gemini")) as llm:
        batch = llm.retrieve_batch(job.name)
        assert batch.status is BatchStatus.COMPLETED
        assert (batch.request_counts.total, batch.request_counts.failed) == (4, 1)
        assert batch.metadata == {"displayName": "sdk inline"}
        items = {item.custom_id: item for item in llm.retrieve_batch_results(batch)}
    assert items["a"].chat_completion().choices[0].message.content == "echo: hello there"
    assert items["b"].status is BatchResultStatus.FAILED
    assert items["d"].chat_completion().choices[0].finish_reason == "tool_calls"


def test_file_batch_round_trip(
    client: genai.Client, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_api_client, "CHUNK_SIZE", 128 * 1024)  # three chunks
    source = file_lines(
        tmp_path / "requests.jsonl",
        3000,
        generation_config={"temperature": 0.5},  # snake_case, as in Google's guide
    )
    size = source.stat().st_size
    assert 2 * 128 * 1024 < size <= 3 * 128 * 1024
    uploaded = client.files.upload(
        file=source, config={"mime_type": "application/jsonl", "display_name": "requests"}
    )
    assert uploaded.name is not None and uploaded.name.startswith("files/")
    assert (uploaded.size_bytes, uploaded.mime_type) == (size, "application/jsonl")
    assert uploaded.display_name == "requests"
    assert uploaded.state == types.FileState.ACTIVE
    assert uploaded.source == types.FileSource.UPLOADED
    assert uploaded.expiration_time is not None
    chunks = [r for r in emu.requests() if "upload_id" in r["query"]]
    assert [r["headers"]["X-Goog-Upload-Command"] for r in chunks] == [
        "upload",
        "upload",
        "upload, finalize",
    ]
    assert client.files.get(name=uploaded.name) == uploaded

    job = client.batches.create(model=MODEL, src=uploaded.name)
    assert job.name is not None
    done = client.batches.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.dest is not None and done.dest.file_name is not None
    output = client.files.get(name=done.dest.file_name)
    assert output.source == types.FileSource.GENERATED
    assert output.download_uri is not None
    lines = [json.loads(line) for line in client.files.download(file=output).splitlines()]
    assert sorted(line["key"] for line in lines) == sorted(f"k{i}" for i in range(3000))
    assert [line["key"] for line in lines[:2]] == ["k1", "k0"]  # not in input order
    parsed = types.GenerateContentResponse.model_validate(lines[0]["response"])
    assert parsed.text == "echo: line 1"
    assert client.files.download(file=done.dest.file_name) == client.files.download(file=output)

    names = [f.name for f in client.files.list(config={"page_size": 1})]
    assert names == [output.name, uploaded.name]
    client.files.delete(name=uploaded.name)
    with pytest.raises(errors.ClientError) as missing:
        client.files.get(name=uploaded.name)
    assert (missing.value.code, missing.value.status) == (404, "NOT_FOUND")


def test_list_pages_and_delete(client: genai.Client) -> None:
    created = [
        client.batches.create(model=MODEL, src=[inline(f"q{i}", f"k{i}")]).name for i in range(5)
    ]
    pager = client.batches.list(config={"page_size": 2})
    assert len(pager.page) == 2
    assert [job.name for job in pager] == created[::-1]
    deleted = client.batches.delete(name=created[0] or "")
    assert deleted.error is None
    with pytest.raises(errors.ClientError) as missing:
        client.batches.get(name=created[0] or "")
    assert missing.value.code == 404
    assert [job.name for job in client.batches.list()] == created[:0:-1]


def test_cancel(slow_emu: Emulator, clock: ManualClock) -> None:
    with sdk(slow_emu) as client:
        job = client.batches.create(model=MODEL, src=[inline(f"q{i}", f"k{i}") for i in range(10)])
        assert job.name is not None
        clock.advance(1 + 5)
        running = client.batches.get(name=job.name)
        assert running.state == types.JobState.JOB_STATE_RUNNING
        client.batches.cancel(name=job.name)
        still = client.batches.get(name=job.name)
        assert still.state == types.JobState.JOB_STATE_RUNNING  # no cancelling state
        clock.advance(5)
        cancelled = client.batches.get(name=job.name)
        assert cancelled.state == types.JobState.JOB_STATE_CANCELLED
        assert cancelled.dest is not None and cancelled.dest.inlined_responses is not None
        assert len(cancelled.dest.inlined_responses) == 5
        with pytest.raises(errors.ClientError) as refused:
            client.batches.cancel(name=job.name)
        assert (refused.value.code, refused.value.status) == (400, "FAILED_PRECONDITION")


def test_default_api_version_is_served(emu: Emulator) -> None:
    with sdk(emu, version=None) as client:
        job = client.batches.create(model=MODEL, src=[inline("hi", "a")])
        assert job.name is not None
        assert client.batches.get(name=job.name).state == types.JobState.JOB_STATE_SUCCEEDED
    versions = {r["path"].split("/")[2] for r in emu.requests()}
    assert versions <= {"v1", "v1beta"}
    assert len(versions) == 1


def test_failed_batch(client: genai.Client, emu: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"key": "a", "request": {"contents": []}}\n{"request": {}}\n')
    uploaded = client.files.upload(file=source, config={"mime_type": "application/jsonl"})
    assert uploaded.name is not None
    job = client.batches.create(model=MODEL, src=uploaded.name)
    assert job.name is not None
    failed = client.batches.get(name=job.name)
    assert failed.state == types.JobState.JOB_STATE_FAILED
    with AnyLLM.create("gemini", api_key="k", api_base=emu.api_base("gemini")) as llm:
        batch = llm.retrieve_batch(job.name)
        assert batch.status is BatchStatus.FAILED
        assert batch.errors is not None
        assert "Line 2" in (batch.errors.data[0].message or "")
        with pytest.raises(BatchFailedError, match="Line 2"):
            llm.retrieve_batch_results(batch)


def test_bad_requests_and_faults_map_to_sdk_errors(client: genai.Client, emu: Emulator) -> None:
    with pytest.raises(errors.ClientError) as unknown:
        client.batches.create(
            model=MODEL,
            src=[
                types.InlinedRequest(
                    contents=[types.Content(role="bot", parts=[types.Part(text="x")])]
                )
            ],
        )
    assert (unknown.value.code, unknown.value.status) == (400, "INVALID_ARGUMENT")
    assert "role" in (unknown.value.message or "")
    with pytest.raises(errors.ClientError):
        client.batches.create(model=MODEL, src="files/doesnotexist")
    with pytest.raises(errors.ClientError) as bad_name:
        client.batches.get(name="batches/nope")
    assert bad_name.value.status == "NOT_FOUND"

    emu.add_fault(
        Fault(
            method="GET",
            path="/gemini/v1beta/batches",
            status=429,
            headers={"Retry-After": "3"},
            times=1,
        )
    )
    with pytest.raises(errors.ClientError) as limited:
        client.batches.list()
    assert (limited.value.code, limited.value.status) == (429, "RESOURCE_EXHAUSTED")
    emu.add_fault(Fault(method="GET", path="/gemini/v1beta/batches", status=503, times=1))
    with pytest.raises(errors.ServerError) as unavailable:
        client.batches.list()
    assert unavailable.value.status == "UNAVAILABLE"
    with pytest.raises(errors.ClientError) as too_big:
        client.batches.create(model=MODEL, src=[inline("x" * 21_000_000, "big")])
    assert too_big.value.code == 400
    assert "payload size exceeds" in (too_big.value.message or "")


def test_wrong_key(auth_emu: Emulator) -> None:
    with sdk(auth_emu, key="wrong") as client, pytest.raises(errors.ClientError) as denied:
        client.batches.list()
    assert (denied.value.code, denied.value.status) == (401, "UNAUTHENTICATED")
    with sdk(auth_emu, key="sk-right") as client:
        assert list(client.batches.list()) == []
