"""Smoke runs of the peer benchmark (benchmarks/run.py), so that its scripts do not rot.

One tiny run of every operation for this project's two twins and the raw aiohttp / urllib3
floors, with the current interpreter (no venvs, no peers: CI does not benchmark).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"

# Which smoke measurements each operation makes, and the field that must be positive.
EXPECTED: dict[str, tuple[tuple[str, ...], str]] = {
    "import": (("ours_async", "ours_sync", "raw_aiohttp", "raw_urllib3"), "import_ms"),
    "create": (("ours_async", "ours_sync", "raw_aiohttp", "raw_urllib3"), "wall_s"),
    "retrieve_sync": (("ours_sync", "raw_urllib3"), "per_call_ms"),
    "retrieve_sync_fn": (("ours_sync", "raw_urllib3"), "per_call_ms"),
    "retrieve_async_300": (("ours_async", "raw_aiohttp"), "wall_s"),
    "results": (("ours_async", "ours_sync", "raw_aiohttp", "raw_urllib3"), "wall_s"),
    "poll_100": (("ours_async", "raw_aiohttp"), "cpu_pct"),
}


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a benchmark script; on a timeout, kill it with the emulators it started."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{args[0]} timed out after {timeout}s:\n{out}\n{err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The JSON and Markdown of one smoke run."""
    tmp = tmp_path_factory.mktemp("bench")
    run = _run(
        [
            str(BENCH / "run.py"),
            "--smoke",
            "--out",
            str(tmp / "BENCHMARKS.md"),
            "--json",
            str(tmp / "bench.json"),
        ],
        timeout=90,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    data: dict[str, Any] = json.loads((tmp / "bench.json").read_text())
    data["markdown"] = (tmp / "BENCHMARKS.md").read_text()
    return data


def _reports(smoke: dict[str, Any], op: str) -> dict[str, dict[str, Any]]:
    return {run["lib"]: run for run in smoke["runs"] if run["op"] == op}


@pytest.mark.parametrize("op", sorted(EXPECTED))
def test_smoke_run_measures_the_operation(smoke: dict[str, Any], op: str) -> None:
    libs, metric = EXPECTED[op]
    reports = _reports(smoke, op)
    assert sorted(reports) == sorted(libs)
    for lib, report in reports.items():
        assert "error" not in report, (lib, report)
        assert report[metric] > 0, (lib, report)
        if "rss_after_mib" in report:
            assert report["rss_after_mib"] >= report["rss_before_mib"] > 0, (lib, report)


def test_smoke_results_return_every_id_once_with_the_error_file(smoke: dict[str, Any]) -> None:
    lines = smoke["sizes"]["results_lines"]
    failed = lines // smoke["sizes"]["fail_every"]
    for lib, report in _reports(smoke, "results").items():
        assert report["all_ids_once"], (lib, report)
        assert (report["items"], report["failed_items"]) == (lines, failed), (lib, report)


def test_smoke_polls_until_every_batch_ends(smoke: dict[str, Any]) -> None:
    for lib, report in _reports(smoke, "poll_100").items():
        assert report["ended"] == report["batches"] == smoke["sizes"]["poll_batches"], lib
        assert 0 < report["cpu_pct"] < 100, (lib, report)


def test_smoke_import_loads_no_transport(smoke: dict[str, Any]) -> None:
    reports = _reports(smoke, "import")
    for lib in ("ours_async", "ours_sync"):
        assert not {"aiohttp", "urllib3"} & set(reports[lib]["loaded"]), reports[lib]


def test_smoke_report_has_tables_targets_and_machine(smoke: dict[str, Any]) -> None:
    text = smoke["markdown"]
    for heading in (
        "## Summary",
        "## Targets",
        "## What each optimisation bought",
        "## Details",
        "## Versions",
        "## Notes",
    ):
        assert heading in text
    assert "Smoke run" in text
    assert "| cold import |" in text
    targets = smoke["targets"]
    assert targets and all(t["status"] in ("PASS", "FAIL", "n/a") for t in targets)
    assert smoke["machine"]["cores"] and smoke["machine"]["cpu"]


def test_workload_files_are_deterministic(tmp_path: Path) -> None:
    sizes = []
    for name in ("a.jsonl", "b.jsonl"):
        run = _run([str(BENCH / "workload.py"), str(tmp_path / name), "0.2"], timeout=60)
        assert run.returncode == 0, run.stderr
        sizes.append(int(run.stdout))
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert 190_000 <= sizes[0] <= 200_000
    first = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
    assert first["custom_id"] == "req-000000"
    assert first["url"] == "/v1/chat/completions"


def test_loop_block_smoke_run_measures_every_provider_it_is_given(tmp_path: Path) -> None:
    # benchmarks/loop_block.py on a 1 MB file: a provider sent as is, two translated ones.
    report = tmp_path / "BENCHMARKS.md"
    stale = "## Event loop\n\n<!-- loop_block.py: begin -->\nold\n<!-- loop_block.py: end -->\n"
    report.write_text("# Benchmarks\n\n" + stale + "\n## Notes\n\nkept\n")
    run = _run(
        [
            str(BENCH / "loop_block.py"),
            "--size-mb",
            "1",
            "--providers",
            "openai,mistral,gemini",
            "--gemini-inline-mb",
            "0.3",
            "--max-block-ms",
            "10000",  # a smoke run on a busy machine: the target is the full run's
            "--json",
            str(tmp_path / "loop.json"),
            "--out",
            str(report),
        ],
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads((tmp_path / "loop.json").read_text())
    assert [row["provider"] for row in data["rows"]] == ["openai", "mistral", "gemini"]
    for row in data["rows"]:
        assert "error" not in row, row
        assert row["ticks"] > 0 and row["wall_s"] > 0 and row["block_ms"] >= 0, row
    text = report.read_text()
    assert text.count("<!-- loop_block.py: begin -->") == 1
    assert "old" not in text and "kept" in text
    assert "| mistral |" in text
    [inline] = data["inline"]  # the Gemini inline batch: created, polled to its end, read
    assert "error" not in inline, inline
    assert inline["polls"] >= 1 and inline["results"] > 0 and inline["poll_block_ms"] >= 0
    assert "| gemini (inline), 0.3 MB |" in text
