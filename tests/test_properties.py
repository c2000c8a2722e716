"""Property-based tests: random and malformed input gives a valid result or one of our
documented errors, never an unexpected exception (validator, translators, result parsers)."""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from any_llm._jsonl import InputSummary, InputValidator, TranslationError, validate_input_file
from any_llm._providers import anthropic, gemini, get_spec, mistral, openai, together
from any_llm.errors import InputFileError
from any_llm.types import Batch, BatchResultItem, BatchStatus

CHAT = "/v1/chat/completions"
PROVIDERS = ("openai", "mistral", "anthropic", "gemini", "together", "groq", "azureopenai")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
roles = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "x"])
parts = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=20)}),
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": st.fixed_dictionaries(
                {"url": st.sampled_from(["data:image/png;base64,AAAA", "https://x/y.png", ""])}
            ),
        }
    ),
    json_values,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": roles},
        optional={
            "content": st.one_of(st.text(max_size=20), st.lists(parts, max_size=3), json_values),
            "tool_calls": json_values,
            "tool_call_id": st.text(max_size=5),
            "name": st.text(max_size=5),
        },
    ),
    max_size=4,
)
bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["m", "gpt-4o-mini", "gemini-2.5-flash", "claude-3-5-haiku"])},
    optional={
        "messages": st.one_of(messages, json_values),
        "max_tokens": st.one_of(st.integers(-2, 100_000), json_values),
        "max_completion_tokens": st.integers(-2, 100),
        "temperature": st.one_of(st.floats(-1, 3, allow_nan=False), json_values),
        "top_p": st.floats(0, 1),
        "stop": st.one_of(st.text(max_size=5), st.lists(st.text(max_size=5), max_size=5)),
        "seed": st.integers(),
        "n": st.integers(0, 3),
        "tools": json_values,
        "tool_choice": json_values,
        "response_format": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {"type": st.sampled_from(["text", "json_object", "json_schema"])},
                optional={"json_schema": json_values},
            ),
        ),
        "logprobs": st.booleans(),
        "user": st.text(max_size=5),
        "stream": st.booleans(),
        "metadata": json_values,
        "unknown_field": json_values,
    },
)


def _line(custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": body}


@settings(max_examples=150, deadline=None)
@given(provider=st.sampled_from(PROVIDERS), body=bodies)
def test_translators_translate_or_refuse(provider: str, body: dict[str, Any]) -> None:
    translate = get_spec(provider).limits.translate
    if translate is None:
        return
    try:
        native = translate(_line("req-1", body))
    except TranslationError as exc:
        problem: TranslationError | None = exc
    else:
        problem = None
        json.dumps(native)  # what is sent must be JSON
    assert problem is None or problem.field


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    provider=st.sampled_from(PROVIDERS),
    lines=st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.builds(
                lambda cid, body: json.dumps(_line(cid, body)).encode(),
                st.text(max_size=8),
                bodies,
            ),
            st.builds(lambda v: json.dumps(v).encode(), json_values),
        ),
        max_size=6,
    ),
)
def test_validator_accepts_or_explains(provider: str, lines: list[bytes]) -> None:
    spec = get_spec(provider)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.jsonl"
        path.write_bytes(b"\n".join(lines))
        try:
            summary = validate_input_file(
                path, endpoint=CHAT, limits=spec.limits, provider=provider
            )
        except InputFileError as exc:
            error: InputFileError | None = exc
        else:
            error = None
            assert summary.requests >= 1
    assert error is None or (error.path == str(path) and error.reason)


def _fed(
    path: Path, provider: str, data: bytes, cuts: list[int]
) -> InputSummary | tuple[int | None, str]:
    """What a validator fed ``data`` in pieces cut at ``cuts`` concludes."""
    validator = InputValidator(
        path, endpoint=CHAT, limits=get_spec(provider).limits, provider=provider
    )
    bounds = [0, *sorted(cut % (len(data) + 1) for cut in cuts), len(data)]
    try:
        for start, end in itertools.pairwise(bounds):
            validator.feed(data[start:end])
        return validator.finish()
    except InputFileError as exc:
        return exc.line, exc.reason


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    provider=st.sampled_from(["openai", "anthropic", "cerebras"]),
    lines=st.lists(
        st.one_of(
            st.sampled_from([b"", b"  ", b"\r", b"{}", b"[1]", b"\xef\xbb\xbf{}", b"\xff"]),
            st.builds(
                lambda cid, model: json.dumps(
                    _line(cid, {"model": model, "max_tokens": 5, "messages": []})
                ).encode(),
                st.sampled_from(["a", "b", "c", "d e"]),
                st.sampled_from(["m", "n"]),
            ),
        ),
        max_size=12,
    ),
    ending=st.sampled_from([b"\n", b"\r\n"]),
    last=st.booleans(),
    cuts=st.lists(st.integers(0, 10_000), max_size=8),
)
def test_checking_in_pieces_concludes_as_in_one(
    provider: str, lines: list[bytes], ending: bytes, last: bool, cuts: list[int]
) -> None:
    # A file checked while it is sent arrives in chunks cut anywhere: in a line, in a CRLF,
    # in a UTF-8 sequence. The conclusion (summary, or the line and reason of the error) is
    # the one of the whole file fed at once.
    data = ending.join(lines) + (ending if last else b"")
    path = Path("input.jsonl")
    assert _fed(path, provider, data, cuts) == _fed(path, provider, data, [])


