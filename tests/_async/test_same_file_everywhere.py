"""One JSONL (system prompts, images, tools, tool results, response_format, a failing request)
through every provider that takes it, against the emulator: the merged results come back
OpenAI-shaped with every custom_id exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from any_llm import AnyLLM
from any_llm.emulator import Emulator
from any_llm.types import BatchResultStatus, BatchStatus
from tests.helpers import CHAT, KEY, client_args

MODELS = {
    "openai": "gpt-4o-mini",
    "mistral": "mistral-small-latest",
    "anthropic": "claude-3-5-haiku-latest",
    "gemini": "gemini-2.5-flash",
    "azureopenai": "my-gpt-4o-deployment",
    "groq": "llama-3.1-8b-instant",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
}
PIXEL = (  # a 1x1 PNG
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8AAAAMB"
    "AQAYjgVBAAAAAElFTkSuQmCC"
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a word up.",
            "parameters": {
                "type": "object",
                "properties": {"word": {"type": "string"}},
                "required": ["word"],
            },
        },
    }
]
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
        },
    },
}


def bodies(model: str) -> dict[str, dict[str, Any]]:
    """The requests, by custom_id."""
    system = {"role": "system", "content": "You are terse."}
    return {
        "image": {
            "messages": [
                system,
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": PIXEL}},
                    ],
                },
            ],
        },
        "tools": {
            "messages": [system, {"role": "user", "content": "Define 'batch'."}],
            "tools": TOOLS,
            "tool_choice": "auto",
        },
        "tool-result": {
            "messages": [
                system,
                {"role": "user", "content": "Define 'batch'."},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": '{"word": "batch"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call1", "content": "a group of things"},
            ],
            "tools": TOOLS,
        },
        "json": {
            "messages": [system, {"role": "user", "content": "Say hi as JSON."}],
            "response_format": SCHEMA,
            "temperature": 0.2,
            "stop": ["\n\n"],
        },
        "fails": {"messages": [system, {"role": "user", "content": "Break [[fail]]"}]},
    }


def write_file(path: Path, model: str) -> list[str]:
    with path.open("w", encoding="utf-8") as out:
        for custom_id, body in bodies(model).items():
            full = {"model": model, "max_completion_tokens": 64, **body}
            line = {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": full}
            out.write(json.dumps(line) + "\n")
    return list(bodies(model))


@pytest.mark.parametrize("provider", sorted(MODELS))
async def test_the_same_file_goes_through_every_provider(
    emu: Emulator, tmp_path: Path, provider: str
) -> None:
    path = tmp_path / "requests.jsonl"
    ids = write_file(path, MODELS[provider])
    async with AnyLLM.create(
        provider, api_key=KEY, api_base=emu.api_base(provider), client_args=client_args()
    ) as llm:
        batch = await llm.apoll_batch((await llm.acreate_batch(path, CHAT)).id)
        assert batch.status is BatchStatus.COMPLETED
        assert batch.provider == provider
        result = await llm.aretrieve_batch_results(batch)
    assert sorted(item.custom_id for item in result) == sorted(ids)
    by_id = {item.custom_id: item for item in result}
    assert by_id["fails"].status is BatchResultStatus.FAILED
    assert by_id["fails"].error is not None and by_id["fails"].error.message
    for custom_id in ids:
        if custom_id == "fails":
            continue
        item = by_id[custom_id]
        assert item.status is BatchResultStatus.SUCCEEDED, (custom_id, item.error)
        completion = item.chat_completion()
        assert completion.choices
        assert completion.usage is not None and completion.usage.total_tokens > 0
