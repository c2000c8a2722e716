"""Client settings written the way any-llm passes them to a provider's own SDK (its
``AnyLLM.create(provider, **kwargs)`` goes to ``Mistral(...)``, ``genai.Client(...)``, ...),
mapped onto our ``client_args`` or refused with the key and what to use instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from any_llm.errors import UnsupportedParameterError

_OWN_TRANSPORT = (
    "any_llm brings its own HTTP transport; configure it with client_args ssl_context, "
    "default_headers, max_connections, timeout"
)
_VERTEX = "Vertex AI is not served; use provider 'gemini' (the Gemini API) with an API key"
_REFUSED = {
    "base_url": "pass api_base= instead",
    "server_url": "pass api_base= instead",
    "retry_config": "pass max_retries= or retry=any_llm.RetryConfig(...) instead",
    "http_client": _OWN_TRANSPORT,
    "async_client": _OWN_TRANSPORT,
    "async_http_client": _OWN_TRANSPORT,
    "client": _OWN_TRANSPORT,
    "vertexai": _VERTEX,
    "credentials": _VERTEX,
    "location": _VERTEX,
}
"""SDK constructor arguments we cannot honour, with what to use instead."""


def _refuse(provider: str, key: str, hint: str) -> UnsupportedParameterError:
    return UnsupportedParameterError(
        f"{provider}: client setting {key!r} is not supported; {hint}",
        parameter_name=key,
        provider=provider,
    )


def _milliseconds(provider: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _refuse(provider, key, f"it must be a number of milliseconds > 0, got {value!r}")
    return float(value) / 1000.0


def _set_timeout(provider: str, args: dict[str, Any], key: str, value: object) -> None:
    if "timeout" in args:
        raise _refuse(provider, key, "pass either it or timeout= (seconds), not both")
    args["timeout"] = _milliseconds(provider, key, value)


def translate_client_styles(provider: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` with any-llm's provider-SDK settings mapped onto ours.

    Accepted: Mistral's ``timeout_ms`` (→ ``timeout`` in seconds); Gemini's ``http_options``
    (a dict, or an object with ``model_dump()`` such as ``google.genai.types.HttpOptions``)
    with ``timeout`` in milliseconds and ``headers`` (→ ``default_headers``). Refused with an
    UnsupportedParameterError naming the key: the rest of ``http_options``, SDK clients,
    ``base_url``/``server_url``, ``retry_config`` and Vertex AI settings. Other keys are left
    for ``resolve_config`` to check.
    """
    out = dict(args)
    for key, hint in _REFUSED.items():
        if key in out:
            raise _refuse(provider, key, hint)
    if "timeout_ms" in out:
        value = out.pop("timeout_ms")
        if provider != "mistral":
            raise _refuse(provider, "timeout_ms", "it is Mistral's; pass timeout= (seconds)")
        _set_timeout(provider, out, "timeout_ms", value)
    if "http_options" in out:
        options = out.pop("http_options")
        if provider != "gemini":
            raise _refuse(provider, "http_options", "it is Gemini's; pass timeout= (seconds)")
        if not isinstance(options, Mapping) and callable(getattr(options, "model_dump", None)):
            options = options.model_dump(exclude_none=True)
        if not isinstance(options, Mapping):
            raise _refuse(provider, "http_options", "pass a dict with 'timeout' or 'headers'")
        for name, value in options.items():
            if value is None:
                continue
            if name == "timeout":
                _set_timeout(provider, out, "http_options['timeout']", value)
            elif name == "headers":
                if not isinstance(value, Mapping):
                    raise _refuse(provider, "http_options['headers']", "pass a dict of headers")
                out["default_headers"] = {**value, **(out.get("default_headers") or {})}
            elif name == "base_url":
                raise _refuse(provider, "http_options['base_url']", "pass api_base= instead")
            else:
                raise _refuse(
                    provider,
                    f"http_options[{name!r}]",
                    "only 'timeout' (milliseconds) and 'headers' are mapped; for the rest use "
                    "client_args (timeout, max_retries, default_headers, ssl_context)",
                )
    return out
