"""Synonyms: words a buyer may type for one another (手机 = 移动电话, TV = 电视), from a
plain text file merchandising staff edit.

Applied to the query, never to the index: a query word in a group also matches every
other member of its group, so an edit to the file takes effect on the next search (the
file is read again when it changes) without reindexing the catalogue, and the same query
matches the same way on both engines (the members become more alternatives of the word's
clause, in FTS5's and tsquery's syntax alike).

The format, one group per line::

    # a comment; blank lines are skipped
    手机 = 移动电话 = mobile phone = cellphone
    TV = 电视

A member may be several words ("mobile phone": those words, in a row in the query); it
then matches as all of its words. Case does not matter, and English members are stemmed
like every query word ("phones" is "phone").
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .text import Clause, ParsedQuery, has_words, is_chinese, parse_query, stem

log = logging.getLogger(__name__)

# The groups the shop ships with (docs/search.md); SEARCH_SYNONYMS_FILE names another.
DEFAULT_FILE = Path(__file__).with_name("synonyms.txt")
MAX_GROUPS = 10_000
MAX_MEMBERS = 50


class SynonymFileError(ValueError):
    """A line the format does not allow; says which line and why."""


def _word_key(clause: Clause) -> str:
    return clause.typed if is_chinese(clause.typed) else stem(clause.typed)


def _phrase(member: str) -> tuple[str, ...]:
    """A member as the query words it is typed as (jieba segments Chinese as in a query)."""
    return tuple(_word_key(c) for c in parse_query(member).clauses)


@dataclass(frozen=True)
class Synonyms:
    """Each phrase (a member, as query words) and the other members of its groups."""

    alternatives: dict[tuple[str, ...], tuple[tuple[str, ...], ...]]
    longest: int = 1

    @classmethod
    def from_groups(cls, groups: Iterable[Sequence[str]]) -> Synonyms:
        merged: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for group in groups:
            phrases = list(dict.fromkeys(p for p in (_phrase(m) for m in group) if p))
            for phrase in phrases:
                others = merged.setdefault(phrase, [])
                others.extend(p for p in phrases if p != phrase and p not in others)
        alternatives = {k: tuple(v) for k, v in merged.items() if v}
        longest = max((len(k) for k in alternatives), default=1)
        return cls(alternatives, longest)

    @classmethod
    def parse(cls, text: str) -> Synonyms:
        return cls.from_groups(parse_groups(text))

    def expand(self, query: ParsedQuery) -> ParsedQuery:
        """The query with each word (or run of words) that is a member also matching the
        group's other members. A Latin word still being typed (predictive search) is left
        as typed: it is not a whole word yet."""
        if not self.alternatives:
            return query
        clauses = list(query.clauses)
        expanded: list[Clause] = []
        at = 0
        while at < len(clauses):
            taken = self._longest_at(clauses, at)
            if taken == 0:
                expanded.append(clauses[at])
                at += 1
                continue
            run = clauses[at : at + taken]
            phrase = tuple(_word_key(c) for c in run)
            others = self.alternatives[phrase]
            if taken == 1:
                expanded.append(replace(run[0], synonyms=run[0].synonyms + others))
            else:  # the words as typed, all of them, or any other member
                expanded.append(
                    Clause(" ".join(c.typed for c in run), (), synonyms=(phrase, *others))
                )
            at += taken
        return ParsedQuery(tuple(expanded))

    def _longest_at(self, clauses: Sequence[Clause], at: int) -> int:
        for size in range(min(self.longest, len(clauses) - at), 0, -1):
            run = clauses[at : at + size]
            if any(c.is_prefix and not is_chinese(c.typed) for c in run):
                continue  # a Latin word still being typed; a Chinese one comes whole (IME)
            if tuple(_word_key(c) for c in run) in self.alternatives:
                return size
        return 0


NO_SYNONYMS = Synonyms({})


def parse_groups(text: str) -> list[list[str]]:
    """The file's groups, every line checked (without the segmenter: a gateway that never
    searches does not load jieba's dictionary to read it)."""
    groups: list[list[str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        members = [m.strip() for m in line.split("=")]
        if len(members) < 2 or not all(members):
            raise SynonymFileError(
                f"line {number}: a group is two or more members joined by '=', e.g. 手机 = 移动电话"
            )
        if any(not has_words(m) for m in members):
            raise SynonymFileError(f"line {number}: a member has no letters, digits or 汉字")
        if len(members) > MAX_MEMBERS:
            raise SynonymFileError(f"line {number}: at most {MAX_MEMBERS} members")
        groups.append(members)
        if len(groups) > MAX_GROUPS:
            raise SynonymFileError(f"at most {MAX_GROUPS} groups")
    return groups


class SynonymFile:
    """The groups of one file, read again when it changes (a stat per search: about a
    microsecond, so an edit counts from the next query). A file that cannot be read or
    parsed keeps the last good groups and says why in the log: a typo in the file must
    not take search down."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._groups: list[list[str]] | None = None
        self._synonyms = NO_SYNONYMS
        if path is not None:
            self._groups = self._read(path)  # a broken file named at start: fail loudly

    def _read(self, path: Path) -> list[list[str]]:
        stat = path.stat()
        groups = parse_groups(path.read_text(encoding="utf-8"))
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        return groups

    def current(self) -> Synonyms:
        if self.path is None:
            return self._synonyms
        with self._lock:
            try:
                stat = os.stat(self.path)
                if (stat.st_mtime_ns, stat.st_size) != self._stamp:
                    self._groups = self._read(self.path)
                    log.info("search synonyms read again from %s", self.path)
            except (OSError, SynonymFileError) as exc:
                log.warning("search synonyms: %s: %s (keeping the last good ones)", self.path, exc)
            if self._groups is not None:  # new groups: compiled once, on the next search
                self._synonyms = Synonyms.from_groups(self._groups)
                self._groups = None
        return self._synonyms
