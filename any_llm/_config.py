"""Client configuration: API key, base URL and ``client_args``, resolved once per client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from any_llm._args import check_api_base, check_api_key, check_headers
from any_llm._client_styles import translate_client_styles
from any_llm._providers import ProviderSpec, get_spec
from any_llm._retry import RetryConfig
from any_llm._transport import Timeout
from any_llm.errors import ConfigurationError, MissingApiKeyError
from any_llm.types import LLMProvider

CLIENT_ARGS = {
    "timeout": (
        "seconds allowed between two reads of the socket (default 600), or an httpx.Timeout "
        "(its connect and read)"
    ),
    "connect_timeout": "seconds allowed to connect (default 10)",
    "max_retries": "retries after the first attempt (default 4)",
    "retry": "an any_llm.RetryConfig (attempts, backoff, Retry-After cap, polling pace)",
    "default_headers": "extra headers sent with every request",
    "ssl_context": "an ssl.SSLContext (for a private CA, for example)",
    "max_connections": "connections in the pool (default 100)",
    "max_connections_per_host": "connections per host (default 20)",
    "organization": "openai and azureopenai only: sent as the OpenAI-Organization header",
    "project": "openai and azureopenai only: sent as the OpenAI-Project header",
    "api_version": (
        "azureopenai only: a dated API version (e.g. 2024-10-21) sent as ?api-version= on "
        "every call to the resource's /openai routes; without it the v1 API (/openai/v1) is used"
    ),
}


# OpenAI client settings that are headers on the wire (what the openai SDK sends them as).
_OPENAI_HEADER_ARGS = {"organization": "OpenAI-Organization", "project": "OpenAI-Project"}
_OPENAI_HEADER_PROVIDERS = frozenset({"openai", "azureopenai"})


def merge_client_kwargs(
    provider: str | LLMProvider,
    client_args: Mapping[str, Any] | None,
    client_kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """``client_args`` with the settings passed to ``AnyLLM.create`` as keyword arguments (as
    any-llm takes them); a setting given both ways is refused."""
    args = dict(client_args or {})
    clash = sorted(set(args) & set(client_kwargs))
    if clash:
        raise ConfigurationError(
            f"{provider}: {', '.join(clash)} given both as a keyword argument and in "
            "client_args; pass each once"
        )
    args.update(client_kwargs)
    return args


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
        raise MissingApiKeyError(
            f"{name}: no API key; pass api_key= or set the {spec.api_key_env} environment variable",
            provider=name,
            env_var_name=spec.api_key_env,
        )
    key_source = (
        "api_key" if api_key is not None else f"the {spec.api_key_env} environment variable"
    )
    key = check_api_key(name, key, key_source, spec.auth_headers)
    args = translate_client_styles(name, client_args or {})
    unknown = sorted(set(args) - set(CLIENT_ARGS))
    if unknown:
        allowed = "; ".join(f"{k}: {v}" for k, v in CLIENT_ARGS.items())
        raise ConfigurationError(
            f"{name}: unknown client_args (or AnyLLM.create keyword arguments) {unknown}; "
            f"accepted: {allowed}"
        )
    retry = args.get("retry") or RetryConfig()
    if not isinstance(retry, RetryConfig):
        raise ConfigurationError(f"{name}: client_args['retry'] must be an any_llm.RetryConfig")
    if "max_retries" in args:
        retry = attrs.evolve(retry, max_attempts=_number(name, args, "max_retries", 0, 0) + 1)
    default = Timeout()
    given = args.get("timeout")
    if hasattr(given, "connect") and hasattr(given, "read"):  # httpx.Timeout, as openai takes
        from any_llm._call_options import timeout_option

        if "connect_timeout" in args:
            raise ConfigurationError(
                f"{name}: client_args['timeout'] is a timeout object: its connect is the "
                "connect timeout; drop connect_timeout"
            )
        timeout = timeout_option(name, "client_args['timeout']", given) or default
    else:
        timeout = Timeout(
            connect=_seconds(name, args, "connect_timeout", default.connect),
            read=_seconds(name, args, "timeout", default.read),
        )
    headers = check_headers(name, args.get("default_headers") or {})
    for arg, header in _OPENAI_HEADER_ARGS.items():
        value = args.get(arg)
        if value is None:
            continue
        if name not in _OPENAI_HEADER_PROVIDERS:
            raise ConfigurationError(
                f"{name}: client_args[{arg!r}] is an OpenAI setting (the {header} header); "
                f"{name} has none: remove it"
            )
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{name}: client_args[{arg!r}] must be a non-empty string")
        if not any(h.lower() == header.lower() for h in headers):  # default_headers win
            headers = {**check_headers(name, {header: value}, f"client_args[{arg!r}]"), **headers}
    env_base = os.environ.get(spec.api_base_env) if spec.api_base_env else None
    if api_base:
        base, base_source = api_base, "api_base"
    elif env_base:
        base, base_source = env_base, f"the {spec.api_base_env} environment variable"
    else:
        base, base_source = spec.default_api_base, "api_base"
    if not base:
        where = f" or set the {spec.api_base_env} environment variable" if spec.api_base_env else ""
        raise ConfigurationError(f"{name}: no api_base; pass api_base={where}")
    # No user name or password in the URL: it would be sent, and shown wherever it is printed.
    base = check_api_base(name, base, base_source).rstrip("/")
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
        default_headers=headers,
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
