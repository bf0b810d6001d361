"""Synonyms from a file staff edit, applied to queries on both engines: a word no product
has finds what its synonym finds, an edit to the file counts from the next search, and a
broken edit keeps the last good groups (search never fails on the file)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sources.catalog.search.synonyms import SynonymFile, SynonymFileError, parse_groups
from sources.catalog.store import CatalogStore
from sources.common.db import Database


@pytest.fixture
async def db(shop_url: str) -> AsyncIterator[Database]:
    database = Database(shop_url)
    yield database
    await database.dispose()


async def names(store: CatalogStore, query: str) -> list[str]:
    page = await store.search_products(query, first=20, with_facets=False)
    return [p.name for p in page.products]


async def test_a_synonym_finds_what_its_group_finds(db: Database) -> None:
    without = CatalogStore(db, SynonymFile(None))
    shipped = CatalogStore(db)  # the groups the shop ships with

    assert await names(without, "移动电话") == []
    assert await names(without, "mobile phone") == []
    phones = await names(without, "手机")
    assert phones and set(await names(shipped, "移动电话")) == set(phones)
    assert set(await names(shipped, "mobile phone")) == set(phones)
    # A word in the group also keeps its own matches: TV finds what 电视 finds, and more.
    assert set(await names(without, "电视")) <= set(await names(shipped, "tv"))
    suggested = await shipped.predictive_search("移动电话", limit=5)
    assert suggested.products and "phones-tablets" in {
        c.slug for c in (await shipped.categories_by_ids(suggested.category_ids)).values()
    }


async def test_an_edit_to_the_file_counts_from_the_next_search(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_text("# ours\nTV = 电视\n", encoding="utf-8")
    store = CatalogStore(db, SynonymFile(path))
    assert await names(store, "fr1dge") == []  # a made-up word (no typo of a real one)

    path.write_text("TV = 电视\nfridge = 冰箱 = fr1dge\n", encoding="utf-8")
    fridges = await names(store, "冰箱")
    assert fridges and set(await names(store, "fr1dge")) == set(fridges)

    path.write_text("fridge = \n", encoding="utf-8")  # broken: the last good groups stay
    assert set(await names(store, "fr1dge")) == set(fridges)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("手机\n", "line 1: a group is two or more members"),
        ("# fine\n手机 = \n", "line 2: a group is two or more members"),
        ("手机 = !!!\n", "line 1: a member has no letters"),
    ],
)
def test_a_bad_line_is_named(text: str, message: str) -> None:
    with pytest.raises(SynonymFileError, match=message):
        parse_groups(text)
