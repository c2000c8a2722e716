"""The files ``any-llm`` writes: never emptied or damaged when the command fails.

Results go to a temporary file beside the output, which replaces the output (``os.replace``,
atomic) only when every line is written; on any failure, Ctrl-C included, the temporary file is
removed and the output is left as it was. Every problem the command can see before its first
request (the output is the input, a directory, a missing or unwritable directory) is found
before that request. Each is a `UsageError`: one line naming the path and the reason, exit 2.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO


class UsageError(Exception):
    """A bad use of the command found by the command itself: one line, exit code 2."""


def _cannot(path: str, reason: str) -> UsageError:
    return UsageError(f"cannot write the results to {path!r}: {reason}")


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _is_input(output: Path, input_path: str | None) -> bool:
    if input_path is None:
        return False
    source = Path(input_path)
    if os.path.realpath(output) == os.path.realpath(source):  # also when neither exists yet
        return True
    try:
        return os.path.samefile(output, source)  # a hard link, or another name of the file
    except OSError:
        return False  # one of them does not exist: they cannot be the same file


def _new_file_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def output_writer(
    path: str | None, *, input_path: str | None = None
) -> Iterator[Callable[[str], object]]:
    """Give a function that writes text to ``path`` (stdout for None or ``-``).

    The text reaches ``path`` only when the block ends without an exception; until then the
    file (if any) keeps its bytes, and a failure leaves no temporary file behind.
    """
    if path is None or path == "-":
        yield sys.stdout.write
        return
    output = Path(path)
    if _is_input(output, input_path):
        raise _cannot(path, "it is the --input file; write the results to another file")
    try:
        st: os.stat_result | None = os.stat(path)  # the string: a trailing "/" counts
    except FileNotFoundError:
        if path.endswith(("/", os.sep)):  # "newdir/": a directory was meant, not a file
            raise _cannot(path, os.strerror(errno.EISDIR)) from None
        st = None
    except OSError as exc:  # a parent that is a file, a loop of links, ...
        raise _cannot(path, _os_reason(exc)) from exc
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise _cannot(path, os.strerror(errno.EISDIR))
    if st is not None and not stat.S_ISREG(st.st_mode):
        # A device or a pipe (/dev/null, /dev/stdout, a FIFO): nothing to keep, written as is.
        with _opened(path, lambda: output.open("w", encoding="utf-8")) as stream:
            yield _writer(path, stream)
        return
    if st is not None and not os.access(output, os.W_OK):
        raise _cannot(path, os.strerror(errno.EACCES))
    # Replace the file a symlink points to, not the link.
    target = Path(os.path.realpath(output))
    mode = stat.S_IMODE(st.st_mode) if st is not None else _new_file_mode()
    try:
        fd, temp = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".any-llm-tmp"
        )
    except OSError as exc:
        raise _cannot(path, _os_reason(exc)) from exc
    try:
        with open(fd, "w", encoding="utf-8") as stream:
            os.chmod(temp, mode)
            yield _writer(path, stream)
            try:
                stream.flush()
                os.fsync(stream.fileno())
            except OSError as exc:
                raise _cannot(path, _os_reason(exc)) from exc
        try:
            os.replace(temp, target)
        except OSError as exc:
            raise _cannot(path, _os_reason(exc)) from exc
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise


@contextmanager
def _opened(path: str, open_: Callable[[], IO[str]]) -> Iterator[IO[str]]:
    try:
        stream = open_()
    except OSError as exc:
        raise _cannot(path, _os_reason(exc)) from exc
    with stream:
        yield stream


def _writer(path: str, stream: IO[str]) -> Callable[[str], object]:
    def write(text: str) -> None:
        try:
            stream.write(text)
        except OSError as exc:  # e.g. the disk is full
            raise _cannot(path, _os_reason(exc)) from exc

    return write
