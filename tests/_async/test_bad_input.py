"""Bad input: a table of concrete cases, each refused with its own clear error before any
request is sent (the emulator's request log stays empty), or, for a problem past the first MiB
of a file sent as is, by cutting the upload before its end (nothing is stored)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from any_llm import acreate_batch
from any_llm.emulator import Emulator
from any_llm.errors import AnyLLMError, ConfigurationError, InputFileError
from tests._async.waits import aborted_uploads
from tests.helpers import CHAT, KEY, client_args, sha256


def line(
    custom_id: Any = "a",
    *,
    model: Any = "gpt-4o-mini",
    url: str = CHAT,
    method: Any = "POST",
    **body: Any,
) -> str:
    content = {"model": model, "messages": [{"role": "user", "content": "hi"}], **body}
    return json.dumps({"custom_id": custom_id, "method": method, "url": url, "body": content})


def text(*lines: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")

    return write


def raw(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def many(count: int, model: str = "gpt-4o-mini", **body: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            for i in range(count):
                out.write(line(f"r{i}", model=model, **body) + "\n")

    return write


def sparse(size: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.touch()
        os.truncate(path, size)  # no disk used

    return write


def directory(path: Path) -> None:
    path.mkdir()


def nothing(path: Path) -> None:
    del path


@attrs.frozen
class Case:
    name: str
    write: Callable[[Path], None]
    match: str
    line: int | None = None
    provider: str = "openai"
    endpoint: str = CHAT
    error: type[AnyLLMError] = InputFileError
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    cuts_upload: bool = False
    """Found past the file's first MiB, while it is sent: the upload is cut before its end."""


