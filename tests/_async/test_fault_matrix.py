"""The fault matrix: every provider, every fault, against the emulator, for both twins.

Each case injects one kind of fault into the routes a batch goes through, then runs the whole
lifecycle (create, poll, results) and checks the promise: every custom_id comes back exactly
once, exactly one batch exists, and an uploaded input file is byte-identical to the local one.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from any_llm import AnyLLM
from any_llm.emulator import Emulator, Fault
from any_llm.errors import BatchMayExistError
from any_llm.types import BatchStatus
from tests.helpers import CHAT, KEY, client_args, sha256, write_requests


@attrs.frozen
class Routes:
    """Where a provider's batch goes on the emulator (fnmatch globs; ``*`` crosses ``/``)."""

    model: str
    upload: str
    """The POST that carries the input's bytes (a file upload, or an inline create)."""
    create: str
    retrieve: str
    download: str
    uploads_file_as_is: bool
    """The stored input file is the user's file itself (OpenAI protocol)."""
    batches_carry_key: bool = True
    """A batch shows the idempotency key of its create (Anthropic's show nothing)."""


ROUTES = {
    "openai": Routes(
        model="gpt-4o-mini",
        upload="/v1/files",
        create="/v1/batches",
        retrieve="/v1/batches/*",
        download="/v1/files/*/content",
        uploads_file_as_is=True,
    ),
    "azureopenai": Routes(
        model="my-deployment",
        upload="/azureopenai/openai/v1/files",
        create="/azureopenai/openai/v1/batches",
        retrieve="/azureopenai/openai/v1/batches/*",
        download="/azureopenai/openai/v1/files/*/content",
        uploads_file_as_is=True,
    ),
    "groq": Routes(
        model="llama-3.1-8b-instant",
        upload="/groq/openai/v1/files",
        create="/groq/openai/v1/batches",
        retrieve="/groq/openai/v1/batches/*",
        download="/groq/openai/v1/files/*/content",
        uploads_file_as_is=True,
    ),
    "mistral": Routes(
        model="mistral-small-latest",
        upload="/mistral/v1/files",
        create="/mistral/v1/batch/jobs",
        retrieve="/mistral/v1/batch/jobs/*",
        download="/mistral/v1/files/*/content",
        uploads_file_as_is=False,
    ),
    "together": Routes(
        model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
        upload="/together/v1/files/upload",
        create="/together/v1/batches",
        retrieve="/together/v1/batches/*",
        download="/together/v1/files/*/content",
        uploads_file_as_is=False,
    ),
    "anthropic": Routes(
        model="claude-3-5-haiku-latest",
        upload="/anthropic/v1/messages/batches",
        create="/anthropic/v1/messages/batches",
        retrieve="/anthropic/v1/messages/batches/*",
        download="/anthropic/v1/messages/batches/*/results",
        uploads_file_as_is=False,
        batches_carry_key=False,
    ),
    "gemini": Routes(
        model="gemini-2.5-flash",
        upload="/gemini/v1beta/models/*",
        create="/gemini/v1beta/models/*",
        retrieve="/gemini/v1beta/batches/*",
        download="/gemini/v1beta/batches/*",  # inline results arrive in the batch itself
        uploads_file_as_is=False,
    ),
}


def faults(kind: str, routes: Routes) -> list[Fault]:
    """The faults of one row of the matrix."""
    if kind == "429 storm":
        retry_now = {"Retry-After": "0"}
        return [
            Fault(method="POST", path=routes.upload, status=429, headers=retry_now, times=2),
            Fault(method="POST", path=routes.create, status=429, headers=retry_now, times=2),
            Fault(method="GET", path=routes.retrieve, status=429, headers=retry_now, times=2),
        ]
    if kind == "5xx":
        return [
            Fault(method="POST", path=routes.create, status=500, times=1),
            Fault(method="GET", path=routes.retrieve, status=502, times=1),
            Fault(method="GET", path=routes.download, status=503, times=1),
        ]
    if kind == "reset mid-upload":
        return [Fault(method="POST", path=routes.upload, kind="reset_mid_upload", times=1)]
    if kind == "reset after create":
        return [Fault(method="POST", path=routes.create, kind="reset_after", times=1)]
    if kind == "reset mid-download":
        return [Fault(method="GET", path=routes.download, kind="reset_mid_download", times=1)]
    assert kind == "slow server"
    return [Fault(method="GET", path=routes.retrieve, kind="delay", delay=1.0, times=1)]


KINDS = (
    "429 storm",
    "5xx",
    "reset mid-upload",
    "reset after create",
    "reset mid-download",
    "slow server",
)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("provider", sorted(ROUTES))
async def test_fault_matrix(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture, provider: str, kind: str
) -> None:
    routes = ROUTES[provider]
    path = tmp_path / "requests.jsonl"
    ids = write_requests(path, 40, model=routes.model, fail=(5,), max_tokens=32)
    for fault in faults(kind, routes):
        emu.add_fault(fault)
    # A 0.3 s read timeout: the slow server's 1 s answer times out once, then is retried.
    args = client_args(timeout=0.3)
    async with AnyLLM.create(
        provider, api_key=KEY, api_base=emu.api_base(provider), client_args=args
    ) as llm:
        if kind == "reset after create" and not routes.batches_carry_key:
            # The batch made cannot be shown to be this call's: it is named, never taken,
            # and the create is not sent again.
            with pytest.raises(BatchMayExistError) as info:
                await llm.acreate_batch(path, CHAT)
            [made] = emu.batches(provider)
            assert info.value.batch_id == made["id"]
            return
        batch = await llm.acreate_batch(path, CHAT)
        batch = await llm.apoll_batch(batch.id)
        assert batch.status is BatchStatus.COMPLETED
        items = [item async for item in llm.aiter_batch_results(batch)]

    if kind == "slow server":
        # The delayed request is logged by the emulator only once its delay is over.
        assert "APITimeoutError" in caplog.text, "the slow answer never timed out"
    else:
        applied = [r for r in emu.requests() if r["fault"] is not None]
        assert applied, "the fault was never triggered: the matrix row tests nothing"
    got = [item.custom_id for item in items]
    assert sorted(got) == sorted(ids)  # nothing lost, nothing twice
    assert [item.custom_id for item in items if not item.succeeded] == ["req-5"]
    assert len(emu.batches(provider)) == 1  # never billed twice
    if routes.uploads_file_as_is:
        inputs = [f for f in emu.files() if f["purpose"] == "batch"]
        assert [f["sha256"] for f in inputs] == [sha256(path)]  # byte-identical, no orphan
