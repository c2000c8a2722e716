"""Bad arguments (issue 11, items 11 and 14): a table of concrete values, each refused with one
of our errors naming the argument and what is accepted, before any request (the emulator's
request log stays empty), through the module functions and the client's methods alike."""

from __future__ import annotations

import os
import re
import socket
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

from any_llm import (
    AnyLLM,
    acreate_batch,
    aiter_batch_results,
    aiter_batches,
    alist_batches,
    aretrieve_batch_results,
)
from any_llm._providers import IDEMPOTENCY_KEY
from any_llm.emulator import Emulator
from any_llm.errors import AnyLLMError, ConfigurationError, InputFileError, InvalidArgumentError
from tests.helpers import CHAT, KEY, client_args, write_requests

MODELS = {
    "openai": "gpt-4o-mini",
    "mistral": "mistral-small-latest",
    "anthropic": "claude-3-5-haiku-latest",
    "gemini": "gemini-2.5-flash",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "groq": "llama-3.1-8b-instant",
}
ALL = tuple(MODELS)
CONFIG = frozenset({"api_key", "api_base", "client_args"})
"""Arguments of ``AnyLLM.create`` (the others go to the call)."""


@attrs.frozen
class Case:
    name: str
    operation: str
    """create, list, iter or results."""
    kwargs: dict[str, Any]
    match: str
    providers: tuple[str, ...] = ("openai",)
    error: type[AnyLLMError] = InvalidArgumentError


def create(name: str, match: str, providers: tuple[str, ...] = ("openai",), **kw: Any) -> Case:
    return Case(name, "create", kw, match, providers)


LIMIT = "limit must be an int >= 1"
AFTER = "after must be a non-empty string"
PATH = "input_file_path must be a str or os.PathLike path"
CASES = [
    create("metadata as pairs", "metadata must be a dict", metadata=[("a", "b")]),
    create("metadata as a string", "metadata must be a dict", ALL, metadata="a=b"),
    create("metadata int value", "metadata keys and values must be strings", metadata={"a": 1}),
    create("metadata int key", "metadata keys and values must be strings", metadata={1: "a"}),
    create(
        "the reserved metadata key",
        f"metadata key '{IDEMPOTENCY_KEY}' is reserved",
        ("openai", "mistral", "groq"),
        metadata={IDEMPOTENCY_KEY: "mine"},
    ),
    create("input_file_path None", PATH, ALL, input_file_path=None),
    create("input_file_path bytes", PATH, ALL, input_file_path=b"requests.jsonl"),
    create("input_file_path int", PATH, input_file_path=3),
    create("input_file_path empty", "input_file_path is empty", input_file_path=""),
    create("input_file_path with NUL", "contains a NUL", input_file_path="a\x00.jsonl"),
    create("endpoint None", "endpoint must be a string", ALL, endpoint=None),
    create("endpoint a list", "endpoint must be a string", endpoint=[CHAT]),
    create("completion_window int", "completion_window must be a string", ALL, window=24),
    create("completion_window None", "completion_window must be a string", window=None),
    create(
        "an extra argument that is no JSON",
        "keyword argument purpose= cannot be sent as JSON",
        ALL,
        purpose=object(),
    ),
    create(
        "on_upload_progress not callable",
        "on_upload_progress must be a callable",
        ALL,
        on_upload_progress=5,
    ),
    create("api_key with CR/LF", "api_key holds a line break", ALL, api_key=KEY + "\r\nX-A: 1"),
    create("api_key with a newline", "api_key holds a line break", api_key=KEY + "\n"),
    create("api_key with a control character", "api_key holds a control", api_key=KEY + "\x01"),
    create("api_key not ASCII", "api_key holds a non-ASCII character", api_key=KEY + "é"),
    create("api_key bytes", "api_key must be a string, got bytes", api_key=KEY.encode()),
    create("api_key an int", "api_key must be a string, got int", api_key=1234),
    create(
        "default header with CR/LF",
        "default_headers'\\]\\['X-Team'\\] holds a line break",
        client_args=client_args(default_headers={"X-Team": "a\r\nX-Injected: 1"}),
    ),
    create(
        "default header name with a space",
        "is not a valid HTTP header name",
        client_args=client_args(default_headers={"X Team": "a"}),
    ),
    create("api_base an int", "api_base must be a string URL, got int", api_base=8080),
    *[
        Case(f"limit {value!r}", operation, {"limit": value}, LIMIT, ALL)
        for value in ("10", 0, -5, 2.5, True)
        for operation in ("list", "iter")
    ],
    *[Case(f"after {value!r}", "list", {"after": value}, AFTER, ALL) for value in (5, b"x", "")],
    Case("batch an int", "results", {"batch": 5}, "batch_id must be a string", ALL),
    Case("results input_file_path int", "results", {"input_file_path": 5}, PATH),
    Case(
        "results input_file_path missing",
        "results",
        {"input_file_path": "missing.jsonl"},
        "file not found",
        error=InputFileError,
    ),
]
PARAMS = [
    pytest.param(case, provider, via, id=f"{case.name}-{provider}-{via}")
    for case in CASES
    for provider in case.providers
    for via in ("function", "client")
]


