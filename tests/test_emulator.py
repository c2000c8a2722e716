"""Tests of the emulator itself, over plain HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest
import urllib3

from any_llm.emulator import Emulator, EmulatorConfig, Fault, ManualClock
from any_llm.testing import EmulatorFactory, instant_config

if not any(ep.value == "any_llm.testing" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["any_llm.testing"]  # not installed: load the plugin from the source tree

REPO = Path(__file__).resolve().parent.parent
CHAT = "/v1/chat/completions"
INSTANT = instant_config()


def chat_line(custom_id: str, text: str, model: str = "gpt-4o-mini", url: str = CHAT) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})


def jsonl(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def chat_file(count: int, failing: dict[int, str] | None = None) -> bytes:
    failing = failing or {}
    return jsonl([chat_line(f"r{i}", f"question {i} {failing.get(i, '')}") for i in range(count)])


class Api:
    """A small blocking client for the emulator's OpenAI routes."""

    def __init__(self, emulator: Emulator, key: str | None = "sk-test") -> None:
        self.base = emulator.url
        self.key = key
        self.pool = urllib3.PoolManager(retries=False, timeout=10.0, maxsize=8)

    def close(self) -> None:
        self.pool.clear()

    def headers(self) -> dict[str, str]:
        return {} if self.key is None else {"Authorization": f"Bearer {self.key}"}

    def call(
        self, method: str, path: str, payload: Any = None, **kwargs: Any
    ) -> urllib3.BaseHTTPResponse:
        headers = self.headers()
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        return self.pool.request(method, self.base + path, body=body, headers=headers, **kwargs)

    def json(self, method: str, path: str, payload: Any = None, status: int = 200) -> Any:
        response = self.call(method, path, payload)
        assert response.status == status, response.data
        return response.json()

    def upload_response(
        self, content: bytes, filename: str = "requests.jsonl", purpose: str = "batch"
    ) -> urllib3.BaseHTTPResponse:
        return self.pool.request(
            "POST",
            self.base + "/v1/files",
            fields={"purpose": purpose, "file": (filename, content, "application/jsonl")},
            headers=self.headers(),
        )

    def upload(self, content: bytes, filename: str = "requests.jsonl") -> dict[str, Any]:
        response = self.upload_response(content, filename)
        assert response.status == 200, response.data
        result: dict[str, Any] = response.json()
        return result

    def create(self, file_id: str, endpoint: str = CHAT, **extra: Any) -> dict[str, Any]:
        payload = {"input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h"}
        result: dict[str, Any] = self.json("POST", "/v1/batches", {**payload, **extra})
        return result

    def batch(self, batch_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.json("GET", f"/v1/batches/{batch_id}")
        return result

    def content(self, file_id: str) -> bytes:
        response = self.call("GET", f"/v1/files/{file_id}/content")
        assert response.status == 200, response.data
        return response.data

    def lines(self, file_id: str | None) -> list[dict[str, Any]]:
        if file_id is None:
            return []
        return [json.loads(line) for line in self.content(file_id).splitlines()]

    def run(self, content: bytes, endpoint: str = CHAT) -> dict[str, Any]:
        batch = self.create(self.upload(content)["id"], endpoint)
        return self.batch(batch["id"])


@pytest.fixture
def emulator(any_llm_emulator: Emulator) -> Emulator:
    return any_llm_emulator


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Api]:
    client = Api(emulator)
    yield client
    client.close()


@pytest.fixture
def timed(any_llm_emulator_factory: EmulatorFactory, clock: ManualClock) -> Iterator[Api]:
    """An Api on an emulator with validating 10 s, in_progress 100 s, finalizing 10 s,
    cancelling 5 s, driven by a ManualClock."""
    config = EmulatorConfig(
        validating_seconds=10,
        in_progress_seconds=100,
        finalizing_seconds=10,
        cancelling_seconds=5,
    )
    client = Api(any_llm_emulator_factory(config=config, clock=clock))
    yield client
    client.close()


def counts(batch: dict[str, Any]) -> tuple[int, int, int]:
    rc = batch["request_counts"]
    return rc["total"], rc["completed"], rc["failed"]


BATCH_FIELDS = {
    "id", "object", "endpoint", "model", "errors", "input_file_id", "completion_window",
    "status", "output_file_id", "error_file_id", "created_at", "in_progress_at", "expires_at",
    "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at",
    "request_counts", "usage", "metadata",
}  # fmt: skip


