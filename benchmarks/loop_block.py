"""How long acreate_batch blocks its event loop, per provider, on a large input file.

    python benchmarks/loop_block.py [--size-mb 100] [--providers openai,mistral,...]
                                    [--json FILE] [--out BENCHMARKS.md] [--max-block-ms 50]

A service awaits acreate_batch on the loop that serves everything else: every pass over the
file that runs on that loop (validating, translating, staging) stops the service meanwhile.
Here a ticker task on the same loop wakes every 5 ms while acreate_batch creates a batch from
the file; the longest gap between two ticks, less the 5 ms, is how long the loop was blocked.

The emulator runs in its own process (as in upload_memory.py), so the server's work is not on
the measured loop; each provider runs in a fresh process, after a warm-up create from a tiny
file (imports, connection). The OpenAI-protocol providers the emulator does not mount
(DashScope, Moonshot, Nebius, Cerebras) talk to its OpenAI mount. With ``--out``, the table
replaces the "Event loop" section of that Markdown file (appended when missing).

When gemini is measured, a second case (``--gemini-inline-mb``, 15 MB by default: under
Gemini's inline limit) creates a batch whose requests go inline, polls it until it ends and
reads its results, the ticker running throughout: every one of those answers echoes the
inline requests (and, once done, the answers), so each is a decode of that size on the loop.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from upload_memory import _free_port, _wait_ready  # noqa: E402 (the folder is not a package)

CHAT = "/v1/chat/completions"
PROVIDERS = (
    "openai",
    "azureopenai",
    "groq",
    "dashscope",
    "moonshot",
    "nebius",
    "cerebras",
    "mistral",
    "anthropic",
    "gemini",
    "together",
)
TICK_SECONDS = 0.005
SECTION = "## Event loop"
BEGIN = "<!-- loop_block.py: begin -->"
END = "<!-- loop_block.py: end -->"


def make_file(path: Path, size_bytes: int, max_requests: int = 50_000) -> int:
    """A JSONL file of at most ``size_bytes`` with at most ``max_requests`` chat requests that
    every provider accepts (custom_ids Anthropic takes, ``max_tokens`` on each request)."""
    line_size = max(size_bytes // max_requests, 220)
    filler = "x" * (line_size - 170)
    count = written = 0
    with path.open("w", encoding="utf-8") as out:
        while count < max_requests:
            body = {
                "model": "gpt-4o-mini",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": f"question {count} {filler}"}],
            }
            line = json.dumps(
                {"custom_id": f"r{count}", "method": "POST", "url": CHAT, "body": body}
            )
            if written + len(line) + 1 > size_bytes:
                break
            out.write(line + "\n")
            written += len(line) + 1
            count += 1
    return count


CHILD = """
import asyncio, json, sys, time
from any_llm import AnyLLM
provider, base, small, big = sys.argv[1:5]
tick = float(sys.argv[5])

async def main():
    gaps = []
    done = asyncio.Event()

    async def ticker():
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(tick)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    args = {{"timeout": 600}}
    async with AnyLLM.create(provider, api_key="bench", api_base=base, client_args=args) as llm:
        await llm.acreate_batch(small, {chat!r})  # warm-up: imports, connection
        task = asyncio.create_task(ticker())
        await asyncio.sleep(tick * 4)
        started = time.perf_counter()
        batch = await llm.acreate_batch(big, {chat!r})
        wall = time.perf_counter() - started
        done.set()
        await task
    longest = max(gaps)
    print(json.dumps({{"provider": provider, "batch": batch.id, "wall_s": wall,
                      "ticks": len(gaps), "longest_gap_ms": longest * 1000,
                      "block_ms": max(longest - tick, 0.0) * 1000}}))

asyncio.run(main())
"""


GEMINI_INLINE_CHILD = """
import asyncio, json, sys, time
from any_llm import AnyLLM
from any_llm._providers import gemini as wire
base, small, big = sys.argv[1:4]
tick = float(sys.argv[4])

