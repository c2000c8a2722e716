"""Test helpers shared by the async tests and their generated sync twins."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any, TypeVar

from any_llm import RetryConfig

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
MODEL = "gpt-4o-mini"
KEY = "sk-test-SECRET-0123456789"

NO_WAIT = RetryConfig(initial_delay=0, max_delay=0, poll_initial=0, poll_max=0, create_settle=0)


def client_args(**extra: Any) -> dict[str, Any]:
    """client_args with zero backoff so that retries cost no time in tests."""
    return {"retry": NO_WAIT, **extra}


def write_requests(
    path: Path,
    count: int,
    *,
    endpoint: str = CHAT,
    model: str = MODEL,
    fail: tuple[int, ...] = (),
    error: tuple[int, ...] = (),
    max_tokens: int | None = None,
) -> list[str]:
    """Write ``count`` requests; indexes in ``fail``/``error`` carry the emulator's markers."""
    ids = []
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            custom_id = f"req-{i}"
            ids.append(custom_id)
            text = f"question {i}"
            if i in fail:
                text += " [[fail]]"
            if i in error:
                text += " [[error]]"
            body: dict[str, Any]
            if endpoint == EMBEDDINGS:
                body = {"model": model, "input": text}
            else:
                body = {"model": model, "messages": [{"role": "user", "content": text}]}
                if max_tokens is not None:
                    body["max_tokens"] = max_tokens
            out.write(
                json.dumps(
                    {"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body}
                )
                + "\n"
            )
    return ids


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read by chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


_Server = TypeVar("_Server", bound="LoopbackServer")


class LoopbackServer:
    """An aiohttp.web app on a loopback port, served by its own loop in a thread (so that the
    blocking sync twin can call it), for behaviour the emulator does not have."""

    def __init__(self) -> None:
        self.url = ""
        self._loop: Any = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None

    def app(self) -> Any:
        """The ``aiohttp.web.Application`` to serve."""
        raise NotImplementedError

    def __enter__(self: _Server) -> _Server:
        import asyncio

        from aiohttp import web

        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(self.app())
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            port = self._runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)


class Redirector(LoopbackServer):
    """A loopback server that answers every request with a redirect to ``target`` + path
    (another origin: a different port), like a provider handing out a presigned URL."""

    def __init__(self, target: str, status: int = 307) -> None:
        super().__init__()
        self.target = target.rstrip("/")
        self.status = status

    def app(self) -> Any:
        from aiohttp import web

        async def redirect(request: web.Request) -> web.Response:
            location = self.target + request.path_qs
            return web.Response(status=self.status, headers={"Location": location})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", redirect)
        return app


class SlowLink(LoopbackServer):
    """A loopback server that takes ``POST /v1/files`` bodies at ``rate`` bytes per second,
    like a slow uplink, counting what it took (``receiving``). It never stores anything: a
    complete body gets a 500."""

    def __init__(self, rate: int) -> None:
        super().__init__()
        self.rate = rate
        self.receiving = 0
        """Bytes of the current upload taken so far."""
        self.uploads = 0

    def app(self) -> Any:
        import asyncio

        from aiohttp import web

        step = 64 * 1024

        async def upload(request: web.Request) -> web.Response:
            self.uploads += 1
            self.receiving = 0
            while chunk := await request.content.read(step):
                self.receiving += len(chunk)
                await asyncio.sleep(len(chunk) / self.rate)
            return web.json_response({"error": {"message": "SlowLink stores nothing"}}, status=500)

        app = web.Application()
        app.router.add_post("/v1/files", upload)
        return app


def _batch_json(batch_id: str, created_at: int) -> dict[str, Any]:
    return {
        "id": batch_id,
        "object": "batch",
        "endpoint": CHAT,
        "input_file_id": "file-x",
        "completion_window": "24h",
        "status": "completed",
        "created_at": created_at,
        "request_counts": {"total": 1, "completed": 1, "failed": 0},
    }


class EndlessList(LoopbackServer):
    """``GET /v1/batches`` always answers the same page: ``after`` is ignored. With
    ``has_more`` unset it sends none (keep paging until an empty page, says the SDK's rule);
    set, it always says there is more, with the same last id."""

    def __init__(self, has_more: bool | None) -> None:
        super().__init__()
        self.has_more = has_more
        self.calls = 0

    def app(self) -> Any:
        from aiohttp import web

        async def list_batches(request: web.Request) -> web.Response:
            self.calls += 1
            data = [_batch_json(f"batch_{i}", 1000 - i) for i in range(3)]
            body: dict[str, Any] = {"object": "list", "data": data}
            if self.has_more is not None:
                body |= {"has_more": self.has_more, "last_id": "batch_2"}
            return web.json_response(body)

        app = web.Application()
        app.router.add_get("/v1/batches", list_batches)
        return app
