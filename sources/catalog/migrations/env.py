"""Alembic environment of the catalog source; the shared logic is in sources.common.migrate."""

from sources.common.migrate import run_env

run_env("catalog")
