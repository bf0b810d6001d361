"""The ASGI entry point for uvicorn workers: settings from the environment."""

import gc

from .app import create_app
from .settings import load_settings

app = create_app(load_settings())

# What a worker holds from here on (modules, the schema, the app) lives as long as the
# process: out of the collector's generations, a full collection no longer walks it.
# Garbage is collected first so that none of it is kept for good. A young collection then
# waits for 2,000 new container objects instead of 700: a request's objects are mostly
# freed by their reference counts before it comes, so fewer survive into the older
# generations to be scanned again (both measured in docs/checkout-performance.md, seventh
# pass). Only the worker's entry point does this: tests and benches that build many apps in
# one process would keep every frozen app's cycles.
gc.collect()
gc.freeze()
gc.set_threshold(2000, 10, 10)
