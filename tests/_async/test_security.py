"""Hostile configuration and ids (issue 11, items 9, 10, 12, 13): no password in api_base and
none in any URL we print, ids that cannot steer a request to another path (the caller's or the
provider's), one value per header name, and a failing progress callback raised as it is."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from any_llm import AnyLLM, acancel_batch, acreate_batch, aretrieve_batch, aretrieve_batch_results
from any_llm._compat import asleep
from any_llm.emulator import Emulator, LoggedRequest
from any_llm.errors import (
    APIConnectionError,
    APIResponseValidationError,
    ConfigurationError,
    NotFoundError,
)
from tests.helpers import CHAT, KEY, Redirector, client_args, write_requests
from tests.hostile import HeaderRecorder, HostileServer, PresignedTrap

PASSWORD = "hunter2-PASSWORD"
USER = "alice-USER"

MODELS = {
    "openai": "gpt-4o-mini",
    "mistral": "mistral-small-latest",
    "anthropic": "claude-3-5-haiku-latest",
    "gemini": "gemini-2.5-flash",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
}
PROVIDERS = list(MODELS)


def with_userinfo(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{USER}:{PASSWORD}@{rest}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# item 9: a password in api_base


BASE_VARIABLES = {
    "openai": "OPENAI_BASE_URL",
    "anthropic": "ANTHROPIC_BASE_URL",
    "gemini": "GOOGLE_GEMINI_BASE_URL",
}
USERINFO_CASES = [(provider, None) for provider in PROVIDERS] + list(BASE_VARIABLES.items())


@pytest.mark.parametrize(("provider", "variable"), USERINFO_CASES)
async def test_a_password_in_api_base_is_refused_without_showing_it(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, provider: str, variable: str | None
) -> None:
    """From ``api_base=`` or from the variable the provider's SDK reads it from."""
    base = with_userinfo(emu.api_base(provider))
    kwargs: dict[str, Any] = {"api_key": KEY, "client_args": client_args()}
    if variable is None:
        kwargs["api_base"] = base
    else:
        monkeypatch.setenv(variable, base)
    with pytest.raises(ConfigurationError, match="user name or password") as info:
        AnyLLM.create(provider, **kwargs)
    with pytest.raises(ConfigurationError, match="user name or password") as again:
        await aretrieve_batch(provider, "batch_1", **kwargs)
    for error in (info.value, again.value):
        assert PASSWORD not in str(error) and USER not in str(error)
        assert PASSWORD not in repr(error) and USER not in repr(error)
        assert "127.0.0.1" in str(error)  # the host is named, the credentials are not
        assert (variable or "api_base") in str(error)
    assert emu.requests() == []


async def test_no_url_we_print_carries_a_password(caplog: pytest.LogCaptureFixture) -> None:
    """A redirect to a URL with userinfo (on a port where nothing listens): the connection
    errors and the WARNING retry logs name the URL without user name and password."""
    target = with_userinfo(f"http://127.0.0.1:{closed_port()}")
    caplog.set_level(logging.WARNING, logger="any_llm")
    with Redirector(target) as server:
        llm = AnyLLM.create(
            "openai", api_key=KEY, api_base=f"{server.url}/v1", client_args=client_args()
        )
        try:
            with pytest.raises(APIConnectionError) as info:
                await llm.aretrieve_batch("batch_1")
        finally:
            await llm.aclose()
    shown = [str(info.value), repr(info.value), info.value.url, repr(llm), caplog.text]
    assert "retrying" in caplog.text  # the retries were logged...
    assert "/v1/batches/batch_1" in info.value.url
    for text in shown:  # ...and nothing shows the credentials
        assert PASSWORD not in text and USER not in text, text


# item 10: ids in URL paths

