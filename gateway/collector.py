"""The cyclic garbage collector while a process starts.

Importing the gateway builds a heap of a few hundred thousand long-lived objects (modules,
classes, the schema, SQLAlchemy's tables), and the collector walks that growing heap again
and again while it grows: about 400 young, 36 middle and 3 full collections, 0.2 s of the
1.3-1.5 s of CPU that importing ``gateway.app`` costs, and 10-16 % of a short command such
as ``gateway token`` or ``gateway migrate`` (docs/development.md, "Where the suite's CPU
went"). Nothing imported is garbage, so those passes free next to nothing. The same heap
is walked once more when the process exits (the interpreter's last collection): 0.3 s of
CPU for a process that imported ``gateway.app``, unless it was frozen first (``gc.freeze``:
the served app freezes it once built, gateway/asgi.py; ``python -m gateway`` before exit).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence

# Commands that start, do one small bounded thing and exit: the collector stays off for the
# whole process (what they allocate is freed when it exits). Serving, and the commands
# whose work grows with the shop's data (seed, import, search reindex, sweep, payments),
# keep it on once their modules are imported.
BRIEF_COMMANDS = frozenset({"token", "migrate", "init", "persisted"})


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No collection while the block runs (imports, building the app); the collector is
    left as it was found."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def is_brief(argv: Sequence[str]) -> bool:
    """Whether ``gateway <argv>`` is one of the brief commands (the command is the first
    argument: the parser has no options before it)."""
    return bool(argv) and argv[0] in BRIEF_COMMANDS
