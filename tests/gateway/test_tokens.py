"""Bearer tokens over real HTTP: a good token makes a customer or staff viewer; a bad,
expired or forged one is a 401 with a code and a WWW-Authenticate header, never a quiet
downgrade to anonymous. And the ``gateway token`` command mints tokens the gateway takes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import text

from gateway.auth import ViewerKind, issue_token
from gateway.settings import SOURCE_NAMES, Settings
from sources.common.db import Database
from tests.conftest import LiveGateway, _migrate_and_seed, serve, settings_for, sqlite_urls

from .permission_cases import global_id, load_samples, place_order

REPO = Path(__file__).resolve().parents[2]
OTHER_SECRET = "an-attacker-secret-that-is-long-enough-0123456789"
AUDIENCE = "shop-gateway"
ISSUER = "https://id.example.com/"

VIEWER = "query { viewer { email } }"
STAFF_PROBE = "query { lowStock(threshold: 1000000, first: 1) { totalCount } }"


# ---------------------------------------------------------------------------------------
# Helpers


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(kind: str = "staff", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "staff-7", "kind": kind, "iat": now, "exp": now + 600}
    if kind == "staff":
        base["permissions"] = ["MANAGE_STOCK"]
    if kind == "customer":
        base["sub"] = "1"
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def hs256(payload: dict[str, Any], secret: str) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def hand_signed_hs256(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    """HS256 computed by hand, for keys PyJWT refuses to use (a PEM public key)."""
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def unsigned(payload: dict[str, Any], alg: str = "none") -> str:
    return f"{b64json({'alg': alg, 'typ': 'JWT'})}.{b64json(payload)}."


def post(gateway: LiveGateway, query: str, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return gateway.client.post("/graphql", json={"query": query}, headers=headers)


def assert_refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 401, (response.status_code, response.text)
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == code, body
    assert body["errors"][0]["message"], body
    assert body.get("data") is None, body
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.lower().startswith("bearer"), response.headers


def assert_staff(gateway: LiveGateway, authorization: str) -> None:
    response = post(gateway, STAFF_PROBE, authorization)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["lowStock"] is not None, "the token's MANAGE_STOCK was not honoured"


# ---------------------------------------------------------------------------------------
# HS256 (the default): the session gateway


def test_no_header_is_anonymous(gateway: LiveGateway) -> None:
    response = post(gateway, VIEWER + " ", None)
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}
    anonymous = post(gateway, STAFF_PROBE, None).json()
    assert anonymous == {"data": {"lowStock": None}}


def test_a_good_token_makes_its_viewer(gateway: LiveGateway) -> None:
    token = issue_token(gateway.settings, kind=ViewerKind.CUSTOMER, subject="1")
    response = post(gateway, VIEWER, f"Bearer {token}")
    assert response.json() == {"data": {"viewer": {"email": "customer1@example.com"}}}
    assert_staff(gateway, "Bearer " + hs256(claims(), gateway.settings.jwt_secret))
    # The scheme's name is case-insensitive (RFC 7235).
    assert_staff(gateway, "bearer " + hs256(claims(), gateway.settings.jwt_secret))


RefusedCase = Callable[[Settings], str]  # settings -> the Authorization header

REFUSED_HS256: dict[str, tuple[RefusedCase, str]] = {
    "malformed": (lambda s: "Bearer not-a-jwt", "TOKEN_INVALID"),
    "three-garbage-parts": (lambda s: "Bearer abc.def.ghi", "TOKEN_INVALID"),
    "expired-an-hour-ago": (
        lambda s: "Bearer " + hs256(claims(exp=int(time.time()) - 3600), s.jwt_secret),
        "TOKEN_EXPIRED",
    ),
    "expired-just-beyond-leeway": (
        lambda s: (
            "Bearer " + hs256(claims(exp=int(time.time()) - s.jwt_leeway_seconds - 5), s.jwt_secret)
        ),
        "TOKEN_EXPIRED",
    ),
    "wrong-secret": (lambda s: "Bearer " + hs256(claims(), OTHER_SECRET), "TOKEN_INVALID"),
    "alg-none": (lambda s: "Bearer " + unsigned(claims()), "TOKEN_INVALID"),
    "alg-None": (lambda s: "Bearer " + unsigned(claims(), alg="None"), "TOKEN_INVALID"),
    "alg-none-with-the-real-signature": (
        lambda s: "Bearer " + unsigned(claims()) + hs256(claims(), s.jwt_secret).rsplit(".", 1)[1],
        "TOKEN_INVALID",
    ),
    "tampered-payload": (
        lambda s: (
            "Bearer "
            + _swap_payload(
                hs256(claims(), s.jwt_secret), claims(permissions=["MANAGE_STOCK", "VIEW_FINANCE"])
            )
        ),
        "TOKEN_INVALID",
    ),
    "missing-exp": (lambda s: "Bearer " + hs256(claims(exp=None), s.jwt_secret), "TOKEN_INVALID"),
    "missing-sub": (lambda s: "Bearer " + hs256(claims(sub=None), s.jwt_secret), "TOKEN_INVALID"),
    "not-yet-valid": (
        lambda s: "Bearer " + hs256(claims(nbf=int(time.time()) + 3600), s.jwt_secret),
        "TOKEN_INVALID",
    ),
    "unknown-kind": (
        lambda s: "Bearer " + hs256(claims(kind="admin"), s.jwt_secret),
        "TOKEN_INVALID",
    ),
    "customer-sub-not-an-id": (
        lambda s: "Bearer " + hs256(claims("customer", sub="someone"), s.jwt_secret),
        "TOKEN_INVALID",
    ),
    "permissions-not-a-list": (
        lambda s: "Bearer " + hs256(claims(permissions="MANAGE_STOCK"), s.jwt_secret),
        "TOKEN_INVALID",
    ),
    "rs256-token": (
        lambda s: "Bearer " + jwt.encode(claims(), _throwaway_rsa(), algorithm="RS256"),
        "TOKEN_INVALID",
    ),
    "basic-scheme": (lambda s: "Basic dXNlcjpwYXNzd29yZA==", "TOKEN_INVALID"),
    "a-good-token-under-another-scheme": (
        lambda s: "Token " + hs256(claims(), s.jwt_secret),
        "TOKEN_INVALID",
    ),
    "bare-token-without-scheme": (lambda s: hs256(claims(), s.jwt_secret), "TOKEN_INVALID"),
    "bearer-without-token": (lambda s: "Bearer", "TOKEN_INVALID"),
    "empty-header": (lambda s: "", "TOKEN_INVALID"),
}


def _swap_payload(token: str, payload: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64json(payload)}.{signature}"


_RSA: list[rsa.RSAPrivateKey] = []


def _throwaway_rsa() -> rsa.RSAPrivateKey:
    if not _RSA:
        _RSA.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA[0]


@pytest.mark.parametrize("case", sorted(REFUSED_HS256))
def test_a_bad_token_is_refused_never_anonymous(gateway: LiveGateway, case: str) -> None:
    header, code = REFUSED_HS256[case]
    assert_refused(post(gateway, VIEWER, header(gateway.settings)), code)


@pytest.mark.parametrize(
    "subject",
    [
        "-1",
        "1.0",
        " 1",
        "",
        "customer1@example.com",
        pytest.param("\u00b2", id="superscript-two"),
        pytest.param("\u0661", id="arabic-indic-one"),  # must not alias customer 1
        pytest.param("01", id="leading-zero"),  # nor "01"
        pytest.param("9" * 25, id="beyond-any-integer-column"),
    ],
)
def test_a_customer_token_whose_subject_is_no_customer_id_is_refused(
    gateway: LiveGateway, subject: str
) -> None:
    token = hs256(claims("customer", sub=subject), gateway.settings.jwt_secret)
    assert_refused(post(gateway, VIEWER, f"Bearer {token}"), "TOKEN_INVALID")


def test_a_bad_token_is_refused_on_get_too(gateway: LiveGateway) -> None:
    token = hs256(claims(), OTHER_SECRET)
    response = gateway.client.get(
        "/graphql", params={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_refused(response, "TOKEN_INVALID")


def test_a_token_just_expired_within_the_leeway_is_accepted(gateway: LiveGateway) -> None:
    leeway = gateway.settings.jwt_leeway_seconds
    assert leeway >= 10
    token = hs256(claims(exp=int(time.time()) - leeway // 2), gateway.settings.jwt_secret)
    assert_staff(gateway, f"Bearer {token}")


def test_a_token_accepted_before_is_refused_once_it_expires(gateway: LiveGateway) -> None:
    """An accepted token's viewer is kept for its next requests (gateway/auth.py): until
    its exp plus the leeway, then it is refused as expired, as it would be unkept."""
    leeway = gateway.settings.jwt_leeway_seconds
    expires = time.time() + 2.0  # exp + leeway
    token = hs256(claims(exp=int(expires) - leeway), gateway.settings.jwt_secret)
    if time.time() >= int(expires) - 0.5:  # too close to the second's edge: take the next
        time.sleep(1.0)
        expires = time.time() + 2.0
        token = hs256(claims(exp=int(expires) - leeway), gateway.settings.jwt_secret)
    assert_staff(gateway, f"Bearer {token}")
    assert_staff(gateway, f"Bearer {token}")  # the kept viewer
    time.sleep(max(0.0, int(expires) - time.time()) + 0.1)
    assert_refused(post(gateway, STAFF_PROBE, f"Bearer {token}"), "TOKEN_EXPIRED")


def test_unknown_permissions_in_a_token_are_ignored(gateway: LiveGateway) -> None:
    token = hs256(claims(permissions=["MANAGE_STOCK", "FLY_THE_SHOP"]), gateway.settings.jwt_secret)
    assert_staff(gateway, f"Bearer {token}")


# ---------------------------------------------------------------------------------------
# Customers that do not exist, and customers that are someone else

CUSTOMER_NODES = "query($ids: [ID!]!) { viewer { id email } nodes(ids: $ids) { id } }"


def test_a_token_for_an_unknown_customer_sees_no_one(gateway: LiveGateway) -> None:
    token = issue_token(gateway.settings, kind=ViewerKind.CUSTOMER, subject="987654")
    ids = [global_id("Customer", n) for n in (1, 2, 3, 987654)]
    result = gateway.query(CUSTOMER_NODES, {"ids": ids}, token=token)
    assert result == {"data": {"viewer": None, "nodes": [None, None, None, None]}}


def test_a_customer_sees_themself_and_no_other_customer(gateway: LiveGateway) -> None:
    token = issue_token(gateway.settings, kind=ViewerKind.CUSTOMER, subject="2")
    ids = [global_id("Customer", n) for n in (1, 2, 3)]
    result = gateway.query(CUSTOMER_NODES, {"ids": ids}, token=token)
    assert "errors" not in result
    assert result["data"]["viewer"] == {"id": ids[1], "email": "customer2@example.com"}
    assert result["data"]["nodes"] == [None, {"id": ids[1]}, None]


def test_a_staff_token_is_no_customer(gateway: LiveGateway) -> None:
    token = issue_token(gateway.settings, kind=ViewerKind.STAFF, subject="1", permissions=[])
    ids = [global_id("Customer", 1)]
    result = gateway.query(CUSTOMER_NODES, {"ids": ids}, token=token)
    assert result == {"data": {"viewer": None, "nodes": [None]}}


@dataclass
class ShopWithAnOrder:
    live: LiveGateway
    cart_id: str
    order_id: str
    deleted_customer: int


@pytest.fixture(scope="module")
def shop_with_an_order(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopWithAnOrder]:
    """A shop of its own where customer1 has placed an order and customer49 was deleted."""
    urls = sqlite_urls(Path(tmp_path_factory.mktemp("tokens-shop")))
    asyncio.run(_migrate_and_seed(urls, products=60))
    deleted = 49
    asyncio.run(_delete_customer(urls["orders"], deleted))
    for live in serve(settings_for(urls)):
        cart_id, order_id = place_order(live, load_samples(urls))
        yield ShopWithAnOrder(live, cart_id, order_id, deleted)


async def _delete_customer(url: str, customer_id: int) -> None:
    db = Database(url)
    try:
        async with db.begin() as conn:
            for table in ("addresses", "customers"):
                column = "customer_id" if table == "addresses" else "id"
                await conn.execute(
                    text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": customer_id}
                )
    finally:
        await db.dispose()


SOMEONE_ELSES = """
query($customer: ID!, $order: ID!, $cart: ID!) {
  viewer { id email }
  order(id: $order) { id }
  cart(id: $cart) { id }
  nodes(ids: [$customer, $order, $cart]) { id }
  orders(first: 5) { totalCount edges { node { id } } }
}
"""


@pytest.mark.parametrize("who", ["unknown", "deleted", "another-customer"])
def test_a_customer_token_sees_nothing_of_another_customer(
    shop_with_an_order: ShopWithAnOrder, who: str
) -> None:
    shop = shop_with_an_order
    subject = {"unknown": "987654", "deleted": str(shop.deleted_customer), "another-customer": "2"}
    token = issue_token(shop.live.settings, kind=ViewerKind.CUSTOMER, subject=subject[who])
    variables = {
        "customer": global_id("Customer", 1),
        "order": shop.order_id,
        "cart": shop.cart_id,
    }
    result = shop.live.query(SOMEONE_ELSES, variables, token=token)
    assert "errors" not in result, result["errors"]
    data = result["data"]
    if who == "another-customer":
        assert data["viewer"]["email"] == "customer2@example.com"
    else:
        assert data["viewer"] is None
    assert data["order"] is None and data["cart"] is None
    assert data["nodes"] == [None, None, None]
    assert data["orders"] == {"totalCount": 0, "edges": []}
    # The control: the owner reaches all of it with the same query.
    owner = issue_token(shop.live.settings, kind=ViewerKind.CUSTOMER, subject="1")
    mine = shop.live.query(SOMEONE_ELSES, variables, token=owner)["data"]
    assert mine["order"] == {"id": shop.order_id}
    assert mine["nodes"][:2] == [{"id": variables["customer"]}, {"id": shop.order_id}]


# ---------------------------------------------------------------------------------------
# Audience and issuer, when configured


@pytest.fixture(scope="module")
def strict_gateway(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    yield from serve(settings_for(sqlite_shop, jwt_audience=AUDIENCE, jwt_issuer=ISSUER))


def test_audience_and_issuer_are_checked_when_configured(strict_gateway: LiveGateway) -> None:
    secret = strict_gateway.settings.jwt_secret
    good = issue_token(
        strict_gateway.settings, kind=ViewerKind.STAFF, subject="s", permissions=["MANAGE_STOCK"]
    )
    assert_staff(strict_gateway, f"Bearer {good}")
    assert_staff(
        strict_gateway,
        "Bearer " + hs256(claims(aud=["another-api", AUDIENCE], iss=ISSUER), secret),
    )
    refused = {
        "wrong-audience": claims(aud="another-api", iss=ISSUER),
        "wrong-issuer": claims(aud=AUDIENCE, iss="https://evil.example.com/"),
        "no-audience": claims(iss=ISSUER),
        "no-issuer": claims(aud=AUDIENCE),
    }
    for name, payload in refused.items():
        response = post(strict_gateway, VIEWER, "Bearer " + hs256(payload, secret))
        assert response.status_code == 401, name
        assert_refused(response, "TOKEN_INVALID")


# ---------------------------------------------------------------------------------------
# RS256 and ES256, with a PEM public key (text or file) or a JWKS file


@dataclass
class KeyedGateway:
    live: LiveGateway
    algorithm: str
    private_key: Any
    kid: str | None
    public_pem: bytes

    def sign(self, payload: dict[str, Any], *, kid: str | None = None, key: Any = None) -> str:
        headers = {"kid": kid or self.kid} if (kid or self.kid) else None
        return jwt.encode(
            payload, key or self.private_key, algorithm=self.algorithm, headers=headers
        )


def _private_key(algorithm: str) -> Any:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _pem(private_key: Any) -> bytes:
    return private_key.public_key().public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _jwk(private_key: Any, algorithm: str, kid: str) -> dict[str, Any]:
    algo = jwt.algorithms.RSAAlgorithm if algorithm == "RS256" else jwt.algorithms.ECAlgorithm
    jwk: dict[str, Any] = json.loads(algo.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": algorithm}


KEY_SETUPS = ["RS256-pem", "RS256-pem-file", "RS256-jwks", "ES256-pem", "ES256-jwks"]


@pytest.fixture(scope="module", params=KEY_SETUPS)
def keyed(
    request: pytest.FixtureRequest,
    sqlite_shop: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[KeyedGateway]:
    algorithm, _, source = request.param.partition("-")
    key = _private_key(algorithm)
    pem = _pem(key)
    directory = tmp_path_factory.mktemp("keys")
    kid: str | None = None
    if source == "pem":
        extra: dict[str, Any] = {"jwt_public_key": pem.decode()}
    elif source == "pem-file":
        (directory / "public.pem").write_bytes(pem)
        extra = {"jwt_public_key": str(directory / "public.pem")}
    else:
        kid = "key-2"
        decoy = _private_key(algorithm)  # a rotated-out key, listed first
        keys = [_jwk(decoy, algorithm, "key-1"), _jwk(key, algorithm, kid)]
        (directory / "jwks.json").write_text(json.dumps({"keys": keys}))
        extra = {"jwt_jwks_file": str(directory / "jwks.json")}
    settings = settings_for(sqlite_shop, jwt_algorithm=algorithm, **extra)
    for live in serve(settings):
        yield KeyedGateway(live, algorithm, key, kid, pem)


def test_a_token_signed_with_the_configured_key_is_accepted(keyed: KeyedGateway) -> None:
    assert_staff(keyed.live, "Bearer " + keyed.sign(claims()))
    customer = post(keyed.live, VIEWER, "Bearer " + keyed.sign(claims("customer")))
    assert customer.json() == {"data": {"viewer": {"email": "customer1@example.com"}}}


def test_an_asymmetric_gateway_refuses_forgeries(keyed: KeyedGateway) -> None:
    live = keyed.live
    other_alg = "ES256" if keyed.algorithm == "RS256" else "RS256"
    forgeries = {
        # The development secret still sits in the settings; it must not open the door.
        "hs256-with-the-dev-secret": hs256(claims(), live.settings.jwt_secret),
        # The classic confusion: the public key used as an HMAC secret.
        "hs256-keyed-with-the-public-pem": hand_signed_hs256(
            {"alg": "HS256", "typ": "JWT", **({"kid": keyed.kid} if keyed.kid else {})},
            claims(),
            keyed.public_pem,
        ),
        "alg-none": unsigned(claims()),
        "another-key-same-kid": keyed.sign(claims(), key=_private_key(keyed.algorithm)),
        "another-algorithm": jwt.encode(
            claims(),
            _private_key(other_alg),
            algorithm=other_alg,
            headers={"kid": keyed.kid} if keyed.kid else None,
        ),
        "expired": keyed.sign(claims(exp=int(time.time()) - 3600)),
        "missing-exp": keyed.sign(claims(exp=None)),
        "tampered-payload": _swap_payload(
            keyed.sign(claims()), claims(permissions=["VIEW_FINANCE"])
        ),
    }
    if keyed.kid:
        forgeries["unknown-kid"] = keyed.sign(claims(), kid="key-99")
        forgeries["no-kid"] = jwt.encode(claims(), keyed.private_key, algorithm=keyed.algorithm)
        forgeries["the-rotated-out-key"] = keyed.sign(claims(), kid="key-1")
    for name, token in forgeries.items():
        response = post(live, VIEWER, f"Bearer {token}")
        expected = "TOKEN_EXPIRED" if name == "expired" else "TOKEN_INVALID"
        assert response.status_code == 401, (name, response.text)
        assert_refused(response, expected)


# ---------------------------------------------------------------------------------------
# The ``gateway token`` command
#
# A fresh Python process takes a second or more to import the gateway, so the runs that
# must be real processes (the documented ``python -m gateway`` line, and a bad value met
# before anything else) start together once; the other runs call the same ``main``
# in-process, with the environment and working directory they would have.


@dataclass(frozen=True)
class CliRun:
    returncode: int | None
    stdout: str
    stderr: str
    cwd: Path

    @property
    def last_line(self) -> str:
        return self.stdout.strip().splitlines()[-1]


BAD_ENV_COMMANDS: dict[str, tuple[str, ...]] = {
    "token-staff": ("token", "staff", "--permissions", "MANAGE_STOCK"),
    "token-customer": ("token", "customer", "customer1@example.com"),
    "seed": ("seed", "--products", "60"),
    "serve": ("serve",),
}
IN_A_PROCESS_OF_THEIR_OWN = {"token-staff", "serve"}


def _cli_env(urls: dict[str, str], **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GATEWAY_") and not k.endswith("_DATABASE_URL") and k != "REDIS_URL"
    }
    env.update({f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()})
    env.update(extra)
    return env


def _empty_shop(directory: Path) -> dict[str, str]:
    return {n: f"sqlite+aiosqlite:///{directory}/{n}.db" for n in SOURCE_NAMES}


@pytest.fixture(scope="module")
def processes(
    sqlite_shop: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, CliRun]:
    """The ``python -m gateway`` runs, started together."""
    started: dict[str, tuple[Path, subprocess.Popen[str]]] = {}

    def start(name: str, args: tuple[str, ...], env: dict[str, str], cwd: Path) -> None:
        command = [sys.executable, "-m", "gateway", *args]
        env = {**env, "PYTHONPATH": str(REPO)}
        started[name] = (
            cwd,
            subprocess.Popen(command, cwd=cwd, env=env, text=True, stdout=-1, stderr=-1),
        )

    start("customer", ("token", "customer", "customer1@example.com"), _cli_env(sqlite_shop), REPO)
    for name in IN_A_PROCESS_OF_THEIR_OWN:
        cwd = tmp_path_factory.mktemp(f"bad-env-{name}")
        env = _cli_env(_empty_shop(cwd), GATEWAY_PORT="abc")
        start(f"bad-env-{name}", BAD_ENV_COMMANDS[name], env, cwd)
    done: dict[str, CliRun] = {}
    for name, (cwd, process) in started.items():
        try:
            stdout, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # serve that ignored the bad value
            process.kill()
            stdout, stderr = process.communicate()
        done[name] = CliRun(process.returncode, stdout, stderr, cwd)
    return done


def run_main(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    cwd: Path,
    *args: str,
) -> CliRun:
    """``gateway.cli.main`` as the process would run it, without starting a process."""
    from gateway.cli import main

    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    try:
        code: int | None = main(list(args))
    except SystemExit as exc:  # argparse's way out
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return CliRun(code, out, err, cwd)


def test_the_cli_customer_token_signs_in_as_that_customer(
    gateway: LiveGateway, processes: dict[str, CliRun]
) -> None:
    run = processes["customer"]
    assert run.returncode == 0, run.stderr
    result = gateway.query(VIEWER, token=run.last_line)
    assert result == {"data": {"viewer": {"email": "customer1@example.com"}}}


def test_the_cli_staff_token_carries_the_permissions_asked_for(
    gateway: LiveGateway,
    sqlite_shop: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = run_main(
        monkeypatch,
        capsys,
        _cli_env(sqlite_shop),
        REPO,
        *("token", "staff", "--permissions", "MANAGE_STOCK,VIEW_FINANCE"),
    )
    assert run.returncode == 0, run.stderr
    token = run.last_line
    decoded = jwt.decode(token, gateway.settings.jwt_secret, algorithms=["HS256"])
    assert decoded["kind"] == "staff"
    assert sorted(decoded["permissions"]) == ["MANAGE_STOCK", "VIEW_FINANCE"]
    result = gateway.query(
        """
        query {
          lowStock(threshold: 1000000, first: 1) { edges { node { costPrice { amount } } } }
          products(first: 1) { edges { node { auditLog { action } } } }
        }
        """,
        token=token,
    )
    assert "errors" not in result, result
    assert result["data"]["lowStock"]["edges"][0]["node"]["costPrice"] is not None
    assert result["data"]["products"]["edges"][0]["node"]["auditLog"] is None


def test_the_cli_token_lives_as_long_as_asked(
    gateway: LiveGateway,
    sqlite_shop: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = run_main(
        monkeypatch, capsys, _cli_env(sqlite_shop), REPO, "token", "staff", "--ttl", "120"
    )
    assert run.returncode == 0, run.stderr
    decoded = jwt.decode(run.last_line, gateway.settings.jwt_secret, algorithms=["HS256"])
    assert decoded["exp"] - decoded["iat"] == 120
    assert decoded["permissions"] == []
    assert gateway.query(STAFF_PROBE, token=run.last_line) == {"data": {"lowStock": None}}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("token", "staff", "--permissions", "MANAGE_STOCK,FLY"), "FLY"),
        (("token", "customer", "nobody@example.com"), "nobody@example.com"),
    ],
    ids=["unknown-permission", "unknown-customer"],
)
def test_the_cli_refuses_what_it_does_not_know(
    sqlite_shop: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    named: str,
) -> None:
    run = run_main(monkeypatch, capsys, _cli_env(sqlite_shop), REPO, *args)
    assert run.returncode not in (0, None)
    assert named in run.stderr
    assert run.stdout.strip() == "", "a token was printed anyway"


@pytest.mark.parametrize("command", sorted(BAD_ENV_COMMANDS))
def test_a_bad_environment_value_is_one_line_naming_it(
    processes: dict[str, CliRun],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    if command in IN_A_PROCESS_OF_THEIR_OWN:
        run = processes[f"bad-env-{command}"]
    else:
        env = _cli_env(_empty_shop(tmp_path), GATEWAY_PORT="abc")
        run = run_main(monkeypatch, capsys, env, tmp_path, *BAD_ENV_COMMANDS[command])
    assert run.returncode not in (0, None, -9), (run.returncode, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "GATEWAY_PORT" in lines[0]
    assert "Traceback" not in run.stderr
    assert run.stdout.strip() == ""
    assert not list(run.cwd.rglob("*.db")), "a command ran on a bad configuration"
