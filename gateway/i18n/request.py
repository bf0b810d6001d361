"""The language one request is answered in, and the text it picks from a translated record.

Set once per GraphQL request (gateway/app.py) in a context variable, like the response
cache's read set, so every ``from_record`` that shows a product, category, brand or
promotion name picks the same language without the language being threaded through each
resolver. Picking text also notes that the answer depends on the language, which is what
earns a response its ``Content-Language`` and ``Vary: Accept-Language``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sources.common.translations import Translation, in_language


@dataclass
class RequestLanguage:
    language: str
    is_shown: bool = False  # the answer showed translatable text (so it depends on it)


_current: ContextVar[RequestLanguage | None] = ContextVar("request_language", default=None)


@contextmanager
def answering_in(language: RequestLanguage) -> Iterator[RequestLanguage]:
    token = _current.set(language)
    try:
        yield language
    finally:
        _current.reset(token)


def current() -> RequestLanguage | None:
    return _current.get()


def translated(translations: tuple[Translation, ...]) -> Translation | None:
    """The record's text in the request's language; None for the base text (no request
    language, as in a CLI or a test without HTTP, or no translation into it)."""
    request = _current.get()
    if request is None:
        return None
    request.is_shown = True
    return in_language(translations, request.language) if translations else None


def name_in_language(name: str, translations: tuple[Translation, ...]) -> str:
    found = translated(translations)
    return found.name if found is not None else name


def description_in_language(description: str, translations: tuple[Translation, ...]) -> str:
    found = translated(translations)
    return found.description if found is not None and found.description else description
