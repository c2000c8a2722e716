"""Azure OpenAI's Files and Batch API (providers/azure-openai.md) on the OpenAI routes.

A resource endpoint lives under ``/azureopenai``: the v1 API under ``/azureopenai/openai/v1``
and the dated API under ``/azureopenai/openai`` (every call needs ``?api-version=``). Requests
authenticate with ``api-key: <key>`` or ``Authorization: Bearer <token>``; gateway failures
(bad key, missing api-version) use Azure's ``{"error": {"code": "401", "message"}}`` envelope.

Differences from OpenAI that clients must cope with, as Azure documents them: ``""`` instead of
null file ids, an error file on every batch with results (empty when nothing failed), batch
lists without ``object``, no ``model``/``usage`` on batches, result lines without ``id`` and
with UUID request ids and content-filter annotations, ``/chat/completions`` as well as
``/v1/chat/completions``, 100,000 requests per batch, a window other than ``24h`` failing the
job, batches that never expire, file expiry of 14 to 30 days (dot or bracket form).
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from . import openai
from .config import EmulatorConfig
from .mounts import ProviderMount
from .web_support import ApiError

__all__ = ["DIALECT", "MOUNT", "PROVIDER"]

PROVIDER = "azureopenai"

_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)


def authenticate(request: web.Request, config: EmulatorConfig) -> None:
    """Accept ``api-key: <key>`` or ``Authorization: Bearer <token>`` (any non-empty one, or
    the configured key)."""
    key = request.headers.get("api-key", "").strip()
    if not key:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else ""
    if not key or (
        config.api_key is not None
        and not hmac.compare_digest(key.encode(), config.api_key.encode())
    ):
        raise ApiError(401, _DENIED, type="gateway", code="401")


def render_error(error: ApiError) -> web.Response:
    """Azure's gateway envelope for gateway errors, OpenAI's for the service's own."""
    if error.type != "gateway":
        return openai.render_error(error)
    body = {"error": {"code": error.code or str(error.status), "message": error.message}}
    return web.json_response(body, status=error.status, headers=error.headers)


def _content_filters(body: dict[str, Any], seed: str) -> None:
    """Azure's content-filter annotations on a chat completion."""
    del seed
    if body.get("object") != "chat.completion":
        return
    verdict = {"filtered": False, "severity": "safe"}
    for choice in body.get("choices", []):
        choice["content_filter_results"] = {
            name: dict(verdict) for name in ("hate", "self_harm", "sexual", "violence")
        }
    body["prompt_filter_results"] = [
        {
            "prompt_index": 0,
            "content_filter_results": {"jailbreak": {"filtered": False, "detected": False}},
        }
    ]


DIALECT = openai.Dialect(
    provider=PROVIDER,
    surfaces=(openai.Surface(path="/openai/v1"), openai.Surface(path="/openai", api_version=True)),
    endpoints=("/chat/completions", "/v1/chat/completions", "/responses", "/v1/responses"),
    endpoint_aliases={"/chat/completions": "/v1/chat/completions", "/responses": "/v1/responses"},
    file_ttl=(14 * openai.DAY, 30 * openai.DAY),
    dotted_expiry=True,
    window_fails_job=True,
    max_requests=100_000,
    list_object=False,
    absent_file_id="",
    always_error_file=True,
    expires=False,
    batch_model_usage=False,
    line_ids=False,
    uuid_request_ids=True,
    decorate_body=_content_filters,
)

MOUNT = ProviderMount(
    name=PROVIDER,
    prefix="/azureopenai",
    api_base="/azureopenai",  # the resource endpoint
    add_routes=DIALECT.add_routes,
    authenticate=authenticate,
    render_error=render_error,
    write_results=DIALECT.write_results,
)
