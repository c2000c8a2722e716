"""Peak RSS growth of create_batch on a large file, for the async core and the sync twin.

    python benchmarks/upload_memory.py [--size-mb 195] [--keep DIR]

The emulator runs in its own process (its memory is not ours); each twin runs in a fresh
process that warms up with a tiny batch, then creates a batch from the large file. Reported:
the process's peak RSS (ru_maxrss) before and after, and the growth.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHAT = "/v1/chat/completions"


def make_file(path: Path, size_bytes: int, max_requests: int = 50_000) -> int:
    """A JSONL file of about ``size_bytes`` with at most ``max_requests`` lines."""
    line_size = max(size_bytes // max_requests, 200)
    filler_len = line_size - 150
    count = 0
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while written + line_size <= size_bytes and count < max_requests:
            body = {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "x" * filler_len}],
            }
            line = json.dumps(
                {"custom_id": f"r{count}", "method": "POST", "url": CHAT, "body": body}
            )
            out.write(line + "\n")
            written += len(line) + 1
            count += 1
    return count


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(
                f"{url}/v1/batches", headers={"Authorization": "Bearer bench"}
            )
            with urllib.request.urlopen(request, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the emulator at {url} did not start")


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


CHILD = """
import asyncio, json, sys
from pathlib import Path
sys.path.insert(0, {bench_dir!r})
from upload_memory import _peak_rss_mib
twin, base, small, big = sys.argv[1:5]
if twin == "async":
    from any_llm import acreate_batch
    def create(path):
        return asyncio.run(acreate_batch("openai", path, "/v1/chat/completions",
                                         api_key="bench", api_base=base))
else:
    from any_llm_sync import create_batch
    def create(path):
        return create_batch("openai", path, "/v1/chat/completions", api_key="bench", api_base=base)
create(Path(small))
before = _peak_rss_mib()
batch = create(Path(big))
after = _peak_rss_mib()
print(json.dumps({{"twin": twin, "before": before, "after": after, "batch": batch.id}}))
"""


def measure(twin: str, base: str, small: Path, big: Path) -> dict[str, float]:
    """Run one twin in a fresh process and return its RSS figures."""
    code = CHILD.format(bench_dir=str(Path(__file__).resolve().parent))
    out = subprocess.run(
        [sys.executable, "-c", code, twin, base, str(small), str(big)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return data


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=float, default=195.0, help="input size in MB (1e6 B)")
    parser.add_argument("--max-growth-mib", type=float, default=50.0, help="fail above this")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="any-llm-bench-") as tmp:
        tmp_path = Path(tmp)
        big = tmp_path / "big.jsonl"
        small = tmp_path / "small.jsonl"
        requests = make_file(big, int(args.size_mb * 1_000_000))
        make_file(small, 2_000, max_requests=2)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "any_llm.emulator",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "emulator"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_ready(url, time.monotonic() + 30)
            size = big.stat().st_size
            print(f"input: {size / 1e6:.1f} MB, {requests} requests; emulator at {url}")
            print("| twin | peak RSS before (MiB) | peak RSS after (MiB) | growth (MiB) |")
            print("| --- | --- | --- | --- |")
            worst = 0.0
            for twin in ("async", "sync"):
                row = measure(twin, f"{url}/v1", small, big)
                growth = row["after"] - row["before"]
                worst = max(worst, growth)
                print(f"| {twin} | {row['before']:.1f} | {row['after']:.1f} | {growth:.1f} |")
        finally:
            server.terminate()
            server.wait(timeout=30)
    if worst > args.max_growth_mib:
        print(f"FAIL: peak RSS grew by {worst:.1f} MiB (limit {args.max_growth_mib} MiB)")
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
