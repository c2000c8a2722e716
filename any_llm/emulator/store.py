"""On-disk state of an emulator: stored files, batches and the batch state machine.

Layout of the data directory::

    files/<id>.data     stored bytes of a file
    files/<id>.json     its metadata
    batches/<id>.json   a batch
    batches/<id>.input  a hard link to (or copy of) the batch's input file, kept until settled
    tmp/                uploads in flight

A batch's status is never stored: it is derived from the clock on every read (`progress`). When
a read finds a batch in a terminal state for the first time, its results are written
("settled") by the result writer registered for its provider.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

import attrs
import cattrs

from .clock import Clock
from .config import EmulatorConfig

__all__ = [
    "CHUNK_SIZE",
    "TERMINAL_STATUSES",
    "BatchRecord",
    "CancelRejectedError",
    "FileRecord",
    "FileSink",
    "PairSwap",
    "Progress",
    "ResultWriter",
    "Settlement",
    "Store",
    "Timings",
    "initial_progress",
    "paginate",
    "progress",
]

CHUNK_SIZE = 256 * 1024
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
_WITH_RESULTS = frozenset({"completed", "expired", "cancelled"})

_T = TypeVar("_T")


@attrs.define(kw_only=True)
class FileRecord:
    """A stored file."""

    id: str
    filename: str
    purpose: str
    bytes: int
    sha256: str
    created_at: int
    expires_at: int | None
    seq: int


@attrs.frozen(kw_only=True)
class Timings:
    """The phase durations a batch was created with (seconds)."""

    validating: float
    in_progress: float
    finalizing: float
    cancelling: float
    window: float | None

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> Timings:
        """Take the timings of `config`."""
        return cls(
            validating=config.validating_seconds,
            in_progress=config.in_progress_seconds,
            finalizing=config.finalizing_seconds,
            cancelling=config.cancelling_seconds,
            window=config.completion_window_seconds,
        )


@attrs.define(kw_only=True)
class BatchRecord:
    """A batch as stored: what was asked for, what the input holds, and how it ended.

    `failing` holds the 0-based indices (in input order) of the requests that fail when
    processed, so that counts can be derived for any number of processed requests.
    `options` holds provider-specific create parameters, kept as sent.
    """

    id: str
    provider: str
    endpoint: str
    input_file_id: str
    created: float
    seq: int
    timings: Timings
    total: int
    model: str | None
    failing: list[int]
    validation_errors: list[dict[str, Any]]
    metadata: dict[str, str] | None
    options: dict[str, Any] = attrs.field(factory=dict)
    cancel_requested_at: float | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    settled: bool = False


@attrs.frozen(kw_only=True)
class Progress:
    """The state of a batch at one moment, derived from its record and the clock."""

    status: str
    total: int
    processed: int
    failed: int
    in_progress_at: float | None = None
    finalizing_at: float | None = None
    completed_at: float | None = None
    failed_at: float | None = None
    expired_at: float | None = None
    cancelling_at: float | None = None
    cancelled_at: float | None = None

    @property
    def succeeded(self) -> int:
        """Requests processed without failure."""
        return self.processed - self.failed

    @property
    def finished_at(self) -> float | None:
        """When the batch reached its terminal state, if it did."""
        for stamp in (self.completed_at, self.failed_at, self.expired_at, self.cancelled_at):
            if stamp is not None:
                return stamp
        return None


def _make(
    record: BatchRecord,
    status: str,
    processed: int,
    *,
    in_progress_at: float | None = None,
    finalizing_at: float | None = None,
    completed_at: float | None = None,
    failed_at: float | None = None,
    expired_at: float | None = None,
    cancelling_at: float | None = None,
    cancelled_at: float | None = None,
) -> Progress:
    started = in_progress_at is not None
    return Progress(
        status=status,
        total=record.total if started else 0,
        processed=processed,
        failed=bisect.bisect_left(record.failing, processed),
        in_progress_at=in_progress_at,
        finalizing_at=finalizing_at,
        completed_at=completed_at,
        failed_at=failed_at,
        expired_at=expired_at,
        cancelling_at=cancelling_at,
        cancelled_at=cancelled_at,
    )


def initial_progress(record: BatchRecord) -> Progress:
    """The state a batch is reported in by its create call."""
    return _make(record, "validating", 0)


def progress(record: BatchRecord, now: float) -> Progress:
    """Derive the state of a batch at time `now`.

    validating → (failed | in_progress → finalizing → completed); with a completion window
    shorter than validation plus processing → expired at `created + window`; a cancel during
    validating or in_progress → cancelling → cancelled. Requests are processed in input order at
    an even pace over the in_progress phase.
    """
    timings = record.timings
    validated = record.created + timings.validating
    processed_end = validated + timings.in_progress
    finalized = processed_end + timings.finalizing

    def processed_at(when: float) -> int:
        if when < validated:
            return 0
        if when >= processed_end or timings.in_progress <= 0:
            return record.total
        share = (when - validated) / timings.in_progress
        return min(record.total, int(record.total * share))

    cancel = record.cancel_requested_at
    if cancel is not None:
        started = cancel >= validated and not record.validation_errors
        count = processed_at(cancel) if started else 0
        begun = validated if started else None
        settled_at = cancel + timings.cancelling
        if now < settled_at:
            return _make(record, "cancelling", count, in_progress_at=begun, cancelling_at=cancel)
        return _make(
            record,
            "cancelled",
            count,
            in_progress_at=begun,
            cancelling_at=cancel,
            cancelled_at=settled_at,
        )
    if record.validation_errors:
        if now < validated:
            return _make(record, "validating", 0)
        return _make(record, "failed", 0, failed_at=validated)
    window = timings.window
    if window is not None and timings.validating + timings.in_progress > window:
        expires = record.created + window
        if now >= expires:
            begun = validated if expires >= validated else None
            return _make(
                record, "expired", processed_at(expires), in_progress_at=begun, expired_at=expires
            )
    if now < validated:
        return _make(record, "validating", 0)
    if now < processed_end:
        return _make(record, "in_progress", processed_at(now), in_progress_at=validated)
    if now < finalized:
        return _make(
            record,
            "finalizing",
            record.total,
            in_progress_at=validated,
            finalizing_at=processed_end,
        )
    return _make(
        record,
        "completed",
        record.total,
        in_progress_at=validated,
        finalizing_at=processed_end,
        completed_at=finalized,
    )


class CancelRejectedError(Exception):
    """A cancel was asked for a batch that can no longer be cancelled."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@attrs.frozen
