"""A mock Vertex AI endpoint (generateContent, and `:predict` for embeddings and Imagen, on aiplatform) plus an
OAuth token endpoint.

Paths are `/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}`;
auth is `Authorization: Bearer <token>` where the token is the static test token or one minted by
`/token` (the service-account JWT-bearer grant google-auth performs).
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.upstreams.gateway import PROMPT, GatewayUpstream
from tests.upstreams.gemini import GeminiUpstream, google_error, imagen
from tests.upstreams.recording import Recorded, Reply

STATIC_TOKEN = "ya29.wire-test"
MINTED_TOKEN = "ya29.minted-by-token-endpoint"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
# Google's token audience: google-auth signs for it whatever `token_uri` the request is posted to.
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


def jwt_claims(assertion: str) -> dict[str, Any]:
    payload = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class VertexUpstream(GeminiUpstream):
    path_pattern = re.compile(r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
                              r"/publishers/google/models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$")
    client_email = "tollgate@acme-prod.iam.gserviceaccount.com"

    def service_account(self) -> dict[str, Any]:
        """A service-account key file for this mock: a fresh RSA key, our account, the mock's `/token`."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        return {"type": "service_account", "project_id": "acme-prod", "private_key_id": "k1",
                "private_key": pem.decode(), "client_email": self.client_email, "client_id": "1",
                "token_uri": f"{self.url}/token"}

    def authorized(self, request: Recorded) -> bool:
        return request.headers.get("authorization") in (f"Bearer {STATIC_TOKEN}", f"Bearer {MINTED_TOKEN}")

    def unauthorized(self) -> Reply:
        return google_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                            "UNAUTHENTICATED")

    def respond(self, request: Recorded) -> Reply:
        if request.path == "/token":
            return self.token(request)
        return super().respond(request)

    def token(self, request: Recorded) -> Reply:
        """The JWT-bearer grant: the assertion must name our service account, audience and scope."""
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        claims = jwt_claims(form.get("assertion", "x.e30.x"))
        if (form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer"
                or claims.get("iss") != self.client_email or claims.get("aud") != TOKEN_AUDIENCE
                or CLOUD_PLATFORM not in str(claims.get("scope"))):
            return Reply.json(400, {"error": "invalid_grant", "error_description": "bad assertion"})
        return Reply.json(200, {"access_token": MINTED_TOKEN, "expires_in": 3599, "token_type": "Bearer"})

    def other(self, method: str, body: dict[str, Any], model: str) -> Reply:
        if method == "predict" and model.startswith("imagen-"):
            return imagen(body)
        if method == "predict":
            return Reply.json(200, {"predictions": [
                {"embeddings": {"values": [0.25, float(i)], "statistics": {"token_count": 2, "truncated": False}}}
                for i, _ in enumerate(body["instances"])]})
        return google_error(404, f"method {method} not found", "NOT_FOUND")


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """A Vertex AI mock deployable through the gateway, authorised by a static bearer token (`api_key`)."""
    with VertexUpstream() as upstream:
        models = "/v1/projects/acme-prod/locations/us-east5/publishers/google/models"
        yield GatewayUpstream(
            server=upstream, provider="vertex_ai", provider_model="gemini-2.5-pro", api_base=upstream.url,
            api_key=STATIC_TOKEN,
            paths={"chat": f"{models}/gemini-2.5-pro:generateContent",
                   "stream": f"{models}/gemini-2.5-pro:streamGenerateContent",
                   "embeddings": f"{models}/text-embedding-005:predict"},
            auth=("authorization", f"Bearer {STATIC_TOKEN}"), text=f"echo: {PROMPT}", stream_text="Hello",
            tool_arguments={"city": "Paris"}, embedding_model="text-embedding-005",
            litellm_params={"vertex_project": "acme-prod", "vertex_location": "us-east5"})
