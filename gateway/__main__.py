import gc
import sys

from .collector import is_brief, paused

with paused():
    from .cli import main
if is_brief(sys.argv[1:]):
    gc.disable()  # gateway/collector.py: off for the whole of a brief command

try:
    sys.exit(main())
finally:
    # gateway/collector.py: the interpreter's last collection, at exit, would otherwise
    # walk every object the process imported once more.
    gc.freeze()
