"""From shop text to index terms, and from a buyer's typing to a query, the same way.

Both engines index terms this module made, never raw text: Chinese is segmented by jieba
(search mode, so 降噪耳机 also yields 降噪 and 耳机) and each Chinese word adds its pinyin in
full and by initials (耳机: ``erji``, ``ej``); Latin words are lower-cased and stemmed (Snowball
English). So a query matches the same way on SQLite FTS5 and on PostgreSQL, and no query
syntax of either engine can reach it: a term is letters and digits only.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import snowballstemmer

# A run of Latin letters and digits, or a run of CJK ideographs; everything else separates.
_RUN = re.compile(r"[0-9a-z\u00c0-\u024f]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MAX_QUERY_CHARS = 200  # a longer query is cut here: no buyer types more into a search box
MAX_QUERY_WORDS = 12
MIN_TYPO_LENGTH = 5  # "one edit in words of 5+ letters"
MAX_PHRASE = 8  # Chinese characters: a run this long is also indexed whole, with its pinyin

_jieba_lock = threading.Lock()
_jieba: Any = None
_stemmer = snowballstemmer.stemmer("english")


def _segmenter() -> Any:
    """jieba loads its dictionary (about a second) on first use; once per process."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import logging
                import warnings

                with warnings.catch_warnings():  # its regexes predate Python 3.12's warnings
                    warnings.simplefilter("ignore", DeprecationWarning)
                    import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def has_words(text: str) -> bool:
    """Whether the text holds anything a query matches on (letters, digits, 汉字)."""
    return _RUN.search(_normalise(text)) is not None


def is_chinese(word: str) -> bool:
    return _CJK.match(word) is not None


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    result: str = _stemmer.stemWord(word)
    return result


@lru_cache(maxsize=65536)
def pinyin_forms(word: str) -> tuple[str, str]:
    """Full pinyin and initials of a Chinese word, tones dropped (耳机: erji, ej)."""
    # Imported here: pypinyin loads its phrase dictionary on import (about 0.3 s of CPU),
    # which commands that never index or search (migrate, init, token) should not pay.
    from pypinyin import Style, lazy_pinyin

    syllables = [s for s in lazy_pinyin(word, style=Style.NORMAL, v_to_u=False) if s.isalnum()]
    return "".join(syllables), "".join(s[0] for s in syllables)


def _normalise(text: str) -> str:
    return text.lower().replace("\x00", " ")


def document_terms(text: str) -> list[str]:
    """The index terms of a piece of shop text (name, brand, description)."""
    terms: list[str] = []
    for run in _RUN.findall(_normalise(text)):
        if is_chinese(run):
            words = _segmenter().lcut_for_search(run)
            if len(run) <= MAX_PHRASE and run not in words:
                words.append(run)  # a whole name (跑步鞋: paobuxie, pbx), not only its words
            for word in words:
                terms.append(word)
                full, initials = pinyin_forms(word)
                if full:
                    terms.append(full)
                if len(initials) >= 2:
                    terms.append(initials)
            # Single characters too: a buyer's 公路车 is the shop's 公路自行车 (车 of 自行车).
            terms.extend(char for char in dict.fromkeys(run) if len(run) > 1)
        else:
            terms.append(stem(run))
    return terms


def latin_words(text: str) -> set[str]:
    """The Latin words of shop text as written (lower-cased): the vocabulary that typos are
    corrected against (a stem would not be what the buyer meant to type)."""
    return {
        run
        for run in _RUN.findall(_normalise(text))
        if not is_chinese(run) and len(run) >= MIN_TYPO_LENGTH - 1 and run.isalpha()
    }


def pinyin_words(text: str) -> set[str]:
    """The full pinyin of the Chinese words of shop text (typos in pinyin are typos too)."""
    return {
        pinyin_forms(word)[0]
        for run in _RUN.findall(_normalise(text))
        if is_chinese(run)
        for word in _segmenter().lcut(run)
        if len(word) >= 2
    }


@dataclass(frozen=True, slots=True)
class Clause:
    """One word of the query: any of ``terms`` matches, or all of ``parts`` (a long
    Chinese word the index may hold only in pieces), or all of the terms of any one of
    ``synonyms`` (synonyms.py). ``typed`` is what the buyer typed."""

    typed: str
    terms: tuple[str, ...]
    parts: tuple[str, ...] = ()
    is_prefix: bool = False
    corrections: tuple[str, ...] = field(default=())
    synonyms: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    clauses: tuple[Clause, ...]

    @property
    def is_empty(self) -> bool:
        return not self.clauses

    def typo_candidates(self) -> list[str]:
        """Latin words long enough that one edit may be a typo worth correcting."""
        return [
            c.typed
            for c in self.clauses
            if not is_chinese(c.typed) and len(c.typed) >= MIN_TYPO_LENGTH and c.typed.isalpha()
        ]

    def corrected(self, corrections: dict[str, str]) -> ParsedQuery:
        """The query with each misspelt word also matching its correction."""
        clauses = []
        for c in self.clauses:
            fix = corrections.get(c.typed)
            if fix is None:
                clauses.append(c)
            else:
                terms = tuple(dict.fromkeys((*c.terms, stem(fix))))
                clauses.append(Clause(c.typed, terms, c.parts, c.is_prefix, (fix,), c.synonyms))
        return ParsedQuery(tuple(clauses))

    def corrected_text(self) -> str | None:
        if not any(c.corrections for c in self.clauses):
            return None
        return " ".join(c.corrections[0] if c.corrections else c.typed for c in self.clauses)


def parse_query(text: str, *, prefix_last: bool = False) -> ParsedQuery:
    """A buyer's typing as clauses that all must match. Syntax characters, emoji and NUL
    are separators; an empty result means "nothing to search for"."""
    runs = _RUN.findall(_normalise(text[:MAX_QUERY_CHARS]))
    clauses: list[Clause] = []
    for run in runs:
        if is_chinese(run):
            for word in _segmenter().lcut(run):
                parts = tuple(w for w in _segmenter().lcut_for_search(word) if w != word)
                if len(word) == 1:
                    # A single character: as indexed (every character is), or its pinyin.
                    clauses.append(Clause(word, (word, pinyin_forms(word)[0])))
                else:
                    clauses.append(Clause(word, (word,), parts if len(parts) > 1 else ()))
        else:
            clauses.append(Clause(run, (stem(run),) if stem(run) == run else (run, stem(run))))
    clauses = clauses[:MAX_QUERY_WORDS]
    if prefix_last and clauses:
        last = clauses[-1]
        clauses[-1] = Clause(
            last.typed, tuple(unique((last.typed, stem(last.typed)))), is_prefix=True
        )
    return ParsedQuery(tuple(clauses))


def unique(terms: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t for t in terms if t))


def joined(terms: Sequence[str]) -> str:
    return " ".join(terms)
