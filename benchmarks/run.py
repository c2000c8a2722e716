"""Benchmark this SDK against its peers on a local OpenAI-protocol server; write BENCHMARKS.md.

    python benchmarks/run.py                      # everything, 3 rounds, writes BENCHMARKS.md
    python benchmarks/run.py --only import,create --libs ours_async,raw_aiohttp --rounds 5
    python benchmarks/run.py --smoke              # tiny inputs, ours + raw, current interpreter

Each library runs in its own venv (built under .bench-venvs/ by `venvs.py`), each measurement
in a fresh process of that venv's python (`adapters/<lib>.py OP PARAMS`), against the emulator
running in its own process. Within a round every library runs every operation once, libraries
alternating (ABC ABC ..., and the order rotates each round); medians over rounds and ratios are
computed from the same run. Peak RSS is the measured process's own ru_maxrss.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import venvs
from server import KEY, Server, ServerError
from workload import ID_PREFIX, expected_failures, write_requests, write_sized

HERE = Path(__file__).resolve().parent
ADAPTERS = HERE / "adapters"
ROOT = HERE.parent
OPTIMISATIONS = HERE / "optimisations.md"
"""Hand-kept: each optimisation and what it bought when it was made (copied into the report)."""
RAMDISK = Path("/dev/shm")


@dataclass(frozen=True)
class Lib:
    """A benchmarked library: its adapter script, its venv and its name in the tables."""

    key: str
    label: str
    venv: str
    script: str


LIBS: dict[str, Lib] = {
    lib.key: lib
    for lib in (
        Lib("ours_async", "ours async (`any_llm`)", "ours", "ours_async.py"),
        Lib("ours_sync", "ours sync (`any_llm_sync`)", "ours", "ours_sync.py"),
        Lib("openai", "openai SDK", "openai", "openai_sdk.py"),
        Lib("anyllm_sdk", "any-llm-sdk", "any-llm-sdk", "anyllm_sdk.py"),
        Lib("litellm", "litellm", "litellm", "litellm_sdk.py"),
        Lib("raw_aiohttp", "raw aiohttp", "raw", "raw_aiohttp.py"),
        Lib("raw_urllib3", "raw urllib3", "raw", "raw_urllib3.py"),
    )
}
OURS_AND_RAW = ("ours_async", "ours_sync", "raw_aiohttp", "raw_urllib3")


@dataclass(frozen=True)
class Operation:
    """One benchmarked operation: who runs it, who cannot (and why), and what is compared."""

    key: str
    title: str
    metric: str
    unit: str
    runs: tuple[str, ...]
    na: dict[str, str] = field(default_factory=dict)
    raws: tuple[str, ...] = ()
    ours: str = "ours_async"
    rss: bool = False


OPERATIONS: dict[str, Operation] = {
    op.key: op
    for op in (
        Operation(
            "import",
            "time of `import X` in a fresh interpreter",
            "import_ms",
            "ms",
            tuple(LIBS),
            raws=("raw_aiohttp", "raw_urllib3"),
        ),
        Operation(
            "create",
            "create_batch of a large file (upload purpose=batch + create)",
            "wall_s",
            "s",
            tuple(LIBS),
            raws=("raw_aiohttp", "raw_urllib3"),
            rss=True,
        ),
        Operation(
            "retrieve_sync",
            "sync retrieve through a client object, per call",
            "per_call_ms",
            "ms",
            ("ours_sync", "openai", "anyllm_sdk", "raw_urllib3"),
            na={"litellm": "no client object: module functions only (next table)"},
            raws=("raw_urllib3",),
            ours="ours_sync",
        ),
        Operation(
            "retrieve_sync_fn",
            "sync retrieve through the module function (a fresh client per call), per call",
            "per_call_ms",
            "ms",
            ("ours_sync", "anyllm_sdk", "litellm", "raw_urllib3"),
            na={"openai": "no per-call module function (its module-level client is shared)"},
            raws=("raw_urllib3",),
            ours="ours_sync",
        ),
        Operation(
            "retrieve_async_300",
            "concurrent async retrieves on one client (one burst)",
            "wall_s",
            "s",
            ("ours_async", "openai", "anyllm_sdk", "litellm", "raw_aiohttp"),
            raws=("raw_aiohttp",),
        ),
        Operation(
            "results",
            "stream every result (output + error file merged), every custom_id checked",
            "wall_s",
            "s",
            tuple(LIBS),
            raws=("raw_aiohttp", "raw_urllib3"),
            rss=True,
        ),
        Operation(
            "poll_100",
            "wait on many batches at once in one event loop: CPU used / wall time",
            "cpu_pct",
            "%",
            ("ours_async", "raw_aiohttp"),
            na={
                lib: "not measured: the comparison is ours against a hand-written loop"
                for lib in ("openai", "anyllm_sdk", "litellm")
            },
            raws=("raw_aiohttp",),
        ),
    )
}


@dataclass(frozen=True)
class Sizes:
    """How big each workload is."""

    create_mb: float
    create_requests: int
    create_reps: int
    results_lines: int
    results_choices: int
    fail_every: int
    retrieve_n: int
    warmup: int
    concurrency: int
    bursts: int
    poll_batches: int
    poll_seconds: float


FULL = Sizes(
    create_mb=100.0,
    create_requests=50_000,
    create_reps=3,
    results_lines=50_000,
    results_choices=4,
    fail_every=10,
    retrieve_n=200,
    warmup=5,
    concurrency=300,
    bursts=3,
    poll_batches=100,
    poll_seconds=10.0,
)
SMOKE = Sizes(
    create_mb=0.5,
    create_requests=250,
    create_reps=1,
    results_lines=300,
    results_choices=2,
    fail_every=10,
    retrieve_n=10,
    warmup=1,
    concurrency=20,
    bursts=1,
    poll_batches=4,
    poll_seconds=0.5,
)


# measurement


def _tail(text: str, lines: int = 4) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])[:600]


def run_adapter(
    python: str, lib: Lib, op: str, params: dict[str, Any], cwd: Path, timeout: float
) -> dict[str, Any]:
    """Run one measurement in a fresh process; a crash becomes ``{"error": ...}``."""
    cmd = [python, str(ADAPTERS / lib.script), op, json.dumps(params)]
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=venvs.clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s"}
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {_tail(proc.stderr or proc.stdout)}"}
    try:
        report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": f"no JSON report: {_tail(proc.stdout + proc.stderr)}"}
    return report


class Workbench:
    """Workload files and servers, made once per run and shared by every library."""

    def __init__(self, workdir: Path, sizes: Sizes, python: str) -> None:
        self.workdir = workdir
        self.sizes = sizes
        self.python = python
        self._servers: dict[str, Server] = {}
        self._cache: dict[str, Any] = {}
        # The create server stores every upload: in RAM when there is room, so that writing
        # 100 MB files back to disk does not disturb the next measurement.
        need = 4 * (sizes.create_reps + 1) * sizes.create_mb * 1e6
        self.ramdisk: Path | None = None
        if RAMDISK.is_dir() and shutil.disk_usage(RAMDISK).free > need:
            self.ramdisk = Path(tempfile.mkdtemp(prefix="any-llm-bench-", dir=RAMDISK))

    def server(self, name: str) -> Server:
        if name not in self._servers:
            timings: dict[str, Any] = {
                "main": {},
                # batches never leave validating: nothing is settled in the background
                "create": {"validating": 7 * 86_400.0, "lazy_validation": True},
                "poll": {"in_progress": self.sizes.poll_seconds},
            }[name]
            root = self.ramdisk if name == "create" and self.ramdisk else self.workdir
            server = Server(root / f"emulator-{name}", python=self.python, **timings)
            self._servers[name] = server.start()
        return self._servers[name]

    def reset(self, name: str) -> None:
        """Stop a server and forget what it stored (the next use starts it afresh)."""
        server = self._servers.pop(name, None)
        if server is not None:
            server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        if self.ramdisk is not None:
            shutil.rmtree(self.ramdisk, ignore_errors=True)

    def _small_file(self) -> Path:
        path = self.workdir / "small.jsonl"
        if not path.exists():
            write_requests(path, 10)
        return path

    def small_batch(self) -> str:
        """A completed 10-request batch on the main server (for retrieves and warm-ups)."""
        if "small_batch" not in self._cache:
            main = self.server("main")
            batch = main.create_batch(main.upload(self._small_file()))
            main.wait_ended(batch["id"])
            self._cache["small_batch"] = batch["id"]
        batch_id: str = self._cache["small_batch"]
        return batch_id

    def create_files(self) -> tuple[Path, Path, int]:
        """The large input file, a tiny one for warm-ups, and the large one's size."""
        sizes = self.sizes
        big = self.workdir / f"create-{sizes.create_mb:g}MB-{sizes.create_requests}.jsonl"
        if not big.exists():
            write_sized(big, int(sizes.create_mb * 1_000_000), requests=sizes.create_requests)
        return big, self._small_file(), big.stat().st_size

    def results_batch(self) -> dict[str, Any]:
        """A completed batch of ``results_lines`` requests, some failing, results written."""
        if "results_batch" not in self._cache:
            path = self.workdir / "results-input.jsonl"
            write_requests(
                path,
                self.sizes.results_lines,
                fail_every=self.sizes.fail_every,
                choices=self.sizes.results_choices,
            )
            main = self.server("main")
            batch = main.create_batch(main.upload(path))
            ended = main.wait_ended(batch["id"])  # the server writes the result files here
            files = {f["id"]: f["bytes"] for f in main.request("GET", "/v1/files")["data"]}
            ended["result_bytes"] = sum(
                files.get(ended[k], 0) for k in ("output_file_id", "error_file_id")
            )
            self._cache["results_batch"] = ended
        settled: dict[str, Any] = self._cache["results_batch"]
        return settled

    def poll_batches(self) -> list[str]:
        """Fresh batches on the slow server, all created now (they end together)."""
        poll = self.server("poll")
        if "poll_file" not in self._cache:
            self._cache["poll_file"] = poll.upload(self._small_file())
        file_id = self._cache["poll_file"]
        return [poll.create_batch(file_id)["id"] for _ in range(self.sizes.poll_batches)]

    def params(self, op: str) -> dict[str, Any]:
        """The parameters of one measurement of ``op``."""
        sizes = self.sizes
        if op == "import":
            return {}
        if op == "create":
            big, small, _ = self.create_files()
            create = self.server("create")
            return {
                "base": create.api_base,
                "key": KEY,
                "file": str(big),
                "small": str(small),
                "reps": sizes.create_reps,
            }
        main = self.server("main")
        common = {"base": main.api_base, "key": KEY}
        if op in ("retrieve_sync", "retrieve_sync_fn"):
            return {
                **common,
                "batch_id": self.small_batch(),
                "n": sizes.retrieve_n,
                "warmup": sizes.warmup,
            }
        if op == "retrieve_async_300":
            return {
                **common,
                "batch_id": self.small_batch(),
                "concurrency": sizes.concurrency,
                "bursts": sizes.bursts,
            }
        if op == "results":
            return {
                **common,
                "batch_id": self.results_batch()["id"],
                "warm_batch_id": self.small_batch(),
                "expect": sizes.results_lines,
                "prefix": ID_PREFIX,
            }
        if op == "poll_100":
            poll = self.server("poll")
            return {"base": poll.api_base, "key": KEY, "batch_ids": self.poll_batches()}
        raise ValueError(f"unknown operation {op!r}")


