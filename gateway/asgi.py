"""The ASGI entry point for uvicorn workers: settings from the environment.

Once the app is built, what is alive (the modules, the strawberry schema and its graphql-core
types, SQLAlchemy's tables and statements, the settings) lives as long as the process, so
it is moved out of the cyclic garbage collector's sight (``gc.freeze``). Without it every
full collection walked that whole heap again: a 50-product listing allocates enough that
a full collection came every ~20 requests at c=16, and the collector took 10-12 ms of the
listing's 30 ms of CPU per request (in-process, bench/RESULTS.md, issue 17). The youngest
generation is collected once 5,000 new container objects outlive their frees (700 by
default): a listing makes tens of thousands of short-lived objects, most freed by
reference counting before that, and the collector's time per listing at c=16 halved again
(3.4-5.4 -> 1.8-2.7 ms). Only the served process does this (tests build apps by the
hundred in one process and leave them to the collector).
"""

import gc

from .app import create_app
from .settings import load_settings

app = create_app(load_settings())
gc.collect()  # what import and set-up left as garbage is freed, not frozen
gc.freeze()
gc.set_threshold(5000, 10, 10)