class Settlement:
    """What a result writer produced for a batch."""

    output_file_id: str | None
    error_file_id: str | None
    input_tokens: int = 0
    output_tokens: int = 0


class ResultWriter(Protocol):
    """Writes the results of the first `processed` requests of a finished batch."""

    def __call__(
        self, store: Store, record: BatchRecord, processed: int, finished_at: float
    ) -> Settlement: ...


def paginate(
    items: Sequence[_T], key: Callable[[_T], str], after: str | None, limit: int
) -> tuple[list[_T], bool] | None:
    """Return the page of `limit` items following the one whose key is `after`, and whether
    more follow; None when `after` names no item."""
    start = 0
    if after is not None:
        for index, item in enumerate(items):
            if key(item) == after:
                start = index + 1
                break
        else:
            return None
    page = list(items[start : start + limit])
    return page, start + limit < len(items)


class FileSink:
    """A file being written; `commit` stores it, leaving the block without it discards it."""

    def __init__(self, store: Store, path: Path) -> None:
        self._store = store
        self._path = path
        self._handle = path.open("wb")
        self._hash = hashlib.sha256()
        self._size = 0
        self._done = False

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def write(self, data: bytes) -> None:
        """Append bytes."""
        self._handle.write(data)
        self._hash.update(data)
        self._size += len(data)

    def commit(
        self,
        *,
        filename: str,
        purpose: str,
        created_at: int,
        expires_at: int | None,
        file_id: str | None = None,
    ) -> FileRecord:
        """Store the file and return its record (under `file_id` when the id was handed out
        before the bytes arrived, as with a presigned upload)."""
        self._handle.close()
        self._done = True
        return self._store._add_file(
            self._path,
            filename=filename,
            purpose=purpose,
            size=self._size,
            sha256=self._hash.hexdigest(),
            created_at=created_at,
            expires_at=expires_at,
            file_id=file_id,
        )

    def discard(self) -> None:
        """Drop what was written."""
        if not self._done:
            self._done = True
            self._handle.close()
            self._path.unlink(missing_ok=True)

    def __enter__(self) -> FileSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()


_converter = cattrs.Converter()


def _write_json(path: Path, data: Any) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    os.replace(partial, path)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


