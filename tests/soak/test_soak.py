"""The soak's short version (30 s; `make soak` runs three minutes): mixed storefront load on
PostgreSQL and a private Redis that is killed and restarted, the pricing source away for a
while, every database connection terminated once; afterwards the shop adds up, at least 99%
of storefront reads during the pricing outage had data and no order was placed in it (see
bench/soak.py)."""

from __future__ import annotations

import os
import shutil

import pytest

from bench.soak import run_soak
from tests.conftest import INVARIANT, require_postgres

pytestmark = [
    pytest.mark.load_sensitive,  # tests/conftest.py: run again if the machine made it miss
    pytest.mark.long(seconds=60),  # tests/ordering.py: started first on a worker
]


def test_thirty_seconds_of_mixed_load_with_faults_loses_nothing() -> None:
    require_postgres()
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server is not installed")
    result = run_soak(seconds=30, users=4, products=60)
    print("\n" + result.report())
    assert not result.violations, f"{INVARIANT} {result.violations}"
    assert not any(status >= 500 for status in result.tally.statuses), result.report()
    sold = result.counts["units_ordered"] == result.counts["units_held_or_sold"]
    assert sold, f"{INVARIANT} {result.counts}"
    assert result.counts["holds_pending"] == 0, f"{INVARIANT} {result.counts}"
    assert result.tally.orders > 0, result.report()
    assert len(result.chaos) == 4, result.chaos
    assert result.outage.reads(result.tally)[1] > 0, result.report()
    assert result.outage_answered >= 0.99, result.report()
    assert result.outage.orders(result.tally) == 0, result.report()