def rotated(items: Sequence[str], by: int) -> list[str]:
    """``items`` rotated left by ``by`` (each round starts with another library)."""
    if not items:
        return []
    by %= len(items)
    return [*items[by:], *items[:by]]


# summaries


@dataclass
class Cell:
    """What one library measured for one operation over all rounds."""

    values: list[float] = field(default_factory=list)
    growth: list[float] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    na: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def growth_median(self) -> float | None:
        return statistics.median(self.growth) if self.growth else None


Results = dict[str, dict[str, Cell]]


def summarize(runs: list[dict[str, Any]]) -> Results:
    """Group the measurements by operation and library."""
    out: Results = {}
    for run in runs:
        op = OPERATIONS[run["op"]]
        cell = out.setdefault(op.key, {}).setdefault(run["lib"], Cell())
        cell.runs.append(run)
        if "error" in run:
            cell.errors.append(str(run["error"]))
        elif "na" in run:
            cell.na = str(run["na"])
        else:
            cell.values.append(float(run[op.metric]))
            if "rss_after_mib" in run:
                cell.growth.append(float(run["rss_after_mib"]) - float(run["rss_before_mib"]))
    return out


def ratio(results: Results, op: str, lib: str, ref: str) -> float | None:
    """``lib``'s median over ``ref``'s median for ``op`` (None when either is missing)."""
    a = results.get(op, {}).get(lib)
    b = results.get(op, {}).get(ref)
    if a is None or b is None or a.median is None or b.median is None or b.median == 0:
        return None
    return a.median / b.median


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "%":
        return f"{value:.2f}% of a core"
    return f"{value:.2f} {unit}"


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


