"""Loopback servers answering with canned provider output (for any-llm's result-parsing
expectations: blank lines, a line of an unexpected shape), which the emulator never writes."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import LoopbackServer


def completion_line(custom_id: str, completion_id: str, content: str = "4") -> str:
    """An output line of a succeeded chat request, OpenAI's shape (Mistral writes the same)."""
    body = {
        "id": completion_id,
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
    }
    return json.dumps({"custom_id": custom_id, "response": {"status_code": 200, "body": body}})


def error_line(custom_id: str, code: str, message: str) -> str:
    """An output line of a failed request as any-llm's tests write it: ``error`` only."""
    return json.dumps({"custom_id": custom_id, "error": {"code": code, "message": message}})


def input_text(custom_ids: list[str]) -> str:
    lines = [
        json.dumps(
            {
                "custom_id": custom_id,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": "gpt-4", "messages": [{"role": "user", "content": "q"}]},
            }
        )
        for custom_id in custom_ids
    ]
    return "\n".join(lines) + "\n"


MISTRAL_STATUS = {"completed": "SUCCESS", "in_progress": "RUNNING"}


class Canned(LoopbackServer):
    """OpenAI's ``GET /v1/batches/{id}`` (or Mistral's ``GET /v1/batch/jobs/{id}``) answers one
    batch in ``status`` (OpenAI's name) whose output file (absent when ``output`` is None)
    holds ``output`` as it is; its input file holds ``custom_ids``."""

    def __init__(
        self, *, status: str, output: str | None, custom_ids: list[str], provider: str = "openai"
    ) -> None:
        super().__init__()
        self.status = status
        self.output = output
        self.custom_ids = custom_ids
        self.provider = provider

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1" if self.provider == "openai" else self.url

    def app(self) -> Any:
        from aiohttp import web

        async def retrieve(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "id": request.match_info["batch_id"],
                    "object": "batch",
                    "endpoint": "/v1/chat/completions",
                    "input_file_id": "file-input",
                    "output_file_id": None if self.output is None else "file-output",
                    "error_file_id": None,
                    "completion_window": "24h",
                    "status": self.status,
                    "created_at": 1700000000,
                    "request_counts": {"total": len(self.custom_ids), "completed": 0, "failed": 0},
                }
            )

        async def job(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "id": request.match_info["batch_id"],
                    "object": "batch",
                    "endpoint": "/v1/chat/completions",
                    "model": "mistral-small-latest",
                    "input_files": ["file-input"],
                    "output_file": None if self.output is None else "file-output",
                    "error_file": None,
                    "errors": [],
                    "status": MISTRAL_STATUS[self.status],
                    "created_at": 1700000000,
                    "total_requests": len(self.custom_ids),
                    "completed_requests": 0,
                    "succeeded_requests": 0,
                    "failed_requests": 0,
                    "metadata": None,
                }
            )

        async def content(request: web.Request) -> web.Response:
            file_id = request.match_info["file_id"]
            if file_id == "file-input":
                return web.Response(text=input_text(self.custom_ids))
            if file_id == "file-output" and self.output is not None:
                return web.Response(text=self.output)
            return web.json_response({"error": {"message": "no such file"}}, status=404)

        app = web.Application()
        app.router.add_get("/v1/batches/{batch_id}", retrieve)
        app.router.add_get("/v1/batch/jobs/{batch_id}", job)
        app.router.add_get("/v1/files/{file_id}/content", content)
        return app
