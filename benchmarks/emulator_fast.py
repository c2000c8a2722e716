"""The emulator with lazy validation of batch input files, for the create benchmark.

    python benchmarks/emulator_fast.py [the options of python -m any_llm.emulator]

The emulator validates a batch's input synchronously inside ``POST /batches`` (0.9 s for a
100 MB file on the benchmark machine), while OpenAI answers at once and validates later. That
constant would hide most of the client's own cost in the create benchmark, so this variant
only counts the lines (the benchmark wrote the file and knows it is valid). Everything else is
the emulator as shipped. Its batches must never run (the benchmark keeps them validating): the
count knows nothing of failure markers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from any_llm.emulator import __main__ as emulator_main
from any_llm.emulator import openai as emulator_openai


def count_lines(path: Path, endpoint: str, **_: object) -> object:
    """What ``scan_input`` returns for a valid file, from a count of its lines."""
    total = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            total += chunk.count(b"\n")
    return emulator_openai.ScanResult(total=total, model=None, failing=[], errors=[])


def main() -> int:
    """Serve like ``python -m any_llm.emulator``, with the lazy scan if it can be installed."""
    if hasattr(emulator_openai, "scan_input") and hasattr(emulator_openai, "ScanResult"):
        setattr(emulator_openai, "scan_input", count_lines)  # noqa: B010 (the patch is the point)
    else:
        print("emulator_fast: scan_input not found; validating as usual", file=sys.stderr)
    return emulator_main.main()


if __name__ == "__main__":
    sys.exit(main())
