"""The shared cache: entity read-through behind the loaders, invalidation across processes,
persisted queries and whole-response caching. Redis when configured, else in-process.

Redis is only ever a cache: flushing it loses nothing, and when it is slow or down the
gateway serves from the sources and says so in /readyz and /metrics, never to a buyer.
"""
