"""Persisted queries: Apollo's Automatic Persisted Queries, and an optional allow-list.

APQ: a client sends ``extensions.persistedQuery.sha256Hash`` alone; an unknown hash gets
``PersistedQueryNotFound`` and the client resends with the query, which is then stored in
the cache (a flush only costs that one round trip again). The allow-list is a file written
by ``gateway persisted add FILE``; with PERSISTED_QUERIES_ONLY=true nothing else runs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson

from .entities import ReadThrough
from .keys import Kind

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> dict[str, Any]:
        return {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def read_operations(path: Path) -> dict[str, str]:
    """Operations of a client: an Apollo persisted-query manifest, a ``{hash: query}``
    map, or one GraphQL document (hashed as it is sent)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".json":
        return {sha256(text): text}
    data = json.loads(text)
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        bodies = [str(op["body"]) for op in data["operations"]]
        return {sha256(body): body for body in bodies}
    if isinstance(data, dict):
        for key, body in data.items():
            if sha256(str(body)) != key:
                raise ValueError(f"{path}: the hash {key} does not match its query")
        return {str(k): str(v) for k, v in data.items()}
    raise ValueError(f"{path}: not a persisted-query manifest")


def load_allow_list(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def add_to_allow_list(path: Path, operations: dict[str, str]) -> int:
    """Merge operations into the allow-list file; returns how many were new."""
    current = load_allow_list(path)
    new = len(set(operations) - set(current))
    current.update(operations)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return new


class PersistedQueries:
    def __init__(
        self, cache: ReadThrough | None, allow_list: dict[str, str], *, only: bool
    ) -> None:
        self.cache = cache
        self.allow_list = allow_list
        self.only = only
        self._local: dict[str, str] = {}  # without a cache: this process's own, bounded
        self._max_local = 5000

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The query to run (None when the request carries none: let GraphQL say so)."""
        persisted = (extensions or {}).get("persistedQuery")
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if digest is None:
            if self.only and (query is None or sha256(query) not in self.allow_list):
                raise PersistedQueryError(
                    NOT_ALLOWED, "only registered persisted queries are accepted", 400
                )
            return query
        digest = str(digest)
        if query is not None:
            if sha256(query) != digest:
                raise PersistedQueryError(MISMATCH, "provided sha does not match query", 400)
            if self.only and digest not in self.allow_list:
                raise PersistedQueryError(NOT_ALLOWED, "this query is not registered", 400)
            await self._remember(digest, query)
            return query
        known = self.allow_list.get(digest)
        if known is None and not self.only:
            known = await self._recall(digest)
        if known is None:
            raise PersistedQueryError(NOT_FOUND, "PersistedQueryNotFound", 200)
        return known

    async def _remember(self, digest: str, query: str) -> None:
        if digest in self.allow_list:
            return
        if self.cache is None:
            if len(self._local) < self._max_local:
                self._local[digest] = query
            return
        key = self.cache.cache.keys.key(Kind.DOCUMENT, digest)
        ttl = self.cache.cache.keys.ttl(Kind.DOCUMENT)
        await self.cache.cache.set_many({key: orjson.dumps(query)}, ttl)

    async def _recall(self, digest: str) -> str | None:
        if self.cache is None:
            return self._local.get(digest)
        key = self.cache.cache.keys.key(Kind.DOCUMENT, digest)
        found = (await self.cache.cache.get_many([key])).get(key)
        return None if found is None else str(orjson.loads(found))
