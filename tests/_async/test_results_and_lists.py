"""The result set is the input's requests whatever the provider returns, and a list ends
whatever the server's cursors do (issue 11, items 4 and 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from any_llm import AnyLLM, afind_batch, aiter_batches, aretrieve_batch_results
from any_llm.emulator import Emulator
from any_llm.types import BatchResultStatus
from tests.helpers import CHAT, KEY, EndlessList, client_args, write_requests


def _stray_input(path: Path) -> list[str]:
    """Three requests whose last one comes back under another custom_id ([[stray]])."""
    ids = write_requests(path, 3)
    text = path.read_text().splitlines()
    text[2] = text[2].replace("question 2", "question 2 [[stray]]")
    path.write_text("\n".join(text) + "\n")
    return ids


@pytest.mark.parametrize("local_input", [False, True], ids=["stored input", "input_file_path"])
async def test_a_stray_custom_id_never_stands_for_a_request(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture, local_input: bool
) -> None:
    path = tmp_path / "r.jsonl"
    ids = _stray_input(path)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    ) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
        assert batch.request_counts.total == 3
        local = path if local_input else None
        items = [item async for item in llm.aiter_batch_results(batch, input_file_path=local)]
        result = await llm.aretrieve_batch_results(batch, input_file_path=local)
    by_status = {item.custom_id: item.status for item in items}
    assert by_status == {
        "req-0": BatchResultStatus.SUCCEEDED,
        "req-1": BatchResultStatus.SUCCEEDED,
        "stray-req-2": BatchResultStatus.STRAY,  # reported, marked
        "req-2": BatchResultStatus.MISSING,  # the real request is not lost
    }
    assert sorted(item.custom_id for item in result.results) == ids
    assert [item.custom_id for item in result.strays] == ["stray-req-2"]
    assert result.counts()[BatchResultStatus.STRAY] == 0  # never counted among the requests
    assert "'stray-req-2', which is not in its input" in caplog.text


async def test_module_results_keep_strays_apart(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    ids = _stray_input(path)
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    ) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
    result = await aretrieve_batch_results(
        "openai", batch.id, api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    )
    assert sorted(item.custom_id for item in result) == sorted(ids)
    assert len(result.strays) == 1


@pytest.mark.parametrize("has_more", [None, True], ids=["no has_more", "cursor repeats"])
async def test_a_list_that_ignores_its_cursor_ends(
    caplog: pytest.LogCaptureFixture, has_more: bool | None
) -> None:
    with EndlessList(has_more) as server:
        listed = [
            batch.id
            async for batch in aiter_batches(
                "openai", api_key=KEY, api_base=f"{server.url}/v1", client_args=client_args()
            )
        ]
    assert listed == ["batch_0", "batch_1", "batch_2"]
    assert server.calls == 2  # the second page brought nothing new
    assert "the batch list repeats itself" in caplog.text


async def test_the_search_by_key_ends_on_an_endless_list() -> None:
    # The search a create runs after a lost answer, and find_batch, read the same list.
    with EndlessList(None) as server:
        found = await afind_batch(
            "openai", "some-key", api_key=KEY, api_base=f"{server.url}/v1",
            client_args=client_args(),
        )  # fmt: skip
    assert found is None
    assert server.calls == 2
