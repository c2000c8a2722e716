"""The benchmark server: the package's emulator in its own process, on a free loopback port.

Its memory and CPU are not the measured process's. The harness talks to it with the standard
library only (``http.client``) to prepare batches: uploads, creates and retrieves that are not
measured.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit

from workload import CHAT

KEY = "sk-bench"
CHUNK = 256 * 1024


class ServerError(RuntimeError):
    """The emulator did not start or answered with an error."""


class Server:
    """``python -m any_llm.emulator`` with the given phase durations (seconds).

    With ``lazy_validation``, ``benchmarks/emulator_fast.py`` instead: batch creates count the
    input's lines rather than validate each (see there).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        validating: float = 0.0,
        in_progress: float = 0.0,
        finalizing: float = 0.0,
        lazy_validation: bool = False,
        python: str = sys.executable,
    ) -> None:
        self.data_dir = data_dir
        self.lazy_validation = lazy_validation
        self.timings = (validating, in_progress, finalizing)
        self.python = python
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    @property
    def api_base(self) -> str:
        """OpenAI's base URL on this server."""
        return f"{self.url}/v1"

    def start(self, timeout: float = 60.0) -> Server:
        """Start the emulator and wait until it answers."""
        validating, in_progress, finalizing = self.timings
        program = [self.python, "-m", "any_llm.emulator"]
        if self.lazy_validation:
            program = [self.python, str(Path(__file__).resolve().parent / "emulator_fast.py")]
        cmd = [
            *program,
            "--port",
            "0",
            "--data-dir",
            str(self.data_dir),
            "--validating-seconds",
            str(validating),
            "--in-progress-seconds",
            str(in_progress),
            "--finalizing-seconds",
            str(finalizing),
            "--page-size",
            "100",
        ]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir.parent / f"{self.data_dir.name}.log").open("w")
        self._process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        stdout = self._process.stdout
        assert stdout is not None
        first = stdout.readline().strip()
        prefix = "any-llm emulator listening on "
        if not first.startswith(prefix):
            self.stop()
            raise ServerError(f"the emulator did not start: {first!r} (see {log.name})")
        self.url = first[len(prefix) :]
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.request("GET", "/v1/batches?limit=1")
                return self
            except (OSError, ServerError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the emulator."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # requests

    def _connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=600)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | IO[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON answer."""
        connection = self._connection()
        try:
            all_headers = {"Authorization": f"Bearer {KEY}", **(headers or {})}
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status >= 400:
            raise ServerError(f"{method} {path}: HTTP {response.status}: {data[:300]!r}")
        return json.loads(data)

    def upload(self, path: Path) -> str:
        """Upload ``path`` with purpose=batch (streamed from disk); return the file id."""
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = path.stat().st_size
        connection = self._connection()
        try:
            connection.putrequest("POST", "/v1/files")
            connection.putheader("Authorization", f"Bearer {KEY}")
            connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
            connection.putheader("Content-Length", str(len(head) + size + len(tail)))
            connection.endheaders()
            connection.send(head)
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    connection.send(chunk)
            connection.send(tail)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status >= 400:
            raise ServerError(f"upload of {path}: HTTP {response.status}: {data[:300]!r}")
        file_id: str = json.loads(data)["id"]
        return file_id

    def create_batch(self, file_id: str, endpoint: str = CHAT) -> dict[str, Any]:
        """Create a batch from an uploaded file."""
        body = {"input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h"}
        created: dict[str, Any] = self.request(
            "POST",
            "/v1/batches",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
        )
        return created

    def retrieve_batch(self, batch_id: str) -> dict[str, Any]:
        """The batch as the server reports it now (an ended batch gets its results here)."""
        batch: dict[str, Any] = self.request("GET", f"/v1/batches/{batch_id}")
        return batch

    def wait_ended(self, batch_id: str, timeout: float = 600.0) -> dict[str, Any]:
        """Retrieve until the batch has ended; return it."""
        deadline = time.monotonic() + timeout
        while True:
            batch = self.retrieve_batch(batch_id)
            if batch["status"] in ("completed", "failed", "expired", "cancelled"):
                return batch
            if time.monotonic() > deadline:
                raise ServerError(f"batch {batch_id} still {batch['status']} after {timeout}s")
            time.sleep(0.1)
