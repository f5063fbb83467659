"""The soak's test slice: 200 agents for 45 seconds (20 minutes in `make test-long`), zero errors, flat RSS.

`python -m bench.soak` is the full version; this runs the same code for less time and asserts what
its summary reports: no errors, every send delivered, and RSS growth after the first window within
the budget.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import soak

LONG = os.environ.get("ENVOY_TEST_LONG") == "1"
SECONDS = 20 * 60.0 if LONG else 45.0
WINDOW = 60.0 if LONG else 15.0


@pytest.mark.slow
@pytest.mark.timeout(SECONDS + 180)
async def test_200_agents_of_mixed_load_with_no_errors_and_flat_memory(tmp_path: Path) -> None:
    result = await soak.run(tmp_path / "data", SECONDS, agents=200, window=WINDOW, think=2.0)
    print(result.summary())

    assert not result.errors, result.summary()
    assert result.sent > 0 and sum(w.delivered for w in result.windows) >= result.sent
    start, _end, peak = result.rss_mb()
    assert peak - start < soak.RSS_GROWTH_BUDGET_MB, result.summary()
    assert all(w.latencies["send"] for w in result.windows), "a window with no sends: the load stalled"
