"""GraphiQL served by the gateway itself: its JavaScript and CSS from the gateway's own
origin (no CDN, so it works offline and under a strict Content-Security-Policy), opening on
example operations that run on the demo shop.

This package's __init__ imports nothing: ``python -m gateway.graphiql.build`` runs before the
project's dependencies are installed.
"""
