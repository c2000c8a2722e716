"""The ``any-llm`` command: ``demo`` and ``emulator``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

DEMO_MODEL = "gpt-4o-mini"


def write_demo_requests(path: Path, count: int) -> None:
    """A JSONL file of ``count`` chat requests; every 10th asks the emulator to fail it."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            question = f"What is {i} + {i}?"
            if i % 10 == 9:
                question += " [[fail]]"
            line = {
                "custom_id": f"demo-{i:04d}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": DEMO_MODEL,
                    "messages": [
                        {"role": "system", "content": "You are a calculator."},
                        {"role": "user", "content": question},
                    ],
                    "max_tokens": 20,
                },
            }
            out.write(json.dumps(line) + "\n")


def _progress(batch: object) -> None:
    from any_llm.types import Batch

    assert isinstance(batch, Batch)
    counts = batch.request_counts
    done = counts.completed + counts.failed
    total = counts.total or 1
    width = 30
    filled = int(width * done / total) if counts.total else 0
    bar = "#" * filled + "-" * (width - filled)
    print(
        f"  [{bar}] {batch.status.value:<11} {done}/{counts.total} "
        f"(completed {counts.completed}, failed {counts.failed})",
        flush=True,
    )


def run_demo(requests: int, seconds: float) -> int:
    """Run a whole batch against the built-in emulator: no key, no network."""
    from any_llm._retry import RetryConfig
    from any_llm.emulator import Emulator, EmulatorConfig
    from any_llm.types import BatchResultStatus
    from any_llm_sync import AnyLLM

    phase = max(seconds, 0.0) / 4
    config = EmulatorConfig(
        validating_seconds=phase,
        in_progress_seconds=2 * phase,
        finalizing_seconds=phase,
    )
    with tempfile.TemporaryDirectory(prefix="any-llm-demo-") as tmp:
        tmp_path = Path(tmp)
        input_path = tmp_path / "requests.jsonl"
        write_demo_requests(input_path, requests)
        with Emulator(data_dir=tmp_path / "emulator", config=config) as emu:
            print(f"emulator: OpenAI batch API at {emu.url}/v1 (in-process, loopback only)")
            # Poll every half second so the progress is visible (the default backs off to 60 s).
            pace = {"retry": RetryConfig(poll_initial=0.25, poll_max=0.5)}
            with AnyLLM.create(
                "openai", api_key="demo-key", api_base=f"{emu.url}/v1", client_args=pace
            ) as llm:
                started = time.monotonic()
                batch = llm.create_batch(input_path, "/v1/chat/completions")
                print(f"created {batch.id} from {requests} requests ({input_path.name})")
                batch = llm.poll_batch(batch.id, on_progress=_progress)
                result = llm.retrieve_batch_results(batch)
                elapsed = time.monotonic() - started
        counts = result.counts()
        print(f"batch {batch.id} ended {batch.status.value} in {elapsed:.1f}s")
        for status in BatchResultStatus:
            if counts[status]:
                print(f"  {status.value:<10} {counts[status]}")
        sample = next((item for item in result if item.succeeded), None)
        if sample is not None:
            completion = sample.chat_completion()
            print(f"sample {sample.custom_id}: {completion.choices[0].message.content!r}")
        failed = next((item for item in result if not item.succeeded), None)
        if failed is not None and failed.error is not None:
            print(f"sample failure {failed.custom_id}: {failed.error.message}")
        missing = requests - len(result)
        print(
            "every custom_id accounted for" if missing == 0 else f"{missing} requests unaccounted"
        )
        return 0 if missing == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``any-llm`` command."""
    parser = argparse.ArgumentParser(prog="any-llm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a batch end to end against the built-in emulator")
    demo.add_argument("--requests", type=int, default=200, help="requests in the batch")
    demo.add_argument("--seconds", type=float, default=4.0, help="how long the batch runs")
    emulator = sub.add_parser("emulator", help="serve the local batch emulator")
    from any_llm.emulator.__main__ import add_arguments

    add_arguments(emulator)
    args = parser.parse_args(argv)
    if args.command == "demo":
        return run_demo(args.requests, args.seconds)
    from any_llm.emulator.__main__ import serve

    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