async def _call(
    case: Case, provider: str, via: str, emu: Emulator, tmp_path: Path, **overrides: Any
) -> Any:
    """Make the case's call through the module function or a client's method."""
    config: dict[str, Any] = {
        "api_key": KEY,
        "api_base": emu.api_base(provider),
        "client_args": client_args(),
    }
    kwargs = {**case.kwargs, **overrides}
    config.update({k: v for k, v in kwargs.items() if k in CONFIG})
    kwargs = {k: v for k, v in kwargs.items() if k not in CONFIG}
    if case.operation == "create":
        path = tmp_path / "requests.jsonl"
        write_requests(path, 2, model=MODELS[provider], max_tokens=5)
        file = kwargs.pop("input_file_path", path)
        endpoint = kwargs.pop("endpoint", CHAT)
        kwargs.setdefault("completion_window", kwargs.pop("window", "24h"))
        if via == "function":
            return await acreate_batch(provider, file, endpoint, **config, **kwargs)
        async with AnyLLM.create(provider, **config) as llm:
            return await llm.acreate_batch(file, endpoint, **kwargs)
    if case.operation == "results":
        batch = kwargs.pop("batch", "batch_1")
        if "input_file_path" in kwargs and isinstance(kwargs["input_file_path"], str):
            kwargs["input_file_path"] = tmp_path / kwargs["input_file_path"]
        if via == "function":
            return await aretrieve_batch_results(provider, batch, **config, **kwargs)
        async with AnyLLM.create(provider, **config) as llm:
            return [item async for item in llm.aiter_batch_results(batch, **kwargs)]
    if case.operation == "list":
        if via == "function":
            return await alist_batches(provider, **config, **kwargs)
        async with AnyLLM.create(provider, **config) as llm:
            return await llm.alist_batches(**kwargs)
    assert case.operation == "iter"
    if via == "function":
        return [b async for b in aiter_batches(provider, **config, **kwargs)]
    async with AnyLLM.create(provider, **config) as llm:
        return [b async for b in llm.aiter_batches(**kwargs)]


def test_the_table_covers_the_issue() -> None:
    assert len(CASES) >= 40
    assert len({case.name + case.operation for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "provider", "via"), PARAMS)
async def test_a_bad_argument_is_refused_before_any_request(
    emu: Emulator, tmp_path: Path, case: Case, provider: str, via: str
) -> None:
    with pytest.raises(case.error, match=case.match) as info:
        await _call(case, provider, via, emu, tmp_path)
    assert type(info.value) is case.error
    message = str(info.value)
    assert message.startswith(f"{provider}: ") or isinstance(info.value, InputFileError)
    assert KEY not in message and KEY not in repr(info.value)
    assert emu.requests() == []


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
async def test_a_key_with_a_line_break_in_the_environment_is_named_not_shown(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    variable = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}.get(
        provider, "GEMINI_API_KEY"
    )
    monkeypatch.setenv(variable, f"{KEY}\r\nX-Injected: 1")
    case = create("env key", "")
    with pytest.raises(ConfigurationError, match=f"the {variable} environment variable holds"):
        await _call(case, provider, "function", emu, tmp_path, api_key=None)
    assert emu.requests() == []


async def test_gemini_strips_a_trailing_newline_as_its_sdk_does(
    emu: Emulator, tmp_path: Path
) -> None:
    """Gemini's SDK strips whitespace from the key; the key check judges what is sent."""
    case = Case("list", "list", {}, "")
    page = await _call(case, "gemini", "function", emu, tmp_path, api_key=KEY + "\n")
    assert list(page) == []
    assert len(emu.requests()) == 1


# item 14: not a regular file


@contextmanager
def _unblocking(path: Path) -> Iterator[None]:
    """If the code under test opens the FIFO ``path`` for reading (which blocks until a
    writer comes), open it for writing after 5 s, so that the test fails instead of hanging."""
    done = threading.Event()

    def watchdog() -> None:
        if done.wait(5):
            return
        while not done.is_set():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader (yet)
                done.wait(0.05)
                continue
            os.close(fd)
            return

    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(10)


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _socket(path: Path) -> Path:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


SPECIAL = [
    ("a FIFO", _fifo, "is a FIFO (named pipe), not a regular file"),
    ("/dev/zero", lambda _: Path("/dev/zero"), "is a device, not a regular file"),
    ("/dev/null", lambda _: Path("/dev/null"), "is a device, not a regular file"),
    ("a directory", _directory, "is a directory, not a regular file"),
    ("a socket", _socket, "is a socket, not a regular file"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("provider", ["openai", "mistral", "anthropic"])
@pytest.mark.parametrize(("name", "make", "match"), SPECIAL, ids=[s[0] for s in SPECIAL])
@pytest.mark.parametrize("operation", ["create", "results"])
async def test_an_input_that_is_not_a_regular_file_is_refused_unopened(
    emu: Emulator, tmp_path: Path, provider: str, name: str, make: Any, match: str, operation: str
) -> None:
    path = make(tmp_path / "special")
    case = Case(name, operation, {"input_file_path": path}, match)
    with _unblocking(path), pytest.raises(InputFileError, match=re.escape(match)) as info:
        await _call(case, provider, "function", emu, tmp_path)
    assert info.value.path == str(path)
    assert info.value.line is None
    assert emu.requests() == []
    if name == "a FIFO":
        assert stat.S_ISFIFO(os.stat(path).st_mode)


async def test_results_still_take_a_regular_input_file(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 3)
    common: dict[str, Any] = {
        "api_key": KEY,
        "api_base": emu.api_base(),
        "client_args": client_args(),
    }
    batch = await acreate_batch("openai", path, CHAT, **common)
    items = [
        item
        async for item in aiter_batch_results("openai", batch.id, input_file_path=path, **common)
    ]
    assert sorted(item.custom_id for item in items) == sorted(ids)
