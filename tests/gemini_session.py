"""A Gemini resumable upload session on loopback whose answers a test writes (for answers the
emulator never gives: byte counts that cannot be true)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.helpers import LoopbackServer

Answer = Callable[[str, int, int], tuple[int, dict[str, str]]]
"""``(command, offset, body length) -> (status, headers)`` of one session request."""


class Session(LoopbackServer):
    """Starts an upload session at ``/upload/v1beta/files``, then answers its requests with
    ``answer``; an answer carrying ``x-goog-upload-status`` carries a File too. ``seen`` lists
    the session's requests as ``(command, offset)`` (-1: no offset)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer
        self.seen: list[tuple[str, int]] = []

    def app(self) -> Any:
        from aiohttp import web

        async def upload(request: web.Request) -> web.Response:
            command = request.headers.get("X-Goog-Upload-Command", "")
            if command == "start":
                url = f"{self.url}/upload/v1beta/files?upload_id=u1"
                return web.Response(headers={"x-goog-upload-url": url})
            offset = int(request.headers.get("X-Goog-Upload-Offset", "-1"))
            length = len(await request.read())
            self.seen.append((command, offset))
            status, headers = self.answer(command, offset, length)
            body = {"file": {"name": "files/abc"}} if headers.get("x-goog-upload-status") else {}
            return web.json_response(body, status=status, headers=headers)

        app = web.Application()
        app.router.add_post("/upload/v1beta/files", upload)
        return app
