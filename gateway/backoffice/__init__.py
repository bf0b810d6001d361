"""Back-office writes as plain Python: validate, write the source of truth (audited),
then refresh what other sources derive from it. No GraphQL here."""
