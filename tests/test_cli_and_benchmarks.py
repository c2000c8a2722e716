"""Smoke runs of the command line and the benchmarks, so that neither rots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from any_llm.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_a_batch_against_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--requests", "30", "--seconds", "0"]) == 0
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
