"""Azure OpenAI's `/openai/deployments/{model}/...` paths name the model group; the /v1 views read it from here."""
from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from apps.core import jsonutil
from apps.core.http import BODY_TOO_LARGE

PATH_MODEL = "tollgate.path_model"  # request.META key: the model group a deployment path names (for forms)


def named_in_path(request: HttpRequest, model: str) -> None:
    """Azure's paths name the model group; as in LiteLLM, it replaces the body's `model`.

    The body is rewritten for the /v1 handler, so /v1 itself does no extra work per call. A body that is
    too large or not a JSON object is left as it is, for the handler to refuse as /v1 does (after auth)."""
    if request.META.get(BODY_TOO_LARGE):
        return
    try:
        body = jsonutil.loads(request.body)
    except (jsonutil.JSONDecodeError, RequestDataTooBig):
        return
    if isinstance(body, dict):
        body["model"] = model
        request._body = jsonutil.dumps(body)  # Django's own cache of the read body
