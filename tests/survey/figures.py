"""Print the coverage / error-rate figures of issue 9 (items 3-8) for the code on the path.

    cd /work/wt-stats && PYTHONPATH=$PWD/src:$PWD python tests/survey/figures.py 3 4 5 6 7 8

With the source of an older commit first on PYTHONPATH (``git archive <rev> src | tar -x
-C /tmp/old``, then ``PYTHONPATH=/tmp/old/src:$PWD``) it prints the figures before the
fixes (item 4 compares two functions that both exist after the fix). Not collected by
pytest; the bounded versions of these simulations are tests/survey/test_error_rates.py.
"""

from __future__ import annotations

import sys
import time

from tests.survey import simulations as s

which = sys.argv[1:]
start = time.time()
if "3" in which:
    for n in (10, 20):
        print(f"item3 simultaneous coverage n_items={n}:", s.simultaneous_coverage(n, 200, 3), flush=True)
if "4" in which:
    from tests.stats.test_clustered_t import _coverage

    for skewed in (False, True):
        for n in (10, 20):
            boot, cr1 = _coverage(n, 600, 4, "bootstrap", skewed), _coverage(n, 600, 4, "t", skewed)
            print(f"item4 skewed={skewed} n_items={n}: percentile bootstrap {boot:.3f}, CR1 t(G-1) {cr1:.3f}", flush=True)
if "5" in which:
    print("item5 reversed-significantly rate under 3-way tie, 20 items:", s.reversed_rate_under_tie(20, 200, 5), flush=True)
if "6" in which:
    print("item6 P(stable) under null, 31 items, 8 conditions:", s.stable_rate_under_null(200, 6), flush=True)
if "7" in which:
    print("item7 P(any specific) 4 null targets, 20 items:", s.any_specific_rate(200, 7), flush=True)
if "8" in which:
    print("item8 P(extrapolates) under null (model = uniform reference + noise):", s.extrapolates_rate_under_null(200, 8), flush=True)
    print("item8 r over 30 split seeds (min, max, n verdicts):", s.split_seed_spread(30, 8), flush=True)
print("seconds", round(time.time() - start, 1))
