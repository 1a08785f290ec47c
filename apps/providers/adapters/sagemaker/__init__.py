"""Amazon SageMaker runtime adapters: `sagemaker/` (text-generation endpoints) and `sagemaker_chat/` (messages API)."""
from __future__ import annotations

from apps.providers.adapters.sagemaker.chat import SageMakerChatAdapter
from apps.providers.adapters.sagemaker.textgen import SageMakerAdapter

__all__ = ["SageMakerAdapter", "SageMakerChatAdapter"]