BAD_IDS: list[tuple[str, object, str]] = [
    ("traversal", "../files", "'/'"),
    ("a slash", "a/b", "'/'"),
    ("dot-dot", "..", "'..'"),
    ("dot", ".", "'.'"),
    ("a query", "abc?x=1", "'?'"),
    ("a fragment", "abc#x", "'#'"),
    ("a backslash", "a\\b", "'\\\\'"),
    ("percent-escaped dots", "%2e%2e", "'%'"),
    ("a space", "a b", "whitespace"),
    ("a newline", "abc\r\nX-Injected: 1", "whitespace or control"),
    ("a NUL", "a\x00b", "control"),
    ("empty", "", "is empty"),
    ("None", None, "must be a string, got NoneType"),
    ("an int", 5, "must be a string, got int"),
    ("bytes", b"batch_1", "must be a string, got bytes"),
]


async def _call(provider: str, operation: str, batch_id: Any, emu: Emulator) -> Any:
    common: dict[str, Any] = {
        "api_key": KEY,
        "api_base": emu.api_base(provider),
        "client_args": client_args(),
    }
    if operation == "retrieve":
        return await aretrieve_batch(provider, batch_id, **common)
    if operation == "cancel":
        return await acancel_batch(provider, batch_id, **common)
    if operation == "results":
        return await aretrieve_batch_results(provider, batch_id, **common)
    async with AnyLLM.create(provider, **common) as llm:
        if operation == "client retrieve":
            return await llm.aretrieve_batch(batch_id)
        if operation == "client cancel":
            return await llm.acancel_batch(batch_id)
        if operation == "client poll":
            return await llm.apoll_batch(batch_id, timeout=1)
        return [item async for item in llm.aiter_batch_results(batch_id)]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("name", "batch_id", "problem"), BAD_IDS, ids=[c[0] for c in BAD_IDS])
