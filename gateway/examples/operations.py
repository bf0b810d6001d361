"""The GraphQL operations the example pages send, and nothing else: one named operation per
file in examples/operations/<app>/<Name>.graphql, with the fragments it spreads appended from
examples/operations/fragments.graphql.

The pages send each by its SHA-256 alone (Automatic Persisted Queries) and fall back to
the text on ``PersistedQueryNotFound``; the same texts are merged into the persisted-query
allow-list while GATEWAY_EXAMPLES is on, so the pages run with PERSISTED_QUERIES_ONLY=true.
``gateway persisted add examples/static/persisted-queries.json`` (written by the build)
registers them with a gateway that serves the pages from elsewhere.

Standard library only: the build step runs before the project's dependencies exist.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

OPERATIONS_ASSET = "operations.json"
APPS = ("storefront", "backoffice")
_SPREAD = re.compile(r"\.\.\.\s*([A-Z]\w*)")
_FRAGMENT = re.compile(r"^fragment\s+(\w+)\s+on\s+\w+\s*\{", re.MULTILINE)
_OPERATION = re.compile(r"^(query|mutation)\s+(\w+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Operation:
    app: str
    name: str
    text: str  # exactly as sent and hashed

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def _fragments(text: str) -> dict[str, str]:
    """Each fragment's definition, split at the starts of definitions."""
    starts = [m.start() for m in _FRAGMENT.finditer(text)] + [len(text)]
    found: dict[str, str] = {}
    for begin, end in itertools.pairwise(starts):
        chunk = text[begin:end].strip()
        match = _FRAGMENT.match(chunk)
        assert match is not None
        found[match.group(1)] = chunk
    return found


def _with_fragments(body: str, fragments: dict[str, str], where: Path) -> str:
    needed: list[str] = []
    pending = _SPREAD.findall(body)
    while pending:
        name = pending.pop(0)
        if name in needed:
            continue
        if name not in fragments:
            raise ValueError(f"{where}: unknown fragment {name}")
        needed.append(name)
        pending += _SPREAD.findall(fragments[name])
    return "\n\n".join([body.strip(), *(fragments[n] for n in sorted(needed))]) + "\n"


@cache
def load_operations(root: Path) -> tuple[Operation, ...]:
    """Every operation of both apps; a file whose operation is not named after it fails."""
    folder = root / "operations"
    fragments = _fragments((folder / "fragments.graphql").read_text(encoding="utf-8"))
    found: list[Operation] = []
    names: set[str] = set()
    for app in APPS:
        for path in sorted((folder / app).glob("*.graphql")):
            body = path.read_text(encoding="utf-8")
            declared = _OPERATION.findall(body)
            if [name for _, name in declared] != [path.stem]:
                raise ValueError(f"{path}: must hold one operation named {path.stem}")
            if path.stem in names:
                raise ValueError(f"{path}: {path.stem} is defined twice")
            names.add(path.stem)
            found.append(Operation(app, path.stem, _with_fragments(body, fragments, path)))
    return tuple(found)


def allow_list(root: Path) -> dict[str, str]:
    """As the persisted-query allow-list holds them: {sha256: text}."""
    return {op.sha256: op.text for op in load_operations(root)}
