"""The rule set of scripts/unasync.py: golden pairs, forbidden names, the --check mode."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "unasync.py"
DATA = REPO / "tests" / "unasync_data"
GOLDEN_INPUTS = sorted(DATA.glob("*.in.py"))


def _load_script() -> ModuleType:
    # not importable as `unasync`: that is the library the script wraps
    spec = importlib.util.spec_from_file_location("unasync_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_script()
GOLDEN_CLASSES: set[str] = gen.discover_classes(p.read_text("utf-8") for p in GOLDEN_INPUTS)


def transform(src: str, class_names: set[str] | None = None) -> str:
    result: str = gen.transform_source(src, source_path="x.py", class_names=class_names or set())
    return result


def problems(src: str, class_names: set[str] | None = None) -> str:
    with pytest.raises(gen.UnasyncError) as info:
        transform(src, class_names)
    return str(info.value)


# golden pairs


def test_golden_pairs_exist() -> None:
    assert len(GOLDEN_INPUTS) >= 3
    for path in GOLDEN_INPUTS:
        assert path.with_name(path.name.replace(".in.py", ".out.py")).is_file()
    # pytest would collect test_*.py data files
    assert not [p.name for p in DATA.iterdir() if p.name.startswith(("test_", "conftest"))]


@pytest.mark.parametrize("path", GOLDEN_INPUTS, ids=lambda p: p.name.removesuffix(".in.py"))
def test_golden_pair(path: Path) -> None:
    expected = path.with_name(path.name.replace(".in.py", ".out.py")).read_text("utf-8")
    source = path.read_text("utf-8")
    actual = gen.transform_source(
        source, source_path=path.name, class_names=GOLDEN_CLASSES, fired=set()
    )
    assert actual == expected


def test_golden_pairs_pin_every_rule() -> None:
    fired: set[str] = set()
    for path in GOLDEN_INPUTS:
        src = path.read_text("utf-8")
        gen.transform_source(src, source_path=path.name, class_names=GOLDEN_CLASSES, fired=fired)
    assert gen.unused_rules(fired) == []
    assert set(gen.ENTRYPOINTS) | set(gen.RENAMES) | {gen.IMPORT_RULE} <= fired
    assert set(gen.BUILTIN) <= fired


def test_entrypoint_table() -> None:
    assert {name: name[1:] for name in gen.ENTRYPOINTS} == gen.ENTRYPOINTS
    public = {
        "acreate_batch",
        "aretrieve_batch",
        "acancel_batch",
        "alist_batches",
        "aiter_batches",
        "aretrieve_batch_results",
        "aiter_batch_results",
        "apoll_batch",
    }
    assert public <= set(gen.ENTRYPOINTS)


# single rules


def test_import_rule_only_for_the_top_level_package() -> None:
    src = (
        "from any_llm import (\n    AnyLLM,\n    acreate_batch,\n)\n"
        "from any_llm.types import Batch\n"
        "import any_llm.errors\n"
        "from any_llm._retry import request_policy\n"
    )
    assert transform(src) == (
        "from any_llm_sync import (\n    AnyLLM,\n    create_batch,\n)\n"
        "from any_llm.types import Batch\n"
        "import any_llm.errors\n"
        "from any_llm._retry import request_policy\n"
    )


def test_strings_are_renamed_only_when_they_are_a_whole_name() -> None:
    src = (
        "__all__ = [\"AsyncClient\", 'acreate_batch']\n"
        'HELP = "AsyncClient.acreate_batch, then await it"\n'
        "# AsyncClient: acreate_batch\n"
    )
    assert transform(src, {"AsyncClient"}) == (
        "__all__ = [\"Client\", 'create_batch']\n"
        'HELP = "AsyncClient.acreate_batch, then await it"\n'
        "# AsyncClient: acreate_batch\n"
    )


def test_names_that_merely_start_like_a_rule_are_kept() -> None:
    src = "async def await_batch_ready(aclose_after: bool) -> None:\n    await asleep(0)\n"
    assert transform(src) == "def await_batch_ready(aclose_after: bool) -> None:\n    sleep(0)\n"


def test_discover_classes() -> None:
    src = "class AsyncClient:\n    class AsyncInner(Base):\n        pass\nclass Asyncfoo: ...\n"
    assert gen.discover_classes([src]) == {"AsyncClient", "AsyncInner"}


# forbidden input and leftovers


def test_asyncio_left_in_the_output_names_the_line() -> None:
    message = problems("async def f() -> None:\n    await asyncio.sleep(1)\n")
    assert "x.py:2:" in message
    assert "'asyncio'" in message


@pytest.mark.parametrize(
    "src",
    [
        "import asyncio\n",
        "from asyncio import sleep\n",
        "import aiohttp.web\n",
        "from aiohttp import web\n",
        "import anyio\n",
        "from any_llm._async.client import AsyncClient\n",
        "from any_llm._async import client\n",
        "from any_llm import _async\n",
    ],
)
def test_forbidden_imports(src: str) -> None:
    message = problems("x = 1\n" + src)
    assert "x.py:2: forbidden import" in message


def test_the_aiohttp_transport_module_may_be_imported() -> None:
    src = "from any_llm._transport._aiohttp import AiohttpTransport\n"
    assert transform(src) == "from any_llm._transport._urllib3 import Urllib3Transport\n"


def test_async_generator_is_banned() -> None:
    message = problems("from collections.abc import AsyncGenerator\n")
    assert "x.py:1: 'AsyncGenerator' is banned" in message


def test_unknown_async_class_is_caught() -> None:
    src = "def f() -> None:\n    return AsyncThing()\n"
    message = problems(src)
    assert "x.py:2: 'AsyncThing' left in the generated code" in message
    assert transform(src, {"AsyncThing"}) == "def f() -> None:\n    return Thing()\n"


@pytest.mark.parametrize(
    ("src", "name"),
    [
        ("x = SyncClient()\n", "'SyncClient'"),
        ("x = aiohttp_session\n", "'aiohttp_session'"),
        ("x = AsyncFoo\n", "'AsyncFoo'"),
        ('__all__ = ["AsyncFoo"]\n', "'AsyncFoo'"),
    ],
)
def test_leftover_names(src: str, name: str) -> None:
    assert name in problems(src)


def test_await_must_be_followed_by_a_space() -> None:
    assert "x.py:2: write 'await' followed by a space" in problems(
        "async def f() -> None:\n    return await(g())\n"
    )


# the generated trees, in a tiny fake repository


SOURCES = {
    "any_llm/_async/__init__.py": "from .client import AsyncClient, acreate_batch\n\n"
    '__all__ = ["AsyncClient", "acreate_batch"]\n',
    "any_llm/_async/client.py": (
        '"""The client."""\n\n'
        "from any_llm._transport import AsyncTransport\n\n\n"
        "class AsyncClient:\n"
        "    def __init__(self, transport: AsyncTransport) -> None:\n"
        "        self._transport = transport\n\n"
        "    async def aclose(self) -> None:\n"
        "        await self._transport.aclose()\n\n\n"
        "async def acreate_batch(client: AsyncClient) -> None:\n"
        "    await client.aclose()\n"
    ),
    "any_llm/_async/adapters/__init__.py": "",
    "any_llm/_async/adapters/openai.py": "from ..client import AsyncClient\n\n"
    "ADAPTER = AsyncClient\n",
    "tests/_async/test_client.py": "from any_llm import acreate_batch\n\n\n"
    "async def test_create_batch() -> None:\n    assert acreate_batch\n",
}
HEADER = (
    "# GENERATED by scripts/unasync.py from any_llm/_async/client.py. DO NOT EDIT.\n"
    "# Edit the async source, then run: nox -s generate\n"
)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(DATA, tmp_path / "tests" / "unasync_data")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    _write(tmp_path, SOURCES)
    (tmp_path / "any_llm" / "py.typed").write_text("", "utf-8")
    return tmp_path


@pytest.fixture
def generated(root: Path) -> Path:
    gen.write(root)
    return root


def test_write_generates_the_twin(generated: Path) -> None:
    found = sorted(
        p.relative_to(generated).as_posix()
        for base in ("any_llm_sync", "tests/_sync")
        for p in (generated / base).rglob("*")
        if p.is_file()
    )
    assert found == [
        "any_llm_sync/__init__.py",
        "any_llm_sync/adapters/__init__.py",
        "any_llm_sync/adapters/openai.py",
        "any_llm_sync/client.py",
        "any_llm_sync/py.typed",
        "tests/_sync/test_client.py",
    ]
    client = (generated / "any_llm_sync/client.py").read_text("utf-8")
    assert client.startswith(HEADER + '"""The client."""\n')
    assert "class Client:" in client
    assert "def create_batch(client: Client) -> None:\n    client.close()\n" in client
    test = (generated / "tests/_sync/test_client.py").read_text("utf-8")
    assert "from any_llm_sync import create_batch\n" in test
    assert "def test_create_batch() -> None:" in test
    assert gen.check(generated) == []
    assert gen.main(["--check", "--root", str(generated)]) == 0


def test_header_names_the_source(generated: Path) -> None:
    for source in SOURCES:
        target = source.replace("any_llm/_async/", "any_llm_sync/").replace("/_async/", "/_sync/")
        lines = (generated / target).read_text("utf-8").splitlines()
        assert lines[:2] == [
            f"# GENERATED by scripts/unasync.py from {source}. DO NOT EDIT.",
            "# Edit the async source, then run: nox -s generate",
        ]


def test_output_is_ruff_formatted(root: Path) -> None:
    _write(root, {"any_llm/_async/fmt.py": "async def acancel_batch( x:int )->None :\n  pass\n"})
    header = HEADER.replace("client.py", "fmt.py")
    assert gen.generate(root)["any_llm_sync/fmt.py"] == (
        header + "def cancel_batch(x: int) -> None:\n    pass\n"
    )


def test_check_reports_a_changed_file(generated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = generated / "any_llm_sync/client.py"
    path.write_text(path.read_text("utf-8").replace("close()", "shutdown()"), "utf-8")
    [report] = gen.check(generated)
    assert "--- any_llm_sync/client.py (in tree)" in report
    assert "-        self._transport.shutdown()" in report
    assert "+        self._transport.close()" in report
    assert gen.main(["--check", "--root", str(generated)]) == 1
    assert "+        self._transport.close()" in capsys.readouterr().out


def test_check_reports_a_missing_file(generated: Path) -> None:
    (generated / "any_llm_sync/adapters/openai.py").unlink()
    (generated / "any_llm_sync/py.typed").unlink()
    assert gen.check(generated) == [
        "missing: any_llm_sync/adapters/openai.py",
        "missing: any_llm_sync/py.typed",
    ]


def test_check_reports_orphans_and_write_deletes_them(generated: Path) -> None:
    (generated / "any_llm/_async/adapters/openai.py").unlink()
    _write(generated, {"tests/_sync/helpers.py": "def helper() -> None: ...\n"})
    report = gen.check(generated)
    assert report == [
        "orphan: any_llm_sync/adapters/openai.py (generated, its source is gone)",
        "orphan: tests/_sync/helpers.py (no header: only nox -s generate writes here)",
    ]
    assert gen.write(generated) == [
        "deleted any_llm_sync/adapters/openai.py",
        "deleted tests/_sync/helpers.py",
    ]
    assert gen.check(generated) == []
    assert gen.write(generated) == []


def test_removed_package_leaves_no_directory(generated: Path) -> None:
    shutil.rmtree(generated / "any_llm/_async/adapters")
    gen.write(generated)
    assert not (generated / "any_llm_sync/adapters").exists()


def test_missing_or_empty_async_trees_generate_nothing(tmp_path: Path) -> None:
    shutil.copytree(DATA, tmp_path / "tests" / "unasync_data")
    (tmp_path / "any_llm" / "_async").mkdir(parents=True)
    assert gen.generate(tmp_path) == {}
    assert gen.check(tmp_path) == []


def test_rules_that_fire_nowhere_are_unused(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(root / "tests" / "unasync_data")
    with pytest.raises(gen.UnasyncError) as info:
        gen.generate(root)
    message = str(info.value)
    assert "unused rule 'aiter_lines' -> 'iter_lines'" in message
    assert "unused rule 'AsyncTransport'" not in message  # fires in the tree
    assert "unused rule 'acreate_batch'" not in message
    assert gen.main(["--check", "--root", str(root)]) == 2
    assert "unused rule 'asleep' -> 'sleep'" in capsys.readouterr().err


def test_errors_exit_2_and_write_nothing(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(root, {"tests/_async/test_sleep.py": "x = 1\nimport asyncio\n"})
    assert gen.main(["--root", str(root)]) == 2
    assert "tests/_async/test_sleep.py:2: forbidden import 'asyncio'" in capsys.readouterr().err
    assert not (root / "any_llm_sync" / "client.py").exists()


def test_non_python_files_are_rejected(root: Path) -> None:
    _write(root, {"tests/_async/data.json": "{}"})
    with pytest.raises(gen.UnasyncError, match=r"tests/_async/data\.json: only \.py files"):
        gen.generate(root)


def test_runs_as_a_script(generated: Path) -> None:
    # scripts/ is sys.path[0] then: the script must still import the unasync library
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--root", str(generated)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert "up to date" in proc.stdout
