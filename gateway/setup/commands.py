"""The set-up commands' steps (``gateway init``, the start-up check of ``serve`` and
``source serve``, the readiness an import needs); the CLI only parses and prints."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from ..settings import Settings


async def ready_with_profile(settings: Settings) -> Settings:
    """Every embedded database ready, and the shop's currency where the environment has
    none (an import writes prices in the shop's currency)."""
    from ..sources import Sources
    from .databases import require_ready
    from .shop import with_shop_profile

    await require_ready(settings)
    sources = Sources.from_settings(settings)
    try:
        return with_shop_profile(settings, await sources.orders.shop_profile())
    finally:
        await sources.close()


async def init_shop(settings: Settings, path: str) -> list[str]:
    from pathlib import Path

    from ..sources import Sources
    from .databases import require_ready
    from .shop import apply_shop_file
    from .shop_file import read_shop_file

    shop = read_shop_file(Path(path))  # the whole file is checked before anything is written
    await require_ready(settings, ["orders", "inventory"])
    sources = Sources.from_settings(settings)
    try:
        return await apply_shop_file(sources, shop)
    finally:
        await sources.close()


def start_check(settings: Settings, names: Sequence[str], what: str) -> int | None:
    """Before serving: every embedded database at the code's revision. Development refuses
    to start (saying what to run); production starts and answers 503 on /readyz until the
    databases are migrated, so an orchestrator holds traffic back instead of restarting it
    in a loop. None: go on."""
    from .databases import database_states

    problems = [s.line() for s in asyncio.run(database_states(settings, names)) if not s.is_ready]
    if not problems:
        return None
    for line in problems:
        print(line, file=sys.stderr)
    if settings.is_production:
        print(
            f"starting {what} anyway (GATEWAY_ENV=production): /readyz answers 503 until "
            "these are fixed",
            file=sys.stderr,
        )
        return None
    print(
        f"{what} not started: run `gateway migrate` (or `gateway seed` for the demo shop)",
        file=sys.stderr,
    )
    return 2
