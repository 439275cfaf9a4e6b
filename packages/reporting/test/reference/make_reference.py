#!/usr/bin/env python3
"""Reference values for packages/reporting's statistics, computed with scipy / statsmodels / sklearn.

Run:  /usr/bin/python3 packages/reporting/test/reference/make_reference.py > packages/reporting/test/reference/reference.json
(Debian's python3-scipy 1.10, python3-statsmodels 0.13, python3-sklearn 1.2.) CI has no scipy: the jest tests read the
committed JSON. Where no library implements the method (DeLong's AUROC variance, the risk-coverage curve, the
Spearman interval), the value comes from a direct implementation written here from the paper's definition, a different
formulation from the TypeScript one (DeLong: the O(n1*n0) kernel of DeLong 1988, not Sun & Xu's midranks).
Non-finite numbers are written as the strings "Infinity", "-Infinity" and "NaN".
"""
import itertools
import json
import math
import sys
import warnings

import numpy as np
import scipy
import sklearn
import statsmodels
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score
import statsmodels.api as sm
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.tools.sm_exceptions import PerfectSeparationError

warnings.simplefilter("ignore")


def enc(v):
    if isinstance(v, (list, tuple)):
        return [enc(x) for x in v]
    if isinstance(v, dict):
        return {k: enc(x) for k, x in v.items()}
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "Infinity" if f > 0 else "-Infinity"
        return f
    return v


def wilson_cases():
    out = []
    for k, n, level in [(9, 9, 0.95), (1, 9, 0.95), (0, 1, 0.95), (0, 9, 0.95), (5, 5, 0.95), (56, 70, 0.95),
                        (48, 80, 0.95), (3, 10, 0.90), (3, 10, 0.99), (1, 1, 0.95), (50, 100, 0.95), (0, 200, 0.95)]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
        out.append({"k": k, "n": n, "level": level, "lower": ci.low, "upper": ci.high})
    return out


def newcombe_cases():
    out = []
    for x1, n1, x2, n2, level in [(56, 70, 48, 80, 0.95), (9, 9, 1, 9, 0.95), (5, 5, 0, 1, 0.95), (0, 1, 5, 5, 0.95),
                                  (0, 10, 0, 10, 0.95), (10, 10, 10, 10, 0.95), (31, 42, 50, 54, 0.95),
                                  (3, 7, 4, 9, 0.90), (1, 2, 0, 3, 0.99)]:
        lo, hi = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff", alpha=1 - level)
        out.append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "level": level, "difference": x1 / n1 - x2 / n2,
                    "lower": lo, "upper": hi})
    return out


def fisher_cases():
    out = []
    for x1, n1, x2, n2 in [(0, 1, 5, 5), (1, 9, 9, 9), (31, 42, 50, 54), (56, 70, 48, 80), (0, 10, 0, 10), (3, 7, 4, 9)]:
        _, p = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]])
        out.append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "pValue": p})
    return out


def holm_cases():
    out = []
    for ps in [[0.01, 0.04, 0.03, 0.005], [0.5, 0.5, 0.5], [0.001], [0.02, 0.9, 0.01, 0.04, 0.03], [1.0, 0.0, 0.2],
               [0.04, 0.04, 0.04]]:
        _, adj, _, _ = multipletests(ps, method="holm")
        out.append({"p": ps, "adjusted": list(adj)})
    return out


def cmh_cases():
    cases = {
        "three_strata": [[[2, 5], [3, 6]], [[3, 4], [2, 7]], [[5, 1], [1, 5]]],
        "xstest_like": [[[4, 1], [2, 6]], [[0, 3], [1, 5]], [[2, 2], [1, 1]], [[3, 0], [0, 4]]],
        "null_effect": [[[5, 5], [5, 5]], [[2, 2], [3, 3]]],
        "one_stratum": [[[7, 3], [2, 8]]],
        "zero_cells": [[[3, 0], [0, 3]], [[2, 0], [1, 2]]],
    }
    out = []
    for name, tables in cases.items():
        st = StratifiedTable([np.array(t, dtype=float) for t in tables])
        r = st.test_null_odds(correction=False)
        out.append({"name": name, "tables": tables, "statistic": r.statistic, "pValue": r.pvalue,
                    "commonOddsRatio": st.oddsratio_pooled})
    return out


def logit_fit(X, y):
    """statsmodels Logit with an intercept; converged False when statsmodels reports separation or non-convergence."""
    exog = sm.add_constant(np.asarray(X, dtype=float), has_constant="add")
    try:
        res = sm.Logit(np.asarray(y, dtype=float), exog).fit(disp=0, method="newton", maxiter=100)
    except (PerfectSeparationError, np.linalg.LinAlgError) as e:
        return {"converged": False, "reason": type(e).__name__}
    conv = bool(res.mle_retvals["converged"])
    if not conv:
        return {"converged": False, "reason": "not converged"}
    return {"converged": True, "params": list(res.params), "bse": list(res.bse), "pvalues": list(res.pvalues)}


