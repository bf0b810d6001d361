"""The two embedded engines behind one interface: SQLite FTS5 and PostgreSQL full-text
search with pg_trgm. Neither needs a server of its own; both index the terms
``text.py`` makes, so they find the same products for the same typing.

Ranking: BM25 on FTS5 (weights title 10, labels 4, body 1), ``ts_rank`` on PostgreSQL
(weights A 1.0, B 0.4, D 0.1): a word in the name outranks the same word in the brand,
category or specifications, which outranks the description. Typos: the Latin words of
the catalogue are kept in ``search_terms``; a query word of five letters or more that is
not one of them is corrected to the nearest within one edit (two from nine letters),
found by first letter and length on SQLite and by trigram similarity on PostgreSQL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rapidfuzz.distance import Levenshtein
from sqlalchemy import Float, Integer, column, table, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause

from .text import Clause, ParsedQuery

# Every table an engine owns starts with this, so schema comparison leaves them alone.
TABLE_PREFIX = "search_"

# Relevance ranks the newest this many matches by BM25 (ts_rank on PostgreSQL); matches
# beyond them follow, newest first. Scoring every match cost 10-18 ms for the 7,442 of 耳机
# at 100,000 products against 0.5 ms to match them unscored, to order thousands of products
# whose scores differ in the third decimal (a word in the name, a name a few words longer);
# a result page shows the first twenty. A query with fewer matches (every narrow one, every
# query of the judged set) is ranked over all of them, as before. Read at call time, so a
# test can lower it.
RANKED_CANDIDATES = 1000
# The score of a match beyond the candidates: below every engine score (both are >= 0),
# newest first, exact in a double for any product id.
_UNRANKED_BASE = -1e12


@dataclass(frozen=True, slots=True)
class Document:
    product_id: int
    title: list[str]
    labels: list[str]
    body: list[str]
    words: set[str]


def allowed_edits(word: str) -> int:
    return 2 if len(word) >= 9 else 1


def nearest(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate fewest edits away (within the allowance), ties to the shorter."""
    best: tuple[int, int, str] | None = None
    limit = allowed_edits(word)
    for candidate in candidates:
        distance = Levenshtein.distance(word, candidate, score_cutoff=limit)
        if distance <= limit:
            key = (distance, len(candidate), candidate)
            best = key if best is None or key < best else best
    return best[2] if best else None


class SearchEngine(Protocol):
    name: str

    def create_statements(self) -> list[str]: ...

    def drop_statements(self) -> list[str]: ...

    async def write(self, conn: AsyncConnection, documents: Sequence[Document]) -> None: ...

    async def remove_all(self, conn: AsyncConnection) -> None: ...

    def matches(self, query: ParsedQuery, *, scored: bool = True, newest: int | None = None) -> Any:
        """A selectable of (product_id, score) for the products matching every clause,
        score higher for a better match (0 when not ``scored``: a count or a facet needs
        no ranking, and ranking every match costs more than matching). With ``newest``,
        only that many of the matches, the newest: suggestions while typing rank a bounded
        set, as a one-letter prefix matches half the catalogue."""

    async def corrections(self, conn: AsyncConnection, words: Sequence[str]) -> dict[str, str]:
        """A correction for each word that is not in the vocabulary and has a near one."""

    async def matched_ids(
        self, conn: AsyncConnection, query: ParsedQuery, *, ranked: bool
    ) -> list[int]:
        """Every match's product id, in relevance order when ``ranked`` (the newest
        RANKED_CANDIDATES matches by score descending, then id; the rest newest first),
        read into this process for a page counted there (facet_table.py). One
        row of text (SQLite) or an array (PostgreSQL), not a row per match: thousands of
        row objects a request kept the garbage collector's full passes coming every few
        requests (100-400 ms each on a busy machine)."""

    async def materialize(self, conn: AsyncConnection, query: ParsedQuery, *, scored: bool) -> Any:
        """The matches worked out once for a result page, as a (product_id, score)
        selectable its page, counts and facets all read: matching (and ranking) thousands
        of products once instead of in each of those statements."""


