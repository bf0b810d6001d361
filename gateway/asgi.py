"""The ASGI entry point for uvicorn workers: settings from the environment.

Once the app is built, what is alive (the modules, the strawberry schema and its graphql-core
types, SQLAlchemy's tables and statements, the settings) lives as long as the process, so
it is moved out of the cyclic garbage collector's sight (``gc.freeze``). Without it every
full collection walked that whole heap again (about 240,000 objects, 160-200 ms of CPU
each): a 50-product listing allocates enough that a full collection came every ~20
requests at c=16, and the collector took 10-12 ms of the listing's 30 ms of CPU per request
(bench/RESULTS.md, issue 17); a checkout spent about 4 ms per order in it
(docs/checkout-performance.md, seventh pass). The youngest generation is collected once
2,000 new container objects outlive their frees (700 by default): a request's objects are
mostly freed by their reference counts before that, so fewer survive into the older
generations to be scanned again. A higher threshold cut the listing's collector time
further (5,000: 1.8-2.7 ms per listing) but let the middle generation's pauses grow (7,000:
up to 80 ms, against 16 ms at 2,000): 2,000 keeps the tail short. Only the served process
does this (tests build apps by the hundred in one process and leave them to the collector).
"""

import gc

from .app import create_app
from .settings import load_settings

app = create_app(load_settings())
# This process exits once the app has shut down: the shutdown closes what cancelled SQLite
# calls left open (Sources.close), or the database's log would outlive the process.
app.state.process_exits_after_shutdown = True
gc.collect()  # what import and set-up left as garbage is freed, not frozen
gc.freeze()
gc.set_threshold(2000, 10, 10)