# targets


@dataclass
class Verdict:
    target: str
    status: str  # PASS, FAIL or n/a
    detail: str


def _cell(results: Results, op: str, lib: str) -> Cell | None:
    return results.get(op, {}).get(lib)


def _median(results: Results, op: str, lib: str) -> float | None:
    cell = _cell(results, op, lib)
    return None if cell is None else cell.median


def _within(
    results: Results, target: str, op: str, lib: str, ref: str, limit: float, unit: str
) -> Verdict:
    a, b = _median(results, op, lib), _median(results, op, ref)
    if a is None or b is None:
        return Verdict(target, "n/a", f"not measured ({lib} or {ref} missing)")
    r = a / b if b else float("inf")
    status = "PASS" if r <= limit else "FAIL"
    detail = (
        f"{LIBS[lib].label} {fmt_value(a, unit)} vs {LIBS[ref].label} {fmt_value(b, unit)}: "
        f"{r:.2f}x (limit {limit}x)"
    )
    return Verdict(target, status, detail)


def _growth(results: Results, target: str, op: str, lib: str, limit: float) -> Verdict:
    cell = _cell(results, op, lib)
    if cell is None or cell.growth_median is None:
        return Verdict(target, "n/a", "not measured")
    growth = cell.growth_median
    worst = max(cell.growth)
    status = "PASS" if growth < limit else "FAIL"
    return Verdict(
        target,
        status,
        f"{LIBS[lib].label}: +{growth:.1f} MiB median, +{worst:.1f} MiB worst (limit {limit} MiB)",
    )


