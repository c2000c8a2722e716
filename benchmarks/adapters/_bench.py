"""What every adapter shares: the command line, timing, peak RSS and the one-line JSON report.

An adapter is run in a fresh process of its library's venv as
``python adapters/<lib>.py OP PARAMS_JSON`` and prints one JSON line. Only the standard library
is used here, and only ``sys`` and ``time`` are imported at module level: the ``import``
operation times a cold import of the library alone, before anything else (``typing`` and
``json`` would add 10 ms that the library may not need). Adapters follow the same rule: they
import their library, ``asyncio`` and ``json`` inside the operations.
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TypeAlias

    Params: TypeAlias = dict[str, Any]
    Report: TypeAlias = dict[str, Any]
    Op: TypeAlias = Callable[[Params], Report]

HEAVY = ("aiohttp", "urllib3", "httpx", "httpx2", "openai", "pydantic", "requests", "anyio")
"""Modules whose presence after an import tells how lazy a package is."""


def peak_rss_mib() -> float:
    """The process's peak resident set size so far (ru_maxrss, KiB on Linux), in MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def loaded(names: Iterable[str] = HEAVY) -> list[str]:
    """Which of ``names`` are imported in this process now."""
    return sorted(name for name in names if name in sys.modules)


def median(values: list[float]) -> float:
    """The median of a non-empty list."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def repeated_report(walls: list[float], before: float, after: float) -> Report:
    """The median of repeated measurements, and the peak RSS before the first and after all."""
    return {
        "wall_s": median(walls),
        "walls_s": walls,
        "rss_before_mib": before,
        "rss_after_mib": after,
    }


def per_call_report(durations: list[float]) -> Report:
    """Per-call statistics (milliseconds) of a list of durations in seconds."""
    ms = sorted(d * 1000 for d in durations)
    return {
        "calls": len(ms),
        "per_call_ms": median(ms),
        "mean_ms": sum(ms) / len(ms),
        "p90_ms": ms[int(len(ms) * 0.9) - 1] if len(ms) >= 10 else ms[-1],
        "min_ms": ms[0],
    }


class IdCheck:
    """Counts result items and checks that every expected custom_id came back exactly once.

    Ids are ``<prefix><number>`` for numbers below ``expect``, so a bytearray of ``expect``
    bytes does the bookkeeping without holding a set of strings in memory.
    """

    def __init__(self, expect: int, prefix: str) -> None:
        self.seen = bytearray(expect)
        self.prefix = prefix
        self.items = 0
        self.failed = 0
        self.duplicates = 0
        self.unknown = 0

    def add(self, custom_id: str, *, failed: bool) -> None:
        """Record one item."""
        self.items += 1
        if failed:
            self.failed += 1
        index = -1
        if custom_id.startswith(self.prefix):
            try:
                index = int(custom_id[len(self.prefix) :])
            except ValueError:
                index = -1
        if not 0 <= index < len(self.seen):
            self.unknown += 1
        elif self.seen[index]:
            self.duplicates += 1
        else:
            self.seen[index] = 1

    def report(self) -> Report:
        """Counts, and whether every id came back once."""
        missing = len(self.seen) - sum(self.seen)
        return {
            "items": self.items,
            "failed_items": self.failed,
            "missing_ids": missing,
            "duplicate_ids": self.duplicates,
            "unknown_ids": self.unknown,
            "all_ids_once": missing == 0 and self.duplicates == 0 and self.unknown == 0,
        }


def line_failed(row: dict[str, Any]) -> bool:
    """Whether a raw OpenAI result line reports a failure (either of OpenAI's two shapes)."""
    if row.get("error"):
        return True
    response = row.get("response") or {}
    status = response.get("status_code", 200)
    return not isinstance(status, int) or status >= 400


def time_import(modules: Iterable[str]) -> Report:
    """Time the first import of ``modules`` in this process."""
    import importlib

    start = time.perf_counter()
    for name in modules:
        importlib.import_module(name)
    elapsed = time.perf_counter() - start
    return {"import_ms": elapsed * 1000, "loaded": loaded()}


def main(lib: str, imports: Iterable[str], ops: dict[str, Op]) -> None:
    """Run the operation named on the command line and print its JSON report."""
    op, raw = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"
    if op == "import":
        report = time_import(imports)  # before json is imported
    else:
        import json

        report = ops[op](json.loads(raw)) if op in ops else {"na": f"{lib} has no {op}"}
    import json

    report = {"lib": lib, "op": op, **report}
    print(json.dumps(report), flush=True)
