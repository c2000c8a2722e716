"""The seed's usage example, verbatim, against the emulator (the sync names from any_llm)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from any_llm.emulator import Emulator
from tests.helpers import write_requests


def test_seed_example_verbatim(
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    write_requests(tmp_path / "requests.jsonl", 3)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-seed")
    api_base = f"{emu.url}/v1"

    # --- the documented example, as written (api_base added to reach the emulator) ---
    from any_llm import create_batch, list_batches, retrieve_batch

    batch = create_batch(
        provider="openai",
        input_file_path="requests.jsonl",
        endpoint="/v1/chat/completions",
        api_base=api_base,
    )
    batch = retrieve_batch("openai", batch.id, api_base=api_base)
    for b in list_batches("openai", api_base=api_base):
        print(b.id, b.status)
    # --- end of the example ---

    out = capsys.readouterr().out
    assert f"{batch.id} completed" in out
    assert os.environ["OPENAI_API_KEY"] == "sk-seed"