async def main():
    gaps = []
    phase = ["idle"]
    done = asyncio.Event()

    async def ticker():
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(tick)
            now = time.perf_counter()
            gaps.append((phase[0], now - last))
            last = now

    args = {{"timeout": 600}}
    async with AnyLLM.create("gemini", api_key="bench", api_base=base, client_args=args) as llm:
        await llm.acreate_batch(small, {chat!r})  # warm-up: imports, connection
        task = asyncio.create_task(ticker())
        await asyncio.sleep(tick * 4)
        phase[0] = "create"
        batch = await llm.acreate_batch(big, {chat!r})
        assert batch.input_file_id.endswith(wire.INLINE_INPUT), batch.input_file_id
        phase[0] = "poll"
        polls = 1
        while not batch.is_terminal:
            await asyncio.sleep(0.25)
            batch = await llm.aretrieve_batch(batch.id)
            polls += 1
        phase[0] = "results"
        result = await llm.aretrieve_batch_results(batch)
        phase[0] = "idle"
        done.set()
        await task
    row = {{"provider": "gemini (inline)", "batch": batch.id, "polls": polls,
           "results": len(result.results), "ticks": len(gaps)}}
    for name in ("create", "poll", "results"):
        longest = max([gap for where, gap in gaps if where == name] or [0.0])
        row[name + "_block_ms"] = max(longest - tick, 0.0) * 1000
    row["block_ms"] = max(row[n + "_block_ms"] for n in ("create", "poll", "results"))
    print(json.dumps(row))

asyncio.run(main())
"""


def measure_gemini_inline(base: str, small: Path, big: Path, timeout: float) -> dict[str, Any]:
    """A Gemini batch small enough to go inline: its create answer, every poll and the results
    carry the inline requests (and answers), with a ticker on the loop throughout."""
    code = GEMINI_INLINE_CHILD.format(chat=CHAT)
    run = subprocess.run(
        [sys.executable, "-c", code, base, str(small), str(big), str(TICK_SECONDS)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if run.returncode != 0:
        return {
            "provider": "gemini (inline)",
            "error": (run.stderr.strip().splitlines() or ["?"])[-1],
        }
    data: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return data


def measure(provider: str, base: str, small: Path, big: Path, timeout: float) -> dict[str, Any]:
    """Create a batch from ``big`` in a fresh process, with a ticker on its loop."""
    code = CHILD.format(chat=CHAT)
    run = subprocess.run(
        [sys.executable, "-c", code, provider, base, str(small), str(big), str(TICK_SECONDS)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if run.returncode != 0:
        return {"provider": provider, "error": (run.stderr.strip().splitlines() or ["?"])[-1]}
    data: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return data


def api_bases(url: str) -> dict[str, str]:
    """Each provider's ``api_base`` on the emulator at ``url`` (its OpenAI mount by default)."""
    from any_llm.emulator.server import MOUNTS

    mounted = {mount.name: mount.api_base for mount in MOUNTS}
    return {name: url + mounted.get(name, mounted["openai"]) for name in PROVIDERS}


