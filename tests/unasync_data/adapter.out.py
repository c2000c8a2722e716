"""Provider adapter: transport, retries, uploads, streaming downloads.

Mentions of AsyncTransport, aclose() or await in prose are copied as is.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from tenacity import Retrying

from any_llm._compat import run_sync, sleep
from any_llm._retry import poll_policy, request_policy
from any_llm._transport import Transport, Request, Response
from any_llm._transport._urllib3 import Urllib3Transport
from any_llm.types import Batch, BatchStatus

from .base import BaseAdapter
from .listing import find_stamped, iter_listed
from .uploads import send_upload


class OpenAIAdapter(BaseAdapter):
    """Talk to the OpenAI batch endpoints."""

    def __init__(self, transport: Transport | None = None) -> None:
        self._transport: Transport = transport or Urllib3Transport()

    def send(self, request: Request) -> Response:
        for attempt in Retrying(**request_policy(self._retry)):
            with attempt:
                return self._transport.send(request)
        raise AssertionError("unreachable")

    def upload_file(self, path: str) -> str:
        response = self.send(self._upload_request(path))
        body = response.read()
        return self._file_id(body)

    def create_batch(self, file_id: str) -> Batch:
        response = self.send(self._create_request(file_id))
        return self._batch(response.read())

    def retrieve_batch(self, batch_id: str) -> Batch:
        return self._batch((self.send(self._get_request(batch_id))).read())

    def cancel_batch(self, batch_id: str) -> Batch:
        return self._batch((self.send(self._cancel_request(batch_id))).read())

    def poll_batch(self, batch_id: str) -> Batch:
        batch: Batch = Retrying(**poll_policy(self._retry))(
            self.retrieve_batch, batch_id
        )
        return batch

    def await_terminal(self, batch_id: str, interval: float) -> Batch:
        while True:
            batch = self.retrieve_batch(batch_id)
            if batch.status is not BatchStatus.IN_PROGRESS:
                return batch
            sleep(interval)

    def iter_input_custom_ids(self, file_id: str) -> Iterator[bytes]:
        response = self.json(self._download_request(file_id))
        try:
            for chunk in response.iter_bytes():
                yield chunk
        finally:
            response.close()

    def iter_results(self, file_id: str) -> Iterator[str]:
        response = self.json(self._download_request(file_id))
        for line in response.iter_lines():
            yield line

    def json(self, request: Request) -> Response:
        return self._transport.json(request)

    def delete_file(self, file_id: str) -> None:
        self.send(self._delete_request(file_id))

    def stage_and_upload(self, path: str) -> str:
        staged = run_sync(partial(self._stage, path), discard=self._discard)
        return self.upload_file(staged)

    def upload_input(self, summary: InputSummary) -> InputRef:
        ref = self.find_created(summary.path.name)
        self.release_input(ref, created=False)
        return ref

    def forget_uploads(self, key: str) -> None:
        send_upload(self, self._delete_request(key), key)
        for batch in iter_listed(self):
            self.find_batch(batch.id)
        find_stamped(self, key)

    def close(self) -> None:
        self._transport.close()
