"""Query and mutation resolvers, one module per domain: read arguments, ask loaders or
domain services, map records to types. No rules about money or stock live here."""
