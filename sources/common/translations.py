"""Text in the shop's other languages, as every source stores and hands it out.

A row keeps its base text in its own columns (``name``, ``description``) and the same text
in other languages in one JSON column, ``{"zh-CN": {"name": "耳机", "description": ...}}``:
read with the row, so a product in two languages costs the same query as in one, and a
cached record carries every language (a cache entry can never answer in the wrong one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .fast_init import fast_inits


@dataclass(frozen=True, slots=True)
class Translation:
    """A row's text in one language beyond its base text; ``description`` None where the
    thing has none (a brand, a category) or it was not translated."""

    language: str
    name: str
    description: str | None = None


def translations_from(stored: Any) -> tuple[Translation, ...]:
    """The JSON column's translations, by language tag; entries without a name (or not
    shaped as written) are left out rather than failing a read.

    A decoded column is a ``dict``: asked first, since ``isinstance`` against the
    ``Mapping`` ABC is a Python-level ``__instancecheck__`` (about 4,000 instructions,
    and a checkout asked 33 times: bench/RESULTS.md, "Issue 15, pass h21c")."""
    if type(stored) is not dict and not isinstance(stored, Mapping):
        return ()
    found: list[Translation] = []
    for language, text in sorted(stored.items()):
        if type(text) is not dict and not isinstance(text, Mapping):
            continue
        if not isinstance(text.get("name"), str):
            continue
        description = text.get("description")
        found.append(
            Translation(
                str(language), text["name"], description if isinstance(description, str) else None
            )
        )
    return tuple(found)


def stored_translations(translations: Iterable[Translation]) -> dict[str, dict[str, str]]:
    """What the JSON column stores for ``translations``."""
    stored: dict[str, dict[str, str]] = {}
    for t in translations:
        text = {"name": t.name}
        if t.description is not None:
            text["description"] = t.description
        stored[t.language] = text
    return stored


def in_language(translations: Iterable[Translation], language: str) -> Translation | None:
    # A loop, not next() over a generator: a listing asks this some 330 times.
    for t in translations:
        if t.language == language:
            return t
    return None


# Every record above: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
