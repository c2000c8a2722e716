"""Azure OpenAI: OpenAI's Files + Batches protocol on an Azure resource.

Ground truth: shared/providers/azure-openai.md. Served by the OpenAI adapter; this module holds
what differs: the ``api-key`` header, the two URL surfaces, the limits.

``api_base`` is the resource endpoint, ``https://{resource}.openai.azure.com`` (the
``AZURE_OPENAI_ENDPOINT`` of Azure's own SDK). The surface is chosen like this:

- no ``client_args['api_version']``: the v1 API, ``{endpoint}/openai/v1``, no version query;
- ``client_args['api_version']`` (e.g. ``"2024-10-21"``): the dated API, ``{endpoint}/openai``
  with ``?api-version=...`` on every call (file downloads included);
- an ``api_base`` already ending in ``/openai/v1`` (the OpenAI client's ``base_url`` in
  Azure's v1 samples) is used as is, with ``api_version`` (e.g. ``"preview"``) sent as the
  query when given; one ending in ``/openai`` is the dated API and needs ``api_version``.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from any_llm._jsonl import InputLimits
from any_llm.errors import ConfigurationError
from any_llm.types import LLMProvider

from . import ProviderSpec
from .openai import OpenAIProtocol

PROVIDER = "azureopenai"

V1_PATH = "/openai/v1"
DATED_PATH = "/openai"

ENDPOINTS = frozenset({"/v1/chat/completions", "/chat/completions", "/v1/responses"})
"""Chat completions (``/chat/completions`` is the dated API's spelling, ``/v1/...`` the v1
API's) and responses. Embeddings batches are not supported by Azure."""


def auth_headers(api_key: str) -> dict[str, str]:
    """Azure's key header (not ``Authorization``)."""
    return {"api-key": api_key}


def resolve_api_base(api_base: str, api_version: str | None) -> str:
    """The resource endpoint (or an ``/openai`` / ``/openai/v1`` URL) and the API version →
    the base URL of the batch routes, with the ``api-version`` query when there is one."""
    parts = urlsplit(api_base)
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"{PROVIDER}: api_base must not carry a query; pass the API version as "
            "client_args['api_version']"
        )
    base = api_base.rstrip("/")
    if base.endswith(V1_PATH):
        url = base
    elif base.endswith(DATED_PATH):
        if api_version is None:
            raise ConfigurationError(
                f"{PROVIDER}: api_base {api_base!r} is the dated API, which needs "
                "client_args['api_version'] (e.g. '2024-10-21'); or pass the resource endpoint "
                "alone to use the v1 API"
            )
        url = base
    else:
        url = base + (V1_PATH if api_version is None else DATED_PATH)
    if api_version is not None:
        url += "?" + urlencode({"api-version": api_version})
    return url


def create_endpoint(endpoint: str) -> str:
    """Azure documents ``"endpoint": "/chat/completions"`` on both surfaces; whether the v1
    API also takes ``/v1/chat/completions`` there is unverified, so the documented form is
    sent. The input lines keep the caller's url."""
    return "/chat/completions" if endpoint == "/v1/chat/completions" else endpoint


SPEC = ProviderSpec(
    provider=LLMProvider.AZUREOPENAI,
    default_api_base="",  # every resource has its own endpoint
    api_key_env="AZURE_OPENAI_API_KEY",
    api_base_env="AZURE_OPENAI_ENDPOINT",
    # body.model is the deployment name, the same on every line; 100,000 requests per file.
    limits=InputLimits(
        max_requests=100_000, max_file_bytes=200_000_000, endpoints=ENDPOINTS, single_model=True
    ),
    # Any other window makes the job fail after the create; refused here instead.
    completion_windows=frozenset({"24h"}),
    auth_headers=auth_headers,
    metadata_max_pairs=15,  # OpenAI's 16 on the wire, one of them the idempotency key
    resolve_api_base=resolve_api_base,
    openai_protocol=OpenAIProtocol(create_endpoint=create_endpoint),
)
