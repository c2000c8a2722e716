"""Records over the wire (issue 12, items 5, 6, 7): a list page is a list, metadata comes back
as the user wrote it with the stamp as ``idempotency_key``, results carry typed responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from any_llm import (
    AnyLLM,
    acreate_batch,
    afind_batch,
    alist_batches,
    aretrieve_batch,
    aretrieve_batch_results,
)
from any_llm.emulator import Emulator
from any_llm.types import (
    BatchResultStatus,
    ChatCompletion,
    CreateEmbeddingResponse,
)
from tests.helpers import CHAT, EMBEDDINGS, KEY, client_args, write_requests

MODELS = {"openai": "gpt-4o-mini", "mistral": "mistral-small-latest", "gemini": "gemini-2.5-flash"}


def common(emu: Emulator, provider: str = "openai") -> dict[str, Any]:
    return {"api_key": KEY, "api_base": emu.api_base(provider), "client_args": client_args()}


# item 6: list_batches gives a list


async def test_a_listed_page_is_a_list(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 1)
    made = [await acreate_batch("openai", path, CHAT, **common(emu)) for _ in range(3)]
    newest_first = [b.id for b in reversed(made)]
    page = await alist_batches("openai", limit=2, **common(emu))
    assert isinstance(page, list) and len(page) == 2
    assert [b.id for b in page] == newest_first[:2]
    assert page == list(page) and page[:1] == [page[0]] and type(page[:1]) is list
    assert page.has_more and page.next_cursor == newest_first[1]
    rest = await alist_batches("openai", after=page.next_cursor, **common(emu))
    assert [b.id for b in page + rest] == newest_first
    assert not rest.has_more and rest.next_cursor is None
    async with AnyLLM.create("openai", **common(emu)) as llm:
        whole = await llm.alist_batches()
    assert isinstance(whole, list) and whole == page + rest


async def test_a_mistral_page_after_an_id_is_a_list(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 1, model=MODELS["mistral"])
    made = [await acreate_batch("mistral", path, CHAT, **common(emu, "mistral")) for _ in range(3)]
    after = await alist_batches("mistral", after=made[2].id, **common(emu, "mistral"))
    assert isinstance(after, list) and [b.id for b in after] == [made[1].id, made[0].id]


# item 7: metadata as written; the stamp is idempotency_key


@pytest.mark.parametrize("provider", ["openai", "mistral"])
async def test_metadata_comes_back_as_written(emu: Emulator, tmp_path: Path, provider: str) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2, model=MODELS[provider])
    kw = common(emu, provider)
    created = await acreate_batch(
        provider, path, CHAT, metadata={"job": "nightly"}, idempotency_key="job-1", **kw
    )
    bare = await acreate_batch(provider, path, CHAT, **kw)
    assert (created.metadata, created.idempotency_key) == ({"job": "nightly"}, "job-1")
    retrieved = await aretrieve_batch(provider, created.id, **kw)
    listed = {b.id: b for b in await alist_batches(provider, **kw)}
    for batch in (retrieved, listed[created.id]):
        assert (batch.metadata, batch.idempotency_key) == ({"job": "nightly"}, "job-1")
    # only our stamp was there: None, as the user wrote none
    assert bare.metadata is None and listed[bare.id].metadata is None
    assert bare.idempotency_key is not None and len(bare.idempotency_key) == 32
    # the stamp is still on the wire, and still finds the batch
    assert any(
        (b.get("metadata") or {}).get("any_llm_idempotency_key") == "job-1" for b in emu.batches()
    )
    found = await afind_batch(provider, "job-1", **kw)
    assert found is not None and found.id == created.id
    again = await acreate_batch(provider, path, CHAT, idempotency_key="job-1", **kw)
    assert again.id == created.id  # a create with a used key returns that batch


async def test_gemini_display_name_comes_back_as_written(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2, model=MODELS["gemini"])
    kw = common(emu, "gemini")
    named = await acreate_batch(
        "gemini", path, CHAT, display_name="nightly", idempotency_key="job-1", **kw
    )
    bare = await acreate_batch("gemini", path, CHAT, **kw)
    assert (named.metadata, named.idempotency_key) == ({"displayName": "nightly"}, "job-1")
    retrieved = await aretrieve_batch("gemini", named.id, **kw)
    assert (retrieved.metadata, retrieved.idempotency_key) == ({"displayName": "nightly"}, "job-1")
    assert bare.metadata is None and bare.idempotency_key is not None
    # a key of the caller's (not 32 hex digits) is found by its stamp too
    found = await afind_batch("gemini", "job-1", **kw)
    assert found is not None and found.id == named.id
    again = await acreate_batch("gemini", path, CHAT, idempotency_key="job-1", **kw)
    assert again.id == named.id


# item 5: results as any-llm returns them


async def test_results_carry_typed_chat_completions(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 4, fail=(0,), error=(2,))
    async with AnyLLM.create("openai", **common(emu)) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
    result = await aretrieve_batch_results("openai", batch.id, **common(emu))
    by_id = {item.custom_id: item for item in result}
    for custom_id in ("req-1", "req-3"):
        item = by_id[custom_id]
        assert item.status is BatchResultStatus.SUCCEEDED
        assert isinstance(item.result, ChatCompletion)
        assert item.result == item.chat_completion() and item.result.choices
    for custom_id in ("req-0", "req-2"):
        item = by_id[custom_id]
        assert item.status is BatchResultStatus.FAILED and item.result is None
        assert item.error is not None and isinstance(item.error.code, str) and item.error.code
    assert sorted(i.custom_id for i in result.returned) == ["req-0", "req-1", "req-2", "req-3"]


async def test_results_carry_typed_embeddings(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2, endpoint=EMBEDDINGS, model="text-embedding-3-small")
    async with AnyLLM.create("openai", **common(emu)) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, EMBEDDINGS)).id)
        result = await llm.aretrieve_batch_results(batch)
    for item in result:
        assert isinstance(item.result, CreateEmbeddingResponse)
        assert item.result.data and item.result.data[0].embedding


async def test_returned_leaves_out_what_the_provider_did_not_return(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    ids = write_requests(path, 3, fail=(0,))
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("question 1", "question 1 [[stray]]")  # its line comes back
    path.write_text("\n".join(lines) + "\n")  # under another custom_id: req-1 is missing
    async with AnyLLM.create("openai", **common(emu)) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
        result = await llm.aretrieve_batch_results(batch, input_file_path=path)
    statuses = {item.custom_id: item.status for item in result}
    assert statuses == {
        "req-0": BatchResultStatus.FAILED,
        "req-1": BatchResultStatus.MISSING,
        "req-2": BatchResultStatus.SUCCEEDED,
    }
    # the order: what the provider returned, in its order (output file, then error file),
    # then what it did not return, in input order
    assert [item.custom_id for item in result] == ["req-2", "req-0", "req-1"]
    assert [item.custom_id for item in result.returned] == ["req-2", "req-0"]
    assert sorted(item.custom_id for item in result) == ids
