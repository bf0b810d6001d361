"""schema.graphql is what client developers generate code from, and CONTRACT.graphql is
what their clients were written against: the first must always be the schema the code
serves, and the second must only ever be missing what is still to be built."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import strawberry.printer
from graphql import BreakingChangeType, GraphQLSchema, build_schema, find_breaking_changes

import gateway.schema

REPO = Path(__file__).resolve().parents[2]
CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "CONTRACT.graphql"

# Contract types and fields later issues build. When one lands, delete it here (the test
# below fails until you do), so this list only ever shrinks. A type that lands with only
# some of its fields is replaced here by its missing fields ("Type.field").
PENDING: set[str] = set()
REMOVALS = {BreakingChangeType.TYPE_REMOVED, BreakingChangeType.FIELD_REMOVED}


@pytest.fixture(scope="module")
def served_sdl() -> str:
    """``print_schema(gateway.schema.schema)`` in a fresh interpreter, as ``make schema``
    exports it: schemas built earlier in this process (every test app builds one) must not
    colour it (see test_building_the_schema_again_prints_the_same_sdl)."""
    code = (
        "import sys, strawberry.printer, gateway.schema; "
        "sys.stdout.write(strawberry.printer.print_schema(gateway.schema.schema))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def contract() -> GraphQLSchema:
    if not CONTRACT.exists():
        reason = f"the contract is not checked out at {CONTRACT}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return build_schema(CONTRACT.read_text())


def removed_name(description: str) -> str:
    """'Cart was removed.' -> 'Cart'; 'Field Query.cart was removed.' -> 'Query.cart'."""
    match = re.fullmatch(r"(?:Field )?([\w.]+) was removed\.", description)
    assert match, f"unexpected wording from graphql-core: {description!r}"
    return match.group(1)


def is_missing(name: str, schema: GraphQLSchema) -> bool:
    type_name, _, field = name.partition(".")
    found = schema.get_type(type_name)
    if found is None:
        return True
    return bool(field) and field not in getattr(found, "fields", {})


def test_schema_graphql_is_the_schema_the_code_serves(served_sdl: str) -> None:
    exported = (REPO / "schema.graphql").read_text()
    served = served_sdl

    if exported.strip() != served.strip():
        diff = "\n".join(
            difflib.unified_diff(
                exported.splitlines(), served.splitlines(), "schema.graphql", "served", lineterm=""
            )
        )
        pytest.fail(f"schema.graphql is stale: run `make schema` and commit it.\n{diff[:4000]}")


def test_the_schema_breaks_nothing_in_the_contract_but_pending_work(served_sdl: str) -> None:
    changes = find_breaking_changes(contract(), build_schema(served_sdl))

    unexpected = [
        f"{c.type.name}: {c.description}"
        for c in changes
        if c.type not in REMOVALS or removed_name(c.description) not in PENDING
    ]
    assert not unexpected, (
        "the served schema breaks the public contract (rename = deprecate, never remove):\n"
        + "\n".join(unexpected)
    )


def test_every_pending_contract_entry_is_still_missing(served_sdl: str) -> None:
    ours = build_schema(served_sdl)
    contract_schema = contract()

    for name in PENDING:
        assert not is_missing(name, contract_schema), f"{name} is not in the contract"
    landed = sorted(name for name in PENDING if not is_missing(name, ours))
    assert not landed, f"these have landed: delete them from PENDING in {__file__}: {landed}"


def test_building_the_schema_again_prints_the_same_sdl() -> None:
    first = strawberry.printer.print_schema(gateway.schema.build_schema())
    again = strawberry.printer.print_schema(gateway.schema.build_schema())

    assert again == first
