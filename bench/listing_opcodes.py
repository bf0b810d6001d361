"""The signed-in listing's Python bytecode, counted by function: where the gateway's own
work is, against the floor's, in a minute and without valgrind.

``python -m bench.listing_opcodes SIDE [--top N] [--save PATH] [--against PATH]``

SIDE as in bench.listing_instructions (``gateway``, ``floor``, ...), run the same way
(straight through ASGI, 64 requests 16 at a time, the bench's settings, uvloop), but with
``sys.settrace`` counting every bytecode instruction the main thread executes during one
round, per function (file and name). The count does not move with the machine's load
(it repeats exactly from run to run), and it says which Python function does the work,
where callgrind's own figures name only the interpreter's C functions. It does not see
the work done in C (dicts, lists, orjson, the drivers): callgrind's totals stay the
figure; this says where to look. ``--save`` writes the counts (JSON); ``--against``
prints, function by function, this side's count less the saved one's (run the floor with
``--save``, then the gateway with ``--against``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from . import listing_instructions, servers

COUNTS: collections.Counter[str] = collections.Counter()


def _tracer(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
    frame.f_trace_opcodes = True
    code = frame.f_code
    key = f"{_short(code.co_filename)}::{code.co_name}"

    def opcode(frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        if event == "opcode":
            COUNTS[key] += 1
        return opcode

    return opcode


def _short(filename: str) -> str:
    """A library's file from its package folder, the project's from the tree."""
    found = _LIBRARY.search(filename)
    if found is not None:
        return filename[found.end() :]
    return os.path.relpath(filename) if filename.startswith("/") else filename


_LIBRARY = re.compile(r"/(site-packages|lib/python3\.\d+)/")


def _switch(state: str) -> None:
    """listing_instructions' instrumented round, with the tracer for valgrind."""
    sys.settrace(_tracer if state == "on" else None)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.listing_opcodes")
    parser.add_argument("side", choices=("gateway", "floor", "typename", "healthz"))
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--save", help="write the counts per function (JSON)")
    parser.add_argument("--against", help="print the difference from counts saved before")
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith(servers.SCRUBBED_PREFIXES)]:
        del os.environ[name]
    os.environ.update(servers.VARIANT_ENV["gateway"])
    os.environ.update(servers._LANGUAGE)
    os.environ.update(servers._LIMITS)
    os.environ["SOURCE_READ_TIMEOUT_SECONDS"] = "600"  # tracing's pace is no outage
    listing_instructions._served_refresh()
    listing_instructions._switch_callgrind = _switch  # type: ignore[assignment]
    import uvloop

    uvloop.install()
    asyncio.run(listing_instructions.measure(args.side, 1, "callgrind"))
    requests = listing_instructions.REQUESTS
    per = {key: count / requests for key, count in COUNTS.items()}
    print(f"{args.side}: {sum(per.values()):,.0f} bytecode instructions per request")
    if args.save:
        with open(args.save, "w") as out:
            json.dump(per, out, indent=0, sort_keys=True)
    shown = per
    if args.against:
        with open(args.against) as saved:
            before: dict[str, float] = json.load(saved)
        print(f"  less {sum(before.values()):,.0f} ({args.against})")
        shown = {k: per.get(k, 0.0) - before.get(k, 0.0) for k in per.keys() | before.keys()}
    for key, count in sorted(shown.items(), key=lambda item: -abs(item[1]))[: args.top]:
        print(f"  {count:10,.0f}  {key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
