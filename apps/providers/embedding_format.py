"""OpenAI `list` bodies for embeddings from providers that answer with plain float vectors."""
from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import Any, TypedDict

from apps.providers.base import EmbeddingResult, Usage, UsageDict


class EmbeddingItem(TypedDict):
    object: str
    index: int
    embedding: list[float] | str


class EmbeddingList(TypedDict):
    object: str
    data: list[EmbeddingItem]
    model: str
    usage: UsageDict


ENCODINGS = ("float", "base64")


def embedding_usage(usage: Usage) -> UsageDict:
    """OpenAI's embeddings `usage`: prompt and total tokens only."""
    return {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.total_tokens}


def encode_vector(vector: Sequence[float], encoding_format: str) -> list[float] | str:
    """A vector as OpenAI sends it: floats, or base64 of little-endian float32 (the openai SDK default)."""
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return [float(value) for value in vector]


def embedding_list(vectors: Sequence[Sequence[float]], *, model: str, usage: Usage,
                   encoding_format: Any = None) -> EmbeddingList:
    """The OpenAI embeddings response for `vectors` in input order."""
    encoding = encoding_format if encoding_format in ENCODINGS else "float"
    data = [EmbeddingItem(object="embedding", index=index, embedding=encode_vector(vector, encoding))
            for index, vector in enumerate(vectors)]
    return EmbeddingList(object="list", data=data, model=model, usage=embedding_usage(usage))


def merged_embeddings(results: Sequence[EmbeddingResult]) -> EmbeddingResult:
    """One answer for the results of several calls, in their order: items re-indexed, usage summed."""
    usage = Usage(prompt_tokens=sum(result.usage.prompt_tokens for result in results),
                  completion_tokens=sum(result.usage.completion_tokens for result in results))
    items = (item for result in results for item in result.body.get("data") or [])
    data = [{**item, "index": index} for index, item in enumerate(items)]
    return EmbeddingResult(body={**results[0].body, "data": data, "usage": embedding_usage(usage)}, usage=usage)
