"""A create whose outcome is unknown: never billed twice, never an input deleted under a live
batch, never someone else's batch taken, never an orphan upload (issue 11, items 1, 2, 3, 5)."""

from __future__ import annotations

import json
import logging
import urllib.request
from pathlib import Path
from typing import Any

import attrs
import pytest

from any_llm import acreate_batch, afind_batch, aretrieve_batch
from any_llm._compat import asleep
from any_llm._providers import anthropic as anthropic_wire
from any_llm.emulator import Emulator, Fault
from any_llm.errors import APIConnectionError, BatchMayExistError, ConfigurationError
from any_llm.types import BatchStatus
from tests.helpers import CHAT, KEY, NO_WAIT, client_args, write_requests


def _inputs(emu: Emulator) -> list[dict[str, Any]]:
    """The uploads of ``r.jsonl`` (named ``r.<key>.jsonl``)."""
    return [f for f in emu.files() if f["filename"].startswith("r.")]


def _live(emu: Emulator, provider: str = "openai") -> list[dict[str, Any]]:
    return [b for b in emu.batches(provider) if b["status"] not in ("cancelling", "cancelled")]


async def test_a_lost_answer_on_the_only_attempt_finds_the_batch(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    emu.add_fault(Fault(method="POST", path="/v1/batches", kind="reset_after", times=1))
    batch = await acreate_batch(
        "openai", path, CHAT, api_key=KEY, api_base=emu.api_base(),
        client_args=client_args(max_retries=0),
    )  # fmt: skip
    assert [b["id"] for b in emu.batches()] == [batch.id]
    # The input the batch runs on is still there.
    assert [f["id"] for f in _inputs(emu)] == [batch.input_file_id]


async def test_an_unknown_outcome_raises_with_the_key_and_keeps_the_input(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    # The create commits 0.8 s after the client gave up (0.2 s read timeout), once the only
    # attempt's search has found nothing.
    emu.add_fault(Fault(method="POST", path="/v1/batches", kind="slow_commit", delay=0.8, times=1))
    args = client_args(max_retries=0, timeout=0.2)
    with pytest.raises(BatchMayExistError) as info:
        await acreate_batch(
            "openai", path, CHAT, api_key=KEY, api_base=emu.api_base(), client_args=args
        )
    error = info.value
    assert isinstance(error.idempotency_key, str) and error.idempotency_key in str(error)
    assert f"any-llm batch find {error.idempotency_key}" in str(error)
    assert "find_batch('openai'" in str(error)
    [stored] = _inputs(emu)
    assert error.input_file_id == stored["id"]  # kept: the batch may run on it
    assert error.batch_id is None
    # Later, the batch shows up under its key: found, not created again.
    found = None
    for _ in range(50):
        found = await afind_batch(
            "openai", error.idempotency_key, api_key=KEY, api_base=emu.api_base(),
            client_args=args,
        )  # fmt: skip
        if found is not None:
            break
        await asleep(0.05)
    assert found is not None and found.input_file_id == stored["id"]
    assert len(emu.batches()) == 1


async def test_a_create_slower_than_the_read_timeout_makes_one_batch(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    # Attempt 1 times out at 0.3 s; the server commits it at 1 s. The client keeps looking
    # (create_settle) instead of sending attempt 2 at once.
    emu.add_fault(Fault(method="POST", path="/v1/batches", kind="slow_commit", delay=1.0, times=1))
    retry = attrs.evolve(NO_WAIT, create_settle=4.0)
    batch = await acreate_batch(
        "openai", path, CHAT, api_key=KEY, api_base=emu.api_base(),
        client_args={"retry": retry, "timeout": 0.3},
    )  # fmt: skip
    assert [b["id"] for b in emu.batches()] == [batch.id]
    creates = [r for r in emu.requests() if (r["method"], r["path"]) == ("POST", "/v1/batches")]
    assert len(creates) == 1  # never sent again


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateway_error_while_the_backend_commits_makes_one_batch(
    emu: Emulator, tmp_path: Path, status: int
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    # The gateway answers at once; the backend commits the create 1 s later.
    emu.add_fault(
        Fault(method="POST", path="/v1/batches", kind="gateway", status=status, delay=1.0, times=1)
    )
    retry = attrs.evolve(NO_WAIT, create_settle=4.0)
    batch = await acreate_batch(
        "openai", path, CHAT, api_key=KEY, api_base=emu.api_base(), client_args={"retry": retry}
    )
    assert [b["id"] for b in emu.batches()] == [batch.id]
    creates = [r for r in emu.requests() if (r["method"], r["path"]) == ("POST", "/v1/batches")]
    assert len(creates) == 1  # never sent again


async def test_a_second_batch_with_the_same_key_is_cancelled(
    slow_emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emu = slow_emu  # batches stay validating: the extra one can still be cancelled
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    # No settle time: attempt 1 (read timeout 1 s) commits at 1.3 s, after attempt 2 was sent
    # at about 1 s; attempt 2 answers at about 1.8 s. Two batches carry the key: the one that
    # was not returned is cancelled.
    emu.add_fault(Fault(method="POST", path="/v1/batches", kind="slow_commit", delay=1.3, times=1))
    emu.add_fault(Fault(method="POST", path="/v1/batches", kind="slow_commit", delay=0.8, times=1))
    batch = await acreate_batch(
        "openai", path, CHAT, api_key=KEY, api_base=emu.api_base(),
        client_args=client_args(timeout=1.0),
    )  # fmt: skip
    statuses = {b["id"]: b["status"] for b in emu.batches()}
    assert len(statuses) == 2
    assert statuses.pop(batch.id) not in ("cancelling", "cancelled")
    [(extra, status)] = statuses.items()
    assert status in ("cancelling", "cancelled")
    assert f"batch {extra} also carries idempotency key" in caplog.text


async def test_an_explicit_key_returns_the_batch_that_carries_it(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    common: dict[str, Any] = {
        "api_key": KEY,
        "api_base": emu.api_base(),
        "client_args": client_args(),
    }
    first = await acreate_batch("openai", path, CHAT, idempotency_key="job-7_part-1", **common)
    again = await acreate_batch("openai", path, CHAT, idempotency_key="job-7_part-1", **common)
    assert again.id == first.id
    assert len(emu.batches()) == 1 and len(_inputs(emu)) == 1  # not uploaded twice
    found = await afind_batch("openai", "job-7_part-1", **common)
    assert found is not None and found.id == first.id
    assert await afind_batch("openai", "job-8", **common) is None


@pytest.mark.parametrize("key", ["", "has space", "a/b", "x" * 65, 12])
async def test_a_bad_idempotency_key_is_refused_before_any_request(
    emu: Emulator, tmp_path: Path, key: Any
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 1)
    with pytest.raises(ConfigurationError, match="idempotency_key"):
        await acreate_batch(
            "openai", path, CHAT, idempotency_key=key, api_key=KEY, api_base=emu.api_base()
        )
    assert emu.requests() == []


async def test_anthropic_cannot_find_a_batch_by_key(emu: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="carry no idempotency key"):
        await afind_batch("anthropic", "k", api_key=KEY, api_base=emu.api_base("anthropic"))
    assert emu.requests() == []


async def test_a_refused_connection_is_known_to_have_sent_nothing(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "r.jsonl"
    write_requests(path, 1)
    with pytest.raises(APIConnectionError) as info:
        await acreate_batch(
            "openai", path, CHAT, api_key=KEY, api_base=f"http://127.0.0.1:{port}/v1",
            client_args=client_args(max_retries=1),
        )  # fmt: skip
    assert info.value.sent is False
    assert not isinstance(info.value, BatchMayExistError)


async def test_a_reset_connection_may_have_sent_the_request(emu: Emulator) -> None:
    emu.add_fault(Fault(method="GET", path="/v1/batches/*", kind="reset"))
    with pytest.raises(APIConnectionError) as info:
        await aretrieve_batch(
            "openai", "batch_x", api_key=KEY, api_base=emu.api_base(),
            client_args=client_args(max_retries=0),
        )  # fmt: skip
    assert info.value.sent is True


class _MakeRival(logging.Handler):
    """When the failed attempt is logged, another process makes a batch of the same size."""

    def __init__(self, emu: Emulator, path: Path) -> None:
        super().__init__()
        self.emu = emu
        self.path = path
        self.made: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.made or "failed (attempt 1)" not in record.getMessage():
            return
        requests = [
            {
                "custom_id": f"theirs-{i}",
                "params": {
                    "model": "claude-3-5-haiku-latest",
                    "max_tokens": 8,
                    "messages": [{"role": "user", "content": "hi"}],
                },
            }
            for i in range(3)
        ]
        request = urllib.request.Request(
            self.emu.api_base("anthropic") + "/v1/messages/batches",
            data=json.dumps({"requests": requests}).encode(),
            headers={
                "x-api-key": KEY,
                "anthropic-version": "2023-06-01",
                "content-type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            self.made.append(json.loads(answer.read())["id"])


async def test_anthropic_never_returns_a_batch_it_cannot_show_is_its_own(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(anthropic_wire, "LEDGER", anthropic_wire.CreateLedger())
    path = tmp_path / "r.jsonl"
    write_requests(path, 3, model="claude-3-5-haiku-latest", max_tokens=8)
    # Our create never reaches the handler; meanwhile another process makes a batch of 3.
    emu.add_fault(
        Fault(method="POST", path="/anthropic/v1/messages/batches", kind="reset", times=1)
    )
    rival = _MakeRival(emu, path)
    logger = logging.getLogger("any_llm")
    logger.addHandler(rival)
    try:
        with pytest.raises(BatchMayExistError) as info:
            await acreate_batch(
                "anthropic", path, CHAT, api_key=KEY, api_base=emu.api_base("anthropic"),
                client_args=client_args(max_retries=2),
            )  # fmt: skip
    finally:
        logger.removeHandler(rival)
    assert rival.made, "the rival batch was never made: the test tests nothing"
    assert info.value.batch_id == rival.made[0]  # named, not returned
    assert [b["id"] for b in emu.batches("anthropic")] == rival.made


@pytest.mark.parametrize(
    ("provider", "upload", "model"),
    [
        ("openai", "/v1/files", "gpt-4o-mini"),
        ("groq", "/groq/openai/v1/files", "llama-3.1-8b-instant"),
        ("mistral", "/mistral/v1/files", "mistral-small-latest"),
        ("together", "/together/v1/files/upload", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ],
)
async def test_an_upload_whose_answer_was_lost_leaves_no_orphan(
    emu: Emulator, tmp_path: Path, provider: str, upload: str, model: str
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3, model=model)
    emu.add_fault(Fault(method="POST", path=upload, kind="reset_after", times=1))
    batch = await acreate_batch(
        provider, path, CHAT, api_key=KEY, api_base=emu.api_base(provider),
        client_args=client_args(),
    )  # fmt: skip
    assert [f["id"] for f in _inputs(emu)] == [batch.input_file_id]
    assert batch.status is not BatchStatus.FAILED


async def test_an_upload_lost_on_its_last_attempt_leaves_no_orphan(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    emu.add_fault(Fault(method="POST", path="/v1/files", kind="reset_after", times=1))
    with pytest.raises(APIConnectionError):
        await acreate_batch(
            "openai", path, CHAT, api_key=KEY, api_base=emu.api_base(),
            client_args=client_args(max_retries=0),
        )  # fmt: skip
    assert _inputs(emu) == []
    assert emu.batches() == []
