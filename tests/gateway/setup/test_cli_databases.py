"""An operator's first commands against databases that are missing, empty, unreachable or
refuse the password: one clear line and exit status 2 every time, never a traceback; and
``gateway migrate`` brings every source to head, saying from where to where, idempotently."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.settings import SOURCE_NAMES
from sources.common.db import Database
from sources.common.migrate import head_revision, previous_revision, upgrade_source
from tests.pg import create_temp_database, drop_database, postgres_available

from .cli import (
    assert_one_clear_line,
    gateway,
    password_refusing_server,
    same_database_env,
    sqlite_env,
)

HEADS = {name: head_revision(name) for name in SOURCE_NAMES}


async def _migrate(env: dict[str, str], *, orders_to: str) -> None:
    for name in SOURCE_NAMES:
        db = Database(env[f"{name.upper()}_DATABASE_URL"])
        try:
            await upgrade_source(name, db, orders_to if name == "orders" else "head")
        finally:
            await db.dispose()


def test_migrate_brings_every_source_to_head_and_says_from_where(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)

    first = gateway("migrate", env=env, cwd=tmp_path)
    again = gateway("migrate", env=env, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"{name}: from an empty database to {head}" for name, head in HEADS.items()
    ]
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        f"{name}: already at {head}" for name, head in HEADS.items()
    ]


def test_migrate_writes_no_demo_data(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    assert gateway("migrate", env=env, cwd=tmp_path).returncode == 0

    token = gateway("token", "customer", "customer1@example.com", env=env, cwd=tmp_path)

    assert token.returncode == 1
    assert "no customer with email customer1@example.com" in token.stderr
    assert "Traceback" not in token.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("token", "customer", "customer1@example.com"),
        ("token", "staff", "admin@example.com"),
        ("sweep",),
        ("serve",),
        ("source", "serve", "orders"),
    ],
)
def test_a_command_before_migrating_says_to_migrate(tmp_path: Path, args: tuple[str, ...]) -> None:
    run = gateway(*args, env=sqlite_env(tmp_path), cwd=tmp_path)

    assert_one_clear_line(run, "run `gateway migrate`")
    assert not list(tmp_path.glob("*.db")), "checking must not create empty database files"


def test_an_import_before_migrating_says_to_migrate(tmp_path: Path) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("sku,list,sale\nSKU-1,10.00,9.00\n")

    run = gateway("import", "prices", str(prices), env=sqlite_env(tmp_path), cwd=tmp_path)

    assert_one_clear_line(run, "run `gateway migrate`")


def test_a_database_behind_the_code_is_named_with_its_revision(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    # Every source at head but orders, one revision back: new code deployed, not migrated.
    asyncio.run(_migrate(env, orders_to=previous_revision("orders")))

    run = gateway("serve", env=env, cwd=tmp_path)

    assert_one_clear_line(run, "orders database", f"this code expects {HEADS['orders']}")
    assert "catalog database" not in run.stderr


@pytest.mark.parametrize("command", [("migrate",), ("token", "customer", "a@example.com")])
def test_a_database_server_that_is_not_there_is_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # Nothing listens on port 1: the connection is refused at once.
    env = same_database_env("postgresql+asyncpg://shop:secret@127.0.0.1:1/shop")

    run = gateway(*command, env=env, cwd=tmp_path)

    assert_one_clear_line(run, "connection refused")
    assert "secret" not in run.stderr, "a password is never printed"


def test_a_wrong_password_is_one_line(tmp_path: Path) -> None:
    with password_refusing_server() as port:
        env = same_database_env(f"postgresql+asyncpg://shop:wrong@127.0.0.1:{port}/shop")
        migrate = gateway("migrate", env=env, cwd=tmp_path)
        token = gateway("token", "customer", "a@example.com", env=env, cwd=tmp_path)

    assert_one_clear_line(migrate, "wrong password", "password authentication failed")
    assert_one_clear_line(token, "wrong password")
    assert "wrong@" not in migrate.stderr + token.stderr


def test_a_postgresql_database_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    if postgres_available() is not None:
        pytest.skip("PostgreSQL not reachable")
    env = same_database_env("postgresql+asyncpg://postgres@127.0.0.1:5432/gw_no_such_database")

    for command in (("migrate",), ("serve",), ("token", "customer", "a@example.com")):
        run = gateway(*command, env=env, cwd=tmp_path)
        assert_one_clear_line(run, 'database "gw_no_such_database" does not exist')


def test_migrate_on_postgresql_then_every_command_finds_it_ready(tmp_path: Path) -> None:
    if postgres_available() is not None:
        pytest.skip("PostgreSQL not reachable")
    url = asyncio.run(create_temp_database())
    try:
        env = same_database_env(url)
        before = gateway("token", "customer", "a@example.com", env=env, cwd=tmp_path)
        migrate = gateway("migrate", env=env, cwd=tmp_path)
        after = gateway("token", "customer", "a@example.com", env=env, cwd=tmp_path)
    finally:
        asyncio.run(drop_database(url))

    assert_one_clear_line(before, "not migrated", "run `gateway migrate`")
    assert migrate.returncode == 0, migrate.stderr
    assert len(migrate.stdout.splitlines()) == 4
    assert after.returncode == 1 and "no customer with email a@example.com" in after.stderr


def test_a_broken_database_url_is_a_configuration_error_without_its_password(
    tmp_path: Path,
) -> None:
    env = same_database_env("postgresql+asyncpg://shop:hunter2@db:not-a-port/shop")

    run = gateway("migrate", env=env, cwd=tmp_path)

    assert_one_clear_line(
        run, "configuration error: CATALOG_DATABASE_URL=", "is not a database URL"
    )
    assert "hunter2" not in run.stderr


def test_a_jwks_url_with_hs256_is_a_configuration_error(tmp_path: Path) -> None:
    env = {**sqlite_env(tmp_path), "GATEWAY_JWT_JWKS_URL": "https://id.example/jwks.json"}

    run = gateway("migrate", env=env, cwd=tmp_path)

    assert_one_clear_line(run, "GATEWAY_JWT_JWKS_URL needs GATEWAY_JWT_ALGORITHM=RS256")
