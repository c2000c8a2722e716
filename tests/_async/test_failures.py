"""Bad input, missing configuration, HTTP errors and retries, against the emulator."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from any_llm import AnyLLM, acreate_batch, aretrieve_batch
from any_llm.emulator import Emulator, Fault
from any_llm.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InputFileError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    UnsupportedProviderError,
)
from any_llm.types import BatchResultStatus, BatchStatus
from tests._async.waits import aborted_uploads
from tests.helpers import CHAT, KEY, Redirector, client_args, sha256, write_requests


def _line(custom_id: object = "a", *, url: str = CHAT, model: object = "gpt-4o-mini") -> str:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})


BAD_INPUTS = [
    ("empty", b"", None, "empty"),
    ("bom", b"\xef\xbb\xbf" + _line().encode() + b"\n", 1, "byte order mark"),
    ("not json", b"{not json}\n", 1, "not valid JSON"),
    ("not an object", b"[1, 2]\n", 1, "expected a JSON object"),
    ("blank line", (_line("a") + "\n\n" + _line("b") + "\n").encode(), 2, "blank line"),
    ("no custom_id", (_line(None) + "\n").encode(), 1, "custom_id"),
    ("empty custom_id", (_line("") + "\n").encode(), 1, "custom_id"),
    ("duplicate", (_line("a") + "\n" + _line("a") + "\n").encode(), 2, "duplicate custom_id"),
    ("wrong url", (_line(url="/v1/embeddings") + "\n").encode(), 1, "does not match"),
    ("no model", (_line(model=None) + "\n").encode(), 1, "body.model"),
    (
        "mixed models",
        (_line("a") + "\n" + _line("b", model="gpt-4o") + "\n").encode(),
        2,
        "one model per file",
    ),
    ("not utf-8", b'{"custom_id": "\xff"}\n', 1, "not valid UTF-8"),
    (
        "method",
        b'{"custom_id": "a", "method": "GET", "url": "/v1/chat/completions", "body": {}}\n',
        1,
        "method must be 'POST'",
    ),
]


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
async def test_bad_input_is_refused_before_any_request(
    emu: Emulator, tmp_path: Path, content: bytes, line: int | None, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as info:
        await acreate_batch(
            "openai", path, CHAT, api_key=KEY, api_base=f"{emu.url}/v1", client_args=client_args()
        )
    assert info.value.path == str(path)
    assert info.value.line == line
    assert str(path) in str(info.value)
    assert emu.requests() == []


async def test_missing_file_and_directory(emu: Emulator, tmp_path: Path) -> None:
    common: dict[str, Any] = {"api_key": KEY, "api_base": f"{emu.url}/v1"}
    with pytest.raises(InputFileError, match="file not found"):
        await acreate_batch("openai", tmp_path / "nope.jsonl", CHAT, **common)
    with pytest.raises(InputFileError, match="is a directory"):
        await acreate_batch("openai", tmp_path, CHAT, **common)
    with pytest.raises(InputFileError, match="does not batch endpoint"):
        await acreate_batch("openai", tmp_path / "nope.jsonl", "/v1/unknown", **common)
    assert emu.requests() == []


async def test_over_the_request_limit(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    write_requests(path, 50_001)
    with pytest.raises(InputFileError, match="more than 50,000 requests") as info:
        await acreate_batch("openai", path, CHAT, api_key=KEY, api_base=f"{emu.url}/v1")
    assert info.value.line == 50_001
    # Found while the file was sent (past its first MiB): the upload was cut, nothing stored.
    assert len(await aborted_uploads(emu)) == 1
    assert [r["path"] for r in emu.requests()] == ["/v1/files"]
    assert emu.files() == []


async def test_missing_key_and_unknown_provider(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = tmp_path / "r.jsonl"
    write_requests(path, 1)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        await acreate_batch("openai", path, CHAT)
    with pytest.raises(
        UnsupportedProviderError, match="supported providers: openai, mistral, anthropic, gemini"
    ):
        await acreate_batch("nope", path, CHAT, api_key=KEY)
    with pytest.raises(ConfigurationError, match="completion_window"):
        await acreate_batch("openai", path, CHAT, api_key=KEY, completion_window="48h")
    with pytest.raises(ConfigurationError, match="unknown client_args"):
        AnyLLM.create("openai", api_key=KEY, client_args={"bogus": 1})


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({"max_retries": "x"}, r"client_args\['max_retries'\] must be an int >= 0, got 'x'"),
        ({"max_retries": -1}, r"client_args\['max_retries'\] must be an int >= 0"),
        ({"max_connections": None}, r"client_args\['max_connections'\] must be an int >= 1"),
        ({"timeout": "10"}, r"client_args\['timeout'\] must be a number of seconds"),
        ({"connect_timeout": 0}, r"client_args\['connect_timeout'\] must be a number"),
        ({"default_headers": [1]}, r"client_args\['default_headers'\] must map header names"),
    ],
)
def test_bad_client_args_name_the_argument(args: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        AnyLLM.create("openai", api_key=KEY, client_args=args)


async def test_key_from_environment(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with pytest.raises(NotFoundError):
        await aretrieve_batch("openai", "batch_nope", api_base=f"{emu.url}/v1")
    sent = emu.requests()[-1]["headers"]
    assert {k.lower(): v for k, v in sent.items()}["authorization"] == f"Bearer {KEY}"


async def test_status_errors_name_provider_path_and_status(emu: Emulator) -> None:
    with pytest.raises(NotFoundError) as info:
        await aretrieve_batch("openai", "batch_nope", api_key=KEY, api_base=f"{emu.url}/v1")
    message = str(info.value)
    assert "openai" in message and "/v1/batches/batch_nope" in message and "404" in message
    assert info.value.status_code == 404
    assert KEY not in message and KEY not in repr(info.value)
    assert len(emu.requests()) == 1  # a 4xx is never retried


async def test_429_and_5xx_are_retried(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    emu.add_fault(
        Fault(method="POST", path="/v1/files", status=429, headers={"Retry-After": "0"}, times=2)
    )
    emu.add_fault(Fault(method="POST", path="/v1/batches", status=503, times=1))
    caplog.set_level(logging.WARNING, logger="any_llm")
    batch = await acreate_batch(
        "openai", path, CHAT, api_key=KEY, api_base=f"{emu.url}/v1", client_args=client_args()
    )
    assert batch.status is BatchStatus.VALIDATING
    statuses = [(r["method"], r["path"], r["status"]) for r in emu.requests()]
    assert statuses == [
        ("POST", "/v1/files", 429),
        ("POST", "/v1/files", 429),
        ("POST", "/v1/files", 200),
        ("POST", "/v1/batches", 503),
        ("GET", "/v1/batches", 200),  # did the failed create make a batch after all? no
        ("POST", "/v1/batches", 200),
    ]
    assert len(emu.batches()) == 1
    assert "retrying" in caplog.text and "/v1/files" in caplog.text
    assert KEY not in caplog.text


async def test_retry_after_beyond_the_cap_is_raised(emu: Emulator) -> None:
    emu.add_fault(
        Fault(method="GET", path="/v1/batches/*", status=429, headers={"Retry-After": "3600"})
    )
    with pytest.raises(RateLimitError) as info:
        await aretrieve_batch(
            "openai", "batch_x", api_key=KEY, api_base=f"{emu.url}/v1", client_args=client_args()
        )
    assert info.value.retry_after == 3600
    assert "the server asks to wait 3600 s" in str(info.value)
    assert len(emu.requests()) == 1


async def test_retries_give_up_after_max_attempts(emu: Emulator) -> None:
    emu.add_fault(Fault(method="GET", path="/v1/batches/*", status=500))
    with pytest.raises(InternalServerError, match="HTTP 500"):
        await aretrieve_batch(
            "openai",
            "batch_x",
            api_key=KEY,
            api_base=f"{emu.url}/v1",
            client_args=client_args(max_retries=2),
        )
    assert len(emu.requests()) == 3


async def test_reset_mid_upload_is_retried_and_bytes_are_identical(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2000)
    emu.add_fault(Fault(method="POST", path="/v1/files", kind="reset_mid_upload", times=1))
    batch = await acreate_batch(
        "openai", path, CHAT, api_key=KEY, api_base=f"{emu.url}/v1", client_args=client_args()
    )
    uploads = [r for r in emu.requests() if (r["method"], r["path"]) == ("POST", "/v1/files")]
    assert len(uploads) == 2  # the reset attempt, then the retry
    files = [f for f in emu.files() if f["purpose"] == "batch"]
    assert [f["id"] for f in files] == [batch.input_file_id]
    assert files[0]["sha256"] == sha256(path)
    assert files[0]["bytes"] == path.stat().st_size


async def test_reset_mid_download_yields_no_item_twice(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    ids = write_requests(path, 3000)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=f"{emu.url}/v1", client_args=client_args()
    ) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
        emu.add_fault(
            Fault(
                method="GET",
                path=f"/v1/files/{batch.output_file_id}/content",
                kind="reset_mid_download",
                times=1,
            )
        )
        items = [item.custom_id async for item in llm.aiter_batch_results(batch)]
    output = f"/v1/files/{batch.output_file_id}/content"
    downloads = [r for r in emu.requests() if r["path"] == output]
    assert len(downloads) == 2  # broken once, restarted once
    assert sorted(items) == sorted(ids)
    assert len(items) == len(set(items))


async def test_connection_refused_is_a_connection_error(tmp_path: Path) -> None:
    with pytest.raises(APIConnectionError, match="openai: GET /v1/batches/batch_x failed"):
        await aretrieve_batch(
            "openai",
            "batch_x",
            api_key=KEY,
            api_base="http://127.0.0.1:9/v1",
            client_args=client_args(max_retries=1),
        )


async def test_create_failure_deletes_the_uploaded_file(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2)
    emu.add_fault(Fault(method="POST", path="/v1/batches", status=400))
    with pytest.raises(BadRequestError):
        await acreate_batch("openai", path, CHAT, api_key=KEY, api_base=f"{emu.url}/v1")
    assert emu.files() == []
    assert emu.requests()[-1]["method"] == "DELETE"


async def test_key_never_in_repr(emu: Emulator) -> None:
    llm = AnyLLM.create("openai", api_key=KEY, api_base=f"{emu.url}/v1")
    async with llm:
        assert KEY not in repr(llm)
        assert KEY not in repr(llm.config)


async def test_authentication_error(auth_emu: Emulator) -> None:
    with pytest.raises(AuthenticationError, match="check the API key"):
        await aretrieve_batch(
            "openai", "batch_x", api_key="sk-wrong", api_base=f"{auth_emu.url}/v1"
        )


async def test_ambiguous_create_failure_creates_exactly_one_batch(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    # The batch is created, then the connection drops before the answer: the client cannot tell.
    emu.add_fault(Fault(method="POST", path="/v1/batches", kind="reset_after", times=1))
    batch = await acreate_batch(
        "openai",
        path,
        CHAT,
        metadata={"job": "x"},
        api_key=KEY,
        api_base=f"{emu.url}/v1",
        client_args=client_args(),
    )
    assert [b["id"] for b in emu.batches()] == [batch.id]
    assert batch.metadata is not None and batch.metadata["job"] == "x"
    creates = [r for r in emu.requests() if (r["method"], r["path"]) == ("POST", "/v1/batches")]
    assert len(creates) == 1


async def test_metadata_over_the_limit_is_refused(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 1)
    metadata = {f"k{i}": "v" for i in range(16)}
    with pytest.raises(ConfigurationError, match="at most 15"):
        await acreate_batch("openai", path, CHAT, metadata=metadata, api_key=KEY, api_base=emu.url)
    assert emu.requests() == []


async def test_redirect_to_another_origin_drops_the_key(emu: Emulator) -> None:
    with Redirector(emu.url) as redirector, pytest.raises(AuthenticationError):
        await aretrieve_batch("openai", "batch_x", api_key=KEY, api_base=f"{redirector.url}/v1")
    [seen] = emu.requests()  # the redirect was followed ...
    assert seen["path"] == "/v1/batches/batch_x"
    assert "authorization" not in {name.lower() for name in seen["headers"]}  # ... keyless


async def test_a_redirect_loop_ends_with_a_clear_error() -> None:
    with Redirector("") as redirector:
        redirector.target = redirector.url  # every answer sends the client back to itself
        with pytest.raises(APIError, match=r"more than 5 redirects.*check api_base") as info:
            await aretrieve_batch("openai", "batch_x", api_key=KEY, api_base=f"{redirector.url}/v1")
    assert info.value.url == f"{redirector.url}/v1/batches/batch_x"


async def test_tls_is_verified_by_default(tls_emu: Emulator, tls_ca: Any, tmp_path: Path) -> None:
    import ssl

    assert tls_emu.url.startswith("https://")
    with pytest.raises(APIConnectionError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
        await aretrieve_batch(
            "openai",
            "batch_x",
            api_key=KEY,
            api_base=tls_emu.api_base(),
            client_args=client_args(max_retries=0),
        )
    assert tls_emu.requests() == []  # refused before any request was sent
    bundle = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(bundle))
    trusted = ssl.create_default_context(cafile=str(bundle))
    with pytest.raises(NotFoundError):  # the connection is accepted: the API answers
        await aretrieve_batch(
            "openai",
            "batch_x",
            api_key=KEY,
            api_base=tls_emu.api_base(),
            client_args=client_args(ssl_context=trusted),
        )


async def test_key_never_in_tracebacks_locals(emu: Emulator, tmp_path: Path) -> None:
    import traceback

    path = tmp_path / "r.jsonl"
    write_requests(path, 2)
    emu.add_fault(Fault(method="POST", path="/v1/batches", status=400))

    async def create() -> None:
        await acreate_batch("openai", path, CHAT, api_key=KEY, api_base=emu.api_base())

    async def retrieve() -> None:
        await aretrieve_batch(
            "openai",
            "batch_x",
            api_key=KEY,
            api_base="http://127.0.0.1:9/v1",
            client_args=client_args(max_retries=0),
        )

    failures: list[BaseException] = []
    for call in (create, retrieve):
        try:
            await call()
        except APIError as exc:
            failures.append(exc)
    assert len(failures) == 2
    for failure in failures:
        ours: list[tuple[str, str, str]] = []  # (function, local, value) in any_llm's frames
        chain: traceback.TracebackException | None = traceback.TracebackException.from_exception(
            failure, capture_locals=True
        )
        while chain is not None:
            for frame in chain.stack:
                if "/any_llm" in frame.filename.replace("\\", "/"):
                    ours += [(frame.name, k, v) for k, v in (frame.locals or {}).items()]
            chain = chain.__cause__ or chain.__context__
        assert ours, "no frame of ours was captured"
        leaks = [(name, local) for name, local, value in ours if KEY in value]
        # Only the caller's own argument to the entry point holds the key: no local of ours.
        assert set(leaks) <= {("acreate_batch", "api_key"), ("aretrieve_batch", "api_key")}


async def test_malformed_result_lines_do_not_end_the_result_set(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "r.jsonl"
    ids = write_requests(path, 6)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    ) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
        assert batch.output_file_id is not None
        output = emu.store.file_path(batch.output_file_id)
        assert output is not None
        lines = output.read_bytes().splitlines()
        broken = {json.loads(lines[0])["custom_id"], json.loads(lines[1])["custom_id"]}
        lines[0] = lines[0][: len(lines[0]) // 2]  # cut: its custom_id cannot be read
        lines[1] = json.dumps({"custom_id": json.loads(lines[1])["custom_id"]}).encode()
        output.write_bytes(b"\n".join([b"{garbage", *lines]) + b"\n")
        items = [item async for item in llm.aiter_batch_results(batch)]
    assert sorted(item.custom_id for item in items) == sorted(ids)
    statuses = {item.custom_id: item.status for item in items}
    assert sum(s is BatchResultStatus.SUCCEEDED for s in statuses.values()) == 4
    assert sorted(str(statuses[i]) for i in broken) == ["failed", "missing"]
    assert "result line is not JSON" in caplog.text


@pytest.mark.parametrize(
    ("provider", "variable"),
    [
        ("openai", "OPENAI_BASE_URL"),
        ("anthropic", "ANTHROPIC_BASE_URL"),
        ("gemini", "GOOGLE_GEMINI_BASE_URL"),
        ("groq", "GROQ_BASE_URL"),
        ("azureopenai", "AZURE_OPENAI_ENDPOINT"),
    ],
)
async def test_api_base_from_the_sdks_environment_variable(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, provider: str, variable: str
) -> None:
    monkeypatch.setenv(variable, emu.api_base(provider))
    with pytest.raises(NotFoundError):
        await aretrieve_batch(provider, "nope", api_key=KEY)  # an id, not a path
    assert len(emu.requests()) == 1  # the emulator was reached without api_base=
