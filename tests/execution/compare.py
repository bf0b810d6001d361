"""What "the same answer" means for two executors.

``data`` must be identical (parsed JSON, key order included: clients see it). Errors are
compared by path and message. One thing is left to timing under standard execution: once
a non-null error has nulled a position, an error from another field below that position
is reported only if it happened to occur first (graphql-core drops errors from positions
already nulled, and which one is first is a race between sibling coroutines). So errors
whose path lies strictly below a position nulled by another error are compared as "may
or may not be there"; every other error must be in both, and for every nulled position
both report an error from the same field below it (which object's comes first is the
race) or from sibling fields of one object (whose coroutines race as well), or, where two
fields at different depths both fail, breadth-first reports the shallower one: it
resolves a level before the next, where depth-first execution may meet the deeper
failure first (the spec asks for an error, not for a particular one).
"""

from __future__ import annotations

import json
from typing import Any

Path = tuple[str | int, ...]


def _errors(response: dict[str, Any]) -> list[tuple[Path, str]]:
    return [(tuple(e.get("path") or ()), e["message"]) for e in response.get("errors") or ()]


def _nulled_positions(response: dict[str, Any]) -> set[Path]:
    """Positions that hold null in data while an error's path goes through them: nulled
    by propagation (or by the error itself)."""
    data = response.get("data")
    nulled: set[Path] = set()
    for path, _ in _errors(response):
        if data is None:
            nulled.add(())
            continue
        node: Any = data
        for depth, key in enumerate(path):
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                break
            if node is None:
                nulled.add(path[: depth + 1])
                break
    return nulled


def _strictly_below(path: Path, positions: set[Path]) -> bool:
    return any(len(p) < len(path) and path[: len(p)] == p for p in positions)


def assert_same(standard: dict[str, Any], breadth_first: dict[str, Any], what: str) -> None:
    a = json.dumps(standard.get("data"))
    b = json.dumps(breadth_first.get("data"))
    assert a == b, f"{what}: data differs\nstandard:      {a[:2000]}\nbreadth-first: {b[:2000]}"
    nulled = _nulled_positions(standard) | _nulled_positions(breadth_first)
    sure_a = {e for e in _errors(standard) if not _strictly_below(e[0], nulled - {e[0]})}
    sure_b = {e for e in _errors(breadth_first) if not _strictly_below(e[0], nulled - {e[0]})}
    assert sure_a == sure_b, (
        f"{what}: errors differ\nstandard only:      {sorted(sure_a - sure_b, key=str)}\n"
        f"breadth-first only: {sorted(sure_b - sure_a, key=str)}"
    )
    # Where a position was nulled, both report an error at or below it, from the same field
    # of the plan (the same path but for list indices: which object's error comes first is
    # the race described above).
    for position in nulled:
        found = []
        for name, response in (("standard", standard), ("breadth-first", breadth_first)):
            here = {e for e in _errors(response) if e[0][: len(position)] == position}
            assert here, f"{what}: {name} reports no error for the null at {list(position)}"
            found.append({tuple(k for k in p if isinstance(k, str)) for p, _ in here})
        shallower = min(map(len, found[1])) < min(map(len, found[0]))
        siblings = {p[:-1] for p in found[0] if p} & {p[:-1] for p in found[1] if p}
        assert found[0] & found[1] or siblings or shallower, (
            f"{what}: no failing field in common for the null at {list(position)}:\n"
            f"standard: {sorted(found[0])}\nbreadth-first: {sorted(found[1])}"
        )
