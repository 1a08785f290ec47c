"""Embeddings in the encoding the client asked for, whatever the provider answered."""
from __future__ import annotations

import base64
import struct

import pytest

from apps.providers.base import EmbeddingResult, Usage
from apps.providers.embedding_format import embedding_list, encoded_as, merged_embeddings

VECTORS = [[0.5, -1.25, 3.0], [0.1, 0.2, 0.3]]


def floats_result() -> EmbeddingResult:
    usage = Usage(prompt_tokens=4)
    return EmbeddingResult(body=dict(embedding_list(VECTORS, model="m", usage=usage)), usage=usage)


def test_base64_is_little_endian_float32_of_each_vector() -> None:
    encoded = encoded_as(floats_result(), "base64")
    assert [item["embedding"] for item in encoded.body["data"]] == [
        base64.b64encode(struct.pack("<3f", *vector)).decode() for vector in VECTORS]
    assert base64.b64decode(encoded.body["data"][0]["embedding"]) == bytes.fromhex("0000003f0000a0bf00004040")
    assert (encoded.body["usage"], encoded.usage) == ({"prompt_tokens": 4, "total_tokens": 4}, Usage(prompt_tokens=4))


@pytest.mark.parametrize("encoding", [pytest.param(None, id="absent_case"), pytest.param("float", id="float_case")])
def test_floats_stay_floats_unless_base64_was_asked(encoding: str | None) -> None:
    assert encoded_as(floats_result(), encoding).body == floats_result().body


def test_a_provider_base64_answer_is_left_as_sent() -> None:
    already = encoded_as(floats_result(), "base64")
    assert encoded_as(already, "base64").body == already.body


def test_merged_answers_are_encoded_once_in_input_order() -> None:
    merged = merged_embeddings([floats_result(), floats_result()])
    data = encoded_as(merged, "base64").body["data"]
    assert [item["index"] for item in data] == [0, 1, 2, 3]
    assert [struct.unpack("<3f", base64.b64decode(item["embedding"]))[0] for item in data] == [0.5, 0.10000000149011612,
                                                                                                0.5, 0.10000000149011612]