def evaluate(results: Results, sizes: Sizes) -> list[Verdict]:
    """Each target of the issue, judged on this run's medians."""
    verdicts: list[Verdict] = []
    for lib, name in (("ours_async", "any_llm"), ("ours_sync", "any_llm_sync")):
        verdicts.append(
            _within(
                results,
                f"`import {name}` < 0.2x the openai SDK's import",
                "import",
                lib,
                "openai",
                0.2,
                "ms",
            )
        )
    lazy: list[str] = []
    for lib in ("ours_async", "ours_sync"):
        cell = _cell(results, "import", lib)
        for run in cell.runs if cell else []:
            lazy.extend(m for m in run.get("loaded", []) if m in ("aiohttp", "urllib3"))
    if _cell(results, "import", "ours_async") or _cell(results, "import", "ours_sync"):
        verdicts.append(
            Verdict(
                "aiohttp and urllib3 not imported by `import any_llm` / `import any_llm_sync`",
                "FAIL" if lazy else "PASS",
                f"imported: {sorted(set(lazy))}" if lazy else "neither is loaded after the import",
            )
        )
    sync_aiohttp = [
        f"{run['op']}"
        for op_cells in results.values()
        for lib, cell in op_cells.items()
        if lib == "ours_sync"
        for run in cell.runs
        if "aiohttp" in run.get("loaded", [])
    ]
    if any("ours_sync" in cells for cells in results.values()):
        verdicts.append(
            Verdict(
                "the sync package never imports aiohttp",
                "FAIL" if sync_aiohttp else "PASS",
                f"loaded in: {sorted(set(sync_aiohttp))}"
                if sync_aiohttp
                else "not loaded after any sync operation",
            )
        )
    size = f"{sizes.create_mb:g} MB"
    verdicts.append(
        _within(
            results,
            f"async create_batch of {size} within 1.1x of raw aiohttp",
            "create",
            "ours_async",
            "raw_aiohttp",
            1.1,
            "s",
        )
    )
    verdicts.append(
        _within(
            results,
            f"sync create_batch of {size} within 1.1x of raw urllib3",
            "create",
            "ours_sync",
            "raw_urllib3",
            1.1,
            "s",
        )
    )
    for lib in ("ours_async", "ours_sync"):
        verdicts.append(
            _growth(results, f"create_batch peak RSS growth < 10 MiB ({lib})", "create", lib, 10.0)
        )
    verdicts.append(
        _within(
            results,
            "sync retrieve through a client within 1.5x of a raw keep-alive request",
            "retrieve_sync",
            "ours_sync",
            "raw_urllib3",
            1.5,
            "ms",
        )
    )
    verdicts.append(
        _within(
            results,
            "sync retrieve through the module function < 0.1x any-llm-sdk's",
            "retrieve_sync_fn",
            "ours_sync",
            "anyllm_sdk",
            0.1,
            "ms",
        )
    )
    verdicts.append(
        _within(
            results,
            f"{sizes.concurrency} concurrent async retrieves on one client "
            "within 2x of raw aiohttp",
            "retrieve_async_300",
            "ours_async",
            "raw_aiohttp",
            2.0,
            "s",
        )
    )
    lines = f"{sizes.results_lines:,} result lines"
    for lib in ("ours_async", "ours_sync"):
        verdicts.append(
            _within(
                results,
                f"streaming {lines} within 1.3x of raw aiohttp + json ({lib})",
                "results",
                lib,
                "raw_aiohttp",
                1.3,
                "s",
            )
        )
        verdicts.append(
            _growth(results, f"results peak RSS growth < 20 MiB ({lib})", "results", lib, 20.0)
        )
        cell = _cell(results, "results", lib)
        if cell is not None and cell.runs:
            failures = expected_failures(sizes.results_lines, sizes.fail_every)
            bad = [
                r
                for r in cell.runs
                if "error" in r or not r.get("all_ids_once") or r.get("failed_items") != failures
            ]
            verdicts.append(
                Verdict(
                    f"results: every custom_id returned exactly once ({lib})",
                    "FAIL" if bad else "PASS",
                    f"{len(cell.runs) - len(bad)}/{len(cell.runs)} runs returned all "
                    f"{sizes.results_lines:,} ids once, {failures:,} of them failed "
                    "(output and error files merged)",
                )
            )
    cell = _cell(results, "poll_100", "ours_async")
    if cell is None or cell.median is None:
        verdicts.append(Verdict("polling 100 batches costs < 5% of one core", "n/a", "not run"))
    else:
        verdicts.append(
            Verdict(
                f"waiting on {sizes.poll_batches} batches at once costs < 5% of one core",
                "PASS" if cell.median < 5.0 else "FAIL",
                f"{cell.median:.2f}% of a core (median CPU time / wall time while waiting)",
            )
        )
    return verdicts


