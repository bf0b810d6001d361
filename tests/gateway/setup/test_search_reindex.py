"""``gateway search reindex`` as an operator runs it after rows were written around the
catalog's write functions (a restore, a script with SQL): until it runs, search answers
from the old index; after it, the products are found by what they now say, and no longer
by what they said. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from sources.catalog.store import CatalogStore
from sources.common.db import Database
from tests.conftest import _migrate_and_seed, require_postgres, sqlite_urls
from tests.gateway.setup.cli import gateway
from tests.pg import create_temp_database, drop_database


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        found = sqlite_urls(tmp_path)
        asyncio.run(_migrate_and_seed(found, products=240))
        yield found
        return
    require_postgres()
    url = asyncio.run(create_temp_database())
    try:
        found = dict.fromkeys(("catalog", "inventory", "pricing", "orders"), url)
        asyncio.run(_migrate_and_seed(found, products=240))
        yield found
    finally:
        asyncio.run(drop_database(url))


async def _restore_behind_the_index(url: str) -> tuple[int, set[int]]:
    """One product renamed and the soymilk makers renamed away, in plain SQL: the index does
    not know. Returns the renamed product and the makers' ids."""
    db = Database(url)
    try:
        async with db.begin() as conn:
            makers = set(
                await conn.scalars(
                    text("SELECT id FROM products WHERE name LIKE '%Soymilk Maker%'")
                )
            )
            renamed = min(makers)
            await conn.execute(
                text(
                    "UPDATE products SET name = 'Zyxwv Quasar Blender', description = '', "
                    "translations = '{}' WHERE id = :id"
                ),
                {"id": renamed},
            )
            await conn.execute(
                text(
                    "UPDATE products SET translations = '{}', description = '', "
                    "name = REPLACE(name, 'Soymilk Maker', 'Juicer') WHERE id <> :id "
                    "AND name LIKE '%Soymilk Maker%'"
                ),
                {"id": renamed},
            )
        return renamed, makers
    finally:
        await db.dispose()


async def _found(url: str, query: str) -> set[int]:
    db = Database(url)
    try:
        page = await CatalogStore(db).search_products(query, first=100, with_facets=False)
        return {p.id for p in page.products}
    finally:
        await db.dispose()


def test_reindex_finds_what_products_say_now(urls: dict[str, str], tmp_path: Path) -> None:
    env = {f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()}
    catalog = urls["catalog"]
    renamed, makers = asyncio.run(_restore_behind_the_index(catalog))
    assert asyncio.run(_found(catalog, "quasar")) == set()  # the old index: not yet
    assert makers <= asyncio.run(_found(catalog, "soymilk maker"))

    run = gateway("search", "reindex", "--no-progress", env=env, cwd=tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("indexed 240 products in "), run.stdout
    assert run.stderr == ""  # --no-progress: nothing but the answer
    assert asyncio.run(_found(catalog, "quasar")) == {renamed}
    assert asyncio.run(_found(catalog, "soymilk maker")) & makers == set()


def test_reindex_shows_its_progress_and_handles_an_empty_catalogue(tmp_path: Path) -> None:
    env = {f"{name.upper()}_DATABASE_URL": url for name, url in sqlite_urls(tmp_path).items()}
    assert gateway("migrate", env=env, cwd=tmp_path).returncode == 0

    run = gateway("search", "reindex", env=env, cwd=tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("indexed 0 products in ")
    assert "products" in run.stderr  # the progress bar, on stderr (stdout stays the answer)
