"""Loopback servers that misbehave on purpose, for tests/_async/test_security.py (shared by
the async tests and their generated sync twins: aiohttp is never imported under _async/)."""

from __future__ import annotations

from typing import Any

from tests.helpers import LoopbackServer

INPUT_LINE = (
    b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", '
    b'"body": {"model": "m", "messages": []}}\n'
)


class HostileServer(LoopbackServer):
    """Answers the retrieve of batch ``b1`` with ``batch`` (JSON), and its input ``file-in``
    with one line, and logs every request; everything else is a 404. A client that follows a
    crafted file id shows up in ``seen``."""

    def __init__(self, route: str, batch: dict[str, Any]) -> None:
        super().__init__()
        self.route = route
        self.batch = batch
        self.seen: list[str] = []

    def app(self) -> Any:
        from aiohttp import web

        async def answer(request: web.Request) -> web.Response:
            self.seen.append(f"{request.method} {request.raw_path}")
            if request.method == "GET" and request.path == self.route:
                return web.json_response(self.batch)
            if request.method == "GET" and request.path.endswith("/file-in/content"):
                return web.Response(body=INPUT_LINE)  # the input, read back for its custom_ids
            return web.json_response({"error": {"message": "not here"}}, status=404)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        return app


class PresignedTrap(LoopbackServer):
    """Together's upload, answered by a presigned redirect whose X-Together-File-Id would
    steer the follow-up ``POST /files/{id}/preprocess`` elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def app(self) -> Any:
        from aiohttp import web

        async def answer(request: web.Request) -> web.Response:
            self.seen.append(f"{request.method} {request.raw_path}")
            await request.read()
            headers = {"Location": f"{self.url}/put-here", "X-Together-File-Id": "../batches"}
            return web.Response(status=302, headers=headers)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        return app


class HeaderRecorder(LoopbackServer):
    """Records every request's headers as received, duplicates included; answers 404."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[tuple[str, str]]] = []

    def app(self) -> Any:
        from aiohttp import web

        async def record(request: web.Request) -> web.Response:
            await request.read()
            self.seen.append(
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
            )
            return web.json_response({"error": {"message": "recorded"}}, status=404)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        return app