def logistic_cases():
    rng = np.random.default_rng(17)
    x50 = rng.uniform(0, 1, 50)
    y50 = (rng.uniform(0, 1, 50) < 1 / (1 + np.exp(-(-1 + 3 * x50)))).astype(int)
    len50 = rng.integers(40, 400, 50)
    single = {
        "small": ([0.1, 0.4, 0.35, 0.8, 0.6, 0.2, 0.9, 0.55], [0, 0, 1, 1, 1, 0, 1, 0]),
        "random50": (list(x50), list(y50)),
        "perfect_separation": ([0.1, 0.2, 0.3, 0.6, 0.7, 0.9], [0, 0, 0, 1, 1, 1]),
        "quasi_separation": ([0.1, 0.2, 0.5, 0.5, 0.7, 0.9], [0, 0, 0, 1, 1, 1]),
        "all_same_outcome": ([0.1, 0.2, 0.3, 0.4], [1, 1, 1, 1]),
        "constant_predictor": ([0.5, 0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1, 1]),
    }
    out = {"single": [], "multi": []}
    for name, (x, y) in single.items():
        r = logit_fit(np.asarray(x)[:, None], y)
        out["single"].append({"name": name, "x": x, "y": y, **r})
    multi = {
        "random50_with_length": ([[a, b] for a, b in zip(x50, len50)], list(y50)),
        "small_two": ([[0.1, 12], [0.4, 30], [0.35, 8], [0.8, 40], [0.6, 22], [0.2, 35], [0.9, 9], [0.55, 27],
                       [0.3, 15], [0.7, 33], [0.45, 20], [0.65, 11]], [0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0]),
        "separated_two": ([[0.1, 5], [0.2, 7], [0.3, 6], [0.6, 9], [0.7, 8], [0.9, 4]], [0, 0, 0, 1, 1, 1]),
    }
    for name, (X, y) in multi.items():
        r = logit_fit(X, y)
        out["multi"].append({"name": name, "X": X, "y": y, **r})
    return out


def delong_direct(scores, labels, level):
    """DeLong, DeLong & Clarke-Pearson (1988) from the definition: psi(X, Y) = 1 if X > Y, 1/2 if equal, 0 if less."""
    pos = [s for s, l in zip(scores, labels) if l]
    neg = [s for s, l in zip(scores, labels) if not l]
    m, n = len(pos), len(neg)
    psi = lambda a, b: 1.0 if a > b else (0.5 if a == b else 0.0)
    v10 = [sum(psi(x, y) for y in neg) / n for x in pos]
    v01 = [sum(psi(x, y) for x in pos) / m for y in neg]
    auc = sum(v10) / m
    s10 = sum((v - auc) ** 2 for v in v10) / (m - 1) if m > 1 else float("nan")
    s01 = sum((v - auc) ** 2 for v in v01) / (n - 1) if n > 1 else float("nan")
    var = s10 / m + s01 / n
    z = stats.norm.ppf(1 - (1 - level) / 2)
    se = math.sqrt(var) if var == var else float("nan")
    lo, hi = (max(0.0, auc - z * se), min(1.0, auc + z * se)) if se == se else (float("nan"), float("nan"))
    return auc, var, lo, hi


def auroc_cases():
    rng = np.random.default_rng(5)
    s60 = np.round(rng.normal(0, 1, 60), 1)
    l60 = (rng.uniform(0, 1, 60) < 1 / (1 + np.exp(-1.2 * s60))).astype(bool)
    cases = {
        "small": ([0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2], [True, True, False, True, False, True, False, False]),
        "ties": ([1, 1, 1, 0.5, 0.5, 0.2, 1, 0.5, 0.2, 0.2], [True, True, False, True, False, False, True, True, False, False]),
        "random60_rounded": (list(s60), list(l60)),
        "perfect": ([0.1, 0.2, 0.3, 0.8, 0.9], [False, False, False, True, True]),
        "all_equal": ([0.5] * 6, [True, False, True, False, True, False]),
        "one_positive": ([0.1, 0.5, 0.9], [False, True, False]),
    }
    out = []
    for name, (s, l) in cases.items():
        auc, var, lo, hi = delong_direct(s, l, 0.95)
        out.append({"name": name, "scores": list(s), "labels": [bool(v) for v in l], "level": 0.95,
                    "sklearnAuc": roc_auc_score(l, s), "auc": auc, "variance": var, "lower": lo, "upper": hi})
    return out


