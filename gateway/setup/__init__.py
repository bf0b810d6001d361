"""Setting a shop up and keeping its databases current: ``gateway migrate``, the start-up
check that ``serve`` and ``source serve`` make, and ``gateway init``."""
