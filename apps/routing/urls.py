"""The routing side of the management API (models, `/spend/calculate`) at LiteLLM's paths, on the full stack."""
from __future__ import annotations

from django.urls import path

from apps.routing import model_api

urlpatterns = [
    path("model/new", model_api.ModelNew.as_view()),
    path("model/update", model_api.ModelUpdate.as_view()),
    path("model/<path:model_id>/update", model_api.ModelUpdate.as_view()),
    path("model/delete", model_api.ModelDelete.as_view()),
    path("model/info", model_api.ModelInfo.as_view()),
    path("v2/model/info", model_api.ModelInfoV2.as_view()),
    path("model_group/info", model_api.ModelGroupInfo.as_view()),
    path("spend/calculate", model_api.SpendCalculate.as_view()),
]
