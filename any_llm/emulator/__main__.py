"""``python -m any_llm.emulator``: serve the emulator until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .config import EmulatorConfig
from .server import Emulator

__all__ = ["add_arguments", "config_from_args", "main", "serve"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to `parser`."""
    defaults = EmulatorConfig()
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on (default: a free port)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="directory keeping files and batches across restarts "
        "(default: a temporary directory removed on exit)",
    )
    for name, help_text in (
        ("validating", "seconds a batch spends validating"),
        ("in-progress", "seconds a batch spends processing its requests"),
        ("finalizing", "seconds a batch spends finalizing"),
        ("cancelling", "seconds a cancelled batch spends cancelling"),
    ):
        attribute = f"{name.replace('-', '_')}_seconds"
        parser.add_argument(
            f"--{name}-seconds",
            type=float,
            default=getattr(defaults, attribute),
            help=f"{help_text} (default: %(default)s)",
        )
    parser.add_argument(
        "--completion-window-seconds",
        type=float,
        default=None,
        help="expire batches not done this long after creation (default: never)",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=defaults.page_size_default,
        help="default page size of batch lists (default: %(default)s)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="accept only this bearer token (default: any non-empty token)",
    )


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """Build the configuration the parsed options describe."""
    return EmulatorConfig(
        validating_seconds=args.validating_seconds,
        in_progress_seconds=args.in_progress_seconds,
        finalizing_seconds=args.finalizing_seconds,
        cancelling_seconds=args.cancelling_seconds,
        completion_window_seconds=args.completion_window_seconds,
        page_size_default=args.page_size,
        api_key=args.api_key,
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(args: argparse.Namespace) -> int:
    """Serve with the parsed options until Ctrl-C or SIGTERM."""
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="any-llm-emulator-") as scratch:
        data_dir = args.data_dir if args.data_dir is not None else Path(scratch)
        emulator = Emulator(data_dir, config, host=args.host, port=args.port)
        try:
            emulator.start()
        except OSError as exc:
            print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            print(f"any-llm emulator listening on {emulator.url}", flush=True)
            print(f"OpenAI base URL: {emulator.url}/v1", flush=True)
            print(f"data directory: {data_dir}", flush=True)
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            emulator.stop()
    return 0


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m any_llm.emulator") -> int:
    """Parse `argv` and serve."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local emulator of the LLM providers' batch APIs.",
    )
    add_arguments(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
