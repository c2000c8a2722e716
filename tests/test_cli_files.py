"""The command line's files and terminal (issue 11, items 8 and 19).

`any-llm batch results -o FILE` never empties or damages FILE when the command fails, refuses to
overwrite its own --input, and reports a bad output path in one line, before any request.
Progress bars are drawn only on a terminal (checked under a real pseudo-terminal) or when
--progress asks; without one a bad input file prints its error line and nothing else.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import stat
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from any_llm.cli import main
from any_llm.emulator import Emulator, Fault
from tests.helpers import write_requests

ROOT = Path(__file__).resolve().parent.parent
OLD = b'{"custom_id": "earlier", "status": "succeeded"}\n' * 50 + b"not even JSON \xff\n"


@pytest.fixture
def cli_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Common flags: the emulator as OpenAI, the key from the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli")
    return ["--api-base", emu.api_base("openai")]


def _ended_batch(cli_env: list[str], path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    write_requests(path, 6, fail=(2,))
    assert main(["batch", "create", str(path), "--wait", "--json", *cli_env]) == 0
    batch_id: str = json.loads(capsys.readouterr().out)["id"]
    return batch_id


def _leftovers(directory: Path, *keep: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    return err


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "OPENAI_API_KEY": "sk-cli",
        "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else ""),
    }


# item 8: the results file


def test_a_failing_results_command_leaves_the_output_as_it_was(
    cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "results.jsonl"
    out.write_bytes(OLD)
    assert main(["batch", "results", "batch_nope", "-o", str(out), *cli_env]) == 3
    assert "HTTP 404" in _one_line(capsys.readouterr().err)
    assert out.read_bytes() == OLD
    assert _leftovers(out_dir, "results.jsonl") == []


def test_a_results_download_failing_midway_leaves_the_output_as_it_was(
    emu: Emulator, cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch_id = _ended_batch(cli_env, tmp_path / "r.jsonl", capsys)
    batch = next(b for b in emu.batches() if b["id"] == batch_id)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "results.jsonl"
    out.write_bytes(OLD)
    # The output file's lines are written, then the error file cannot be read.
    emu.add_fault(
        Fault(method="GET", path=f"/v1/files/{batch['error_file_id']}/content", status=403)
    )
    assert main(["batch", "results", batch_id, "-o", str(out), *cli_env]) == 3
    assert "HTTP 403" in _one_line(capsys.readouterr().err)
    assert out.read_bytes() == OLD
    assert _leftovers(out_dir, "results.jsonl") == []


def test_ctrl_c_during_the_results_leaves_the_output_as_it_was(
    emu: Emulator, cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch_id = _ended_batch(cli_env, tmp_path / "r.jsonl", capsys)
    batch = next(b for b in emu.batches() if b["id"] == batch_id)
    error_path = f"/v1/files/{batch['error_file_id']}/content"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "results.jsonl"
    out.write_bytes(OLD)
    output_path = f"/v1/files/{batch['output_file_id']}/content"
    emu.add_fault(Fault(method="GET", path=error_path, kind="delay", delay=5))
    command = [sys.executable, "-m", "any_llm.cli", "batch", "results", batch_id]
    with subprocess.Popen(
        [*command, "-o", str(out), *cli_env],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the output file's lines are written
            if any(r["path"] == output_path for r in emu.requests()):
                break
            time.sleep(0.05)
        else:
            child.kill()
            pytest.fail("the child never read the output file")
        time.sleep(0.3)  # now waiting for the (delayed) error file
        assert _leftovers(out_dir, "results.jsonl") != []  # the temporary file, being written
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert err == "any-llm: interrupted\n"
    assert out.read_bytes() == OLD
    assert _leftovers(out_dir, "results.jsonl") == []


def test_a_successful_results_command_replaces_the_file_whole(
    emu: Emulator, cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch_id = _ended_batch(cli_env, tmp_path / "r.jsonl", capsys)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "results.jsonl"
    out.write_bytes(OLD * 100)  # longer than the results: nothing of it may remain
    out.chmod(0o640)
    link = out_dir / "link.jsonl"
    link.symlink_to(out.name)
    assert main(["batch", "results", batch_id, "-o", str(link), *cli_env]) == 0
    assert "6 results: succeeded 5, failed 1" in capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["custom_id"] for r in rows) == [f"req-{i}" for i in range(6)]
    assert link.is_symlink()  # written through the link, which stays a link
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # the file keeps its permissions
    assert _leftovers(out_dir, "results.jsonl", "link.jsonl") == []

    fresh = out_dir / "fresh.jsonl"
    umask = os.umask(0o022)
    os.umask(umask)
    assert main(["batch", "results", batch_id, "-o", str(fresh), *cli_env]) == 0
    assert fresh.read_bytes() == out.read_bytes()
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask  # as open() would make it
    assert _leftovers(out_dir, "results.jsonl", "link.jsonl", "fresh.jsonl") == []


def test_an_output_that_is_the_input_is_refused_before_any_request(
    emu: Emulator, cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch_id = _ended_batch(cli_env, tmp_path / "r.jsonl", capsys)
    source = tmp_path / "r.jsonl"
    before = source.read_bytes()
    (tmp_path / "hard.jsonl").hardlink_to(source)
    (tmp_path / "soft.jsonl").symlink_to(source)
    sent = len(emu.requests())
    targets = [
        str(source),
        f"{tmp_path}/./r.jsonl",
        str(tmp_path / "hard.jsonl"),  # another name of the same file
        str(tmp_path / "soft.jsonl"),
        os.path.relpath(source),
    ]
    for target in targets:
        args = ["batch", "results", batch_id, "--input", str(source), "-o", target]
        assert main([*args, *cli_env]) == 2, target
        err = _one_line(capsys.readouterr().err)
        assert "is the --input file" in err and target in err
    assert source.read_bytes() == before
    assert len(emu.requests()) == sent  # nothing was asked of the provider


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("{dir}", "Is a directory"),
        ("{dir}/", "Is a directory"),
        ("{tmp}/new-dir/", "Is a directory"),
        ("/nonexistent/dir/results.jsonl", "No such file or directory"),
        ("{file}/results.jsonl", "Not a directory"),
    ],
)
def test_a_bad_output_path_is_one_line_before_any_request(
    emu: Emulator,
    cli_env: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    output: str,
    reason: str,
) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_bytes(b"kept\n")
    path = output.format(dir=tmp_path / "dir", tmp=tmp_path, file=tmp_path / "file")
    assert main(["batch", "results", "batch_x", "-o", path, *cli_env]) == 2
    err = _one_line(capsys.readouterr().err)
    assert err == f"any-llm: cannot write the results to {path!r}: {reason}\n"
    assert emu.requests() == []
    assert _leftovers(tmp_path, "dir", "file", "emulator") == []
    assert list((tmp_path / "dir").iterdir()) == []
    assert (tmp_path / "file").read_bytes() == b"kept\n"


def test_an_unwritable_output_is_one_line_before_any_request(
    emu: Emulator, cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    read_only = tmp_path / "read-only.jsonl"
    read_only.write_bytes(OLD)
    read_only.chmod(0o444)
    locked.chmod(0o555)
    try:
        try:
            (locked / "probe").touch()
        except PermissionError:
            pass
        else:  # root (CAP_DAC_OVERRIDE) writes anywhere
            pytest.skip("this user may write into a read-only directory")
        for path in (str(locked / "results.jsonl"), str(read_only)):
            assert main(["batch", "results", "batch_x", "-o", path, *cli_env]) == 2
            err = _one_line(capsys.readouterr().err)
            assert err == f"any-llm: cannot write the results to {path!r}: Permission denied\n"
    finally:
        locked.chmod(0o755)
    assert emu.requests() == []
    assert read_only.read_bytes() == OLD


def test_results_still_go_to_stdout_and_pipes(
    cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch_id = _ended_batch(cli_env, tmp_path / "r.jsonl", capsys)
    assert main(["batch", "results", batch_id, *cli_env]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 6
    assert main(["batch", "results", batch_id, "-o", "-", *cli_env]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 6
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that opening it to write returns
    try:
        assert main(["batch", "results", batch_id, "-o", str(fifo), *cli_env]) == 0
        received = os.read(reader, 1 << 16)  # a few KiB: within the pipe's buffer
    finally:
        os.close(reader)
    assert len(received.splitlines()) == 6
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # written to, not replaced by a file
    assert _leftovers(tmp_path, "r.jsonl", "fifo", "emulator") == []


# item 19: progress bars only on a terminal


def _on_a_terminal(argv: Sequence[str], timeout: float = 60) -> tuple[int, str, str]:
    """Run ``any-llm argv`` with stderr on a pseudo-terminal: (exit code, stdout, terminal)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    screen = b""
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "any_llm.cli", *argv],
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
        ) as child:
            os.close(slave)
            slave = -1
            deadline = time.monotonic() + timeout
            while True:
                ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    child.kill()
                    pytest.fail(f"any-llm {' '.join(argv)} did not end: {screen!r}")
                try:
                    data = os.read(master, 1 << 16)
                except OSError:  # EIO: the child closed its end of the terminal
                    break
                if not data:
                    break
                screen += data
            assert child.stdout is not None
            out = child.stdout.read().decode()
            code = child.wait(timeout=timeout)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    return code, out, screen.decode(errors="replace")


