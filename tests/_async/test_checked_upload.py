"""A file sent as is (OpenAI's protocol) is checked while it is read for sending: its first MiB
before any request, each later chunk before it is sent, the whole file before the upload's last
bytes. A bad line past the first MiB aborts the upload: the provider stores nothing, and the
error names the file and the line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from any_llm import AnyLLM, acreate_batch
from any_llm.emulator import Emulator, Fault
from any_llm.errors import InputFileError
from tests._async.waits import aborted_uploads
from tests.helpers import CHAT, KEY, SlowLink, client_args, sha256, write_requests

COUNT = 20_000
"""Requests in the big file: about 2.6 MB, so most of it is past the first MiB."""


def _request(custom_id: str, model: str = "gpt-4o-mini") -> bytes:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    line = {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": body}
    return json.dumps(line).encode()


def _replace_line(path: Path, number: int, new: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = new
    path.write_bytes(b"\n".join(lines))


def _offset_of_line(path: Path, number: int) -> int:
    """Where line ``number`` starts in the file."""
    return sum(len(line) + 1 for line in path.read_bytes().split(b"\n")[: number - 1])


def _size(path: Path) -> int:
    return path.stat().st_size


def _truncate_last_line(path: Path) -> None:
    data = path.read_bytes().rstrip(b"\n")
    path.write_bytes(data[:-3])  # the last line loses its closing braces and its newline


BAD_TAILS: list[tuple[str, Callable[[Path], None], int, str]] = [
    ("broken JSON", lambda p: _replace_line(p, 15_000, b"{not json}"), 15_000, "not valid JSON"),
    ("blank line", lambda p: _replace_line(p, 12_345, b""), 12_345, "blank line"),
    (
        "duplicate custom_id",
        lambda p: _replace_line(p, COUNT, _request("req-3")),
        COUNT,
        "duplicate custom_id",
    ),
    (
        "second model",
        lambda p: _replace_line(p, 19_000, _request("other", model="gpt-4o")),
        19_000,
        "one model per file",
    ),
    ("truncated last line", _truncate_last_line, COUNT, "not valid JSON"),
    (
        "invalid UTF-8 in a string",  # msgspec's fast path skips strings: ASCII chunks only
        lambda p: _replace_line(p, 16_000, _request("x").replace(b'"hi"', b'"h\xffi"')),
        16_000,
        "not valid UTF-8",
    ),
]


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = tmp_path / "big.jsonl"
    write_requests(path, COUNT)
    assert path.stat().st_size > 2 * 1024 * 1024
    return path


@pytest.mark.parametrize(
    ("name", "spoil", "line", "match"), BAD_TAILS, ids=[case[0] for case in BAD_TAILS]
)
async def test_a_bad_line_past_the_first_mib_aborts_the_upload(
    emu: Emulator,
    big: Path,
    name: str,
    spoil: Callable[[Path], None],
    line: int,
    match: str,
) -> None:
    del name
    spoil(big)
    assert _offset_of_line(big, line) > 1024 * 1024
    async with AnyLLM.create(
        "openai", api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    ) as client:
        with pytest.raises(InputFileError, match=match) as info:
            await client.acreate_batch(big, CHAT)
        assert info.value.path == str(big)
        assert info.value.line == line
        assert f"{big}:{line}" in str(info.value)
        # One upload began and was cut before its end; it was not retried and nothing stored.
        assert len(await aborted_uploads(emu)) == 1
        assert [r["path"] for r in emu.requests()] == ["/v1/files"]
        assert emu.files() == []
        assert emu.batches() == []
        # The client is still usable: the same file, mended, goes through.
        write_requests(big, COUNT)
        batch = await client.acreate_batch(big, CHAT)
    stored = [f for f in emu.files() if f["id"] == batch.input_file_id]
    assert stored[0]["sha256"] == sha256(big)


async def test_a_bad_line_in_the_first_mib_sends_nothing(emu: Emulator, big: Path) -> None:
    _replace_line(big, 5_000, b"[1, 2]")
    assert _offset_of_line(big, 5_001) < 1024 * 1024 < _size(big)
    with pytest.raises(InputFileError, match="expected a JSON object") as info:
        await acreate_batch(
            "openai", big, CHAT, api_key=KEY, api_base=emu.api_base(), client_args=client_args()
        )
    assert info.value.line == 5_000
    assert emu.requests() == []


@pytest.mark.parametrize("change", ["grows", "shrinks"])
async def test_a_file_changed_while_it_is_sent_is_refused(
    emu: Emulator, big: Path, change: str
) -> None:
    size = _size(big)

    def change_file(_: int) -> None:  # called as the first chunk is read for sending
        if _size(big) != size:
            return
        if change == "grows":
            with big.open("ab") as out:
                out.write(_request("late") + b"\n")
        else:
            with big.open("r+b") as out:
                out.truncate(size - 1000)

    with pytest.raises(InputFileError, match="changed while it was sent") as info:
        await acreate_batch(
            "openai",
            big,
            CHAT,
            api_key=KEY,
            api_base=emu.api_base(),
            client_args=client_args(),
            on_upload_progress=change_file,
        )
    assert info.value.path == str(big)
    assert len(await aborted_uploads(emu)) == 1
    assert emu.files() == []
    assert emu.batches() == []


async def test_a_retried_upload_is_checked_anew(emu: Emulator, big: Path) -> None:
    # The first attempt is cut by the server half way; the second reads and checks the file
    # from its first byte again (a check carried over would see every custom_id twice).
    emu.add_fault(Fault(method="POST", path="/v1/files", kind="reset_mid_upload", times=1))
    batch = await acreate_batch(
        "openai", big, CHAT, api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    )
    uploads = [r for r in emu.requests() if (r["method"], r["path"]) == ("POST", "/v1/files")]
    assert len(uploads) == 2
    stored = [f for f in emu.files() if f["id"] == batch.input_file_id]
    assert stored[0]["sha256"] == sha256(big)


async def test_crlf_non_ascii_and_no_last_newline_in_a_big_file(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "crlf.jsonl"
    lines = [_request(f"r{i}") for i in range(COUNT)]
    lines[15_000] = lines[15_000].replace(b'"hi"', '"héllo, 世界"'.encode())  # raw UTF-8
    path.write_bytes(b"\r\n".join(lines))
    batch = await acreate_batch(
        "openai", path, CHAT, api_key=KEY, api_base=emu.api_base(), client_args=client_args()
    )
    stored = [f for f in emu.files() if f["id"] == batch.input_file_id]
    assert stored[0]["sha256"] == sha256(path)  # sent as it is, byte for byte


def _write_padded(path: Path, count: int, bad_last: bytes) -> None:
    """``count`` requests of about 1 KB each, the last one replaced by ``bad_last``."""
    with path.open("wb") as out:
        for i in range(count - 1):
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 900}]}
            line = {"custom_id": f"r{i}", "method": "POST", "url": CHAT, "body": body}
            out.write(json.dumps(line).encode() + b"\n")
        out.write(bad_last + b"\n")


async def test_on_a_slow_link_a_bad_line_deep_in_the_file_is_reported_early(
    tmp_path: Path,
) -> None:
    # 42 MB over a 16 MB/s link: the upload alone would take 2.6 s. The scout checks ahead
    # while the link is busy, so the duplicate on the last line cuts the upload long before
    # the server has taken half of the file (without the scout: 34 to 38 MB of it).
    path = tmp_path / "deep.jsonl"
    _write_padded(path, 40_000, _request("r5"))
    size = _size(path)
    with SlowLink(rate=16_000_000) as link:
        with pytest.raises(InputFileError, match="duplicate custom_id") as info:
            await acreate_batch(
                "openai",
                path,
                CHAT,
                api_key=KEY,
                api_base=f"{link.url}/v1",
                client_args=client_args(),
            )
        taken = link.receiving
    assert info.value.line == 40_000
    assert link.uploads == 1
    assert taken < size // 2, f"the server had taken {taken:,} of {size:,} bytes"
