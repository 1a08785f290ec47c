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


def encoded_as(result: EmbeddingResult, encoding_format: Any) -> EmbeddingResult:
    """The result with every vector in the encoding the client asked for: float vectors are packed as base64
    when it asked for base64 (most providers only answer floats); anything else is left as the provider sent it."""
    if encoding_format != "base64":
        return result
    items = result.body.get("data")
    if not isinstance(items, list) or not any(isinstance(item.get("embedding"), list) for item in items):
        return result
    data = [{**item, "embedding": encode_vector(item["embedding"], "base64")}
            if isinstance(item.get("embedding"), list) else item for item in items]
    return EmbeddingResult(body={**result.body, "data": data}, usage=result.usage)


def merged_embeddings(results: Sequence[EmbeddingResult]) -> EmbeddingResult:
    """One answer for the results of several calls, in their order: items re-indexed, usage summed."""
    usage = Usage(prompt_tokens=sum(result.usage.prompt_tokens for result in results),
                  completion_tokens=sum(result.usage.completion_tokens for result in results))
    items = (item for result in results for item in result.body.get("data") or [])
    data = [{**item, "index": index} for index, item in enumerate(items)]
    return EmbeddingResult(body={**results[0].body, "data": data, "usage": embedding_usage(usage)}, usage=usage)
