"""A loopback server answering Gemini's batch routes with fixed bytes (for the tests of how
the client reads operations that are not what the API documents)."""

from __future__ import annotations

from typing import Any

from tests.helpers import LoopbackServer


class FixedAnswers(LoopbackServer):
    """Answers ``GET {path}`` with ``answers[path]`` (HTTP 200, JSON content type), whatever
    the bytes; everything else is a 404."""

    def __init__(self, answers: dict[str, bytes]) -> None:
        super().__init__()
        self.answers = answers

    def app(self) -> Any:
        from aiohttp import web

        async def answer(request: web.Request) -> web.Response:
            body = self.answers.get(request.path) if request.method == "GET" else None
            if body is None:
                return web.json_response({"error": {"message": "not here"}}, status=404)
            return web.Response(body=body, content_type="application/json")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        return app
