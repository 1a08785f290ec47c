"""A small OpenID Connect provider for the SSO tests: the authorization-code flow with RS256 ID tokens and JWKS.

`/authorize` signs in whoever `login_as` names at once (no login page) and redirects back with a code;
`/token` swaps the code for an ID token (checking client id, secret and redirect URI); `/userinfo` answers the
access token's claims; `/jwks` publishes the signing key. Everything it was sent is recorded.
"""
from __future__ import annotations

import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KID = "test-key-1"


class OIDCProvider:
    """The provider on a free local port; `issuer` is its base URL."""

    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.claims: dict[str, Any] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.audience = client_id  # a test may mint tokens for another client
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OIDCProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def login_as(self, **claims: Any) -> None:
        """Who the next /authorize signs in (`sub` required; `groups`, `email`, ... as the test wants)."""
        self.claims = claims

    def env(self) -> dict[str, str]:
        """The gateway's settings for this provider."""
        return {"OIDC_RP_CLIENT_ID": self.client_id, "OIDC_RP_CLIENT_SECRET": self.client_secret,
                "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/authorize",
                "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token", "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo",
                "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/jwks", "OIDC_RP_SIGN_ALGO": "RS256"}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        assert query["client_id"] == self.client_id and query["response_type"] == "code"
        assert "openid" in query["scope"].split()
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"claims": dict(self.claims), "nonce": query.get("nonce"),
                            "redirect_uri": query["redirect_uri"]}
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": target}, b""

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("client_secret") != self.client_secret or \
                form.get("redirect_uri") != grant["redirect_uri"] or form.get("client_id") != self.client_id:
            return 400, {"Content-Type": "application/json"}, b'{"error": "invalid_grant"}'
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + 300, "nonce": grant["nonce"],
                   **grant["claims"]}
        id_token = jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": KID})
        access = secrets.token_urlsafe(16)
        self.tokens[access] = grant["claims"]
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}
        return 200, {"Content-Type": "application/json"}, orjson.dumps(body)

    def userinfo(self, authorization: str) -> tuple[int, dict[str, str], bytes]:
        claims = self.tokens.get(authorization.removeprefix("Bearer "))
        if claims is None:
            return 401, {}, b""
        return 200, {"Content-Type": "application/json"}, orjson.dumps(claims)

    def jwks(self) -> tuple[int, dict[str, str], bytes]:
        jwk = orjson.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return 200, {"Content-Type": "application/json"}, orjson.dumps(
            {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]})

    def handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def answer(self, reply: tuple[int, dict[str, str], bytes]) -> None:
                status, headers, body = reply
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                provider.requests.append(("GET", url.path))
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/authorize":
                    self.answer(provider.authorize(query))
                elif url.path == "/userinfo":
                    self.answer(provider.userinfo(self.headers.get("Authorization", "")))
                elif url.path == "/jwks":
                    self.answer(provider.jwks())
                else:
                    self.answer((404, {}, b""))

            def do_POST(self) -> None:
                provider.requests.append(("POST", self.path))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                self.answer(provider.token(form) if self.path == "/token" else (404, {}, b""))

        return Handler
