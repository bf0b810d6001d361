"""The ASGI entry point for uvicorn workers: settings from the environment."""

import gc

from .app import create_app
from .settings import load_settings

app = create_app(load_settings())

# What a worker holds from here on (modules, the schema, the app) lives as long as the
# process: out of the collector's generations, a full collection no longer walks it
# (measured in docs/checkout-performance.md, seventh pass). Garbage is collected first so
# that none of it is kept for good. Only the worker's entry point does this: tests and
# benches that build many apps in one process would keep every frozen app's cycles.
gc.collect()
gc.freeze()
