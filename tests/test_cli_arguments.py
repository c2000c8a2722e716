"""The command line turns the bad arguments of issue 11 (items 9-11, 14) into one error line and
exit code 2, never a traceback, and sends nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from any_llm._providers import IDEMPOTENCY_KEY
from any_llm.cli import main
from any_llm.emulator import Emulator
from tests.helpers import write_requests

KEY = "sk-cli-SECRET"


def _fifo(tmp_path: Path) -> str:
    path = tmp_path / "fifo.jsonl"
    os.mkfifo(path)
    return str(path)


def _requests(tmp_path: Path) -> str:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2)
    return str(path)


CASES = [
    ("a traversing batch id", ["batch", "get", "../files"], "batch_id contains '/'"),
    ("a query in a batch id", ["batch", "cancel", "b?x=1"], "batch_id contains '?'"),
    ("an empty batch id", ["batch", "wait", ""], "batch_id is empty"),
    ("limit 0", ["batch", "list", "--limit", "0"], "limit must be an int >= 1"),
    ("limit -5 of every page", ["batch", "list", "--all", "--limit", "-5"], "limit must be"),
    ("an empty cursor", ["batch", "list", "--after", ""], "after must be a non-empty string"),
    (  # --json: no upload bar on a valid file (bars off a terminal are issue 11, item 19)
        "the reserved metadata key",
        ["batch", "create", "{requests}", "--json", "--metadata", f"{IDEMPOTENCY_KEY}=x"],
        "is reserved",
    ),
    ("a FIFO", ["batch", "create", "{fifo}"], "is a FIFO (named pipe), not a regular file"),
    ("/dev/zero", ["batch", "create", "/dev/zero"], "is a device, not a regular file"),
    ("a missing results input", ["batch", "results", "b1", "--input", "nope"], "not found"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("name", "argv", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_argument_is_one_line_and_exit_2(
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    paths = {"{fifo}": _fifo(tmp_path), "{requests}": _requests(tmp_path)}
    args = [paths.get(arg, arg) for arg in argv]
    code = main([*args, "--api-base", emu.api_base()])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert KEY not in err
    assert emu.requests() == []


def test_a_key_with_a_newline_is_refused_without_showing_it(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "\n")
    code = main(["batch", "get", "b1", "--api-base", emu.api_base()])
    err = capsys.readouterr().err
    assert code == 2
    assert "OPENAI_API_KEY environment variable holds a line break" in err
    assert KEY not in err and "Traceback" not in err
    assert emu.requests() == []


def test_a_password_in_the_api_base_is_refused_without_showing_it(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    base = emu.api_base().replace("http://", "http://bob:s3cret-PW@")
    code = main(["batch", "list", "--api-base", base])
    err = capsys.readouterr().err
    assert code == 2
    assert "user name or password" in err
    assert "s3cret-PW" not in err and "bob" not in err and "Traceback" not in err
    assert emu.requests() == []
