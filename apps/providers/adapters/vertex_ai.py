"""Vertex AI: the Gemini generateContent API on aiplatform.googleapis.com, with OAuth bearer tokens.

The request and response formats are Gemini's, so this subclasses `GeminiAdapter`; only the URL, the
auth and embeddings (`:predict`) differ. Tokens come from `target.api_key` (a ready bearer token) or,
in `sign`, from the service account in `vertex_credentials` / GOOGLE_APPLICATION_CREDENTIALS.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, TypedDict

from apps.core import jsonutil
from apps.providers import google_credentials
from apps.providers.adapters.gemini import GeminiAdapter
from apps.providers.base import EmbeddingCall, EmbeddingResult, Target, UpstreamError, UpstreamRequest, Usage
from apps.providers.embedding_format import embedding_list

DEFAULT_LOCATION = "us-central1"
# Stands in for the project until `sign` reads it from the credentials file (IO the adapter avoids).
PROJECT_PLACEHOLDER = "{project}"


class PredictInstance(TypedDict, total=False):
    content: str
    task_type: str


class VertexAIAdapter(GeminiAdapter):
    """Gemini models on Vertex AI (publishers/google)."""

    prefix: ClassVar[str] = "vertex_ai"
    api_key_env: ClassVar[tuple[str, ...]] = ()
    api_base_env: ClassVar[tuple[str, ...]] = ("VERTEXAI_API_BASE",)
    default_api_version: ClassVar[str] = "v1"

    def model_url(self, target: Target) -> str:
        """The model's URL. A custom `api_base` naming a model (`.../models/gemini-2.5-pro`, a proxy's path) is
        used as it is, as LiteLLM does; one ending in the API version gets the project path; any other both."""
        if target.api_base and "/models/" in target.api_base:
            return target.api_base.rstrip("/")
        location = str(target.extra.get("vertex_location") or DEFAULT_LOCATION)
        host = "https://aiplatform.googleapis.com" if location == "global" else \
            f"https://{location}-aiplatform.googleapis.com"
        project = project_for(target) or PROJECT_PLACEHOLDER
        return (f"{self.versioned_base(target, host)}/projects/{project}/locations/{location}"
                f"/publishers/google/models/{target.model}")

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if target.api_key:
            headers["Authorization"] = f"Bearer {target.api_key}"
        headers.update(target.headers)
        return headers

    def sign(self, request: UpstreamRequest, target: Target) -> UpstreamRequest:
        """Add a service-account bearer token (and the project) when the target carries no token."""
        url = request.url
        if PROJECT_PLACEHOLDER in url:
            project = self.credentials_call(google_credentials.project_id, target)
            if not project:
                raise UpstreamError("vertex_project is not set and the credentials name no project", status=400,
                                    error_type="invalid_request_error", provider=self.prefix)
            url = url.replace(PROJECT_PLACEHOLDER, project)
        if any(name.lower() == "authorization" for name in request.headers):
            return replace(request, url=url)
        token = self.credentials_call(google_credentials.access_token, target)
        return replace(request, url=url, headers={**request.headers, "Authorization": f"Bearer {token}"})

    def credentials_call(self, function: Any, target: Target) -> Any:
        """Run a credentials helper, turning unreadable credentials and refresh failures into 401s."""
        try:
            return function(target.extra.get("vertex_credentials"))
        except Exception as exc:  # google-auth raises its own hierarchy; none of it may escape as a 500
            raise UpstreamError(f"could not obtain Vertex AI credentials: {exc}", status=401,
                                error_type="authentication_error", code="invalid_api_key",
                                provider=self.prefix) from None

    # --- embeddings (text-embedding-* models use :predict) --------------------------------------

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        instances: list[PredictInstance] = []
        for text in self.embedding_texts(call, target):
            instance: PredictInstance = {"content": text}
            if call.params.get("task_type"):
                instance["task_type"] = str(call.params["task_type"])
            instances.append(instance)
        body: dict[str, Any] = {"instances": instances}
        if call.params.get("dimensions"):
            body["parameters"] = {"outputDimensionality": call.params["dimensions"]}
        return UpstreamRequest(method="POST", url=f"{self.model_url(target)}:predict", headers=self.headers(target),
                               body=jsonutil.dumps(body))

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        predictions = jsonutil.loads(body).get("predictions") or []
        embeddings = [prediction.get("embeddings") or {} for prediction in predictions]
        tokens = sum(int((item.get("statistics") or {}).get("token_count") or 0) for item in embeddings)
        usage = Usage(prompt_tokens=tokens)
        return EmbeddingResult(body=dict(embedding_list([item.get("values") or [] for item in embeddings],
                                                        model=target.model, usage=usage)),
                               usage=usage)


def project_for(target: Target) -> str | None:
    """The project from `vertex_project`, or from inline credentials JSON (no file IO here)."""
    project = target.extra.get("vertex_project")
    if project:
        return str(project)
    credentials = target.extra.get("vertex_credentials")
    if isinstance(credentials, Mapping):
        return str(credentials.get("project_id") or "") or None
    if isinstance(credentials, str) and credentials.strip().startswith("{"):
        try:
            return str(jsonutil.loads(credentials).get("project_id") or "") or None
        except (jsonutil.JSONDecodeError, AttributeError):
            return None
    return None
