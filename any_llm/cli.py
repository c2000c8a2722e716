"""The ``any-llm`` command: ``batch`` operations, ``demo`` and ``emulator``.

Exit codes: 0 done; 1 the batch ended without completing (failed, expired, cancelled), or
``find`` found no batch; 2 bad usage, configuration or input file; 3 the provider's API failed
(a create whose outcome is unknown included: the message says how to find the batch);
4 waiting timed out; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from any_llm._outfile import UsageError, output_writer

if TYPE_CHECKING:
    from any_llm.errors import AnyLLMError
    from any_llm.types import Batch
    from any_llm_sync import AnyLLM

DEMO_MODEL = "gpt-4o-mini"

EXIT_OK = 0
EXIT_NOT_COMPLETED = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_TIMEOUT = 4
EXIT_INTERRUPTED = 130


class _Progress:
    """A tqdm bar over a batch's request counts, updated from ``poll_batch``'s callback."""

    def __init__(self, *, enabled: bool, stream: IO[str]) -> None:
        self._enabled = enabled
        self._stream = stream
        self._bar: Any = None

    def __call__(self, batch: Batch) -> None:
        if not self._enabled:
            return
        from tqdm import tqdm

        counts = batch.request_counts
        if self._bar is None:
            self._bar = tqdm(
                total=counts.total or None,
                desc=batch.id[:24],
                unit="req",
                file=self._stream,
                dynamic_ncols=True,
            )
        if counts.total and self._bar.total != counts.total:
            self._bar.total = counts.total
        self._bar.n = counts.completed + counts.failed
        self._bar.set_postfix_str(f"{batch.status.value}, failed {counts.failed}")
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


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


def run_demo(requests: int, seconds: float, *, progress: bool) -> int:
    """Run a whole batch against the built-in emulator: no key, no network."""
    from any_llm._retry import RetryConfig
    from any_llm.emulator import Emulator, EmulatorConfig
    from any_llm.types import BatchResultStatus
    from any_llm_sync import AnyLLM

    phase = max(seconds, 0.0) / 4
    config = EmulatorConfig(
        validating_seconds=phase, in_progress_seconds=2 * phase, finalizing_seconds=phase
    )
    with tempfile.TemporaryDirectory(prefix="any-llm-demo-") as tmp:
        tmp_path = Path(tmp)
        input_path = tmp_path / "requests.jsonl"
        write_demo_requests(input_path, requests)
        with Emulator(data_dir=tmp_path / "emulator", config=config) as emu:
            print(f"emulator: OpenAI batch API at {emu.api_base('openai')} (in-process, loopback)")
            # Poll every half second so the progress is visible (the default backs off to 60 s).
            pace = {"retry": RetryConfig(poll_initial=0.25, poll_max=0.5)}
            bar = _Progress(enabled=progress, stream=sys.stdout)
            with AnyLLM.create(
                "openai", api_key="demo-key", api_base=emu.api_base("openai"), client_args=pace
            ) as llm:
                started = time.monotonic()
                batch = llm.create_batch(input_path, "/v1/chat/completions")
                print(f"created {batch.id} from {requests} requests ({input_path.name})")
                try:
                    batch = llm.poll_batch(batch.id, on_progress=bar)
                finally:
                    bar.close()
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
        return EXIT_OK if missing == 0 else EXIT_NOT_COMPLETED


# batch subcommands


def _client(args: argparse.Namespace) -> AnyLLM:
    from any_llm_sync import AnyLLM

    return AnyLLM.create(args.provider, api_base=args.api_base)


def _batch_json(batch: Batch) -> str:
    from any_llm._converter import converter

    return json.dumps(converter.unstructure(batch), sort_keys=True)


def _batch_line(batch: Batch) -> str:
    counts = batch.request_counts
    return (
        f"{batch.id}  {batch.status.value:<11} {counts.completed + counts.failed}/{counts.total}"
        f"  failed {counts.failed}  {batch.endpoint}  ({batch.provider}: {batch.provider_status})"
    )


def _show(args: argparse.Namespace, batch: Batch) -> None:
    print(_batch_json(batch) if args.json else _batch_line(batch))


def _ended_code(batch: Batch) -> int:
    from any_llm.types import BatchStatus

    return EXIT_OK if batch.status is BatchStatus.COMPLETED else EXIT_NOT_COMPLETED


def _bars(args: argparse.Namespace, stream: IO[str]) -> bool:
    """Progress bars are drawn on a terminal (not with --json), or when --progress asks."""
    if args.progress is not None:
        return bool(args.progress)
    return not getattr(args, "json", False) and stream.isatty()


def _wait(args: argparse.Namespace, llm: AnyLLM, batch_id: str) -> int:
    bar = _Progress(enabled=_bars(args, sys.stderr), stream=sys.stderr)
    try:
        batch = llm.poll_batch(batch_id, timeout=args.timeout, on_progress=bar)
    finally:
        bar.close()
    _show(args, batch)
    return _ended_code(batch)


def _metadata(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--metadata expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


@contextmanager
def _upload_bar(path: str, *, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A tqdm bar over the bytes sent from disk, or None when disabled.

    The bar appears with the first bytes sent, so a file refused before any request (the
    check of its start, a translated file checked whole) prints its error line alone.
    """
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    try:
        total = Path(path).stat().st_size
    except OSError:  # a missing file: create_batch says so, and no byte is ever sent
        total = 0
    bars: list[tqdm[Any]] = []

    def sent(size: int) -> None:
        if not bars:
            bars.append(
                tqdm(
                    total=total,
                    desc="upload",
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    file=sys.stderr,
                    dynamic_ncols=True,
                )
            )
        bar = bars[0]
        # The body is the file plus a few hundred bytes of envelope: stop at 100%.
        bar.update(max(0, min(size, total - bar.n)))

    try:
        yield sent
    finally:
        for bar in bars:
            bar.close()


