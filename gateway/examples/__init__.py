"""The reference storefront (/shop) and back office (/backoffice): browser pages written only
against the public GraphQL API, served by the gateway when GATEWAY_EXAMPLES is on.

Their files live in examples/ at the repository's root; this package builds, holds and
serves them. Its __init__ imports nothing: ``python -m gateway.examples.build`` runs before
the project's dependencies are installed.
"""