def _quote_fts(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _fts_clause(clause: Clause) -> str:
    star = " *" if clause.is_prefix else ""
    options = [_quote_fts(t) + star for t in clause.terms]
    for group in (clause.parts, *clause.synonyms):
        if len(group) == 1:
            options.append(_quote_fts(group[0]))
        elif group:
            options.append("(" + " AND ".join(_quote_fts(p) for p in group) + ")")
    return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


def _ts_lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _ts_clause(clause: Clause) -> str:
    star = ":*" if clause.is_prefix else ""
    options = [_ts_lexeme(t) + star for t in clause.terms]
    for group in (clause.parts, *clause.synonyms):
        if len(group) == 1:
            options.append(_ts_lexeme(group[0]))
        elif group:
            options.append("(" + " & ".join(_ts_lexeme(p) for p in group) + ")")
    return options[0] if len(options) == 1 else "(" + " | ".join(options) + ")"


_BM25 = "bm25(search_products, 10.0, 4.0, 1.0)"
_TS_RANK = "ts_rank('{0.1, 0.2, 0.4, 1.0}', document, CAST(:ts_expression AS tsquery))"


def _ids(found: Any) -> list[int]:
    """Ids from one row: SQLite's comma-separated text, PostgreSQL's array, or NULL."""
    if not found:
        return []
    return list(map(int, found.split(","))) if isinstance(found, str) else list(found)


def _vocabulary_rows(documents: Sequence[Document]) -> list[dict[str, str]]:
    return [{"term": w} for w in sorted({w for d in documents for w in d.words})]


_MATCHED_TABLE = "search_matched_created"
# Prefix indexes for one to four letters: what ``predictiveSearch`` matches as the buyer
# types ("e", "dian") is one doclist, not the merge of every word it begins (31 ms for
# "e" at 100,000 products without them, 1 ms with; catalog_0014 added them).
FTS_COLUMNS = "title, labels, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4'"


class SqliteEngine:
    name = "sqlite-fts5"

    def create_statements(self) -> list[str]:
        return [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS search_products USING fts5({FTS_COLUMNS})",
            "CREATE TABLE IF NOT EXISTS search_terms (term VARCHAR(64) PRIMARY KEY)",
        ]

    def drop_statements(self) -> list[str]:
        return ["DROP TABLE IF EXISTS search_products", "DROP TABLE IF EXISTS search_terms"]

    async def write(self, conn: AsyncConnection, documents: Sequence[Document]) -> None:
        if not documents:
            return
        await conn.execute(
            text("DELETE FROM search_products WHERE rowid = :id"),
            [{"id": d.product_id} for d in documents],
        )
        await conn.execute(
            text(
                "INSERT INTO search_products (rowid, title, labels, body) "
                "VALUES (:id, :title, :labels, :body)"
            ),
            [
                {
                    "id": d.product_id,
                    "title": " ".join(d.title),
                    "labels": " ".join(d.labels),
                    "body": " ".join(d.body),
                }
                for d in documents
            ],
        )
        rows = _vocabulary_rows(documents)
        if rows:
            await conn.execute(
                text("INSERT OR IGNORE INTO search_terms (term) VALUES (:term)"), rows
            )

    async def remove_all(self, conn: AsyncConnection) -> None:
        await conn.execute(text("DELETE FROM search_products"))
        await conn.execute(text("DELETE FROM search_terms"))

    def matches(self, query: ParsedQuery, *, scored: bool = True, newest: int | None = None) -> Any:
        expression = " AND ".join(_fts_clause(c) for c in query.clauses)
        score = f"-{_BM25}" if scored else "0.0"
        # FTS5 walks the matches in rowid order and scores only those it returns.
        bounded = f" ORDER BY rowid DESC LIMIT {int(newest)}" if newest is not None else ""
        statement: TextClause = text(
            f"SELECT rowid AS product_id, {score} AS score "
            f"FROM search_products WHERE search_products MATCH :match_expression{bounded}"
        ).bindparams(match_expression=expression)
        # Materialised: otherwise SQLite's planner loops over products and runs the full
        # text match once per product (0.7 s instead of 2 ms on 20,000 products).
        return (
            statement.columns(column("product_id", Integer), column("score", Float))
            .cte("matched")
            .prefix_with("MATERIALIZED")
        )

    async def matched_ids(
        self, conn: AsyncConnection, query: ParsedQuery, *, ranked: bool
    ) -> list[int]:
        expression = " AND ".join(_fts_clause(c) for c in query.clauses)
        if not ranked:
            found = await conn.scalar(
                text(
                    "SELECT group_concat(rowid) FROM search_products "
                    "WHERE search_products MATCH :match_expression"
                ),
                {"match_expression": expression},
            )
            return _ids(found)
        # The newest candidates, scored: FTS5 walks the matches newest first and scores only
        # those it returns. The same order as the SQL path's (-bm25 descending, then id);
        # LIMIT -1 (none) keeps the subquery's ORDER BY, which SQLite may drop without one.
        limit = RANKED_CANDIDATES
        row = (
            await conn.execute(
                text(
                    "SELECT group_concat(rowid), min(rowid), count(*) FROM (SELECT rowid FROM "
                    f"(SELECT rowid, {_BM25} AS score FROM search_products "
                    "WHERE search_products MATCH :match_expression ORDER BY rowid DESC "
                    "LIMIT :limit) ORDER BY score, rowid LIMIT -1)"
                ),
                {"match_expression": expression, "limit": limit},
            )
        ).one()
        ranked_ids = _ids(row[0])
        if row[2] < limit:
            return ranked_ids  # every match is a candidate
        rest = await conn.scalar(
            text(
                "SELECT group_concat(rowid) FROM (SELECT rowid FROM search_products "
                "WHERE search_products MATCH :match_expression AND rowid < :lowest "
                "ORDER BY rowid DESC LIMIT -1)"
            ),
            {"match_expression": expression, "lowest": row[1]},
        )
        return ranked_ids + _ids(rest)

    async def materialize(self, conn: AsyncConnection, query: ParsedQuery, *, scored: bool) -> Any:
        # A temporary table is the connection's own (no other request sees it) and lives in
        # the temp database, so filling it takes no lock on the catalogue.
        if not conn.info.get(_MATCHED_TABLE):  # once per pooled connection
            await conn.execute(
                text(
                    "CREATE TEMP TABLE IF NOT EXISTS search_matched "
                    "(product_id INTEGER PRIMARY KEY, score REAL NOT NULL)"
                )
            )
            conn.info[_MATCHED_TABLE] = True
        await conn.execute(text("DELETE FROM temp.search_matched"))
        expression = " AND ".join(_fts_clause(c) for c in query.clauses)
        if scored:  # the candidates first (matched_ids' order), the rest newest first
            await conn.execute(
                text(
                    "INSERT INTO temp.search_matched (product_id, score) "
                    f"SELECT rowid, -{_BM25} FROM search_products "
                    "WHERE search_products MATCH :match_expression "
                    "ORDER BY rowid DESC LIMIT :limit"
                ),
                {"match_expression": expression, "limit": RANKED_CANDIDATES},
            )
        score = f"rowid + {_UNRANKED_BASE!r}" if scored else "0.0"
        await conn.execute(
            text(
                f"INSERT OR IGNORE INTO temp.search_matched (product_id, score) "
                f"SELECT rowid, {score} "
                "FROM search_products WHERE search_products MATCH :match_expression"
            ),
            {"match_expression": expression},
        )
        # Its size, for the planner: without it SQLite guesses a large table and walks
        # every product to look each up in the matches (25 ms instead of 1.5 for 750).
        await conn.execute(text("ANALYZE temp.search_matched"))
        return table(
            "search_matched", column("product_id", Integer), column("score", Float), schema="temp"
        )

    async def corrections(self, conn: AsyncConnection, words: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for word in words:
            rows = await conn.execute(
                text(
                    "SELECT term FROM search_terms WHERE term >= :low AND term < :high "
                    "AND length(term) BETWEEN :shortest AND :longest"
                ),
                {
                    "low": word[0],
                    "high": chr(ord(word[0]) + 1),
                    "shortest": len(word) - allowed_edits(word),
                    "longest": len(word) + allowed_edits(word),
                },
            )
            candidates = [r[0] for r in rows]
            if word in candidates:
                continue
            fix = nearest(word, candidates)
            if fix is not None:
                found[word] = fix
        return found


# The matches once (MATERIALIZED: from the GIN index, never by walking the primary key
# against every document), then the candidates ranked one of two ways: with many matches,
# the newest candidates' documents read again by primary key; with fewer than
# _PG_RESCAN_FACTOR times the candidates, every match's document in a second scan of the
# index, which reads each once in the table's order (by key, 790 matches took 4.3 ms
# against 1.5 rescanned, 1,087 took 10 against 4; for 7,442 the rescan ranks 7,442
# documents where the keys read 1,000). The branch not taken never runs.
_PG_RESCAN_FACTOR = 2.5
_PG_CANDIDATES = f"""
WITH matched AS MATERIALIZED (
    SELECT product_id FROM search_products WHERE document @@ CAST(:ts_expression AS tsquery)
), newest AS (
    SELECT product_id FROM matched ORDER BY product_id DESC LIMIT :limit
), scored AS (
    SELECT s.product_id, {_TS_RANK} AS score
      FROM newest JOIN search_products s ON s.product_id = newest.product_id
), every AS (
    SELECT product_id, {_TS_RANK} AS score
      FROM search_products WHERE document @@ CAST(:ts_expression AS tsquery)
)"""
_PG_FEW = f"(SELECT count(*) FROM matched) <= :limit * {_PG_RESCAN_FACTOR}"


def _pg_ranked(column: str) -> str:
    """The candidates' ``column`` (product_id or score) in rank order, by either branch."""
    return (
        f"CASE WHEN {_PG_FEW} "
        f"THEN (SELECT array_agg({column} ORDER BY score DESC, product_id) "
        "FILTER (WHERE product_id >= (SELECT min(product_id) FROM newest)) FROM every) "
        f"ELSE (SELECT array_agg({column} ORDER BY score DESC, product_id) FROM scored) END"
    )


_PG_REST = (
    "(SELECT array_agg(product_id ORDER BY product_id DESC) FROM matched "
    "WHERE product_id < (SELECT min(product_id) FROM newest))"
)
_PG_RANKED = text(f"{_PG_CANDIDATES} SELECT {_pg_ranked('product_id')}, {_PG_REST}")
_PG_SCORED = text(
    f"{_PG_CANDIDATES} SELECT {_pg_ranked('product_id')}, {_pg_ranked('score')}, {_PG_REST}"
)

# A query asked again takes its branch from the match count it had the last time, so that
# it runs one statement of one branch instead of both behind a count: with few matches,
# one scan of the index that ranks every match (the statement above reads the index and
# the matches' heap pages twice, once for the ids and once to rank them: 1,264 matches of
# 降噪耳机 read 999 pages twice); with many, the ids and the newest candidates by key.
# Both branches answer the same order (the newest RANKED_CANDIDATES matches ranked, the
# rest newest first), so a count that has moved since (a catalogue write) costs time, never
# a different answer. Per process, by the query's tsquery text, the most recent
# _PG_REMEMBERED queries.
_PG_REMEMBERED = 4096
_pg_match_counts: OrderedDict[str, int] = OrderedDict()
_PG_ONE_SCAN = f"""
WITH every AS MATERIALIZED (
    SELECT product_id, {_TS_RANK} AS score
      FROM search_products WHERE document @@ CAST(:ts_expression AS tsquery)
), bound AS (
    SELECT min(product_id) AS low FROM (
        SELECT product_id FROM every ORDER BY product_id DESC LIMIT :limit
    ) newest
)"""
_PG_KEYED = f"""
WITH matched AS MATERIALIZED (
    SELECT product_id FROM search_products WHERE document @@ CAST(:ts_expression AS tsquery)
), newest AS (
    SELECT product_id FROM matched ORDER BY product_id DESC LIMIT :limit
), scored AS (
    SELECT s.product_id, {_TS_RANK} AS score
      FROM newest JOIN search_products s ON s.product_id = newest.product_id
)"""


def _one_scan(column: str) -> str:
    return (
        f"(SELECT array_agg({column} ORDER BY score DESC, product_id) FROM every "
        "WHERE product_id >= (SELECT low FROM bound))"
    )


_ONE_SCAN_REST = (
    "(SELECT array_agg(product_id ORDER BY product_id DESC) FROM every "
    "WHERE product_id < (SELECT low FROM bound))"
)
_KEYED_RANKED = "(SELECT array_agg({0} ORDER BY score DESC, product_id) FROM scored)"
# (ranked ids, rest) and (ranked ids, scores, rest) by each branch: unknown, few, many.
_PG_STATEMENTS: dict[tuple[str, bool], TextClause] = {
    ("unknown", False): _PG_RANKED,
    ("unknown", True): _PG_SCORED,
    ("few", False): text(f"{_PG_ONE_SCAN} SELECT {_one_scan('product_id')}, {_ONE_SCAN_REST}"),
    ("few", True): text(
        f"{_PG_ONE_SCAN} SELECT {_one_scan('product_id')}, {_one_scan('score')}, {_ONE_SCAN_REST}"
    ),
    ("many", False): text(f"{_PG_KEYED} SELECT {_KEYED_RANKED.format('product_id')}, {_PG_REST}"),
    ("many", True): text(
        f"{_PG_KEYED} SELECT {_KEYED_RANKED.format('product_id')}, "
        f"{_KEYED_RANKED.format('score')}, {_PG_REST}"
    ),
}


def _pg_branch(expression: str) -> str:
    """The branch a query's last match count calls for ("unknown" when not asked lately)."""
    count = _pg_match_counts.get(expression)
    if count is None:
        return "unknown"
    return "few" if count <= RANKED_CANDIDATES * _PG_RESCAN_FACTOR else "many"


def _pg_remember(expression: str, count: int) -> None:
    _pg_match_counts[expression] = count
    _pg_match_counts.move_to_end(expression)
    while len(_pg_match_counts) > _PG_REMEMBERED:
        _pg_match_counts.popitem(last=False)


# Suggestions' candidates on PostgreSQL: the newest SUGGESTION_WALK documents are read
# first (about 1.5 ms; 3,000 took 3-8 ms at load 8, with more candidates to score). When at
# least SUGGESTION_FOUND of them match (a common word or prefix: "e", "dian", "erj", "head",
# "wireless he", even 空气), the newest 300 of those are the candidates and the index is not
# asked; otherwise (a rare word) the newest 300 matches come from the GIN index, which for a
# rare word is a few rows. SUGGESTION_FOUND is the most suggestions a request may ask for
# (predictiveSearch's limit is at most 20). The planner used to choose between the two by
# its estimate of a prefix's matches: it walked 13,000 documents for the 300 newest of 空气
# (28-47 ms), and with the documents laid out by category (catalog_0015) it took the
# 28,000 matches of "dian" from the index (175-320 ms).
SUGGESTION_WALK = 1500
SUGGESTION_FOUND = 20


def _pg_newest(newest: int, score: str) -> str:
    """Up to ``newest`` of the newest matches with their scores: from a bounded walk of
    the newest documents when it finds enough, else from the GIN index."""
    return f"""
WITH walked AS MATERIALIZED (
    SELECT product_id FROM (
        SELECT product_id, document FROM search_products
         ORDER BY product_id DESC LIMIT {SUGGESTION_WALK}
    ) latest
     WHERE document @@ CAST(:ts_expression AS tsquery)
     ORDER BY product_id DESC LIMIT {newest}
), enough AS (
    SELECT count(*) >= {SUGGESTION_FOUND} AS found FROM walked
), indexed AS MATERIALIZED (
    SELECT product_id FROM search_products WHERE document @@ CAST(:ts_expression AS tsquery)
), candidates AS (
    SELECT product_id FROM walked WHERE (SELECT found FROM enough)
    UNION ALL
    SELECT product_id FROM (
        SELECT product_id FROM indexed ORDER BY product_id DESC LIMIT {newest}
    ) newest WHERE NOT (SELECT found FROM enough)
)
SELECT s.product_id, {score} AS score
  FROM candidates JOIN search_products s ON s.product_id = candidates.product_id"""


class PostgresEngine:
    name = "postgresql-fts"

    def create_statements(self) -> list[str]:
        return [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE TABLE IF NOT EXISTS search_products "
            "(product_id INTEGER PRIMARY KEY, document TSVECTOR NOT NULL)",
            "CREATE INDEX IF NOT EXISTS ix_search_products_document "
            "ON search_products USING GIN (document)",
            "CREATE TABLE IF NOT EXISTS search_terms (term VARCHAR(64) PRIMARY KEY)",
            "CREATE INDEX IF NOT EXISTS ix_search_terms_trigram "
            "ON search_terms USING GIN (term gin_trgm_ops)",
        ]

    def drop_statements(self) -> list[str]:
        return ["DROP TABLE IF EXISTS search_products", "DROP TABLE IF EXISTS search_terms"]

    @staticmethod
    def _vector(document: Document) -> str:
        """The tsvector's text form with positions and weights: terms come from text.py
        (no tokenizer of PostgreSQL's own runs on them, so CJK words stay whole)."""
        parts: list[str] = []
        position = 0
        for terms, weight in ((document.title, "A"), (document.labels, "B"), (document.body, "")):
            for term in terms:
                position = min(position + 1, 16383)
                parts.append(f"{_ts_lexeme(term)}:{position}{weight}")
        return " ".join(parts)

    async def write(self, conn: AsyncConnection, documents: Sequence[Document]) -> None:
        if not documents:
            return
        await conn.execute(
            text(
                "INSERT INTO search_products (product_id, document) "
                "VALUES (:id, CAST(:document AS tsvector)) "
                "ON CONFLICT (product_id) DO UPDATE SET document = EXCLUDED.document"
            ),
            [{"id": d.product_id, "document": self._vector(d)} for d in documents],
        )
        rows = _vocabulary_rows(documents)
        if rows:
            await conn.execute(
                text("INSERT INTO search_terms (term) VALUES (:term) ON CONFLICT DO NOTHING"),
                rows,
            )

    async def remove_all(self, conn: AsyncConnection) -> None:
        await conn.execute(text("DELETE FROM search_products"))
        await conn.execute(text("DELETE FROM search_terms"))

    def matches(self, query: ParsedQuery, *, scored: bool = True, newest: int | None = None) -> Any:
        expression = " & ".join(_ts_clause(c) for c in query.clauses)
        score = _TS_RANK if scored else "0.0"
        if newest is None:
            statement: TextClause = text(
                f"SELECT product_id, {score} AS score FROM search_products "
                "WHERE document @@ CAST(:ts_expression AS tsquery)"
            ).bindparams(ts_expression=expression)
        else:
            statement = text(_pg_newest(int(newest), score)).bindparams(ts_expression=expression)
        return statement.columns(column("product_id", Integer), column("score", Float)).subquery(
            "matched"
        )

    async def matched_ids(
        self, conn: AsyncConnection, query: ParsedQuery, *, ranked: bool
    ) -> list[int]:
        expression = " & ".join(_ts_clause(c) for c in query.clauses)
        if not ranked:
            found = await conn.scalar(
                text(
                    "SELECT array_agg(product_id) FROM search_products "
                    "WHERE document @@ CAST(:ts_expression AS tsquery)"
                ),
                {"ts_expression": expression},
            )
            return _ids(found)
        parameters = {"ts_expression": expression, "limit": RANKED_CANDIDATES}
        statement = _PG_STATEMENTS[_pg_branch(expression), False]
        ranked_ids, rest = (await conn.execute(statement, parameters)).one()
        ids = _ids(ranked_ids) + _ids(rest)
        _pg_remember(expression, len(ids))
        return ids

    async def match_rows(
        self, conn: AsyncConnection, query: ParsedQuery, *, scored: bool
    ) -> tuple[list[int], list[float] | None]:
        """Every match's id, with its score when ``scored`` (matched_ids' order: the
        candidates' ts_rank, then the rest newest first, below every candidate)."""
        if not scored:
            return await self.matched_ids(conn, query, ranked=False), None
        expression = " & ".join(_ts_clause(c) for c in query.clauses)
        parameters = {"ts_expression": expression, "limit": RANKED_CANDIDATES}
        statement = _PG_STATEMENTS[_pg_branch(expression), True]
        ranked_ids, scores, rest = (await conn.execute(statement, parameters)).one()
        ids, rest_ids = _ids(ranked_ids), _ids(rest)
        _pg_remember(expression, len(ids) + len(rest_ids))
        return (
            ids + rest_ids,
            [float(x) for x in scores or ()] + [i + _UNRANKED_BASE for i in rest_ids],
        )

    async def materialize(self, conn: AsyncConnection, query: ParsedQuery, *, scored: bool) -> Any:
        # Fetched once and sent back as arrays: the statements after it join a few thousand
        # ids by primary key instead of each scanning the index and the documents again.
        ids, scores = await self.match_rows(conn, query, scored=scored)
        # Each array behind a scalar subquery: the planner then takes the matches for a few
        # rows and looks each up in the covering index (12 ms for 7,000 under load). Seeing
        # the array itself, it knows there are thousands and hashes the whole index, every
        # published product, to join them (35-60 ms), in the page, the facets and the count.
        statement: TextClause = text(
            "SELECT product_id, score FROM unnest((SELECT CAST(:matched_ids AS integer[])), "
            "(SELECT CAST(:matched_scores AS float8[]))) AS matched(product_id, score)"
        ).bindparams(matched_ids=ids, matched_scores=scores or [0.0] * len(ids))
        return statement.columns(column("product_id", Integer), column("score", Float)).subquery(
            "matched"
        )

    async def corrections(self, conn: AsyncConnection, words: Sequence[str]) -> dict[str, str]:
        if not words:
            return {}
        rows = await conn.execute(
            text(
                "SELECT w.word, t.term FROM unnest(CAST(:words AS text[])) AS w(word) "
                "JOIN search_terms t ON t.term % w.word"
            ),
            {"words": list(words)},
        )
        candidates: dict[str, list[str]] = {w: [] for w in words}
        for word, term in rows:
            candidates[word].append(term)
        found: dict[str, str] = {}
        for word, terms in candidates.items():
            if word in terms:
                continue
            fix = nearest(word, terms)
            if fix is not None:
                found[word] = fix
        return found


def engine_for(dialect: str) -> SearchEngine:
    return PostgresEngine() if dialect == "postgresql" else SqliteEngine()
