"""Every product's search columns in this process, so a result page filters, counts its
facets and ranks its matches in one pass over the match set, not in several statements
that each join thousands of matches to ``products`` (docs/search.md, "How it works").

What is kept, by product id: its facet key (published, category, brand, kind, in stock,
price band: about 1,200 distinct keys at 100,000 products, so a facet is counted over
the keys its matches have, not over the matches), its lowest and highest price, its
creation time, and its choice specification values. About 25 MB at 100,000 products.

Exact by the catalog's change version (sources/catalog/changes.py): a page uses the table
only when the version it was read at is the database's, read on the same request. A table
that is behind is read again: in the request when the last read was quick (a small
catalogue, tests), else in the background while pages answer from SQL as before. The page's
rows still come from the database, which stays the truth for what is published: a row the
table called published that is not is a table behind, and the page is answered from SQL.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, compress
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.db import Database
from sources.common.translations import Translation, translations_from

from .. import changes
from .. import models as m
from ..records import SearchSort
from .results import NO_PRICE_ASC as _NO_PRICE_ASC
from .results import PRICE_BANDS

log = logging.getLogger(__name__)

# A read of the table quicker than this is redone inside the request that finds it behind.
INLINE_REBUILD_S = 0.05
# Rows made into the table between two turns of the event loop (about 10 ms of work).
_YIELD_EVERY = 10_000

# A facet key: (published, category id, brand id, kind, in stock, price band).
Key = tuple[bool, int | None, int | None, str, bool, str | None]
PUBLISHED, CATEGORY, BRAND, KIND, IN_STOCK, BAND = range(6)
FACETS = {"category": CATEGORY, "brand": BRAND, "kind": KIND, "availability": IN_STOCK,
          "price": BAND}  # fmt: skip


_NO_PRICE_DESC = -1


def band_of(price: Any) -> str | None:
    """The price facet value of a lowest price (results.PRICE_BANDS; None without one)."""
    if price is None:
        return None
    for value, low, high in PRICE_BANDS:
        if price >= low and (high is None or price < high):
            return value
    return None


class Behind(Exception):
    """A match is a product the table does not hold: it was created after the table was
    read (the page is answered from SQL)."""


@dataclass(frozen=True, slots=True)
class Selection:
    """A filter resolved to what the table holds: None in a field selects everything."""

    published_only: bool
    subtree: frozenset[int] | None  # a category page's categories
    categories: frozenset[int] | None  # the category facet's selection (with subcategories)
    brands: frozenset[int] | None
    kind: str | None
    in_stock: bool | None
    band: str | None
    min_price: Any
    max_price: Any
    attributes: tuple[tuple[str, frozenset[str]], ...]  # (code, any of these values)
    category_facet_selected: bool  # the category facet counts under its own selection too


@dataclass(frozen=True, slots=True)
class Counted:
    """A page's ids (ranked, ``limit`` at most), its total and its facets' raw counts:
    facet name -> raw value (a category or brand id, a kind, in stock, a band) -> count,
    and (attribute code, value) -> count for the specification facets."""

    ids: list[int]
    total: int
    facets: dict[str, dict[Any, int]]
    specs: dict[tuple[str, str], int]


class FacetTable:
    """One read of every product's search columns, at one change version."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.keys: list[Key] = []
        self.key_of: list[int] = []  # by product id; -1: no such product
        self.price_min: list[Any] = []
        self.price_max: list[Any] = []
        self.created: list[Any] = []
        # The price sorts' keys, smallest first (results.order_for's, without a price last).
        self.price_asc: list[Any] = []
        self.price_desc: list[Any] = []
        self.specs: list[tuple[int, ...]] = []  # by product id: spec value ids
        self.spec_values: list[tuple[str, str]] = []  # spec value id -> (code, value)
        self.spec_labels: dict[str, str] = {}  # attribute code -> its name
        self.choice_codes: frozenset[str] = frozenset()  # codes only choice attributes use
        # The facets' names: category id -> (slug, name, translations, path); brand id ->
        # (name, translations); and the ids by what a filter names them by.
        self.categories: dict[int, tuple[str, str, tuple[Translation, ...], str]] = {}
        self.brands: dict[int, tuple[str, tuple[Translation, ...]]] = {}
        self.brand_ids: dict[str, int] = {}

    @classmethod
    async def read(cls, conn: AsyncConnection) -> FacetTable:
        # The version first: a write committing between it and the rows leaves the rows
        # newer than the version, and the next request reads the table again.
        table = cls(await changes.version(conn))
        hint = " INDEXED BY ix_products_search" if conn.dialect.name == "sqlite" else ""
        rows = (
            await conn.execute(
                text(
                    "SELECT id, is_published, category_id, brand_id, kind, in_stock, price_min, "
                    f"price_max, created_at FROM products{hint}"
                )
            )
        ).all()
        size = max((row[0] for row in rows), default=0) + 1
        table.key_of = [-1] * size
        table.price_min = [None] * size
        table.price_max = [None] * size
        table.created = [None] * size
        table.price_asc = [None] * size
        table.price_desc = [None] * size
        table.specs = [()] * size
        interned: dict[Key, int] = {}
        for n, (pid, published, category, brand, kind, in_stock, low, high, created) in enumerate(
            rows
        ):
            if n % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a read in the background lets requests through
            key = (bool(published), category, brand, str(kind), bool(in_stock), band_of(low))
            table.key_of[pid] = interned.setdefault(key, len(interned))
            table.price_min[pid] = low
            table.price_max[pid] = high
            table.created[pid] = created
            table.price_asc[pid] = _NO_PRICE_ASC if low is None else low
            table.price_desc[pid] = -(_NO_PRICE_DESC if low is None else low)
        table.keys = list(interned)
        values: dict[tuple[str, str], int] = {}
        specs: dict[int, set[int]] = {}
        labels: dict[str, str] = {}
        for pid, code, name, value in await conn.execute(
            text(
                "SELECT v.product_id, a.code, a.name, v.text_value "
                "FROM product_attribute_values v JOIN attributes a ON a.id = v.attribute_id "
                "WHERE a.kind = 'CHOICE' AND v.text_value IS NOT NULL"
            )
        ):
            if pid >= size:
                continue  # a product written after the products were read: the table is behind
            specs.setdefault(pid, set()).add(values.setdefault((code, str(value)), len(values)))
            labels[code] = min(name, labels.get(code, name))
        for pid, found in specs.items():
            table.specs[pid] = tuple(found)
        table.spec_values = list(values)
        table.spec_labels = labels
        kinds: dict[str, set[str]] = {}
        for code, kind in await conn.execute(text("SELECT code, kind FROM attributes")):
            kinds.setdefault(code, set()).add(kind)
        table.choice_codes = frozenset(c for c, k in kinds.items() if k == {"CHOICE"})
        c, b = m.Category, m.Brand
        for id_, slug, name, path, stored in await conn.execute(
            select(c.id, c.slug, c.name, c.path, c.translations)
        ):
            table.categories[id_] = (slug, name, translations_from(stored), path)
        for id_, name, stored in await conn.execute(select(b.id, b.name, b.translations)):
            table.brands[id_] = (name, translations_from(stored))
            table.brand_ids[name] = id_
        return table

    def subtree(self, *, slug: str | None = None, id_: int | None = None) -> frozenset[int]:
        """A category's id and its descendants' (their paths begin with its path), by its
        slug or id; empty for none such."""
        paths = [p for i, (s, _, _, p) in self.categories.items() if s == slug or i == id_]
        return frozenset(
            i for i, (_, _, _, p) in self.categories.items() if any(p.startswith(w) for w in paths)
        )

    def named(self, counts: dict[str, dict[Any, int]]) -> tuple[list[Any], Any]:
        """Raw counts as facet rows (facet, value, label, count), each category named by
        its slug and name, each brand by its name, and their translations by (facet,
        value) (what results.assembled takes)."""
        rows: list[Any] = []
        translated: dict[tuple[str, str], tuple[Translation, ...]] = {}
        for facet, tally in counts.items():
            for raw, n in tally.items():
                if facet == "category":
                    slug, name, other, _ = self.categories[raw]
                    rows.append((facet, slug, name, n))
                    translated[(facet, slug)] = other
                elif facet == "brand":
                    name, other = self.brands[raw]
                    rows.append((facet, name, name, n))
                    translated[(facet, name)] = other
                elif facet == "availability":
                    value, label = (
                        ("IN_STOCK", "In stock") if raw else ("OUT_OF_STOCK", "Out of stock")
                    )
                    rows.append((facet, value, label, n))
                else:
                    rows.append((facet, str(raw), str(raw), n))
        return rows, translated

    def count(
        self,
        ids: Sequence[int],
        chosen: Selection,
        *,
        sort: SearchSort,
        limit: int,
        with_facets: bool,
    ) -> Counted:
        """The page's first ``limit`` ids in ``sort`` order, the total and the facets, for
        the matches ``ids`` (in relevance order for that sort, as the engine ranked them).

        Each step is a walk the interpreter runs in C (map, Counter, compress, a heap of
        tuples) over the matches; the facets are counted over their distinct keys."""
        keyed = self._keyed(ids)
        passes = self._per_product(chosen)
        mask = None if passes is None else list(map(passes, ids))
        per_key = Counter(keyed if mask is None else compress(keyed, mask))
        tests = self._key_tests(chosen)
        keys = self.keys
        total = 0
        counts: dict[str, dict[Any, int]] = {name: {} for name in FACETS} if with_facets else {}
        kept: set[int] = set()
        for k, n in per_key.items():
            key = keys[k]
            failed = [name for name, test in tests if not test(key)]
            if not failed:
                total += n
                kept.add(k)
            if not with_facets or len(failed) > 1:
                continue
            # Counted in every facet when it passes every selection; in the one facet whose
            # own selection alone it fails (each facet is counted without its own).
            for name, field in FACETS.items():
                if failed and (
                    failed[0] != name or (name == "category" and chosen.category_facet_selected)
                ):
                    continue
                value = key[field]
                if value is not None:
                    tally = counts[name]
                    tally[value] = tally.get(value, 0) + n
        if mask is None and len(kept) == len(per_key):
            keep: Iterable[Any] | None = None  # every match is a result
        else:
            keep = list(map(kept.__contains__, keyed))
            if mask is not None:
                keep = list(map(bool.__and__, keep, mask))
        matching = list(ids) if keep is None else list(compress(ids, keep))
        specs: dict[tuple[str, str], int] = {}
        if with_facets:
            spec_values = self.spec_values
            found = Counter(chain.from_iterable(map(self.specs.__getitem__, matching)))
            specs = {spec_values[v]: n for v, n in found.items()}
        ranked = self._ranked(matching, sort, limit)
        return Counted(ranked, total, counts, specs)

    def cheap_ceiling(self, ids: Sequence[int], chosen: Selection) -> Any:
        """The matches' median lowest price (at or under it is "cheap"); None without one."""
        passes = self._per_product(chosen)
        tests = self._key_tests(chosen)
        keys, price_min = self.keys, self.price_min
        prices = sorted(
            price_min[i]
            for i, k in zip(ids, self._keyed(ids), strict=True)
            if price_min[i] is not None
            and (passes is None or passes(i))
            and all(test(keys[k]) for _, test in tests)
        )
        return prices[(len(prices) - 1) // 2] if prices else None

    def _keyed(self, ids: Sequence[int]) -> list[int]:
        """Each match's facet key; Behind when one is a product the table does not hold."""
        try:
            keyed = list(map(self.key_of.__getitem__, ids))
        except IndexError:
            raise Behind from None
        if -1 in keyed:
            raise Behind
        return keyed

    def _key_tests(self, chosen: Selection) -> list[tuple[str, Any]]:
        """The selections a facet key answers, each named by the facet it belongs to (a
        facet is counted without its own); the published flag and a category page's
        subtree belong to none."""
        tests: list[tuple[str, Any]] = []
        if chosen.published_only:
            tests.append(("", lambda key: key[PUBLISHED]))
        if chosen.subtree is not None:
            subtree = chosen.subtree
            tests.append(("", lambda key: key[CATEGORY] in subtree))
        if chosen.categories is not None:
            categories = chosen.categories
            tests.append(("category", lambda key: key[CATEGORY] in categories))
        if chosen.brands is not None:
            brands = chosen.brands
            tests.append(("brand", lambda key: key[BRAND] in brands))
        if chosen.kind is not None:
            kind = chosen.kind
            tests.append(("kind", lambda key: key[KIND] == kind))
        if chosen.in_stock is not None:
            in_stock = chosen.in_stock
            tests.append(("availability", lambda key: key[IN_STOCK] == in_stock))
        if chosen.band is not None:
            band = chosen.band
            tests.append(("price", lambda key: key[BAND] == band))
        return tests

    def _per_product(self, chosen: Selection) -> Any:
        """The selections a key does not answer (a price bound, specification values), as
        one test of a product id; None when there are none. As in SQL, a product is within
        a price bound when one of its prices is."""
        tests: list[Any] = []
        if chosen.min_price is not None:
            low, price_max = chosen.min_price, self.price_max
            tests.append(lambda i: price_max[i] is not None and price_max[i] >= low)
        if chosen.max_price is not None:
            high, price_min = chosen.max_price, self.price_min
            tests.append(lambda i: price_min[i] is not None and price_min[i] <= high)
        specs = self.specs
        for code, wanted in chosen.attributes:
            ok = frozenset(
                n for n, (c, v) in enumerate(self.spec_values) if c == code and v in wanted
            )
            tests.append(lambda i, ok=ok: not ok.isdisjoint(specs[i]))
        if not tests:
            return None
        return lambda i: all(test(i) for test in tests)

    def _ranked(self, matching: list[int], sort: SearchSort, limit: int) -> list[int]:
        """The first ``limit`` in the order results.order_for gives the same sort in SQL:
        the relevance order is the engine's, kept by every step before; the others from a
        heap of (sort key, id) tuples."""
        if sort is SearchSort.RELEVANCE:
            return matching[:limit]
        if sort is SearchSort.NEWEST:  # newest first, then the higher id
            found = heapq.nlargest(
                limit, zip(map(self.created.__getitem__, matching), matching, strict=True)
            )
            return [i for _, i in found]
        by = self.price_asc if sort is SearchSort.PRICE_ASC else self.price_desc
        keyed = zip(map(by.__getitem__, matching), matching, strict=True)
        return [i for _, i in heapq.nsmallest(limit, keyed)]


class FacetTables:
    """The process's facet table for one catalog database, read again when it is behind."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.table: FacetTable | None = None
        self.last_read_s: float | None = None
        self.answered = 0  # pages answered from a table (tests check the table was used)
        # A table read quicker than this is read again within the request that finds it
        # behind; a slower one in the background (tests that check the inline read raise it).
        self.inline_rebuild_s = INLINE_REBUILD_S
        self._reading: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def current(self, conn: AsyncConnection) -> FacetTable | None:
        """The table at the database's version now; None when it is being read in the
        background (the caller answers from SQL)."""
        now = await changes.version(conn)
        table = self.table
        if table is not None and table.version == now:
            return table
        quick = self.last_read_s is None or self.last_read_s < self.inline_rebuild_s
        if self.table is None or quick:
            async with self._lock:
                if self.table is None or self.table.version != now:
                    await self._read(conn)
            table = self.table
            return table if table is not None and table.version >= now else None
        if self._reading is None or self._reading.done():
            self._reading = asyncio.get_running_loop().create_task(self._read_apart())
        return None

    async def _read(self, conn: AsyncConnection) -> None:
        started = time.perf_counter()
        self.table = await FacetTable.read(conn)
        self.last_read_s = time.perf_counter() - started

    async def _read_apart(self) -> None:
        try:
            async with self._lock, self.db.connect() as conn:
                await self._read(conn)
        except Exception:  # a disposed database at shutdown, a lost connection: next time
            log.warning("search facet table: reading it failed", exc_info=True)

    def close(self) -> None:
        if self._reading is not None and not self._reading.done():
            self._reading.cancel()
