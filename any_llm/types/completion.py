"""The completion records batch results are typed with, under any-llm's import path
(``any_llm.types.completion``): ours, built from OpenAI-shaped JSON."""

from any_llm.types import (
    ChatCompletion,
    ChatCompletionMessage,
    Choice,
    CompletionUsage,
    CreateEmbeddingResponse,
)

__all__ = [
    "ChatCompletion",
    "ChatCompletionMessage",
    "Choice",
    "CompletionUsage",
    "CreateEmbeddingResponse",
]