# lifecycle


def test_lifecycle_follows_the_clock(timed: Api, clock: ManualClock) -> None:
    t0 = int(clock.now())
    batch = timed.create(timed.upload(chat_file(10, {2: "[[fail]]"}))["id"], metadata={"k": "v"})
    assert set(batch) == BATCH_FIELDS
    assert batch["status"] == "validating"
    assert counts(batch) == (0, 0, 0)
    assert batch["created_at"] == t0
    assert batch["expires_at"] == t0 + 86_400
    assert batch["model"] == "gpt-4o-mini"
    assert batch["metadata"] == {"k": "v"}
    bid = batch["id"]

    clock.advance(5)
    assert timed.batch(bid)["status"] == "validating"
    clock.advance(5)
    batch = timed.batch(bid)
    assert (batch["status"], batch["in_progress_at"]) == ("in_progress", t0 + 10)
    assert counts(batch) == (10, 0, 0)
    clock.advance(25)
    assert counts(timed.batch(bid)) == (10, 2, 0)
    clock.advance(10)
    assert counts(timed.batch(bid)) == (10, 2, 1)
    clock.advance(65)
    batch = timed.batch(bid)
    assert (batch["status"], batch["finalizing_at"]) == ("finalizing", t0 + 110)
    assert counts(batch) == (10, 9, 1)
    assert batch["output_file_id"] is None
    assert batch["usage"] is None
    clock.advance(10)
    batch = timed.batch(bid)
    assert (batch["status"], batch["completed_at"]) == ("completed", t0 + 120)
    assert counts(batch) == (10, 9, 1)
    assert batch["errors"] is None
    outputs = timed.lines(batch["output_file_id"])
    errors = timed.lines(batch["error_file_id"])
    assert sorted(line["custom_id"] for line in outputs) == sorted(
        f"r{i}" for i in range(10) if i != 2
    )
    assert [line["custom_id"] for line in errors] == ["r2"]
    prompt = sum(line["response"]["body"]["usage"]["prompt_tokens"] for line in outputs)
    completion = sum(line["response"]["body"]["usage"]["completion_tokens"] for line in outputs)
    assert batch["usage"] == {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def test_instant_batch_is_completed_on_first_retrieve(api: Api) -> None:
    created = api.create(api.upload(chat_file(3))["id"])
    assert created["status"] == "validating"
    batch = api.batch(created["id"])
    assert batch["status"] == "completed"
    assert counts(batch) == (3, 3, 0)
    assert batch["error_file_id"] is None
    assert len(api.lines(batch["output_file_id"])) == 3


def test_output_lines_are_not_in_input_order(api: Api) -> None:
    batch = api.run(chat_file(6))
    ids = [line["custom_id"] for line in api.lines(batch["output_file_id"])]
    assert sorted(ids) == [f"r{i}" for i in range(6)]
    assert ids != [f"r{i}" for i in range(6)]


def test_chat_answers_are_deterministic(api: Api) -> None:
    parts = [
        {"type": "text", "text": "Describe"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this picture in great detail please, thank you"},
    ]
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": parts},
        ],
    }
    line = json.dumps({"custom_id": "a", "method": "POST", "url": CHAT, "body": body})
    first = api.lines(api.run(jsonl([line]))["output_file_id"])[0]
    second = api.lines(api.run(jsonl([line]))["output_file_id"])[0]
    response = first["response"]
    assert first["error"] is None
    assert response["status_code"] == 200
    assert first["id"].startswith("batch_req_")
    completion = response["body"]
    assert completion["object"] == "chat.completion"
    assert completion["model"] == "gpt-4o-mini"
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "stop"
    expected = "echo: " + "Describe this picture in great detail please, thank you"[:40]
    assert choice["message"] == {
        "role": "assistant",
        "content": expected,
        "refusal": None,
        "annotations": [],
    }
    usage = completion["usage"]
    assert usage["prompt_tokens"] == 2 + 9
    assert usage["completion_tokens"] == len(expected.split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert second["response"]["body"]["choices"] == completion["choices"]


def test_embeddings_are_deterministic(api: Api) -> None:
    def line(custom_id: str, source: Any) -> str:
        body = {"model": "text-embedding-3-small", "input": source}
        url = "/v1/embeddings"
        return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})

    batch = api.run(
        jsonl([line("one", "hello world"), line("two", ["hello world", "bye"])]), "/v1/embeddings"
    )
    assert batch["status"] == "completed"
    by_id = {
        item["custom_id"]: item["response"]["body"] for item in api.lines(batch["output_file_id"])
    }
    one, two = by_id["one"], by_id["two"]
    assert one["object"] == "list"
    assert [d["index"] for d in two["data"]] == [0, 1]
    vector = one["data"][0]["embedding"]
    assert len(vector) == 8
    assert all(-1.0 <= value < 1.0 for value in vector)
    assert two["data"][0]["embedding"] == vector
    assert two["data"][1]["embedding"] != vector
    assert one["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


def test_failure_markers(api: Api) -> None:
    content = chat_file(4, {1: "[[fail]]", 2: "[[fail:503]]", 3: "[[error]]"})
    batch = api.run(content)
    assert counts(batch) == (4, 1, 3)
    errors = {line["custom_id"]: line for line in api.lines(batch["error_file_id"])}
    assert set(errors) == {"r1", "r2", "r3"}
    for custom_id, status, kind in (
        ("r1", 400, "invalid_request_error"),
        ("r2", 503, "server_error"),
    ):
        line = errors[custom_id]
        assert line["error"] is None
        assert line["response"]["status_code"] == status
        assert line["response"]["request_id"].startswith("req_")
        error = line["response"]["body"]["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["type"] == kind
    assert errors["r3"]["response"] is None
    assert errors["r3"]["error"]["code"] == "emulated_error"
    assert errors["r3"]["error"]["message"]
    assert [line["custom_id"] for line in api.lines(batch["output_file_id"])] == ["r0"]


def test_all_failed_has_no_output_file(api: Api) -> None:
    batch = api.run(chat_file(3, {0: "[[fail]]", 1: "[[error]]", 2: "[[fail:429]]"}))
    assert batch["status"] == "completed"
    assert batch["output_file_id"] is None
    assert len(api.lines(batch["error_file_id"])) == 3
    assert counts(batch) == (3, 0, 3)


# validation

NO_CUSTOM_ID = json.dumps({"method": "POST", "url": CHAT, "body": {"model": "gpt-4o-mini"}})


@pytest.mark.parametrize(
    ("lines", "code", "line_number"),
    [
        ([chat_line("a", "x"), '{"custom_id": "b",', chat_line("c", "x")], "invalid_json_line", 2),
        ([chat_line("a", "x"), NO_CUSTOM_ID], "missing_custom_id", 2),
        ([chat_line("a", "x"), chat_line("b", "x"), chat_line("a", "y")], "duplicate_custom_id", 3),
        ([chat_line("a", "x"), chat_line("b", "x", url="/v1/embeddings")], "url_mismatch", 2),
        ([chat_line("a", "x"), chat_line("b", "x", model="gpt-4o")], "model_mismatch", 2),
        ([], "empty_file", None),
    ],
    ids=["broken-json", "missing-custom-id", "duplicate", "url", "model", "empty"],
)  # fmt: skip
def test_invalid_input_fails_validation(
    timed: Api, clock: ManualClock, lines: list[str], code: str, line_number: int | None
) -> None:
    content = jsonl(lines) if lines else b""
    batch = timed.create(timed.upload(content)["id"])
    assert batch["status"] == "validating"
    clock.advance(9)
    assert timed.batch(batch["id"])["status"] == "validating"
    clock.advance(1)
    batch = timed.batch(batch["id"])
    assert batch["status"] == "failed"
    assert batch["failed_at"] == batch["created_at"] + 10
    assert batch["in_progress_at"] is None
    assert counts(batch) == (0, 0, 0)
    assert batch["output_file_id"] is None
    assert batch["errors"]["object"] == "list"
    [error] = batch["errors"]["data"]
    assert (error["code"], error["line"], error["param"]) == (code, line_number, None)
    assert error["message"]


def test_create_rejects_bad_requests(api: Api) -> None:
    file_id = api.upload(chat_file(1))["id"]
    ok = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    cases: list[tuple[dict[str, Any], str | None]] = [
        ({**ok, "input_file_id": "file-nope"}, "input_file_id"),
        ({**ok, "endpoint": "/v1/nothing"}, "endpoint"),
        ({**ok, "completion_window": "48h"}, "completion_window"),
        ({**ok, "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({**ok, "metadata": {"k": 1}}, "metadata"),
        ({**ok, "output_expires_after": {"anchor": "x", "seconds": 9}}, "output_expires_after"),
        ({k: v for k, v in ok.items() if k != "input_file_id"}, "input_file_id"),
    ]  # fmt: skip
    for payload, param in cases:
        error = api.json("POST", "/v1/batches", payload, status=400)["error"]
        assert (error["type"], error["param"]) == ("invalid_request_error", param), payload
    response = api.pool.request(
        "POST", api.base + "/v1/batches", body=b"{not json", headers=api.headers()
    )
    assert response.status == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert api.json("GET", "/v1/batches")["data"] == []


def test_batch_upload_must_be_jsonl(api: Api) -> None:
    response = api.upload_response(chat_file(1), filename="requests.json")
    assert response.status == 400
    error = response.json()["error"]
    assert error["message"] == "Invalid file format for Batch API. Must be .jsonl"
    assert error["type"] == "invalid_request_error"
    assert api.json("GET", "/v1/files")["data"] == []


def test_input_file_purpose_must_be_batch(api: Api) -> None:
    file = api.upload_response(chat_file(1), purpose="user_data").json()
    assert file["purpose"] == "user_data"
    assert file["expires_at"] is None
    payload = {"input_file_id": file["id"], "endpoint": CHAT, "completion_window": "24h"}
    assert api.json("POST", "/v1/batches", payload, status=400)["error"]["param"] == "input_file_id"


# cancel and expiry


def test_cancel_keeps_partial_results(timed: Api, clock: ManualClock) -> None:
    batch = timed.create(timed.upload(chat_file(10, {1: "[[fail]]"}))["id"])
    t0 = batch["created_at"]
    clock.advance(10 + 35)
    cancelling = timed.json("POST", f"/v1/batches/{batch['id']}/cancel")
    assert cancelling["status"] == "cancelling"
    assert cancelling["cancelling_at"] == t0 + 45
    assert counts(cancelling) == (10, 2, 1)
    again = timed.json("POST", f"/v1/batches/{batch['id']}/cancel")
    assert again["status"] == "cancelling"
    clock.advance(4)
    assert timed.batch(batch["id"])["status"] == "cancelling"
    clock.advance(1)
    cancelled = timed.batch(batch["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] == t0 + 50
    assert cancelled["completed_at"] is None
    assert counts(cancelled) == (10, 2, 1)
    assert sorted(line["custom_id"] for line in timed.lines(cancelled["output_file_id"])) == [
        "r0",
        "r2",
    ]
    assert [line["custom_id"] for line in timed.lines(cancelled["error_file_id"])] == ["r1"]
    error = timed.json("POST", f"/v1/batches/{batch['id']}/cancel", status=409)
    assert error == {
        "error": {
            "message": "Cannot cancel a batch with status 'cancelled'.",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }


def test_cancel_while_validating_has_no_results(timed: Api, clock: ManualClock) -> None:
    batch = timed.create(timed.upload(chat_file(3))["id"])
    assert timed.json("POST", f"/v1/batches/{batch['id']}/cancel")["status"] == "cancelling"
    clock.advance(60)
    cancelled = timed.batch(batch["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["in_progress_at"] is None
    assert (cancelled["output_file_id"], cancelled["error_file_id"]) == (None, None)
    assert counts(cancelled) == (0, 0, 0)


def test_cancel_is_refused_while_finalizing_and_when_done(timed: Api, clock: ManualClock) -> None:
    batch = timed.create(timed.upload(chat_file(2))["id"])
    clock.advance(115)
    error = timed.json("POST", f"/v1/batches/{batch['id']}/cancel", status=409)["error"]
    assert error["message"] == "Cannot cancel a batch with status 'finalizing'."
    clock.advance(5)
    error = timed.json("POST", f"/v1/batches/{batch['id']}/cancel", status=409)["error"]
    assert error["message"] == "Cannot cancel a batch with status 'completed'."


def test_instant_cancel_reports_cancelling_then_cancelled(
    any_llm_emulator_factory: EmulatorFactory, clock: ManualClock
) -> None:
    config = EmulatorConfig(validating_seconds=0, in_progress_seconds=10, cancelling_seconds=0)
    api = Api(any_llm_emulator_factory(config=config, clock=clock))
    try:
        batch = api.create(api.upload(chat_file(4))["id"])
        clock.advance(5)
        assert api.json("POST", f"/v1/batches/{batch['id']}/cancel")["status"] == "cancelling"
        cancelled = api.batch(batch["id"])
        assert cancelled["status"] == "cancelled"
        assert len(api.lines(cancelled["output_file_id"])) == 2
    finally:
        api.close()


def test_expiry_keeps_partial_results(
    any_llm_emulator_factory: EmulatorFactory, clock: ManualClock
) -> None:
    config = EmulatorConfig(
        validating_seconds=0, in_progress_seconds=100, completion_window_seconds=50
    )
    api = Api(any_llm_emulator_factory(config=config, clock=clock))
    try:
        batch = api.create(api.upload(chat_file(10, {3: "[[error]]"}))["id"])
        t0 = batch["created_at"]
        assert batch["expires_at"] == t0 + 50
        clock.advance(49)
        running = api.batch(batch["id"])
        assert (running["status"], counts(running)) == ("in_progress", (10, 3, 1))
        clock.advance(1)
        expired = api.batch(batch["id"])
        assert expired["status"] == "expired"
        assert expired["expired_at"] == t0 + 50
        assert expired["completed_at"] is None
        assert counts(expired) == (10, 4, 1)
        outputs = api.lines(expired["output_file_id"])
        assert sorted(line["custom_id"] for line in outputs) == ["r0", "r1", "r2", "r4"]
        assert [line["custom_id"] for line in api.lines(expired["error_file_id"])] == ["r3"]
        assert expired["usage"]["total_tokens"] > 0
    finally:
        api.close()


# listing


def test_batches_are_listed_newest_first_with_pagination(
    any_llm_emulator_factory: EmulatorFactory, clock: ManualClock
) -> None:
    api = Api(
        any_llm_emulator_factory(config=attrs.evolve(INSTANT, page_size_default=3), clock=clock)
    )
    try:
        file_id = api.upload(chat_file(1))["id"]
        created = []
        for index in range(7):
            created.append(api.create(file_id)["id"])
            if index % 2:
                clock.advance(1)
        newest_first = created[::-1]
        page = api.json("GET", "/v1/batches")
        assert [b["id"] for b in page["data"]] == newest_first[:3]
        assert page["object"] == "list"
        assert page["has_more"] is True
        assert (page["first_id"], page["last_id"]) == (newest_first[0], newest_first[2])
        seen: list[str] = []
        after = None
        while True:
            query = "?limit=2" + (f"&after={after}" if after else "")
            page = api.json("GET", "/v1/batches" + query)
            seen += [b["id"] for b in page["data"]]
            if not page["has_more"]:
                break
            after = page["last_id"]
        assert seen == newest_first
        assert api.json("GET", f"/v1/batches?after={created[0]}")["data"] == []
        for query in ("limit=0", "limit=101", "limit=x", "after=batch_nope"):
            error = api.json("GET", f"/v1/batches?{query}", status=400)["error"]
            assert error["param"] in ("limit", "after")
    finally:
        api.close()


def test_files_routes(api: Api) -> None:
    first = api.upload(chat_file(2), filename="a.jsonl")
    other = api.upload_response(b"plain", filename="notes.txt", purpose="user_data").json()
    assert set(first) == {
        "id", "object", "bytes", "created_at", "expires_at", "filename", "purpose", "status",
        "status_details",
    }  # fmt: skip
    assert first["object"] == "file"
    assert first["bytes"] == len(chat_file(2))
    assert first["status"] == "processed"
    assert first["expires_at"] == first["created_at"] + 30 * 86_400
    assert api.json("GET", f"/v1/files/{first['id']}") == first
    listed = api.json("GET", "/v1/files")
    assert [f["id"] for f in listed["data"]] == [other["id"], first["id"]]
    assert listed["has_more"] is False
    assert [f["id"] for f in api.json("GET", "/v1/files?order=asc")["data"]] == [
        first["id"],
        other["id"],
    ]
    assert [f["id"] for f in api.json("GET", "/v1/files?purpose=batch")["data"]] == [first["id"]]
    page = api.json("GET", "/v1/files?limit=1")
    assert (len(page["data"]), page["has_more"]) == (1, True)
    page = api.json("GET", f"/v1/files?limit=1&after={page['last_id']}")
    assert ([f["id"] for f in page["data"]], page["has_more"]) == ([first["id"]], False)
    assert api.content(first["id"]) == chat_file(2)
    deleted = api.json("DELETE", f"/v1/files/{first['id']}")
    assert deleted == {"id": first["id"], "object": "file", "deleted": True}
    for method, path in (
        ("GET", f"/v1/files/{first['id']}"),
        ("GET", f"/v1/files/{first['id']}/content"),
        ("DELETE", f"/v1/files/{first['id']}"),
    ):
        error = api.json(method, path, status=404)["error"]
        assert error["message"] == f"No such File object: {first['id']}"
        assert error["type"] == "invalid_request_error"


def test_file_expiry_options(api: Api, emulator: Emulator) -> None:
    response = api.pool.request(
        "POST",
        api.base + "/v1/files",
        fields={
            "purpose": "batch",
            "expires_after[anchor]": "created_at",
            "expires_after[seconds]": "3600",
            "file": ("r.jsonl", chat_file(1)),
        },
        headers=api.headers(),
    )
    file = response.json()
    assert file["expires_at"] == file["created_at"] + 3600
    response = api.pool.request(
        "POST",
        api.base + "/v1/files",
        fields={
            "purpose": "batch",
            "expires_after[anchor]": "created_at",
            "expires_after[seconds]": "10",
            "file": ("r.jsonl", b""),
        },
        headers=api.headers(),
    )
    assert response.status == 400
    assert response.json()["error"]["param"] == "expires_after[seconds]"
    assert [f["id"] for f in emulator.files()] == [file["id"]]


def test_files_expire_with_the_clock(
    any_llm_emulator_factory: EmulatorFactory, clock: ManualClock
) -> None:
    api = Api(any_llm_emulator_factory(clock=clock))
    try:
        file = api.upload(chat_file(1))
        clock.advance(30 * 86_400)
        assert api.json("GET", f"/v1/files/{file['id']}", status=404)["error"]["param"] == "id"
    finally:
        api.close()


def test_unknown_batch_and_route(api: Api) -> None:
    error = api.json("GET", "/v1/batches/batch_nope", status=404)["error"]
    assert error == {
        "message": "No batch found with id 'batch_nope'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert api.json("POST", "/v1/batches/batch_nope/cancel", status=404)["error"]["message"]
    assert api.json("GET", "/v1/nothing", status=404)["error"]["type"] == "invalid_request_error"
    assert api.json("PUT", "/v1/batches", status=405)["error"]["message"]


# auth


def test_auth_is_required(emulator: Emulator) -> None:
    for key in (None, ""):
        client = Api(emulator, key=key)
        try:
            response = client.call("GET", "/v1/batches")
            assert response.status == 401
            assert response.headers["x-request-id"].startswith("req_")
            assert response.json()["error"]["code"] == "invalid_api_key"
        finally:
            client.close()


def test_configured_api_key(any_llm_emulator_factory: EmulatorFactory) -> None:
    emulator = any_llm_emulator_factory(config=EmulatorConfig(api_key="sk-right"))
    assert "sk-right" not in repr(emulator.config)
    for key, status in (("sk-wrong", 401), ("sk-right", 200)):
        client = Api(emulator, key=key)
        try:
            response = client.call("GET", "/v1/batches")
            assert response.status == status
            assert "sk-wrong" not in response.data.decode()
        finally:
            client.close()


# faults and the request log


def test_status_fault_then_success(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(
        Fault(method="POST", path="/v1/files", status=429, headers={"Retry-After": "0"}, times=2)
    )
    for _ in range(2):
        response = api.upload_response(chat_file(1))
        assert response.status == 429
        assert response.headers["Retry-After"] == "0"
        assert response.headers["x-request-id"].startswith("req_")
        error = response.json()["error"]
        assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
    assert api.upload_response(chat_file(1)).status == 200
    log = emulator.requests()
    assert [(r["method"], r["path"], r["status"], r["fault"]) for r in log] == [
        ("POST", "/v1/files", 429, "status"),
        ("POST", "/v1/files", 429, "status"),
        ("POST", "/v1/files", 200, None),
    ]
    assert log[0]["headers"]["authorization"] == "Bearer sk-test"
    assert log[0]["headers"]["Authorization"] == "Bearer sk-test"
    assert len(emulator.files()) == 1


def test_fault_matching(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(Fault(method="GET", path="/v1/batches/*", status=503, times=None))
    assert api.call("GET", "/v1/batches").status == 200
    assert api.call("POST", "/v1/batches/batch_x/cancel").status == 404
    for _ in range(3):
        response = api.call("GET", "/v1/batches/batch_x")
        assert response.status == 503
        assert response.json()["error"]["type"] == "server_error"
    emulator.clear_faults()
    assert api.call("GET", "/v1/batches/batch_x").status == 404
    emulator.clear_requests()
    assert api.call("GET", "/v1/batches?limit=5&after=x").status == 400
    [entry] = emulator.requests()
    assert entry["query"] == {"limit": "5", "after": "x"}
    assert entry["status"] == 400
    with pytest.raises(ValueError, match="times"):
        Fault(times=0)
    assert Fault().times is None
    with pytest.raises(ValueError, match="kind"):
        Fault(kind="explode")  # type: ignore[arg-type]


def test_reset_drops_the_connection(api: Api, emulator: Emulator) -> None:
    file_id = api.upload(chat_file(1))["id"]
    emulator.add_fault(Fault(method="POST", path="/v1/batches", kind="reset", times=1))
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.create(file_id)
    assert emulator.batches() == []
    assert emulator.requests()[-1]["status"] is None
    assert emulator.requests()[-1]["fault"] == "reset"
    assert api.create(file_id)["status"] == "validating"


def test_reset_mid_upload_stores_nothing(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(Fault(method="POST", path="/v1/files", kind="reset_mid_upload", times=1))
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.upload(os.urandom(4 * 1024 * 1024), filename="big.jsonl")
    assert emulator.files() == []
    assert list((emulator.data_dir / "tmp").iterdir()) == []
    assert api.upload(chat_file(1))["bytes"] == len(chat_file(1))


def test_reset_after_takes_effect(api: Api, emulator: Emulator) -> None:
    file_id = api.upload(chat_file(1))["id"]
    emulator.add_fault(Fault(method="POST", path="/v1/batches", kind="reset_after", times=1))
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.create(file_id)
    [batch] = emulator.batches()
    assert batch["input_file_id"] == file_id
    assert emulator.requests()[-1]["status"] is None


def test_reset_mid_download(api: Api, emulator: Emulator) -> None:
    content = chat_file(50)
    file_id = api.upload(content)["id"]
    emulator.add_fault(
        Fault(method="GET", path="/v1/files/*/content", kind="reset_mid_download", times=1)
    )
    response = api.call("GET", f"/v1/files/{file_id}/content", preload_content=False)
    assert response.status == 200
    assert response.headers["Content-Length"] == str(len(content))
    received = bytearray()

    def read_all() -> None:
        for chunk in response.stream(1024):
            received.extend(chunk)

    with pytest.raises(urllib3.exceptions.ProtocolError):
        read_all()
    response.release_conn()
    half = len(content) // 2  # urllib3 drops the last partial chunk of a broken stream
    assert half - 1024 < len(received) <= half
    assert content.startswith(received)
    assert api.content(file_id) == content
    emulator.add_fault(Fault(path="/v1/files/*", kind="reset_mid_download", after_bytes=5, times=1))
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.call("GET", f"/v1/files/{file_id}")


def test_delay_fault_times_out_the_client(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(Fault(path="/v1/batches", kind="delay", delay=0.5, times=1))
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        api.call("GET", "/v1/batches", timeout=0.1)
    assert api.call("GET", "/v1/batches").status == 200


# storage


def test_state_survives_a_restart(
    any_llm_emulator_factory: EmulatorFactory, clock: ManualClock, tmp_path: Path
) -> None:
    config = EmulatorConfig(validating_seconds=0, in_progress_seconds=100, finalizing_seconds=0)
    first = any_llm_emulator_factory(config=config, clock=clock, data_dir=tmp_path)
    api = Api(first)
    try:
        file_id = api.upload(chat_file(4))["id"]
        batch_id = api.create(file_id, metadata={"run": "1"})["id"]
        done_id = api.create(file_id)["id"]
        clock.advance(100)
        api.batch(done_id)
        clock.advance(1)
        pending_id = api.create(file_id)["id"]
    finally:
        api.close()
    before = first.batches()
    first.stop()
    second = any_llm_emulator_factory(config=INSTANT, clock=clock, data_dir=tmp_path)
    assert second.batches() == before
    assert [b["id"] for b in before] == [pending_id, done_id, batch_id]
    api = Api(second)
    try:
        assert api.json("GET", f"/v1/files/{file_id}")["bytes"] == len(chat_file(4))
        clock.advance(50)
        pending = api.batch(pending_id)
        assert (pending["status"], counts(pending)) == ("in_progress", (4, 2, 0))
        assert api.batch(batch_id)["metadata"] == {"run": "1"}
        done = api.batch(done_id)
        assert len(api.lines(done["output_file_id"])) == 4
    finally:
        api.close()


def resident_bytes() -> int:
    """This process's resident memory (0 where /proc is missing)."""
    statm = Path("/proc/self/statm")
    return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") if statm.exists() else 0


def test_large_chunked_upload_is_streamed(api: Api, emulator: Emulator) -> None:
    boundary = "emulatorboundary"
    block = (chat_line("x", "y" * 900) + "\n").encode()
    repeats = 20 * 1024 * 1024 // len(block)
    digest = hashlib.sha256()
    size = 0

    def body() -> Iterator[bytes]:
        nonlocal size
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n'
        ).encode()
        for _ in range(repeats):
            digest.update(block)
            size += len(block)
            yield block
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**api.headers(), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    rss_before = resident_bytes()
    response = api.pool.request(
        "POST", api.base + "/v1/files", body=body(), headers=headers, chunked=True
    )
    assert response.status == 200, response.data
    assert resident_bytes() - rss_before < size // 2
    assert "content-length" not in {k.lower() for k in emulator.requests()[-1]["headers"]}
    [stored] = emulator.files()
    assert stored["id"] == response.json()["id"]
    assert stored["bytes"] == size
    assert stored["sha256"] == digest.hexdigest()


# embedding and the plugin


def test_emulator_serves_clients_on_other_loops(api: Api) -> None:
    results: list[int] = []

    def hit() -> None:
        results.append(api.call("GET", "/v1/batches").status)

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 4


async def test_async_client_on_the_test_loop(any_llm_emulator: Emulator) -> None:
    headers = {"Authorization": "Bearer sk-test"}
    async with aiohttp.ClientSession(headers=headers) as session:
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        form.add_field("file", chat_file(2), filename="r.jsonl")
        async with session.post(any_llm_emulator.url + "/v1/files", data=form) as response:
            assert response.status == 200
            file = await response.json()
        payload = {"input_file_id": file["id"], "endpoint": CHAT, "completion_window": "24h"}
        async with session.post(any_llm_emulator.url + "/v1/batches", json=payload) as response:
            batch = await response.json()
        async with session.get(f"{any_llm_emulator.url}/v1/batches/{batch['id']}") as response:
            assert (await response.json())["status"] == "completed"


def test_emulator_lifecycle(tmp_path: Path) -> None:
    emulator = Emulator(tmp_path / "a", INSTANT)
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url
    with emulator:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emulator.url)
        with pytest.raises(RuntimeError, match="already running"):
            emulator.start()
        port = int(emulator.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="address already in use"):
            Emulator(tmp_path / "b", INSTANT, port=port).start()
    emulator.stop()
    with emulator:
        api = Api(emulator)
        try:
            assert api.call("GET", "/v1/batches").status == 200
        finally:
            api.close()


@pytest.mark.parametrize("program", [["any_llm.emulator"], ["any_llm.cli", "emulator"]])
def test_command_line_serves_until_interrupted(tmp_path: Path, program: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", *program, "--port", "0", "--data-dir", str(tmp_path)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+", first)
            assert match, first
            pool = urllib3.PoolManager(retries=False, timeout=10.0)
            try:
                response = pool.request(
                    "GET", match.group(0) + "/v1/batches", headers={"Authorization": "Bearer k"}
                )
                assert response.status == 200
            finally:
                pool.clear()
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "files").is_dir()


def test_client_abort_mid_upload_stores_nothing(emulator: Emulator) -> None:
    port = int(emulator.url.rsplit(":", 1)[1])
    head = (
        b"POST /v1/files HTTP/1.1\r\nHost: emulator\r\nAuthorization: Bearer k\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n"
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.jsonl"\r\n\r\n'
    )
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(head + b"x" * 100_000)
    deadline = time.monotonic() + 5
    while not emulator.requests() and time.monotonic() < deadline:
        time.sleep(0.01)
    [entry] = emulator.requests()
    assert entry["status"] is None
    assert emulator.files() == []
    assert list((emulator.data_dir / "tmp").iterdir()) == []