def calibration_cases():
    rng = np.random.default_rng(9)
    p40 = np.round(rng.uniform(0.3, 1, 40), 3)
    c40 = rng.uniform(0, 1, 40) < p40
    cases = {
        "random40": (list(p40), list(c40), 10),
        "vote_shares": ([1.0, 1.0, 1.0, 0.75, 0.75, 0.625, 0.5, 1.0, 0.875, 0.55], [True, True, False, True, False,
                        True, False, True, True, False], 10),
        "five_bins": ([0.05, 0.15, 0.33, 0.41, 0.62, 0.68, 0.95, 0.99], [False, False, True, False, True, True,
                      True, True], 5),
    }
    out = []
    for name, (p, c, bins) in cases.items():
        p_arr, c_arr = np.asarray(p), np.asarray(c).astype(int)
        prob_true, prob_pred = calibration_curve(c_arr, p_arr, n_bins=bins, strategy="uniform")
        edges = np.linspace(0.0, 1.0, bins + 1)
        ids = np.searchsorted(edges[1:-1], p_arr)
        counts = np.bincount(ids, minlength=bins)
        nonempty = counts > 0
        ece = float(np.sum(counts[nonempty] / len(p) * np.abs(prob_true - prob_pred)))
        out.append({"name": name, "probabilities": p, "correct": [bool(v) for v in c], "bins": bins, "ece": ece,
                    "binIndex": [int(i) for i in np.nonzero(nonempty)[0]], "counts": [int(v) for v in counts[nonempty]],
                    "accuracy": list(prob_true), "meanConfidence": list(prob_pred)})
    return out


def risk_coverage_cases():
    """Abstain on the least confident first; one point per distinct confidence cut (ties leave together)."""
    cases = {
        "small": ([0.9, 0.2, 0.5, 0.7, 0.5, 0.1], [True, False, True, True, False, False]),
        "ties_all_equal": ([0.5, 0.5, 0.5, 0.5], [True, False, True, True]),
    }
    out = []
    for name, (conf, correct) in cases.items():
        n = len(conf)
        pts = []
        for cut in [None] + sorted(set(conf)):
            kept = [c for s, c in zip(conf, correct) if cut is None or s > cut]
            k = len(kept)
            pts.append({"coverage": k / n, "risk": (sum(1 for c in kept if not c) / k) if k else None, "kept": k})
        out.append({"name": name, "confidences": conf, "correct": correct, "points": pts})
    return out


def spearman_cases():
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, 30)
    b = np.round(-0.4 * a + rng.normal(0, 1, 30), 1)
    cases = {"random30": (list(np.round(a, 2)), list(b)), "ties": ([1, 2, 2, 3, 4, 4, 4, 5], [3, 1, 2, 2, 5, 4, 6, 6])}
    out = []
    for name, (x, y) in cases.items():
        rho, p = stats.spearmanr(x, y)
        n = len(x)
        # Fisher z with the Fieller, Hartley & Pearson (1957) variance 1.06 / (n - 3): no library computes it.
        se = math.sqrt(1.06 / (n - 3))
        z = stats.norm.ppf(0.975)
        lo, hi = math.tanh(math.atanh(rho) - z * se), math.tanh(math.atanh(rho) + z * se)
        out.append({"name": name, "x": x, "y": y, "rho": rho, "pValue": p, "lower": lo, "upper": hi})
    return out


def permutation_cases():
    """Exact permutation p-values of the difference in proportions, two-sided as P(|T| >= |T_obs|) (scipy's own
    'two-sided' doubles the smaller tail instead, which differs for unequal groups): scipy's permutation_test of |T|
    over every permutation where it accepts the samples (two or more observations each), else enumeration."""
    cases = {"zero_vs_five": ([0], [1, 1, 1, 1, 1]), "one_of_nine_vs_nine": ([1] + [0] * 8, [1] * 9),
             "mixed": ([1, 0, 0, 1, 0, 0, 0], [1, 1, 0, 1, 1, 1])}
    out = []
    for name, (a, b) in cases.items():
        obs = np.mean(a) - np.mean(b)
        if len(a) >= 2 and len(b) >= 2:
            r = stats.permutation_test((np.asarray(a, float), np.asarray(b, float)),
                                       lambda x, y, axis: np.abs(np.mean(x, axis=axis) - np.mean(y, axis=axis)),
                                       permutation_type="independent", alternative="greater", n_resamples=np.inf)
            p, method = r.pvalue, "scipy.stats.permutation_test of |difference|, alternative='greater'"
        else:
            pooled, hits, total = a + b, 0, 0
            for idx in itertools.combinations(range(len(pooled)), len(a)):
                xa = [pooled[i] for i in idx]
                xb = [pooled[i] for i in range(len(pooled)) if i not in idx]
                total += 1
                hits += abs(np.mean(xa) - np.mean(xb)) >= abs(obs) - 1e-12
            p, method = hits / total, "enumeration"
        out.append({"name": name, "a": a, "b": b, "observed": obs, "exactPValue": p, "method": method})
    return out


def main():
    ref = {
        "generatedBy": "packages/reporting/test/reference/make_reference.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                     "statsmodels": statsmodels.__version__, "sklearn": sklearn.__version__},
        "wilson": wilson_cases(),
        "newcombe": newcombe_cases(),
        "fisher": fisher_cases(),
        "holm": holm_cases(),
        "cmh": cmh_cases(),
        "logistic": logistic_cases(),
        "auroc": auroc_cases(),
        "calibration": calibration_cases(),
        "riskCoverage": risk_coverage_cases(),
        "spearman": spearman_cases(),
        "permutation": permutation_cases(),
    }
    json.dump(enc(ref), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
