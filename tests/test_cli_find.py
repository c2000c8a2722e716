"""``any-llm batch find`` and an interrupted ``batch create`` (issue 11, item 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from any_llm.cli import main
from any_llm.emulator import Emulator, Fault
from tests.helpers import write_requests

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Common flags: the emulator as OpenAI, the key from the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli")
    return ["--api-base", emu.api_base("openai")]


def test_find_shows_the_batch_of_a_key(
    emu: Emulator, cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2)
    create = ["batch", "create", str(path), "--json", "--idempotency-key", "nightly-42"]
    assert main([*create, *cli_env]) == 0
    created = json.loads(capsys.readouterr().out)
    assert main([*create, *cli_env]) == 0  # the same key: the same batch, not a second one
    assert json.loads(capsys.readouterr().out)["id"] == created["id"]
    assert len(emu.batches()) == 1
    assert main(["batch", "find", "nightly-42", "--json", *cli_env]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == created["id"]
    assert main(["batch", "find", "nightly-43", *cli_env]) == 1
    assert capsys.readouterr().err == "any-llm: no batch carries idempotency key nightly-43\n"
    assert main(["batch", "find", "not a key", *cli_env]) == 2
    assert "idempotency_key must be" in capsys.readouterr().err


def test_an_interrupted_create_says_how_to_find_its_batch(
    emu: Emulator, cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2)
    # The create commits 2 s after it was sent; Ctrl-C comes while the client waits for it.
    emu.add_fault(Fault(method="POST", path="/v1/batches", kind="slow_commit", delay=2.0))
    env = {**os.environ, "OPENAI_API_KEY": "sk-cli", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "any_llm.cli", "batch", "create", str(path), *cli_env]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        deadline = time.monotonic() + 30
        while not any(r["path"] == "/v1/files" and r["status"] for r in emu.requests()):
            if time.monotonic() > deadline:
                child.kill()
                pytest.fail("the child never uploaded its input")
            time.sleep(0.05)
        time.sleep(0.5)  # now waiting for the create's answer
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("any-llm: interrupted; the batch may have been created with ")
    key = line.split("idempotency key ")[1].split(":")[0]
    assert f"`any-llm batch find {key} --provider openai`" in line
    time.sleep(2.0)  # the create commits
    assert main(["batch", "find", key, "--json", *cli_env]) == 0
    [made] = emu.batches()
    assert json.loads(capsys.readouterr().out)["id"] == made["id"]
