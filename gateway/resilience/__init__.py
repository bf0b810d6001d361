"""Back-end faults: per-call timeouts, a circuit breaker per source, stale-if-error for
catalog reads, and partial data (only the fields that need a failing source are lost)."""
