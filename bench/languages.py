"""``python -m bench.languages``: what answering in Chinese or English costs, over the
gateway's ASGI app with its caches off (every read reaches a source), on a seeded shop
(``gateway seed``; the databases of the environment, as the gateway reads them).

A listing of 20 products (name, description, brand, category, promotions) and a search
with facets, each with ``Accept-Language: en`` and ``zh-CN``, the search also without
synonyms (``SEARCH_SYNONYMS_FILE=""``); ``--rounds`` times each after a warm-up; prints p50
and p99 and the answer's size. The source calls are the same in both languages
(tests/gateway/test_languages.py pins them).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.settings import load_settings

LISTING = """{ products(first: 20, sort: NEWEST) { edges { node { id name description brand
  category { name } promotions { name } } } } }"""
SEARCH = """query($q: String!) { search(query: $q, first: 20) { totalCount
  edges { node { name brand } } facets { name label values { label count } } } }"""


def _timed(client: TestClient, body: dict[str, Any], language: str, rounds: int) -> str:
    headers = {"Accept-Language": language}
    for _ in range(10):
        client.post("/graphql", json=body, headers=headers)
    samples = []
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.post("/graphql", json=body, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        size = len(response.content)
    samples.sort()
    p99 = samples[max(0, int(len(samples) * 0.99) - 1)]
    return f"p50 {statistics.median(samples):.1f} ms, p99 {p99:.1f} ms, {size} bytes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--query", default="耳机", help="the search's query")
    args = parser.parse_args()
    base = load_settings()
    cache_off = base.cache.model_copy(update={"enabled": False})
    for synonyms in (None, ""):
        settings = base.model_copy(update={"cache": cache_off, "search_synonyms_file": synonyms})
        with TestClient(create_app(settings)) as client:
            for language in ("en", "zh-CN"):
                if synonyms is None:
                    figures = _timed(client, {"query": LISTING}, language, args.rounds)
                    print(f"listing of 20, {language}: {figures}")
                body = {"query": SEARCH, "variables": {"q": args.query}}
                figures = _timed(client, body, language, args.rounds)
                which = "shipped synonyms" if synonyms is None else "no synonyms"
                print(f"search {args.query!r} ({which}), {language}: {figures}")


if __name__ == "__main__":
    main()
