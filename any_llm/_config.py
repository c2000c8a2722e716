"""Client configuration: API key, base URL and ``client_args``, resolved once per client."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from any_llm._providers import IDEMPOTENCY_KEY, ProviderSpec, get_spec
from any_llm._retry import RetryConfig
from any_llm._transport import Timeout
from any_llm.errors import ConfigurationError
from any_llm.types import LLMProvider

CLIENT_ARGS = {
    "timeout": "seconds allowed between two reads of the socket (default 600)",
    "connect_timeout": "seconds allowed to connect (default 10)",
    "max_retries": "retries after the first attempt (default 4)",
    "retry": "an any_llm.RetryConfig (attempts, backoff, Retry-After cap, polling pace)",
    "default_headers": "extra headers sent with every request",
    "ssl_context": "an ssl.SSLContext (for a private CA, for example)",
    "max_connections": "connections in the pool (default 100)",
    "max_connections_per_host": "connections per host (default 20)",
    "api_version": (
        "azureopenai only: a dated API version (e.g. 2024-10-21) sent as ?api-version= on "
        "every call to the resource's /openai routes; without it the v1 API (/openai/v1) is used"
    ),
}


@attrs.frozen(kw_only=True)
class ClientConfig:
    """Everything a client needs, checked before any request is made."""

    spec: ProviderSpec
    api_key: str = attrs.field(repr=False)
    api_base: str
    retry: RetryConfig
    timeout: Timeout
    default_headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    ssl_context: Any = None
    max_connections: int = 100
    max_connections_per_host: int = 20

    @property
    def provider(self) -> str:
        """The provider's name."""
        return self.spec.provider.value


def resolve_config(
    provider: str | LLMProvider,
    *,
    api_key: str | None,
    api_base: str | None,
    client_args: Mapping[str, Any] | None,
) -> ClientConfig:
    """Check the arguments of ``AnyLLM.create`` and the module functions."""
    spec = get_spec(provider)
    name = spec.provider.value
    key = api_key if api_key is not None else os.environ.get(spec.api_key_env)
    if not key:
        raise ConfigurationError(
            f"{name}: no API key; pass api_key= or set the {spec.api_key_env} environment variable"
        )
    args = dict(client_args or {})
    unknown = sorted(set(args) - set(CLIENT_ARGS))
    if unknown:
        allowed = "; ".join(f"{k}: {v}" for k, v in CLIENT_ARGS.items())
        raise ConfigurationError(f"{name}: unknown client_args {unknown}; accepted: {allowed}")
    retry = args.get("retry") or RetryConfig()
    if not isinstance(retry, RetryConfig):
        raise ConfigurationError(f"{name}: client_args['retry'] must be an any_llm.RetryConfig")
    if "max_retries" in args:
        retry = attrs.evolve(retry, max_attempts=_number(name, args, "max_retries", 0, 0) + 1)
    default = Timeout()
    timeout = Timeout(
        connect=_seconds(name, args, "connect_timeout", default.connect),
        read=_seconds(name, args, "timeout", default.read),
    )
    headers = args.get("default_headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigurationError(
            f"{name}: client_args['default_headers'] must map header names to string values"
        )
    env_base = os.environ.get(spec.api_base_env) if spec.api_base_env else None
    base = (api_base or env_base or spec.default_api_base).rstrip("/")
    if not base:
        where = f" or set the {spec.api_base_env} environment variable" if spec.api_base_env else ""
        raise ConfigurationError(f"{name}: no api_base; pass api_base={where}")
    if not base.startswith(("http://", "https://")):
        raise ConfigurationError(f"{name}: api_base must be an http(s) URL, got {base!r}")
    api_version = args.get("api_version")
    if api_version is not None and (not isinstance(api_version, str) or not api_version.strip()):
        raise ConfigurationError(f"{name}: client_args['api_version'] must be a non-empty string")
    if spec.resolve_api_base is not None:
        base = spec.resolve_api_base(base, api_version)
    elif api_version is not None:
        raise ConfigurationError(
            f"{name}: client_args['api_version'] is not used by this provider (azureopenai only)"
        )
    return ClientConfig(
        spec=spec,
        api_key=key,
        api_base=base,
        retry=retry,
        timeout=timeout,
        default_headers=dict(headers),
        ssl_context=args.get("ssl_context"),
        max_connections=_number(name, args, "max_connections", 100, 1),
        max_connections_per_host=_number(name, args, "max_connections_per_host", 20, 1),
    )


def _number(provider: str, args: Mapping[str, Any], key: str, default: int, least: int) -> int:
    """``client_args[key]``, an int of at least ``least``, else a ConfigurationError."""
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigurationError(
            f"{provider}: client_args[{key!r}] must be an int >= {least}, got {value!r}"
        )
    return value


def _seconds(
    provider: str, args: Mapping[str, Any], key: str, default: float | None
) -> float | None:
    """``client_args[key]``, a positive number of seconds or None (no limit)."""
    value = args.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigurationError(
            f"{provider}: client_args[{key!r}] must be a number of seconds > 0 or None, "
            f"got {value!r}"
        )
    return float(value)


def check_metadata(provider: str, metadata: dict[str, str] | None, max_pairs: int) -> None:
    """Refuse metadata the provider would refuse, before anything is sent."""
    if metadata is None:
        return
    if max_pairs == 0:
        raise ConfigurationError(
            f"{provider}: batches carry no metadata on this provider; leave metadata= unset"
        )
    if len(metadata) > max_pairs:
        raise ConfigurationError(
            f"{provider}: metadata holds {len(metadata)} pairs; at most {max_pairs} "
            f"(any_llm may use one more of the provider's pairs for {IDEMPOTENCY_KEY})"
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigurationError(
                f"{provider}: metadata keys and values must be strings (key {key!r})"
            )


_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_idempotency_key(key: str | None) -> str:
    """The idempotency key of a create call: ``key`` checked, or a new random one.

    A key rides in the batch's metadata (or display name) and in the upload's filename, so it
    is 1 to 64 letters, digits, ``_`` or ``-``."""
    if key is None:
        return uuid.uuid4().hex
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
        raise ConfigurationError(
            f"idempotency_key must be 1 to 64 letters, digits, '_' or '-'; got {key!r}"
        )
    return key
