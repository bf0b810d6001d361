import gc
import sys

from .collector import is_brief, paused

with paused():
    from .cli import main
if is_brief(sys.argv[1:]):
    gc.disable()  # gateway/collector.py: off for the whole of a brief command

sys.exit(main())