def cmd_create(args: argparse.Namespace) -> int:
    import uuid

    metadata = _metadata(args.metadata)
    # The key is chosen here, so that an interrupted create can say how to find its batch.
    key = args.idempotency_key or uuid.uuid4().hex
    with _client(args) as llm:
        with _upload_bar(args.file, enabled=_bars(args, sys.stderr)) as on_upload:
            try:
                batch = llm.create_batch(
                    args.file,
                    args.endpoint,
                    completion_window=args.completion_window,
                    metadata=metadata,
                    on_upload_progress=on_upload,
                    idempotency_key=key,
                )
            except KeyboardInterrupt:
                print(
                    f"any-llm: interrupted; the batch may have been created with idempotency "
                    f"key {key}: find it with `any-llm batch find {key} --provider "
                    f"{args.provider}` before creating it again",
                    file=sys.stderr,
                )
                return EXIT_INTERRUPTED
        if not args.wait:
            _show(args, batch)
            return EXIT_OK
        if not args.json:
            print(f"created {batch.id}", file=sys.stderr)
        return _wait(args, llm, batch.id)


def cmd_find(args: argparse.Namespace) -> int:
    with _client(args) as llm:
        batch = llm.find_batch(args.idempotency_key)
    if batch is None:
        print(f"any-llm: no batch carries idempotency key {args.idempotency_key}", file=sys.stderr)
        return EXIT_NOT_COMPLETED
    _show(args, batch)
    return EXIT_OK


def cmd_get(args: argparse.Namespace) -> int:
    with _client(args) as llm:
        _show(args, llm.retrieve_batch(args.batch_id))
    return EXIT_OK


def cmd_wait(args: argparse.Namespace) -> int:
    with _client(args) as llm:
        return _wait(args, llm, args.batch_id)


def cmd_cancel(args: argparse.Namespace) -> int:
    with _client(args) as llm:
        _show(args, llm.cancel_batch(args.batch_id))
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    with _client(args) as llm:
        if args.all:
            batches: Iterator[Batch] = llm.iter_batches(limit=args.limit)
            for batch in batches:
                _show(args, batch)
            return EXIT_OK
        page = llm.list_batches(after=args.after, limit=args.limit)
        for batch in page:
            _show(args, batch)
        if page.has_more and not args.json:
            print(f"more: --after {page.next_cursor}", file=sys.stderr)
    return EXIT_OK


def cmd_results(args: argparse.Namespace) -> int:
    from any_llm._converter import converter
    from any_llm.types import BatchResultStatus

    counts = dict.fromkeys(BatchResultStatus, 0)
    # The output is checked (and its temporary file made) before any request; it is replaced
    # only once every result is written, so a failure leaves an existing file as it was.
    with output_writer(args.output, input_path=args.input) as write, _client(args) as llm:
        for item in llm.iter_batch_results(args.batch_id, input_file_path=args.input):
            counts[item.status] += 1
            data = {k: v for k, v in converter.unstructure(item).items() if v is not None}
            write(json.dumps(data) + "\n")
    summary = ", ".join(f"{status.value} {n}" for status, n in counts.items() if n)
    print(f"{sum(counts.values())} results: {summary or 'none'}", file=sys.stderr)
    return EXIT_OK


