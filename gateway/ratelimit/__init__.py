"""Rate limiting per viewer and per query cost (token buckets in Redis, or in-process)."""