# the report


def revision() -> str:
    """The repository's commit, and whether the working tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "any_llm",
                "any_llm_sync",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} (with uncommitted changes to the package)" if dirty else commit


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _cell_text(op: Operation, cell: Cell | None, results: Results, lib: str) -> str:
    if cell is None:
        return "n/a" if lib in op.na else ""
    if cell.median is None:
        if cell.na:
            return "n/a"
        if cell.errors and all(e.startswith("not installed") for e in cell.errors):
            return "not installed"
        return "crashed" if cell.errors else "—"
    text = fmt_value(cell.median, op.unit)
    raw = op.raws[0] if op.raws else None
    if raw and raw != lib:
        r = ratio(results, op.key, lib, raw)
        if r is not None:
            text += f" ({r:.2f}x raw)"
    if op.rss and cell.growth_median is not None:
        text += f", +{cell.growth_median:.0f} MiB"
    if op.key == "results" and cell.runs and not all(r.get("all_ids_once") for r in cell.runs):
        missing = max(int(r.get("missing_ids", 0)) for r in cell.runs)
        text += f", {missing:,} ids lost" if missing else ", ids wrong"
    return text


def render(
    results: Results,
    verdicts: list[Verdict],
    *,
    sizes: Sizes,
    libs: list[str],
    ops: list[str],
    rounds: int,
    envs: dict[str, venvs.Env],
    extra: dict[str, Any],
    elapsed: float,
    smoke: bool,
) -> str:
    """BENCHMARKS.md."""
    info = machine()
    out: list[str] = []
    add = out.append
    add("# Benchmarks")
    add("")
    add(
        "Generated by `nox -s bench` (`python benchmarks/run.py`); do not edit by hand. "
        "Every library runs in its own venv, every measurement in a fresh process, against "
        "the package's emulator (`python -m any_llm.emulator`, its own process) on loopback. "
        f"{rounds} round(s); within a round the libraries alternate and the order rotates "
        "from round to round. Medians over rounds; ratios come from the same run. "
        "Peak RSS is the measured process's own `ru_maxrss`, read after a warm-up call and "
        "again after the measured call."
    )
    if smoke:
        add("")
        add("**Smoke run: tiny inputs, numbers meaningless.**")
    add("")
    add(
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['os']}; "
        f"Python {info['python']}; {info['date']}; the run took {elapsed / 60:.1f} min "
        f"(1-minute load average {extra.get('load_before', 0):.2f} before, "
        f"{extra.get('load_after', 0):.2f} after)."
    )
    add("")
    add("## Summary")
    add("")
    add(
        "Medians; in brackets the ratio to the raw floor (aiohttp, or urllib3 for the sync "
        "retrieves) measured in the same run; `+N MiB` is the growth of peak RSS."
    )
    add("")
    shown = [lib for lib in LIBS if lib in libs]
    add("| operation | " + " | ".join(LIBS[lib].label for lib in shown) + " |")
    add("| --- | " + " | ".join("---" for _ in shown) + " |")
    for key in ops:
        op = OPERATIONS[key]
        row = [_row_title(op, sizes)]
        for lib in shown:
            cell = results.get(key, {}).get(lib)
            row.append(_cell_text(op, cell, results, lib))
        add("| " + " | ".join(row) + " |")
    add("")
    add("## Targets")
    add("")
    add("| target | result | numbers |")
    add("| --- | --- | --- |")
    for v in verdicts:
        status = f"**{v.status}**" if v.status == "FAIL" else v.status
        add(f"| {v.target} | {status} | {v.detail} |")
    add("")
    add("## What each optimisation bought")
    add("")
    add(OPTIMISATIONS.read_text(encoding="utf-8").rstrip())
    add("")
    add("## Details")
    for key in ops:
        out.extend(_detail(OPERATIONS[key], results, shown, sizes))
    add("")
    add("## Workloads")
    add("")
    for line in _workload_lines(sizes, extra):
        add(f"- {line}")
    add("")
    add("## Versions")
    add("")
    where = (
        "from the current interpreter"
        if extra.get("current_python")
        else "installed non-editable into its venv"
    )
    add(f"This project: git {extra.get('revision', revision())}, {where}.")
    add("")
    add("| venv | python | packages |")
    add("| --- | --- | --- |")
    for name, env in envs.items():
        if env.python is None:
            add(f"| {name} | — | **not installed**: {env.error} |")
        else:
            packages = ", ".join(f"{k} {v}" for k, v in env.versions.items())
            add(f"| {name} | {info['python']} | {packages} |")
    add("")
    add("## Notes")
    add("")
    for line in _notes(results, ops, shown):
        add(f"- {line}")
    add("")
    return "\n".join(out)


def _row_title(op: Operation, sizes: Sizes) -> str:
    return {
        "import": "cold import",
        "create": f"create_batch, {sizes.create_mb:g} MB file",
        "retrieve_sync": "sync retrieve, client, per call",
        "retrieve_sync_fn": "sync retrieve, module function, per call",
        "retrieve_async_300": f"{sizes.concurrency} concurrent async retrieves",
        "results": f"results, {sizes.results_lines:,} lines",
        "poll_100": f"waiting on {sizes.poll_batches} batches (CPU)",
    }[op.key]


def _detail(op: Operation, results: Results, shown: list[str], sizes: Sizes) -> list[str]:
    lines = ["", f"### {_row_title(op, sizes)}", "", op.title[0].upper() + op.title[1:] + ".", ""]
    header = ["library", "median", "min – max", "runs"]
    header += [f"x {LIBS[raw].label}" for raw in op.raws]
    header.append(f"x {LIBS[op.ours].label}")
    if op.rss:
        header.append("peak RSS growth (median, worst)")
    if op.key == "results":
        header.append("ids")
    if op.key == "poll_100":
        header.append("wall, CPU")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| " + " | ".join("---" for _ in header) + " |")
    for lib in shown:
        cell = results.get(op.key, {}).get(lib)
        if cell is None:
            if lib in op.na:
                lines.append(f"| {LIBS[lib].label} | n/a: {op.na[lib]} |")
            continue
        if cell.median is None:
            why = cell.na or ("crashed: " + cell.errors[-1] if cell.errors else "no result")
            lines.append(f"| {LIBS[lib].label} | n/a: {why.replace('|', '/')} |")
            continue
        row = [
            LIBS[lib].label,
            fmt_value(cell.median, op.unit),
            f"{fmt_value(min(cell.values), op.unit)} – {fmt_value(max(cell.values), op.unit)}",
            f"{len(cell.values)}" + (f" ({len(cell.errors)} crashed)" if cell.errors else ""),
        ]
        row += [fmt_ratio(ratio(results, op.key, lib, raw)) for raw in op.raws]
        row.append(fmt_ratio(ratio(results, op.key, lib, op.ours)))
        if op.rss:
            growth = cell.growth_median
            row.append("—" if growth is None else f"+{growth:.1f} MiB, +{max(cell.growth):.1f} MiB")
        if op.key == "results":
            row.append(_ids_text(cell))
        if op.key == "poll_100":
            walls = [float(r["wall_s"]) for r in cell.runs if "wall_s" in r]
            cpus = [float(r["cpu_s"]) for r in cell.runs if "cpu_s" in r]
            row.append(
                f"{statistics.median(walls):.1f} s, {statistics.median(cpus):.3f} s"
                if walls and cpus
                else "—"
            )
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _ids_text(cell: Cell) -> str:
    run = cell.runs[-1]
    if "error" in run:
        return "crashed"
    text = f"{run.get('items', 0):,} items, {run.get('failed_items', 0):,} failed"
    if run.get("all_ids_once"):
        return text + ", all ids once"
    return (
        text + f", **{run.get('missing_ids', 0):,} missing, {run.get('duplicate_ids', 0):,} "
        "duplicated**"
    )


def _workload_lines(sizes: Sizes, extra: dict[str, Any]) -> list[str]:
    lines = []
    if "create_bytes" in extra:
        lines.append(
            f"create: {extra['create_bytes'] / 1e6:.1f} MB JSONL of {sizes.create_requests:,} "
            "chat requests (equal-length lines); per process a 10-request warm-up create, then "
            f"{sizes.create_reps} timed creates of the large file (their median is the run's "
            "value; RSS growth is over all of them). The server "
            "is `benchmarks/emulator_fast.py`: the emulator with `POST /batches` counting the "
            "input's lines instead of validating each one synchronously (0.9 s for 100 MB, which "
            "OpenAI does later, not in the create call); its batches stay validating so "
            "nothing runs in the background; it stores uploads in RAM (/dev/shm) when there is "
            "room and starts afresh for every measured process (on this VM, 2 GB of stored "
            "uploads made later uploads twice as slow: memory touched for the first time is "
            "slow)."
        )
    lines.append(
        f"retrieves: a completed 10-request batch; {sizes.retrieve_n} sequential calls after "
        f"{sizes.warmup} warm-up calls, per-call median; {sizes.concurrency} concurrent calls "
        f"on one client after one warm-up call, median of {sizes.bursts} burst(s) per process."
    )
    if "results_bytes" in extra:
        lines.append(
            f"results: {sizes.results_lines:,} chat requests with n={sizes.results_choices}, "
            f"every {sizes.fail_every}th failing "
            "(half as HTTP 400 lines, half as top-level errors, all in the error file); "
            f"output + error files {extra['results_bytes'] / 1e6:.1f} MB. Each library "
            "iterates the items and counts every custom_id in a bitmap (no item is kept)."
        )
    lines.append(
        f"polling: {sizes.poll_batches} batches created together on a server whose batches "
        f"stay in_progress {sizes.poll_seconds:g} s; ours uses `apoll_batch` with its default "
        "pacing (jittered exponential, 1 s first); raw polls each batch at 1, 2, 4 … s; "
        "CPU (user + system, getrusage) over wall time of the wait, after a warm-up call."
    )
    lines.append(
        "cold import: `import X` timed inside a fresh interpreter that has loaded nothing but "
        "`sys` and `time` (one untimed run per library first, so bytecode caches exist); "
        "ours: `any_llm` / `any_llm_sync`, raw: `aiohttp` / `urllib3`, peers: their package."
    )
    return lines


def _notes(results: Results, ops: list[str], shown: list[str]) -> list[str]:
    notes = [
        "litellm runs with LITELLM_LOCAL_MODEL_COST_MAP=True and LITELLM_OFFLINE_MODE=true: "
        "otherwise its import tries to download a price list from the internet, which this "
        "machine cannot reach.",
        "any-llm-sdk's top-level package is also named `any_llm`: it only ever runs in its "
        "own venv.",
        "The openai SDK and litellm read the whole result file into memory "
        "(`files.content(...).text`) and leave merging the output and error files to the "
        "caller; any-llm-sdk's `retrieve_batch_results` returns a list.",
    ]
    for key in ops:
        op = OPERATIONS[key]
        for lib in shown:
            cell = results.get(key, {}).get(lib)
            if cell is not None and cell.errors:
                notes.append(
                    f"{LIBS[lib].label}, {key}: {len(cell.errors)} run(s) without a result: "
                    f"{cell.errors[-1].replace('|', '/')}"
                )
            elif cell is None and lib in op.na:
                notes.append(f"{LIBS[lib].label}, {key}: n/a — {op.na[lib]}.")
    return notes


# the run


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; smoke 1)")
    parser.add_argument(
        "--only", default=None, help=f"operations, comma-separated: {','.join(OPERATIONS)}"
    )
    parser.add_argument("--libs", default=None, help=f"libraries: {','.join(LIBS)}")
    parser.add_argument("--size-mb", type=float, default=None, help="create input (MB)")
    parser.add_argument("--results-lines", type=int, default=None, help="results batch size")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny inputs, ours + raw, current interpreter"
    )
    parser.add_argument(
        "--current-python",
        action="store_true",
        help="run every library with this interpreter instead of building venvs",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="Markdown report (default BENCHMARKS.md)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write every measurement")
    parser.add_argument("--venvs", type=Path, default=venvs.DEFAULT_CACHE, help="venv cache")
    parser.add_argument("--rebuild-venvs", action="store_true", help="reinstall every venv")
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    parser.add_argument("--timeout", type=float, default=600.0, help="per measurement (s)")
    return parser.parse_args(argv)


def _pick(value: str | None, known: Sequence[str], default: Sequence[str], what: str) -> list[str]:
    if value is None:
        return list(default)
    picked = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in picked if v not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return [k for k in known if k in picked]


def prepare_envs(
    libs: list[str], args: argparse.Namespace, log: Callable[[str], None]
) -> dict[str, venvs.Env]:
    """One ready interpreter per venv the chosen libraries need."""
    envs: dict[str, venvs.Env] = {}
    for lib in libs:
        name = LIBS[lib].venv
        if name in envs:
            continue
        spec = venvs.SPECS[name]
        if args.current_python:
            envs[name] = venvs.current(spec)
        else:
            envs[name] = venvs.ensure(spec, args.venvs, rebuild=args.rebuild_venvs)
        env = envs[name]
        log(f"[env] {name}: {env.versions if env.python else env.error}")
    return envs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; write the report; return 0 (failed targets do not fail the run)."""
    args = parse_args(argv)
    if args.smoke:
        args.current_python = True
    base = SMOKE if args.smoke else FULL
    sizes = base
    if args.size_mb is not None:
        sizes = dataclasses.replace(sizes, create_mb=args.size_mb)
    if args.results_lines is not None:
        sizes = dataclasses.replace(sizes, results_lines=args.results_lines)
    rounds = args.rounds if args.rounds is not None else (1 if args.smoke else 3)
    ops = _pick(args.only, list(OPERATIONS), list(OPERATIONS), "operations")
    libs = _pick(args.libs, list(LIBS), OURS_AND_RAW if args.smoke else list(LIBS), "libraries")
    out = args.out if args.out is not None else (None if args.smoke else ROOT / "BENCHMARKS.md")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    # A terminated run still stops its emulators (the finally below).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started = time.monotonic()
    envs = prepare_envs(libs, args, log)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="any-llm-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Workbench(workdir, sizes, python=sys.executable)
    runs: list[dict[str, Any]] = []
    extra: dict[str, Any] = {
        "revision": revision(),
        "current_python": args.current_python,
        "load_before": os.getloadavg()[0],
    }
    try:
        if "create" in ops:
            extra["create_bytes"] = bench.create_files()[2]
        if "results" in ops:
            extra["results_bytes"] = bench.results_batch()["result_bytes"]
        if "import" in ops:  # untimed first imports: bytecode caches, page cache
            for lib in libs:
                python = envs[LIBS[lib].venv].python
                if python is not None:
                    run_adapter(python, LIBS[lib], "import", {}, workdir, args.timeout)
        for round_no in range(rounds):
            for key in ops:
                op = OPERATIONS[key]
                order = rotated([lib for lib in libs if lib in op.runs], round_no)
                for lib in order:
                    if key == "create":
                        # Frees the previous uploads: on this VM, memory touched for the first
                        # time is slow, and 2 GB of stored uploads doubled the upload times.
                        bench.reset("create")
                    env = envs[LIBS[lib].venv]
                    if env.python is None:
                        report: dict[str, Any] = {"error": f"not installed: {env.error}"}
                    else:
                        try:
                            params = bench.params(key)
                        except (ServerError, OSError) as exc:
                            report = {"error": f"setup failed: {exc}"}
                        else:
                            report = run_adapter(
                                env.python, LIBS[lib], key, params, workdir, args.timeout
                            )
                    report.update(lib=lib, op=key, round=round_no + 1)
                    runs.append(report)
                    log(f"[round {round_no + 1}/{rounds}] {key:<18} {lib:<12} {_brief(op, report)}")
    finally:
        bench.close()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    extra["load_after"] = os.getloadavg()[0]
    results = summarize(runs)
    verdicts = evaluate(results, sizes)
    text = render(
        results,
        verdicts,
        sizes=sizes,
        libs=libs,
        ops=ops,
        rounds=rounds,
        envs=envs,
        extra=extra,
        elapsed=time.monotonic() - started,
        smoke=args.smoke,
    )
    print(text)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        log(f"wrote {out}")
    if args.json is not None:
        payload = {
            "machine": machine(),
            "sizes": dataclasses.asdict(sizes),
            "rounds": rounds,
            "versions": {name: env.versions for name, env in envs.items()},
            "runs": runs,
            "targets": [dataclasses.asdict(v) for v in verdicts],
        }
        args.json.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return 0


def _brief(op: Operation, report: dict[str, Any]) -> str:
    if "error" in report:
        return f"ERROR {str(report['error'])[:200]}"
    if "na" in report:
        return f"n/a {report['na']}"
    text = fmt_value(float(report[op.metric]), op.unit)
    if "rss_after_mib" in report:
        text += f"  rss +{float(report['rss_after_mib']) - float(report['rss_before_mib']):.1f} MiB"
    if "all_ids_once" in report:
        text += f"  ids ok={report['all_ids_once']} items={report.get('items')}"
    return text


if __name__ == "__main__":
    sys.exit(main())