def test_on_a_terminal_create_draws_its_bars(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2000)
    flags = ["--api-base", emu.api_base("openai")]
    code, out, screen = _on_a_terminal(["batch", "create", str(path), "--wait", *flags])
    assert code == 0, screen
    assert "upload" in screen and "100%" in screen  # the upload bar
    assert "completed, failed 0" in screen  # the wait bar
    assert "completed" in out

    code, out, screen = _on_a_terminal(
        ["batch", "create", str(path), "--wait", "--no-progress", *flags]
    )
    assert code == 0, screen
    assert "upload" not in screen and "%" not in screen
    assert len(screen.splitlines()) == 1 and "created batch_" in screen


def test_on_a_terminal_a_file_refused_before_any_request_prints_no_bar(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    write_requests(path, 3)
    with path.open("a", encoding="utf-8") as stream:
        stream.write("{not json\n")
    code, out, screen = _on_a_terminal(
        ["batch", "create", str(path), "--api-base", emu.api_base("openai")]
    )
    assert code == 2
    assert out == ""
    assert screen.count("\n") == 1 and "bad.jsonl:4: " in screen and "upload" not in screen
    assert emu.requests() == []


def test_without_a_terminal_a_bad_file_prints_one_line(
    emu: Emulator, cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    write_requests(path, 3)
    with path.open("a", encoding="utf-8") as stream:
        stream.write("{not json\n")
    assert main(["batch", "create", str(path), *cli_env]) == 2
    err = _one_line(capsys.readouterr().err)
    assert err.startswith("any-llm: ") and "bad.jsonl:4: " in err
    assert main(["batch", "create", str(path), "--wait", *cli_env]) == 2
    _one_line(capsys.readouterr().err)
    assert emu.requests() == []


def test_without_a_terminal_bars_are_drawn_only_when_asked(
    cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 2000)
    assert main(["batch", "create", str(path), *cli_env]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    batch_id = captured.out.split()[0]
    assert main(["batch", "wait", batch_id, *cli_env]) == 0
    assert capsys.readouterr().err == ""

    assert main(["batch", "create", str(path), "--wait", "--progress", *cli_env]) == 0
    err = capsys.readouterr().err
    assert "upload" in err and "100%" in err and "failed 0" in err
    assert main(["batch", "wait", batch_id, "--progress", *cli_env]) == 0
    assert "failed 0" in capsys.readouterr().err
    assert main(["batch", "wait", batch_id, "--progress", "--quiet", *cli_env]) == 0
    assert capsys.readouterr().err == ""  # the last flag given wins


def test_the_demo_draws_its_bar_only_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--requests", "20", "--seconds", "0.4"]) == 0
    out = capsys.readouterr().out
    assert "every custom_id accounted for" in out
    assert "req/s" not in out and "\r" not in out and "%|" not in out
    assert main(["demo", "--requests", "20", "--seconds", "0.4", "--progress"]) == 0
    assert "%|" in capsys.readouterr().out
