"""Groq's Files and Batch API (providers/groq.md) on the OpenAI routes.

Routes live under ``/groq/openai/v1`` (the Groq SDK's base URL is ``/groq``, an OpenAI-style
client's ``/groq/openai/v1``); auth and errors are OpenAI's. Differences from OpenAI: uploads
take ``purpose=batch`` only and File objects carry no status; ``completion_window`` is any
duration from ``24h`` to ``7d`` (``expires_at`` follows it); lists take no parameters and
answer ``{object, data}`` with every item; batches carry no ``model``/``usage``; result lines
have ``batch_req_out_`` ids, timing floats in ``usage`` and an ``x_groq`` object.
"""

from __future__ import annotations

from typing import Any

from . import openai
from .mounts import ProviderMount

__all__ = ["DIALECT", "MOUNT", "PROVIDER"]

PROVIDER = "groq"


def _groq_fields(body: dict[str, Any], seed: str) -> None:
    """Groq's usage timings and ``x_groq`` on a chat completion."""
    usage = body.get("usage")
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
        body["usage"] = {
            "queue_time": 0.05,
            "prompt_tokens": prompt,
            "prompt_time": round(prompt * 0.0001, 6),
            "completion_tokens": completion,
            "completion_time": round(completion * 0.001, 6),
            "total_tokens": prompt + completion,
            "total_time": round(prompt * 0.0001 + completion * 0.001, 6),
        }
    body.pop("service_tier", None)
    body["system_fingerprint"] = "fp_emulator"
    body["x_groq"] = {"id": f"req_{seed[32:58]}"}


DIALECT = openai.Dialect(
    provider=PROVIDER,
    surfaces=(openai.Surface(path="/openai/v1"),),
    endpoints=("/v1/chat/completions",),
    file_purposes=("batch",),
    file_status=False,
    window=openai.duration_window(24, 7 * 24),
    paged_lists=False,
    batch_model_usage=False,
    line_id_prefix="batch_req_out_",
    decorate_body=_groq_fields,
)

MOUNT = ProviderMount(
    name=PROVIDER,
    prefix="/groq",
    api_base="/groq/openai/v1",
    add_routes=DIALECT.add_routes,
    authenticate=openai.authenticate,
    render_error=openai.render_error,
    write_results=DIALECT.write_results,
)