def _add_progress_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw progress bars (default: only when they go to a terminal)",
    )


def _add_batch_parser(sub: Any) -> None:
    batch = sub.add_parser("batch", help="create, inspect, wait for, cancel and read batches")
    ops = batch.add_subparsers(dest="operation", required=True)

    def op(name: str, func: Callable[[argparse.Namespace], int], help: str) -> Any:
        parser = ops.add_parser(name, help=help)
        parser.set_defaults(func=func)
        parser.add_argument(
            "--provider",
            default=os.environ.get("ANY_LLM_PROVIDER", "openai"),
            help="provider name (default: $ANY_LLM_PROVIDER or openai); its key comes from "
            "the provider's usual environment variable",
        )
        parser.add_argument("--api-base", help="the provider's base URL (e.g. the emulator's)")
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")
        return parser

    create = op("create", cmd_create, "validate, upload and create a batch from a JSONL file")
    create.add_argument("file", help="the JSONL file of requests")
    create.add_argument("--endpoint", default="/v1/chat/completions")
    create.add_argument("--completion-window", default="24h")
    create.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE")
    create.add_argument("--wait", action="store_true", help="then wait for the batch to end")
    create.add_argument(
        "--idempotency-key",
        help="stamp the batch with this key (default: a random one); a batch that already "
        "carries it is shown instead of creating another",
    )
    for parser in (create, op("wait", cmd_wait, "wait for a batch to end, with progress")):
        parser.add_argument("--timeout", type=float, help="give up after this many seconds")
        _add_progress_flags(parser)
        parser.add_argument(
            "--quiet",
            dest="progress",
            action="store_false",
            default=None,
            help="the same as --no-progress",
        )
    op("get", cmd_get, "show a batch").add_argument("batch_id")
    op("find", cmd_find, "show the batch created with an idempotency key").add_argument(
        "idempotency_key"
    )
    ops.choices["wait"].add_argument("batch_id")
    op("cancel", cmd_cancel, "cancel a batch").add_argument("batch_id")
    listing = op("list", cmd_list, "list batches, newest first")
    listing.add_argument("--limit", type=int, help="page size")
    listing.add_argument("--after", help="cursor from a previous page")
    listing.add_argument("--all", action="store_true", help="every page")
    results = op("results", cmd_results, "stream one JSON line per request of an ended batch")
    results.add_argument("batch_id")
    results.add_argument("-o", "--output", help="write to this file (default: stdout)")
    results.add_argument("--input", help="the local input file (finds unreturned requests)")


def _error_code(exc: AnyLLMError) -> int:
    from any_llm.errors import APIError, BatchTimeoutError, ConfigurationError, InputFileError

    if isinstance(exc, BatchTimeoutError):
        return EXIT_TIMEOUT
    if isinstance(exc, (ConfigurationError, InputFileError)):
        return EXIT_USAGE
    if isinstance(exc, APIError):
        return EXIT_API
    return EXIT_NOT_COMPLETED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``any-llm`` command."""
    parser = argparse.ArgumentParser(
        prog="any-llm", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debug", action="store_true", help="print tracebacks of errors")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_batch_parser(sub)
    demo = sub.add_parser("demo", help="run a batch end to end against the built-in emulator")
    demo.add_argument("--requests", type=int, default=200, help="requests in the batch")
    demo.add_argument("--seconds", type=float, default=4.0, help="how long the batch runs")
    _add_progress_flags(demo)
    # The emulator parses its own options (``any-llm emulator --help``): importing it, and
    # aiohttp.web with it, only when it is the command keeps every other command quick.
    sub.add_parser("emulator", help="serve the local batch emulator", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "emulator":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from any_llm.errors import AnyLLMError

    try:
        if args.command == "demo":
            return run_demo(args.requests, args.seconds, progress=_bars(args, sys.stdout))
        if args.command == "emulator":
            from any_llm.emulator.__main__ import main as serve_emulator

            return serve_emulator(rest, prog="any-llm emulator")
        code: int = args.func(args)
        return code
    except KeyboardInterrupt:
        print("any-llm: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (argparse.ArgumentTypeError, UsageError) as exc:
        print(f"any-llm: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AnyLLMError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"any-llm: {exc}", file=sys.stderr)
        return _error_code(exc)


if __name__ == "__main__":
    sys.exit(main())
