"""The openai SDK's per-request options in a batch call's ``**kwargs`` (issue 12, item 1):
``timeout``, ``extra_headers``, ``extra_query`` act on every request of the call, for every
provider, through the module functions and the client's methods alike; ``extra_body`` is merged
into the create body (refused where the body is a staged envelope); anything else a call cannot
use is refused by name, before any request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from any_llm import (
    AnyLLM,
    acancel_batch,
    acreate_batch,
    alist_batches,
    aretrieve_batch,
    aretrieve_batch_results,
)
from any_llm.emulator import Emulator, Fault
from any_llm.errors import (
    AnyLLMError,
    APIStatusError,
    APITimeoutError,
    BatchMayExistError,
    ConfigurationError,
    NotFoundError,
)
from any_llm.types import Batch
from tests.helpers import CHAT, KEY, Redirector, client_args, write_requests
from tests.hostile import HeaderRecorder

MODELS = {
    "openai": "gpt-4o-mini",
    "mistral": "mistral-small-latest",
    "anthropic": "claude-3-5-haiku-latest",
    "gemini": "gemini-2.5-flash",
    "azureopenai": "my-gpt-4o-deployment",
    "groq": "llama-3.1-8b-instant",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
}
PROVIDERS = list(MODELS)
CALLS = ["create_batch", "retrieve_batch", "cancel_batch", "list_batches"]


def requests_file(tmp_path: Path, provider: str) -> Path:
    path = tmp_path / f"{provider}.jsonl"
    write_requests(path, 2, model=MODELS[provider], max_tokens=16)
    return path


class Caller:
    """Makes each call through the module functions or through one client."""

    def __init__(self, emu: Emulator, provider: str, way: str, llm: Any) -> None:
        self.provider = provider
        self.way = way
        self.llm = llm
        self.config: dict[str, Any] = {
            "api_key": KEY,
            "api_base": emu.api_base(provider),
            "client_args": client_args(max_retries=0),
        }

    async def call(self, name: str, arg: Any, **kwargs: Any) -> Any:
        if self.way == "client":
            method: Callable[..., Awaitable[Any]] = {
                "create_batch": self.llm.acreate_batch,
                "retrieve_batch": self.llm.aretrieve_batch,
                "cancel_batch": self.llm.acancel_batch,
                "list_batches": self.llm.alist_batches,
                "retrieve_batch_results": self.llm.aretrieve_batch_results,
            }[name]
            if name == "list_batches":
                return await method(**kwargs)
            if name == "create_batch":
                return await method(arg, CHAT, **kwargs)
            return await method(arg, **kwargs)
        functions: dict[str, Callable[..., Any]] = {
            "create_batch": acreate_batch,
            "retrieve_batch": aretrieve_batch,
            "cancel_batch": acancel_batch,
            "list_batches": alist_batches,
            "retrieve_batch_results": aretrieve_batch_results,
        }
        module = functions[name]
        if name == "list_batches":
            return await module(self.provider, **self.config, **kwargs)
        if name == "create_batch":
            return await module(self.provider, arg, CHAT, **self.config, **kwargs)
        return await module(self.provider, arg, **self.config, **kwargs)


@pytest.mark.parametrize("way", ["module", "client"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_request_of_every_call_carries_the_extra_headers_and_query(
    slow_emu: Emulator, tmp_path: Path, provider: str, way: str
) -> None:
    emu = slow_emu  # batches stay validating: the cancel is accepted
    path = requests_file(tmp_path, provider)
    async with AnyLLM.create(
        provider, KEY, emu.api_base(provider), client_args=client_args(max_retries=0)
    ) as llm:
        caller = Caller(emu, provider, way, llm)
        batch: Batch | None = None
        for name in CALLS:
            emu.clear_requests()
            options = {"extra_headers": {"X-Trace": f"t-{name}"}, "extra_query": {"trace": name}}
            got = await caller.call(name, path if batch is None else batch.id, **options)
            if name == "create_batch":
                batch = got
            seen = emu.requests()
            assert seen, name
            for request in seen:
                assert request["headers"].get("x-trace") == f"t-{name}", (name, request["path"])
                assert request["query"].get("trace") == name, (name, request["path"])


@pytest.mark.parametrize(
    "timeout", [0.3, SimpleNamespace(connect=5.0, read=0.3, write=5.0, pool=5.0)]
)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_timeout_bounds_every_call(
    slow_emu: Emulator, tmp_path: Path, provider: str, timeout: Any
) -> None:
    """A server slower than ``timeout=`` fails each call with APITimeoutError at once: the
    option is the requests' timeout (before, it was a create body field, and a TypeError on
    the other calls). An ``httpx.Timeout``-like object is taken as the openai SDK takes it."""
    emu = slow_emu
    path = requests_file(tmp_path, provider)
    async with AnyLLM.create(
        provider, KEY, emu.api_base(provider), client_args=client_args(max_retries=0)
    ) as llm:
        caller = Caller(emu, provider, "client", llm)
        batch = await caller.call("create_batch", path)
        emu.add_fault(Fault(kind="delay", delay=2.0))
        for name in CALLS:
            arg = path if name == "create_batch" else batch.id
            started = time.monotonic()
            with pytest.raises(AnyLLMError) as raised:
                await caller.call(name, arg, timeout=timeout)
            assert time.monotonic() - started < 1.5, name
            # a create with no upload first (Gemini inline) may have made a batch: it says so
            error = raised.value
            assert isinstance(error, APITimeoutError) or (
                isinstance(error, BatchMayExistError)
                and isinstance(error.__cause__, APITimeoutError)
            ), (name, error)
        emu.clear_faults()


async def test_timeout_applies_through_the_module_functions(
    slow_emu: Emulator, tmp_path: Path
) -> None:
    emu = slow_emu
    path = requests_file(tmp_path, "openai")
    caller = Caller(emu, "openai", "module", None)
    batch = await caller.call("create_batch", path, timeout=30)  # a number of seconds
    emu.add_fault(Fault(kind="delay", delay=2.0))
    for name in CALLS:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await caller.call(name, path if name == "create_batch" else batch.id, timeout=0.3)
        assert time.monotonic() - started < 1.5, name
    emu.clear_faults()


EXPIRY = "output_expires_after"
# A create body field each provider checks: (bad value, good value).
BODY_FIELDS: dict[str, tuple[str, Any, Any]] = {
    "openai": (EXPIRY, {"anchor": "never"}, {"anchor": "created_at", "seconds": 7200}),
    "azureopenai": (EXPIRY, {"anchor": "never"}, {"anchor": "created_at", "seconds": 7200}),
    "groq": (EXPIRY, {"anchor": "never"}, {"anchor": "created_at", "seconds": 7200}),
    "mistral": ("timeout_hours", 0, 2),
    "together": ("priority", "high", 1),
}


@pytest.mark.parametrize("provider", list(BODY_FIELDS))
@pytest.mark.parametrize("way", ["module", "client"])
async def test_extra_body_fields_reach_the_create_body(
    emu: Emulator, tmp_path: Path, provider: str, way: str
) -> None:
    """The provider checks a field sent through ``extra_body``: a bad value is its error
    naming the field, a good one is taken."""
    field, bad, good = BODY_FIELDS[provider]
    path = requests_file(tmp_path, provider)
    async with AnyLLM.create(
        provider, KEY, emu.api_base(provider), client_args=client_args(max_retries=0)
    ) as llm:
        caller = Caller(emu, provider, way, llm)
        with pytest.raises(APIStatusError, match=field):
            await caller.call("create_batch", path, extra_body={field: bad})
        batch = await caller.call("create_batch", path, extra_body={field: good})
        assert batch.id


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
async def test_extra_body_is_refused_where_the_create_body_is_staged(
    emu: Emulator, tmp_path: Path, provider: str
) -> None:
    path = requests_file(tmp_path, provider)
    llm = AnyLLM.create(provider, KEY, emu.api_base(provider))
    try:
        with pytest.raises(ConfigurationError, match="cannot take extra_body"):
            await llm.acreate_batch(path, CHAT, extra_body={"x": 1})
    finally:
        await llm.aclose()
    assert emu.requests() == []


async def test_a_field_given_as_kwarg_and_in_extra_body_is_refused(
    emu: Emulator, tmp_path: Path
) -> None:
    path = requests_file(tmp_path, "openai")
    llm = AnyLLM.create("openai", KEY, emu.api_base("openai"))
    try:
        with pytest.raises(ConfigurationError, match="both as a keyword argument and in extra"):
            await llm.acreate_batch(path, CHAT, x=1, extra_body={"x": 2})
    finally:
        await llm.aclose()
    assert emu.requests() == []


@pytest.mark.parametrize("name", ["retrieve_batch", "cancel_batch", "list_batches"])
@pytest.mark.parametrize("way", ["module", "client"])
async def test_what_a_call_cannot_use_is_refused_by_name_before_any_request(
    emu: Emulator, name: str, way: str
) -> None:
    async with AnyLLM.create("openai", KEY, emu.api_base("openai")) as llm:
        caller = Caller(emu, "openai", way, llm)
        for bad, named in (
            ({"purpose": "x"}, "purpose"),
            ({"extra_body": {"a": 1}}, "extra_body"),
            ({"timeout": -1}, "timeout"),
            ({"timeout": "soon"}, "timeout"),
            ({"extra_headers": {"Bad Name": "v"}}, "extra_headers"),
            ({"extra_headers": {"X-A": "v\r\nX-B: w"}}, "extra_headers"),
            ({"extra_query": {"a": object()}}, "extra_query"),
        ):
            with pytest.raises(ConfigurationError, match=named):
                await caller.call(name, "batch_1", **bad)
    assert emu.requests() == []


async def test_timeout_none_keeps_the_client_s_timeout(emu: Emulator) -> None:
    with pytest.raises(NotFoundError):
        await aretrieve_batch(
            "openai", "batch_missing", api_key=KEY, api_base=emu.api_base("openai"), timeout=None
        )


async def test_results_take_the_options_too(emu: Emulator, tmp_path: Path) -> None:
    path = requests_file(tmp_path, "openai")
    async with AnyLLM.create("openai", KEY, emu.api_base("openai")) as llm:
        batch = await llm.acreate_batch(path, CHAT)
        await llm.aretrieve_batch(batch.id)  # the instant emulator completes it
        emu.clear_requests()
        result = await llm.aretrieve_batch_results(batch.id, extra_headers={"X-Trace": "r"})
        assert len(result) == 2
    seen = emu.requests()
    assert seen and all(r["headers"].get("x-trace") == "r" for r in seen)


async def test_extra_headers_do_not_follow_a_redirect_to_another_origin() -> None:
    """An extra header may be a credential (a gateway's token): like the key, it stays on the
    provider's origin when an answer redirects elsewhere."""
    with HeaderRecorder() as elsewhere, Redirector(elsewhere.url) as gateway:
        llm = AnyLLM.create("openai", KEY, gateway.url + "/v1")
        try:
            with pytest.raises(NotFoundError):
                await llm.aretrieve_batch("b", extra_headers={"X-Gateway-Token": "tok-SECRET"})
        finally:
            await llm.aclose()
        seen = elsewhere.seen
    assert len(seen) == 1
    assert not any("tok-SECRET" in value for _, value in seen[0])
    assert not any(name.lower() == "x-gateway-token" for name, _ in seen[0])
