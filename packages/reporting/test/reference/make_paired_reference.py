#!/usr/bin/env python3
"""Reference values for packages/reporting's paired statistics (stats-paired.ts), from scipy / statsmodels.

Run:  /usr/bin/python3 packages/reporting/test/reference/make_paired_reference.py > packages/reporting/test/reference/paired-reference.json
(Debian's python3-scipy 1.10, python3-statsmodels 0.13.) CI has no scipy: the jest tests read the committed JSON.
- McNemar: statsmodels' mcnemar(table, exact=True) and scipy.stats.binomtest(b, b + c, 0.5) (two-sided) agree; both are kept.
- Paired bootstrap: scipy.stats.bootstrap((a, b), mean(a) - mean(b), paired=True, method='percentile'). Its resamples come
  from numpy's generator, not ours, so the TypeScript interval matches within Monte-Carlo error (checked at 0.015).
"""
import json
import sys

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

MCNEMAR_CASES = [(3, 12), (0, 0), (0, 5), (7, 7), (1, 20), (12, 3), (50, 70), (400, 450), (0, 1), (13, 30)]


def mcnemar_cases():
    out = []
    for b, c in MCNEMAR_CASES:
        table = [[10, b], [c, 10]]
        sm = mcnemar(table, exact=True).pvalue
        sp = stats.binomtest(b, b + c, 0.5).pvalue if b + c > 0 else 1.0
        out.append({"b": b, "c": c, "pValue": float(sm), "scipyBinomtest": float(sp)})
    return out


def bootstrap_cases():
    rng = np.random.default_rng(20261201)
    out = []
    for n, pa, pb, corr in [(60, 0.8, 0.65, 0.5), (200, 0.7, 0.72, 0.8), (40, 0.95, 0.6, 0.3), (500, 0.5, 0.45, 0.6)]:
        shared = rng.random(n)
        own_a = rng.random(n)
        own_b = rng.random(n)
        ua = np.where(rng.random(n) < corr, shared, own_a)
        ub = np.where(rng.random(n) < corr, shared, own_b)
        a = (ua < pa).astype(int)
        b = (ub < pb).astype(int)
        res = stats.bootstrap((a, b), lambda x, y: np.mean(x) - np.mean(y), paired=True, vectorized=False,
                              method="percentile", n_resamples=20000, confidence_level=0.95,
                              random_state=np.random.default_rng(n))
        out.append({
            "a": a.tolist(), "b": b.tolist(), "difference": float(np.mean(a) - np.mean(b)),
            "lower": float(res.confidence_interval.low), "upper": float(res.confidence_interval.high),
        })
    return out


json.dump({
    "generatedBy": "packages/reporting/test/reference/make_paired_reference.py",
    "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__},
    "mcnemar": mcnemar_cases(),
    "pairedBootstrap": bootstrap_cases(),
}, sys.stdout, indent=1)
sys.stdout.write("\n")
