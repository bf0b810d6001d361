"""A stand-in identity provider on a loopback port: RSA keys, a JWKS endpoint that can
rotate them, and tokens signed as a real provider signs them (RS256, ``kid``, ``iss``,
``aud``, no ``kind`` claim for customers)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://id.example.test/"
AUDIENCE = "shop-gateway"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def new(cls) -> SigningKey:
        return cls(
            uuid.uuid4().hex[:12], rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    def jwk(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}


@dataclass
class IdentityProvider:
    url: str
    published: list[SigningKey]
    fetches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def rotate(self) -> SigningKey:
        """A new key replaces every published one (an abrupt rotation)."""
        key = SigningKey.new()
        with self.lock:
            self.published = [key]
        return key

    def token(
        self,
        subject: str,
        *,
        key: SigningKey | None = None,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        ttl: int = 600,
        **claims: Any,
    ) -> str:
        signer = key or self.published[0]
        now = int(time.time())
        body = {"sub": subject, "iss": issuer, "aud": audience, "iat": now, "exp": now + ttl}
        return jwt.encode(
            {**body, **claims}, signer.private, algorithm="RS256", headers={"kid": signer.kid}
        )

    def settings(self) -> dict[str, Any]:
        """The gateway's settings for this provider (a rotated key is fetched at once)."""
        return {
            "jwt_algorithm": "RS256",
            "jwt_jwks_url": self.jwks_url,
            "jwt_issuer": ISSUER,
            "jwt_audience": AUDIENCE,
            "jwt_jwks_cooldown_seconds": 0,
            "customer_subjects": "identity-provider",
        }


@contextmanager
def identity_provider() -> Iterator[IdentityProvider]:
    provider = IdentityProvider(url="", published=[SigningKey.new()])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/.well-known/jwks.json":
                self.send_error(404)
                return
            with provider.lock:
                provider.fetches += 1
                body = json.dumps({"keys": [k.jwk() for k in provider.published]}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
