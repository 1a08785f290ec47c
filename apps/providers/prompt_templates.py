"""Chat messages as one prompt string, for text-generation APIs that take `inputs` / `prompt` (SageMaker
text-generation endpoints, Replicate language models).

No tokenizer or chat template is downloaded (nothing is fetched at run time), so two formats are known:
Meta's Llama 2 chat format for Llama 2 chat models (`llama-2` with `chat`, or SageMaker JumpStart's
fine-tuned `-f` variants), and otherwise each message's text joined by newlines, as LiteLLM's default
does (with spaces). `hf_model_name` in the deployment's params names the model the format is chosen for.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.providers.base import Message

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"


def message_text(content: Any) -> str:
    """The text of a message's content (a string, or the text parts of a part list)."""
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content if isinstance(part, Mapping))
    return content if isinstance(content, str) else ""


def is_llama2_chat(model: str) -> bool:
    name = model.lower()
    return "llama-2" in name and ("chat" in name or name.endswith("-f"))


def llama2_chat_prompt(messages: list[Message]) -> str:
    """`<s>[INST] <<SYS>>\\nsystem\\n<</SYS>>\\n\\nuser [/INST] answer </s><s>[INST] next [/INST]`."""
    system = "\n".join(message_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    turns = [m for m in messages if m.get("role") not in ("system", "developer")]
    prompt, pending = "", B_SYS + system + E_SYS if system else ""
    for message in turns:
        text = message_text(message.get("content"))
        if message.get("role") == "assistant":
            prompt += f" {text.strip()} </s>"
        else:
            prompt += f"<s>{B_INST} {pending}{text.strip()} {E_INST}"
            pending = ""
    return prompt


def chat_prompt(messages: list[Message], *, model: str) -> str:
    """The prompt for `messages` sent to `model` (see the module doc)."""
    if is_llama2_chat(model):
        return llama2_chat_prompt(messages)
    return "\n".join(message_text(message.get("content")) for message in messages)
