"""The checkout's rules as plain Python: what a cart costs, what is wrong with it, and the
order placement saga. Everything here reads the sources of truth, never the cache, and
knows nothing of GraphQL."""
