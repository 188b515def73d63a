"""A small but real OpenID Connect provider for the tests, over HTTP on 127.0.0.1: discovery, a key set,
an authorization endpoint that answers at once with a code (no login page: the test says who signs in),
and a token endpoint that checks the client's secret, the redirect address and the PKCE verifier before
it returns an ID token signed with an RSA key made for the test run.

`claims` says who signs in next; `tamper` spoils the ID token's signature; `refuse` makes the
authorization endpoint answer with an error, as Entra does when someone is not assigned to the app.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "comms-workspace-test"
CLIENT_SECRET = "oidc-client-secret-for-tests-7f3a"


@dataclass
class Provider:
    base: str = ""
    redirect_uri: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    tamper: bool = False
    refuse: str = ""  # an OAuth error code to answer the authorization request with
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig"}))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # every ID token handed out

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.base,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": f"{self.base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.authorize_requests.append(query)
        if query.get("client_id") != CLIENT_ID or query.get("redirect_uri") != self.redirect_uri:
            return 400, {}, {"error": "invalid_request"}
        back = {"state": query.get("state", "")}
        if self.refuse:
            back |= {"error": self.refuse, "error_description": "AADSTS50105: the user is not assigned to a role"}
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = {**query, "claims": dict(self.claims)}
            back["code"] = code
        return 302, {"Location": f"{self.redirect_uri}?{urlencode(back)}"}, None

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, str], Any]:
        self.token_requests.append(form)
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return 401, {}, {"error": "invalid_client"}
        asked = self.codes.pop(form.get("code", ""), None)  # a code is good once
        if asked is None or form.get("redirect_uri") != asked["redirect_uri"]:
            return 400, {}, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if asked.get("code_challenge_method") != "S256" or challenge != asked.get("code_challenge"):
            return 400, {}, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        moment = int(time.time())
        claims = {
            "iss": self.base,
            "aud": CLIENT_ID,
            "sub": secrets.token_hex(8),
            "iat": moment,
            "nbf": moment,
            "exp": moment + 600,
            "nonce": asked.get("nonce", ""),
            **asked["claims"],
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "test-1"}, claims, self.key)
        if self.tamper:
            head, body, signature = id_token.split(".")
            spoilt = ("A" if signature[10] != "A" else "B").join((signature[:10], signature[11:]))
            id_token = f"{head}.{body}.{spoilt}"
        self.issued.append(id_token)
        body = {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 600,
            "id_token": id_token,
        }
        return 200, {}, body


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, headers: dict[str, str], body: Any) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            data = json.dumps(body).encode() if body is not None else b""
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                self._answer(200, {}, provider.metadata())
            elif parts.path == "/jwks":
                self._answer(200, {}, {"keys": [provider.key.as_dict(private=False)]})
            elif parts.path == "/authorize":
                self._answer(*provider.authorize(query))
            else:
                self._answer(404, {}, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path == "/token":
                self._answer(*provider.token(form, self.headers.get("Authorization", "")))
            else:
                self._answer(404, {}, {"error": "not_found"})

    return Handler


@contextmanager
def running_provider(redirect_uri: str) -> Iterator[Provider]:
    provider = Provider(redirect_uri=redirect_uri)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
