"""Every Python block of docs/*.md runs here, against the emulator, so the docs cannot rot."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from any_llm.emulator import Emulator
from tests.helpers import write_requests

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(name: str) -> list[str]:
    return BLOCK.findall((DOCS / name).read_text(encoding="utf-8"))


def _run(name: str, namespace: dict[str, Any], emu: Emulator, tmp_path: Path) -> None:
    for number, code in enumerate(_blocks(name), 1):
        exec(compile(code, f"{DOCS / name} block {number}", "exec"), namespace)
    for key, value in list(namespace.items()):
        if key.startswith("test_") and inspect.isfunction(value):
            params = inspect.signature(value).parameters
            fixtures = {"any_llm_emulator": emu, "tmp_path": tmp_path / key}
            (tmp_path / key).mkdir()
            value(**{p: fixtures[p] for p in params})
            del namespace[key]


@pytest.fixture
def docs_env(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-docs")
    monkeypatch.setenv("OPENAI_BASE_URL", emu.api_base("openai"))
    return tmp_path


def test_provider_tables_match_the_readme() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    providers = (DOCS / "providers.md").read_text(encoding="utf-8")
    tables = [block for block in providers.split("\n\n") if block.startswith("| ")]
    assert len(tables) == 2
    for table in tables:
        assert table.strip() in readme


def test_every_doc_has_examples() -> None:
    assert _blocks("batch.md")
    assert _blocks("recipes.md")


def test_batch_guide_runs(
    emu: Emulator, docs_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace: dict[str, Any] = {}
    _run("batch.md", namespace, emu, docs_env)
    out = capsys.readouterr().out
    assert "req-0" in out
    assert "broken.jsonl 1 body must be a JSON object" in out


def test_recipes_run(emu: Emulator, docs_env: Path) -> None:
    namespace: dict[str, Any] = {}
    _run("batch.md", namespace, emu, docs_env)
    # One request of the guide's file fails, so that the retry recipe has work to do.
    write_requests(docs_env / "requests.jsonl", 3, fail=(1,))
    _run("recipes.md", namespace, emu, docs_env)
    assert (docs_env / "results.jsonl").read_text().count("\n") == 3
    assert (docs_env / "retry.jsonl").read_text().count("\n") == 1
    from any_llm_sync import poll_batch

    retried = poll_batch("openai", namespace["retry_batch"].id, api_base=emu.api_base())
    assert retried.request_counts.total == 1  # only the failed request was sent again
