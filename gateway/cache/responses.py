"""Whole-response cache for buyers' storefront queries (anonymous or signed in: see front.py).

A response is stored under a hash of its query, operation name, variables, the shop's
stock visibility (what buyers are shown of stock counts; gateway/stock) and the language
it is answered in (gateway/i18n), and tagged
with every entity key it read, so the invalidation that drops an entity also drops every
response that showed it. It lives no longer than the shortest-lived data in it (a response
with stock lives a few seconds). Only queries whose root fields are catalog browsing
(``product``, ``products``, ``categories``) qualify: ``node`` can reach a cart. Responses
with errors, for staff, and mutations are never stored.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
)

from .cdn import surrogate_tags
from .entities import ReadThrough
from .keys import Kind
from .tags import ReadSet

BROWSING_FIELDS = frozenset({"product", "products", "categories", "__typename"})
MAX_DOCUMENTS = 2000


@dataclass(frozen=True)
class CachedResponse:
    body: bytes
    ttl: float  # how long this gateway keeps it (capped by RESPONSE_CACHE_TTL_SECONDS)
    cdn_ttl: float  # the shortest TTL of what it shows: how long a purged CDN may keep it
    tags: tuple[str, ...]  # its entities and kinds, for a CDN's purge by tag (cdn.py)
    shows_language: bool = False  # it showed translated text: Content-Language on a hit too

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


class ResponseCache:
    def __init__(self, cache: ReadThrough, variant: str = "") -> None:
        self.cache = cache.cache
        # What else an anonymous answer depends on (the shop's stock visibility): a process
        # configured otherwise never serves another's answers from the shared store.
        self.variant = variant.encode()
        self._browsing: OrderedDict[tuple[str, str | None], bool] = OrderedDict()

    def is_browsing(self, query: str, operation_name: str | None) -> bool:
        """A query whose selected operation reads only catalog root fields."""
        memo_key = (query, operation_name)
        known = self._browsing.get(memo_key)
        if known is None:
            known = _is_browsing(query, operation_name)
            self._browsing[memo_key] = known
            if len(self._browsing) > MAX_DOCUMENTS:
                self._browsing.popitem(last=False)
        return known

    def key(
        self, query: str, operation_name: str | None, variables: object, language: str = ""
    ) -> str:
        """``language``: the one the request is answered in (gateway/i18n); part of every
        key, so an answer in zh-CN is never served to a request for en."""
        variables_json = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(
            query.encode()
            + b"\0"
            + (operation_name or "").encode()
            + b"\0"
            + variables_json
            + b"\0"
            + self.variant
            + b"\0"
            + language.encode()
        ).hexdigest()
        return self.cache.keys.key(Kind.RESPONSE, digest)

    async def get(self, key: str) -> CachedResponse | None:
        data = (await self.cache.get_many([key])).get(key)
        if data is None:
            return None
        head, _, body = data.partition(b"\n")
        try:
            meta = orjson.loads(head)
            return CachedResponse(
                body,
                float(meta["ttl"]),
                float(meta["cdn"]),
                tuple(meta["tags"]),
                bool(meta.get("lang", False)),
            )
        except (orjson.JSONDecodeError, TypeError, KeyError, ValueError):
            return None  # written by an older version: answer it afresh

    def ttl_for(self, reads: ReadSet) -> float:
        return min(self.cache.keys.ttl(Kind.RESPONSE), self.cdn_ttl_for(reads))

    def cdn_ttl_for(self, reads: ReadSet) -> float:
        keys = self.cache.keys
        return min([keys.ttl(Kind.PRODUCT), *(keys.ttl(kind) for kind in reads.kinds)])

    async def put(
        self, key: str, body: bytes, reads: ReadSet, shows_language: bool = False
    ) -> CachedResponse | None:
        ttl = self.ttl_for(reads)
        if ttl <= 0 or not reads.is_cacheable:
            return None
        cached = CachedResponse(
            body,
            ttl,
            self.cdn_ttl_for(reads),
            tuple(surrogate_tags(self.cache.keys, reads.keys, reads.kinds)),
            shows_language,
        )
        keys = self.cache.keys
        tags = {keys.key(Kind.TAG, entity_key): [key] for entity_key in reads.keys}
        for kind in reads.kinds:
            tags[keys.key(Kind.TAG, f"kind:{kind.value}")] = [key]
        # Tags first: a purge racing this write then finds the response, or no response.
        await self.cache.backend.add_members(tags, ttl + 1)
        meta = orjson.dumps(
            {"ttl": ttl, "cdn": cached.cdn_ttl, "tags": cached.tags, "lang": shows_language}
        )
        await self.cache.set_many({key: meta + b"\n" + body}, ttl)
        return cached


def _is_browsing(query: str, operation_name: str | None) -> bool:
    try:
        document = parse(query)
    except GraphQLError:
        return False
    operation = _operation(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return False
    selections = operation.selection_set.selections
    return all(isinstance(s, FieldNode) and s.name.value in BROWSING_FIELDS for s in selections)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == name), None)
