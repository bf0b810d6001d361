"""Alembic environment of the pricing source; the shared logic is in sources.common.migrate."""

from sources.common.migrate import run_env

run_env("pricing")