async def test_a_bad_batch_id_is_refused_before_any_request(
    emu: Emulator, provider: str, name: str, batch_id: object, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        await _call(provider, "retrieve", batch_id, emu)
    message = str(info.value)
    assert message.startswith(f"{provider}: batch_id ")
    assert problem in message
    assert KEY not in message
    assert emu.requests() == []


OPERATIONS = [
    "retrieve",
    "cancel",
    "results",
    "client retrieve",
    "client cancel",
    "client poll",
    "client results",
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("operation", OPERATIONS)
async def test_every_operation_refuses_a_traversing_id(
    emu: Emulator, provider: str, operation: str
) -> None:
    for batch_id in ("../files", "batches/../files", "x?y=1", "", None):
        with pytest.raises(ConfigurationError, match="batch_id"):
            await _call(provider, operation, batch_id, emu)
    assert emu.requests() == []


@pytest.mark.parametrize("batch_id", ["batches/nope", "nope", "batches/a-b_c.1"])
async def test_gemini_resource_names_still_work(emu: Emulator, batch_id: str) -> None:
    """Gemini's ids are resource names (``batches/abc``): the name or its id part, one path
    segment under ``/batches/``."""
    with pytest.raises(NotFoundError):
        await _call("gemini", "retrieve", batch_id, emu)
    expected = "/v1beta/batches/" + batch_id.removeprefix("batches/")
    assert [r["path"].removeprefix("/gemini") for r in emu.requests()] == [expected]


@pytest.mark.parametrize("batch_id", ["a:b", "é", "a+b=c", "batch_~1"])
async def test_other_characters_are_sent_percent_encoded_in_one_segment(
    emu: Emulator, batch_id: str
) -> None:
    with pytest.raises(NotFoundError, match=re.escape(f"No batch found with id '{batch_id}'")):
        await _call("openai", "retrieve", batch_id, emu)
    assert [r["path"] for r in emu.requests()] == [f"/v1/batches/{batch_id}"]


async def test_a_gemini_id_cannot_name_a_custom_method(emu: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="contains ':'"):
        await _call("gemini", "retrieve", "batches/x:cancel", emu)
    assert emu.requests() == []


def _hostile_batch(provider: str, field: str, evil: str) -> tuple[str, str, dict[str, Any]]:
    """(api_base suffix, retrieve path, batch JSON) with ``evil`` as the file id ``field``."""
    when = "2026-12-08T01:47:53Z"
    if provider == "mistral":
        job = {
            "id": "b1",
            "object": "batch",
            "input_files": ["file-in"],
            "endpoint": CHAT,
            "model": MODELS["mistral"],
            "output_file": evil,
            "error_file": None,
            "errors": [],
            "status": "SUCCESS",
            "created_at": 1796694473,
            "total_requests": 1,
            "completed_requests": 1,
            "succeeded_requests": 1,
            "failed_requests": 0,
        }
        return "", "/v1/batch/jobs/b1", job
    if provider == "together":
        job = {
            "id": "b1",
            "input_file_id": "file-in",
            "status": "COMPLETED",
            "created_at": when,
            "completed_at": when,
            "endpoint": CHAT,
            "output_file_id": evil,
            "error_file_id": None,
        }
        return "/v1", "/v1/batches/b1", job
    if provider == "gemini":
        meta = {
            "name": "batches/b1",
            "displayName": "x",
            "model": f"models/{MODELS['gemini']}",
            "createTime": when,
            "endTime": when,
            "state": "BATCH_STATE_SUCCEEDED",
            "batchStats": {"requestCount": "1", "successfulRequestCount": "1"},
            "output": {"responsesFile": evil},
        }
        operation = {
            "name": "batches/b1",
            "metadata": meta,
            "done": True,
            "response": {"responsesFile": evil},
        }
        return "", "/v1beta/batches/b1", operation
    batch: dict[str, Any] = {
        "id": "b1",
        "object": "batch",
        "endpoint": CHAT,
        "input_file_id": "file-in",
        "completion_window": "24h",
        "status": "completed",
        "output_file_id": None,
        "error_file_id": None,
        "created_at": 1796694473,
        "request_counts": {"total": 1, "completed": 1, "failed": 0},
    }
    batch[field] = evil
    return "/v1", "/v1/batches/b1", batch


HOSTILE = [
    ("openai", "output_file_id"),
    ("openai", "error_file_id"),
    ("openai", "input_file_id"),
    ("mistral", "output_file_id"),
    ("together", "output_file_id"),
    ("gemini", "responsesFile"),
]


@pytest.mark.parametrize(("provider", "field"), HOSTILE)
@pytest.mark.parametrize("evil", ["../../batches/x", "file-1?purpose=x", "..", "files/../x"])
async def test_a_crafted_file_id_from_the_server_is_not_followed(
    provider: str, field: str, evil: str
) -> None:
    suffix, route, batch = _hostile_batch(provider, field, evil)
    with HostileServer(route, batch) as server:
        with pytest.raises(APIResponseValidationError) as info:
            await aretrieve_batch_results(
                provider,
                "b1",
                api_key=KEY,
                api_base=server.url + suffix,
                client_args=client_args(),
            )
        seen = server.seen
    # The batch was read (and its input, for its custom_ids); no request used the crafted id.
    assert [s for s in seen if "/file-in/" not in s] == [f"GET {route}"]
    assert "not putting it in a request path" in str(info.value)
    assert field in str(info.value) or provider == "gemini"


async def test_a_crafted_together_file_id_header_is_not_followed(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    write_requests(path, 2, model=MODELS["together"])
    with PresignedTrap() as server:
        with pytest.raises(APIResponseValidationError, match="X-Together-File-Id"):
            await acreate_batch(
                "together",
                path,
                CHAT,
                api_key=KEY,
                api_base=f"{server.url}/v1",
                client_args=client_args(),
            )
        seen = server.seen
    assert seen == ["POST /v1/files/upload"]  # neither the PUT nor the preprocess was sent


# item 12: one value per header name


def _values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name.lower()]


@pytest.mark.parametrize(
    ("provider", "suffix", "name"),
    [
        ("openai", "/v1", "authorization"),
        ("openai", "/v1", "AUTHORIZATION"),
        ("anthropic", "", "X-Api-Key"),
        ("gemini", "", "X-GOOG-API-KEY"),
        ("azureopenai", "", "Api-Key"),
        ("mistral", "", "authorization"),
    ],
)
async def test_default_headers_replace_the_auth_header_whatever_its_case(
    provider: str, suffix: str, name: str
) -> None:
    """``default_headers`` override the SDK's own headers (as in the openai SDK), whatever
    the case of their names: the server receives one of each, the caller's."""
    args = client_args(default_headers={name: "caller-value"})
    with HeaderRecorder() as server:
        llm = AnyLLM.create(provider, api_key=KEY, api_base=server.url + suffix, client_args=args)
        try:
            with pytest.raises(NotFoundError):
                await llm.aretrieve_batch("batch_1")
        finally:
            await llm.aclose()
        seen = server.seen
    assert len(seen) == 1
    assert _values(seen[0], name) == ["caller-value"]
    assert not any(KEY in value for _, value in seen[0])


async def test_a_default_content_type_does_not_double_the_request_s_own(tmp_path: Path) -> None:
    """The request's own headers (the upload's multipart Content-Type) win over
    ``default_headers``; still one of each."""
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", '
        '"body": {"model": "gpt-4o-mini", "messages": []}}\n'
    )
    with HeaderRecorder() as server:
        args = client_args(default_headers={"content-type": "text/plain", "x-team": "a"})
        with pytest.raises(NotFoundError):
            await acreate_batch(
                "openai", path, CHAT, api_key=KEY, api_base=f"{server.url}/v1", client_args=args
            )
        seen = server.seen
    assert len(seen) == 1
    content_type = _values(seen[0], "Content-Type")
    assert len(content_type) == 1 and content_type[0].startswith("multipart/form-data")
    assert len(_values(seen[0], "Content-Length")) == 1
    assert _values(seen[0], "X-Team") == ["a"]
    assert len(_values(seen[0], "Authorization")) == 1


# item 13: a failing upload progress callback


class CallbackError(Exception):
    """Raised by the caller's progress callback."""


class CallbackPipeError(BrokenPipeError):
    """Raised by a progress bar writing to a closed pipe: an OSError, not a connection's."""


def _big_input(path: Path, provider: str) -> None:
    """About 3 MiB in 30 requests, so the upload (or create body) takes several chunks."""
    import json

    filler = "x" * 100_000
    with path.open("w", encoding="utf-8") as out:
        for i in range(30):
            body = {
                "model": MODELS[provider],
                "messages": [{"role": "user", "content": f"{i} {filler}"}],
                "max_tokens": 5,
            }
            line = {"custom_id": f"r{i}", "method": "POST", "url": CHAT, "body": body}
            out.write(json.dumps(line) + "\n")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("error", [CallbackError, CallbackPipeError])
async def test_a_failing_upload_progress_callback_is_raised_once(
    emu: Emulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    provider: str,
    error: type[Exception],
) -> None:
    path = tmp_path / "in.jsonl"
    _big_input(path, provider)
    calls: list[int] = []
    raised: list[Exception] = []

    def progress(size: int) -> None:
        calls.append(size)
        if len(calls) == 2:  # after a first chunk was sent
            raised.append(error("the progress bar broke"))
            raise raised[0]

    caplog.set_level(logging.WARNING, logger="any_llm")
    with pytest.raises(error) as info:
        await acreate_batch(
            provider,
            path,
            CHAT,
            api_key=KEY,
            api_base=emu.api_base(provider),
            client_args=client_args(),
            on_upload_progress=progress,
        )
    assert info.value is raised[0]  # the callback's own exception, untouched
    assert len(calls) == 2  # raised once: no retry read the file again
    assert "retrying" not in caplog.text
    cut = await _cut_post(emu)
    sent = [r for r in emu.requests() if r["method"] == "POST"]
    assert sent == [cut]  # one upload (or create) request, cut off
    assert emu.files() == []  # the upload never completed: nothing stored
    assert emu.batches() == []


async def _cut_post(emu: Emulator) -> LoggedRequest:
    """The POST the emulator saw cut off, once it is logged (the server logs a cut request
    when it notices the closed connection)."""
    for _ in range(1000):
        cut = [r for r in emu.requests() if r["method"] == "POST" and r["status"] is None]
        if cut:
            return cut[0]
        await asleep(0.01)
    raise AssertionError(f"no cut POST among {[(r['method'], r['path']) for r in emu.requests()]}")
