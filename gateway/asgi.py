"""The ASGI entry point for uvicorn workers: settings from the environment.

Once the app is built, what is alive (the modules, the strawberry schema and its graphql-core
types, SQLAlchemy's tables and statements, the settings) lives as long as the process, so
it is moved out of the cyclic garbage collector's sight (``gc.freeze``). Without it every
full collection walked that whole heap again (about 240,000 objects, 160-200 ms of CPU
each): a 50-product listing allocates enough that a full collection came every ~20
requests at c=16, and the collector took 10-12 ms of the listing's 30 ms of CPU per
request (bench/RESULTS.md, "The collector and the last-known copies"); a checkout spent
about 4 ms per order in it (docs/checkout-performance.md, "The collector settings").

The youngest generation is collected once 10,000 new container objects outlive their frees
(700 by default). A request's path leaves no cyclic garbage (the executor's and the
loaders' cycles are broken, bench/RESULTS.md, "The collector and the last-known copies"),
so a young collection frees next to nothing: it walks the objects of the requests in flight
and moves them up a generation, pure cost. A higher threshold makes the pauses rarer, and
longer only up to the objects in flight: in process, 16 listings at a time, the collector
took 1.0 ms of a listing's CPU at 2,000 (longest pauses 5 ms young, 10 ms middle) and 0.35
ms at 10,000 (17 ms young, 9 ms middle; 20,000 and 50,000 paused no longer, 14-20 ms):
bench/RESULTS.md, "The collector and the last-known copies". (At 7,000 the checkout's
middle-generation pauses once reached 80 ms, docs/checkout-performance.md, "Tried and not
kept": that was while the executor's cycle still kept every request's records for the
collector.) Only the served process does this (tests build apps by the hundred in one
process and leave them to the collector).
"""

import gc

from .collector import paused

# No collection while the app's modules are imported and the app is built: the collector's
# passes over that growing heap were a sixth of this import's CPU (gateway/collector.py).
with paused():
    from .app import create_app
    from .settings import load_settings

    app = create_app(load_settings())
    # This process exits once the app has shut down: the shutdown closes what cancelled
    # SQLite calls left open (Sources.close), or the database's log would outlive it.
    app.state.process_exits_after_shutdown = True
    # Frozen as it is, garbage included: what import and set-up leave is about 2,200 objects
    # (0.4 MB: the classes dataclass(slots=True) replaced, closures), and finding them is a
    # collection of all 305,000 objects, 0.14 s of this process's start
    # (gateway/collector.py).
    gc.freeze()
gc.set_threshold(10_000, 10, 10)