ascii_lines = st.one_of(
    st.binary(max_size=40).map(lambda b: bytes(x & 0x7F for x in b).replace(b"\n", b" ")),
    st.builds(
        lambda cid, method, url, body: json.dumps(
            {"custom_id": cid, "method": method, "url": url, "body": body}
        ).encode(),
        st.one_of(st.sampled_from(["a", "b", ""]), json_values),
        st.one_of(st.just("POST"), json_values),
        st.one_of(st.just(CHAT), json_values),
        st.one_of(bodies, json_values),
    ),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.sampled_from(
        [
            b'{"custom_id":"a","method":"POST","url":"%s","body":{"model":"m","x":"\\ud800"}}'
            % CHAT.encode(),
            b'{"custom_id":"a","custom_id":"b","method":"POST","url":"%s","body":{"model":"m"}}'
            % CHAT.encode(),
            b'{"custom_id":"a","method":"POST","url":"%s","body":{"model":"m"}} x' % CHAT.encode(),
        ]
    ),
)


def _conclusion(validator: InputValidator, data: bytes) -> InputSummary | tuple[int | None, str]:
    try:
        validator.feed(data)
        return validator.finish()
    except InputFileError as exc:
        return exc.line, exc.reason


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    provider=st.sampled_from(["openai", "anthropic", "groq"]),
    lines=st.lists(ascii_lines, max_size=6),
)
def test_the_fast_path_concludes_as_the_full_check(provider: str, lines: list[bytes]) -> None:
    # ASCII lines of a provider that translates nothing take msgspec's fast path; a line it
    # doubts gets the full check. Either way the conclusion is the full check's (but for a
    # number beyond a double, below).
    limits = get_spec(provider).limits
    path = Path("input.jsonl")
    data = b"\n".join(lines)
    fast = InputValidator(path, endpoint=CHAT, limits=limits, provider=provider)
    full = InputValidator(path, endpoint=CHAT, limits=limits, provider=provider)
    full._fast = None
    assert _conclusion(fast, data) == _conclusion(full, data)


def test_what_only_the_full_check_refuses() -> None:
    # Valid JSON that cannot be held as a number, beyond a double: the full check (translating
    # providers, non-ASCII lines) builds the value and refuses it, the fast path skips it and
    # lets it through to the provider, which has the last word. Pinned here. (Nesting too deep
    # for Python's recursion limit is refused by both.)
    value = b"1e999"
    limits = get_spec("openai").limits
    line = b'{"custom_id":"a","method":"POST","url":"%s","body":{"model":"m","x":%s}}' % (
        CHAT.encode(),
        value,
    )
    fast = InputValidator(Path("in.jsonl"), endpoint=CHAT, limits=limits, provider="openai")
    full = InputValidator(Path("in.jsonl"), endpoint=CHAT, limits=limits, provider="openai")
    full._fast = None
    assert isinstance(_conclusion(fast, line), InputSummary)
    assert _conclusion(full, line)[1].startswith("not valid JSON")  # type: ignore[index]


BATCH = Batch(id="batches/1", provider="gemini", status=BatchStatus.COMPLETED, provider_status="x")
PARSERS: dict[str, Callable[[bytes], BatchResultItem | None]] = {
    "openai": lambda line: openai.parse_result_line(line, where="w"),
    "together": lambda line: together.parse_result_line(line, where="w"),
    "mistral": lambda line: mistral.parse_result_line(line, where="w", endpoint=CHAT),
    "anthropic": lambda line: anthropic.parse_result_line(line, where="w", created=0),
    "gemini": lambda line: gemini.parse_result_line(line, batch=BATCH, where="w"),
}

result_shapes = st.one_of(
    st.binary(max_size=60),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.builds(
        lambda cid, response, error: json.dumps(
            {"custom_id": cid, "key": cid, "response": response, "error": error, "result": response}
        ).encode(),
        st.text(max_size=6),
        st.one_of(
            json_values,
            st.fixed_dictionaries(
                {"status_code": st.one_of(st.integers(100, 599), json_values), "body": json_values}
            ),
        ),
        json_values,
    ),
)


@settings(max_examples=300, deadline=None)
@given(provider=st.sampled_from(sorted(PARSERS)), line=result_shapes)
def test_result_parsers_never_raise(provider: str, line: bytes) -> None:
    item = PARSERS[provider](line)
    if item is not None:
        assert item.custom_id
        assert (item.response is None) != (item.error is None)