def table(
    rows: list[dict[str, Any]],
    size: int,
    requests: int,
    extra: list[dict[str, Any]] | None = None,
) -> str:
    """The Markdown section of a run."""
    lines = [
        SECTION,
        "",
        BEGIN,
        f"`benchmarks/loop_block.py`: `acreate_batch` on a {size / 1e6:.1f} MB file of "
        f"{requests:,} requests, every provider, against the emulator in another process; a "
        f"ticker task on the same loop wakes every {TICK_SECONDS * 1000:g} ms. *Longest block*: "
        "the longest gap between two ticks, less the tick. Target: under 50 ms.",
        "",
        "| provider | create (s) | ticks | longest block (ms) |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['provider']} | error: {row['error']} | | |")
        else:
            lines.append(
                f"| {row['provider']} | {row['wall_s']:.2f} | {row['ticks']} | "
                f"{row['block_ms']:.1f} |"
            )
    inline = [row for row in extra or [] if "error" in row or "poll_block_ms" in row]
    if inline:
        lines += [
            "",
            "A Gemini batch small enough to go inline (every create, poll and results answer "
            "echoes its requests, and once done its answers): longest block per phase.",
            "",
            "| case | polls | results | create (ms) | each poll (ms) | results (ms) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in inline:
            if "error" in row:
                lines.append(f"| {row['provider']} | error: {row['error']} | | | | |")
            else:
                lines.append(
                    f"| {row['provider']}, {row['size'] / 1e6:.1f} MB | {row['polls']} | "
                    f"{row['results']:,} | {row['create_block_ms']:.1f} | "
                    f"{row['poll_block_ms']:.1f} | {row['results_block_ms']:.1f} |"
                )
    lines += [END, ""]
    return "\n".join(lines)


def write_section(out: Path, section: str) -> None:
    """Replace the section between the markers in ``out`` (append it when missing)."""
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    if BEGIN in text and END in text:
        start = text.rindex(SECTION, 0, text.index(BEGIN))
        stop = text.index(END) + len(END)
        text = text[:start] + section.rstrip("\n") + text[stop:]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    out.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a Markdown table; exit 1 if a block passes the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0, help="input size in MB (1e6 B)")
    parser.add_argument("--providers", default=",".join(PROVIDERS), help="comma-separated")
    parser.add_argument("--max-block-ms", type=float, default=50.0, help="fail above this")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--out", type=Path, default=None, help="update this Markdown file")
    parser.add_argument(
        "--gemini-inline-mb",
        type=float,
        default=15.0,
        help="also time a Gemini inline batch of this size through create, polls and "
        "results (when gemini is measured; 0: not)",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="per provider (s)")
    args = parser.parse_args(argv)
    providers = [p for p in args.providers.split(",") if p]
    unknown = sorted(set(providers) - set(PROVIDERS))
    if unknown:
        parser.error(f"unknown providers {unknown}; choose from {', '.join(PROVIDERS)}")
    with tempfile.TemporaryDirectory(prefix="any-llm-loop-") as tmp:
        tmp_path = Path(tmp)
        big, small = tmp_path / "big.jsonl", tmp_path / "small.jsonl"
        requests = make_file(big, int(args.size_mb * 1_000_000))
        inline_file = tmp_path / "inline.jsonl"
        if "gemini" in providers and args.gemini_inline_mb > 0:
            make_file(inline_file, int(args.gemini_inline_mb * 1_000_000))
        make_file(small, 12 * 400, max_requests=12)  # Cerebras takes 10 requests or more
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "any_llm.emulator"),
                *("--port", str(port), "--data-dir", str(tmp_path / "emulator")),
                # Batches end in 3 s: the inline Gemini case polls one to its end.
                *("--validating-seconds", "0.5", "--in-progress-seconds", "2"),
                *("--finalizing-seconds", "0.5"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rows: list[dict[str, Any]] = []
        extra: list[dict[str, Any]] = []
        try:
            _wait_ready(url, time.monotonic() + 30)
            size = big.stat().st_size
            print(f"input: {size / 1e6:.1f} MB, {requests} requests; emulator at {url}")
            bases = api_bases(url)
            for provider in providers:
                row = measure(provider, bases[provider], small, big, args.timeout)
                rows.append(row)
                print(json.dumps(row), flush=True)
            if inline_file.exists():
                row = measure_gemini_inline(bases["gemini"], small, inline_file, args.timeout)
                row["size"] = inline_file.stat().st_size
                extra.append(row)
                print(json.dumps(row), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    section = table(rows, size, requests, extra)
    print(section)
    if args.json is not None:
        args.json.write_text(
            json.dumps({"size": size, "requests": requests, "rows": rows, "inline": extra})
        )
    if args.out is not None:
        write_section(args.out, section)
    failed = [
        r["provider"] for r in rows + extra if "error" in r or r["block_ms"] > args.max_block_ms
    ]
    if failed:
        print(f"FAIL: {', '.join(failed)} (error, or a block over {args.max_block_ms} ms)")
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