HUGE = 64 * 1024 * 1024 + 10
CASES = [
    Case("empty file", raw(b""), "the file is empty"),
    Case("missing file", nothing, "file not found"),
    Case("a directory", directory, "is a directory"),
    Case("BOM", raw(b"\xef\xbb\xbf" + line().encode() + b"\n"), "byte order mark", 1),
    Case("not UTF-8", raw(b'{"custom_id": "\xff\xfe"}\n'), "not valid UTF-8", 1),
    Case("blank line", text(line("a"), "", line("b")), "blank line", 2),
    Case("blank last line", text(line("a"), ""), "blank line", 2),
    Case("spaces only", text(line("a"), "   \t"), "blank line", 2),
    Case("broken JSON", text("{not json}"), "not valid JSON", 1),
    Case("truncated line", raw(line().encode()[:-5] + b"\n"), "not valid JSON", 1),
    Case("array line", text("[1, 2]"), "expected a JSON object, got list", 1),
    Case("string line", text('"hello"'), "expected a JSON object, got str", 1),
    Case("number line", text("42"), "expected a JSON object, got int", 1),
    Case(
        "huge line",
        raw(b"x" * HUGE + b"\n"),
        "longer than 67,108,864 bytes",
        1,
        cuts_upload=True,
    ),
    Case("no custom_id", text(line(None)), "custom_id must be a non-empty string", 1),
    Case("numeric custom_id", text(line(7)), "custom_id must be a non-empty string", 1),
    Case("empty custom_id", text(line("")), "custom_id must be a non-empty string", 1),
    Case("duplicate custom_id", text(line("a"), line("b"), line("a")), "duplicate", 3),
    Case("method GET", text(line(method="GET")), "method must be 'POST'", 1),
    Case("no method", text(line(method=None)), "method must be 'POST'", 1),
    Case("url mismatch", text(line(url="/v1/embeddings")), "does not match", 1),
    Case(
        "body not an object",
        text(json.dumps({"custom_id": "a", "method": "POST", "url": CHAT, "body": []})),
        "body must be a JSON object",
        1,
    ),
    Case(
        "no body",
        text(json.dumps({"custom_id": "a", "method": "POST", "url": CHAT})),
        "body must be a JSON object",
        1,
    ),
    Case("no model", text(line(model=None)), "body.model", 1),
    Case("model not a string", text(line(model=4)), "body.model", 1),
    Case("mixed models", text(line("a"), line("b", model="gpt-4o")), "one model per file", 2),
    Case(
        "unknown endpoint",
        text(line(url="/v1/nope")),
        "does not batch endpoint",
        None,
        "openai",
        "/v1/nope",
    ),
    Case(
        "over 50,000 requests",
        many(50_001),
        "more than 50,000 requests",
        50_001,
        cuts_upload=True,
    ),
    Case("over 200 MB", sparse(200_000_001), "over the provider's limit of 200,000,000 bytes"),
    Case(
        "mistral: mixed models",
        text(line("a", model="mistral-small"), line("b", model="mistral-large")),
        "one model per file",
        2,
        "mistral",
    ),
    Case(
        "mistral: untranslatable field",
        text(line("a", model="mistral-small", logprobs=True)),
        "logprobs",
        1,
        "mistral",
    ),
    Case(
        "anthropic: no max_tokens",
        text(line("a", model="claude-3-5-haiku-latest")),
        "max_tokens",
        1,
        "anthropic",
    ),
    Case(
        "anthropic: custom_id pattern",
        text(line("has space", model="claude-3-5-haiku-latest", max_tokens=5)),
        "custom_ids matching",
        1,
        "anthropic",
    ),
    Case(
        "anthropic: seed",
        text(line("a", model="claude-3-5-haiku-latest", max_tokens=5, seed=1)),
        "seed",
        1,
        "anthropic",
    ),
    Case(
        "gemini: mixed models",
        text(line("a", model="gemini-2.5-flash"), line("b", model="gemini-2.5-pro")),
        "one model per file",
        2,
        "gemini",
    ),
    Case(
        "gemini: logit_bias",
        text(line("a", model="gemini-2.5-flash", logit_bias={"1": 1})),
        "logit_bias",
        1,
        "gemini",
    ),
    Case(
        "together: custom_id over 64 characters",
        text(line("x" * 65, model="meta-llama/Llama-3.3-70B-Instruct-Turbo")),
        "64",
        1,
        "together",
    ),
    Case("cerebras: fewer than 10 requests", many(3), "at least 10", None, "cerebras"),
    Case(
        "openai: completion_window 48h",
        many(1),
        "completion_window '48h'",
        provider="openai",
        error=ConfigurationError,
        kwargs={"completion_window": "48h"},
    ),
    Case(
        "groq: completion_window 8d",
        many(1, model="llama-3.1-8b-instant"),
        "completion_window '8d'",
        provider="groq",
        error=ConfigurationError,
        kwargs={"completion_window": "8d"},
    ),
    Case(
        "anthropic: metadata",
        many(1, model="claude-3-5-haiku-latest", max_tokens=5),
        "carry no metadata",
        provider="anthropic",
        error=ConfigurationError,
        kwargs={"metadata": {"a": "b"}},
    ),
    Case(
        "openai: 16 metadata pairs",
        many(1),
        "at most 15",
        provider="openai",
        error=ConfigurationError,
        kwargs={"metadata": {f"k{i}": "v" for i in range(16)}},
    ),
]


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_bad_input_is_refused_before_any_request(
    emu: Emulator, tmp_path: Path, case: Case
) -> None:
    path = tmp_path / "input.jsonl"
    case.write(path)
    with pytest.raises(case.error, match=case.match) as info:
        await acreate_batch(
            case.provider,
            path,
            case.endpoint,
            api_key=KEY,
            api_base=emu.api_base(case.provider if case.provider != "cerebras" else "openai"),
            client_args=client_args(),
            **case.kwargs,
        )
    if case.cuts_upload:
        assert len(await aborted_uploads(emu)) == 1
        assert [r["path"] for r in emu.requests()] == ["/v1/files"]
        assert emu.files() == []
    else:
        assert emu.requests() == []  # nothing was sent
    error = info.value
    if isinstance(error, InputFileError):
        assert error.path == str(path)
        assert error.line == case.line
        assert str(path) in str(error)
    assert KEY not in str(error)


@pytest.mark.parametrize("ending", [b"\r\n", b"\n"])
async def test_crlf_and_a_missing_last_newline_are_accepted(
    emu: Emulator, tmp_path: Path, ending: bytes
) -> None:
    path = tmp_path / "input.jsonl"
    path.write_bytes(ending.join(line(f"r{i}").encode() for i in range(3)))  # no final newline
    batch = await acreate_batch(
        "openai", path, CHAT, api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    )
    stored = [f for f in emu.files() if f["id"] == batch.input_file_id]
    assert stored[0]["sha256"] == sha256(path)  # sent as it is, byte for byte
