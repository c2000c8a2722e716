"""Smoke runs of the command line and the benchmarks, so that neither rots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from any_llm.cli import main
from any_llm.emulator import Emulator, ManualClock
from tests.helpers import write_requests

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_a_batch_against_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--requests", "30", "--seconds", "0", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "created batch_" in out
    assert "ended completed" in out
    assert "succeeded  27" in out
    assert "failed     3" in out
    assert "every custom_id accounted for" in out


def test_upload_memory_benchmark_smoke() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "upload_memory.py"), "--size-mb", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "| async |" in run.stdout
    assert "| sync |" in run.stdout


@pytest.fixture
def cli_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Common flags: the emulator as OpenAI, the key from the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli")
    return ["--api-base", emu.api_base("openai")]


def test_batch_commands_end_to_end(
    cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.jsonl"
    ids = write_requests(path, 6, fail=(2,))
    code = main(
        ["batch", "create", str(path), "--wait", "--json", "--metadata", "team=a", *cli_env]
    )
    assert code == 0
    created = json.loads(capsys.readouterr().out)
    assert created["status"] == "completed"
    assert created["metadata"]["team"] == "a"
    batch_id = created["id"]

    assert main(["batch", "get", batch_id, *cli_env]) == 0
    line = capsys.readouterr().out
    assert batch_id in line and "completed" in line and "6/6" in line

    assert main(["batch", "list", "--json", *cli_env]) == 0
    assert [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()] == [batch_id]

    out = tmp_path / "results.jsonl"
    assert main(["batch", "results", batch_id, "-o", str(out), *cli_env]) == 0
    assert "6 results: succeeded 5, failed 1" in capsys.readouterr().err
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(r["custom_id"] for r in rows) == sorted(ids)
    failed = [r for r in rows if r["status"] == "failed"]
    assert [r["custom_id"] for r in failed] == ["req-2"]
    assert failed[0]["error"]["status_code"] == 400


def test_cancelled_batch_and_timeouts_have_their_exit_codes(
    slow_emu: Emulator,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli")
    flags = ["--api-base", slow_emu.api_base("openai")]
    path = tmp_path / "r.jsonl"
    write_requests(path, 3)
    assert main(["batch", "create", str(path), "--json", *flags]) == 0
    batch_id = json.loads(capsys.readouterr().out)["id"]
    assert main(["batch", "wait", batch_id, "--timeout", "0.3", "--quiet", *flags]) == 4
    assert "did not end within" in capsys.readouterr().err
    assert main(["batch", "cancel", batch_id, *flags]) == 0
    clock.advance(3600)
    assert main(["batch", "wait", batch_id, "--quiet", *flags]) == 1
    assert "cancelled" in capsys.readouterr().out


def test_errors_are_one_clear_line(
    cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["batch", "create", str(tmp_path / "missing.jsonl"), *cli_env]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "file not found" in err
    assert main(["batch", "get", "batch_nope", *cli_env]) == 3
    err = capsys.readouterr().err
    assert err.startswith("any-llm: openai: GET /v1/batches/batch_nope returned HTTP 404")
    assert main(["--debug", "batch", "get", "batch_nope", *cli_env]) == 3
    assert "Traceback" in capsys.readouterr().err
    assert main(["batch", "create", "x.jsonl", "--metadata", "novalue", *cli_env]) == 2


def test_create_shows_an_upload_bar(
    cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2000)
    # Not a terminal (captured): the bar is drawn because --progress asks for it.
    assert main(["batch", "create", str(path), "--progress", *cli_env]) == 0
    err = capsys.readouterr().err
    assert "upload" in err and "100%" in err