class Store:
    """Files and batches of one emulator, persisted in `data_dir`; safe to use from any thread."""

    def __init__(self, data_dir: Path, clock: Clock) -> None:
        self.clock = clock
        self._files_dir = data_dir / "files"
        self._batches_dir = data_dir / "batches"
        self._tmp_dir = data_dir / "tmp"
        self._lock = threading.RLock()
        self._files: dict[str, FileRecord] = {}
        self._batches: dict[str, BatchRecord] = {}
        self._writers: dict[str, ResultWriter] = {}
        self._seq = 0
        for directory in (self._files_dir, self._batches_dir, self._tmp_dir):
            directory.mkdir(parents=True, exist_ok=True)
        for leftover in self._tmp_dir.iterdir():
            leftover.unlink()
        self._load()

    def _load(self) -> None:
        for path in self._files_dir.glob("*.json"):
            file = _converter.structure(json.loads(path.read_text("utf-8")), FileRecord)
            self._files[file.id] = file
            self._seq = max(self._seq, file.seq)
        for path in self._batches_dir.glob("*.json"):
            batch = _converter.structure(json.loads(path.read_text("utf-8")), BatchRecord)
            self._batches[batch.id] = batch
            self._seq = max(self._seq, batch.seq)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def register_writer(self, provider: str, writer: ResultWriter) -> None:
        """Use `writer` to settle the batches of `provider`."""
        with self._lock:
            self._writers[provider] = writer

    # files

    def new_file(self) -> FileSink:
        """Start writing a file."""
        return FileSink(self, self._tmp_dir / f"upload-{secrets.token_hex(8)}")

    def _add_file(
        self,
        source: Path,
        *,
        filename: str,
        purpose: str,
        size: int,
        sha256: str,
        created_at: int,
        expires_at: int | None,
        file_id: str | None = None,
    ) -> FileRecord:
        with self._lock:
            record = FileRecord(
                id=file_id if file_id is not None else "file-" + secrets.token_hex(12),
                filename=filename,
                purpose=purpose,
                bytes=size,
                sha256=sha256,
                created_at=created_at,
                expires_at=expires_at,
                seq=self._next_seq(),
            )
            os.replace(source, self._data_path(record.id))
            _write_json(self._files_dir / f"{record.id}.json", _converter.unstructure(record))
            self._files[record.id] = record
            return attrs.evolve(record)

    def _data_path(self, file_id: str) -> Path:
        return self._files_dir / f"{file_id}.data"

    def _live_file(self, file_id: str) -> FileRecord | None:
        record = self._files.get(file_id)
        if record is None:
            return None
        if record.expires_at is not None and self.clock.now() >= record.expires_at:
            self._remove_file(record.id)
            return None
        return record

    def _remove_file(self, file_id: str) -> None:
        del self._files[file_id]
        (self._files_dir / f"{file_id}.json").unlink(missing_ok=True)
        self._data_path(file_id).unlink(missing_ok=True)

    def get_file(self, file_id: str) -> FileRecord | None:
        """Return a stored file (None when unknown, deleted or expired)."""
        with self._lock:
            record = self._live_file(file_id)
            return None if record is None else attrs.evolve(record)

    def file_path(self, file_id: str) -> Path | None:
        """Return where a stored file's bytes are."""
        with self._lock:
            return None if self._live_file(file_id) is None else self._data_path(file_id)

    def list_files(self) -> list[FileRecord]:
        """Return every stored file, newest first, after settling the batches that finished."""
        with self._lock:
            for record in list(self._batches.values()):
                if not record.settled:
                    self._current(record)
            live = [self._live_file(file_id) for file_id in list(self._files)]
            records = [attrs.evolve(record) for record in live if record is not None]
        return sorted(records, key=lambda r: (r.created_at, r.seq), reverse=True)

    def delete_file(self, file_id: str) -> bool:
        """Delete a stored file; False when there is none."""
        with self._lock:
            if self._live_file(file_id) is None:
                return False
            self._remove_file(file_id)
            return True

    # batches

    def new_batch_id(self) -> str:
        """Return a fresh batch id."""
        return "batch_" + secrets.token_hex(16)

    def snapshot_input(self, file_id: str, batch_id: str) -> Path | None:
        """Keep the bytes of an input file for a batch about to be created (None: no file)."""
        with self._lock:
            if self._live_file(file_id) is None:
                return None
            target = self._input_path(batch_id)
            _link_or_copy(self._data_path(file_id), target)
            return target

    def discard_snapshot(self, batch_id: str) -> None:
        """Drop the input snapshot of a batch that was not created."""
        self._input_path(batch_id).unlink(missing_ok=True)

    def _input_path(self, batch_id: str) -> Path:
        return self._batches_dir / f"{batch_id}.input"

    def input_path(self, record: BatchRecord) -> Path:
        """Where the input of a batch is kept until it is settled."""
        return self._input_path(record.id)

    def add_batch(self, record: BatchRecord) -> Progress:
        """Store a new batch (its input already snapshotted) and return its initial state."""
        with self._lock:
            record.seq = self._next_seq()
            self._save_batch(record)
            self._batches[record.id] = record
            return initial_progress(record)

    def _save_batch(self, record: BatchRecord) -> None:
        _write_json(self._batches_dir / f"{record.id}.json", _converter.unstructure(record))

    def get_batch(self, batch_id: str) -> tuple[BatchRecord, Progress] | None:
        """Return a batch and its current state (None when unknown)."""
        with self._lock:
            record = self._batches.get(batch_id)
            if record is None:
                return None
            state = self._current(record)
            return attrs.evolve(record), state

    def list_batches(self) -> list[tuple[BatchRecord, Progress]]:
        """Return every batch with its current state, newest first."""
        with self._lock:
            records = sorted(self._batches.values(), key=lambda r: (r.created, r.seq), reverse=True)
            states = [self._current(record) for record in records]
            return [
                (attrs.evolve(record), state) for record, state in zip(records, states, strict=True)
            ]

    def delete_batch(self, batch_id: str) -> bool:
        """Forget a batch (its result files stay); False when there is none."""
        with self._lock:
            record = self._batches.pop(batch_id, None)
            if record is None:
                return False
            (self._batches_dir / f"{batch_id}.json").unlink(missing_ok=True)
            self._input_path(batch_id).unlink(missing_ok=True)
            return True

    def cancel_batch(self, batch_id: str) -> tuple[BatchRecord, Progress] | None:
        """Ask for a batch to be cancelled and return it as the cancel call reports it.

        A batch already cancelling is returned as is; any state other than validating or
        in_progress raises `CancelRejectedError`.
        """
        with self._lock:
            record = self._batches.get(batch_id)
            if record is None:
                return None
            now = self.clock.now()
            state = self._current(record, now)
            if state.status == "cancelling":
                return attrs.evolve(record), state
            if state.status not in ("validating", "in_progress"):
                raise CancelRejectedError(state.status)
            record.cancel_requested_at = now
            self._save_batch(record)
            state = progress(record, now)
            if state.status == "cancelled":  # zero cancelling time: the call still says cancelling
                state = attrs.evolve(state, status="cancelling", cancelled_at=None)
            return attrs.evolve(record), state

    def _current(self, record: BatchRecord, now: float | None = None) -> Progress:
        state = progress(record, self.clock.now() if now is None else now)
        if not record.settled and state.status in TERMINAL_STATUSES:
            self._settle(record, state)
        return state

    def _settle(self, record: BatchRecord, state: Progress) -> None:
        if state.status in _WITH_RESULTS:
            writer = self._writers.get(record.provider)
            if writer is None:
                raise RuntimeError(f"no result writer registered for {record.provider!r}")
            finished_at = state.finished_at
            assert finished_at is not None
            outcome = writer(self, record, state.processed, finished_at)
            record.output_file_id = outcome.output_file_id
            record.error_file_id = outcome.error_file_id
            record.input_tokens = outcome.input_tokens
            record.output_tokens = outcome.output_tokens
        record.settled = True
        self._save_batch(record)
        self._input_path(record.id).unlink(missing_ok=True)


class PairSwap:
    """Writes JSON lines with each adjacent pair swapped, so that results are not in input
    order (clients must join on their ids, as with the real providers)."""

    def __init__(self, sink: FileSink) -> None:
        self._sink = sink
        self._held: bytes | None = None
        self.count = 0

    def push(self, line: dict[str, Any]) -> None:
        data = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self.count += 1
        if self._held is None:
            self._held = data
            return
        self._sink.write(data)
        self._sink.write(self._held)
        self._held = None

    def flush(self) -> None:
        if self._held is not None:
            self._sink.write(self._held)
            self._held = None
