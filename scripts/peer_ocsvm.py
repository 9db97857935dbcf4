#!/usr/bin/env python3
"""PyOD / scikit-learn one-class SVM on exactly the windows AnomDet's `ocsvm` detector sees.

  cargo run --release --all-features --example learned_speed -- ocsvm --export /tmp/l7
  ~/.cache/anomdet-peers-venv/bin/python scripts/peer_ocsvm.py /tmp/l7 [--reps 3] [--max-train N]

Reads ocsvm_train.csv / ocsvm_test.csv (one `value` column each) and rebuilds AnomDet's
features: per-column standardisation fitted on the training rows (population std), sliding
windows of W = 100 rows ending at each row, each value multiplied by its recency weight
0.5 ** (age / half_life) (half_life 4, age 0 = newest row). Same hyper-parameters as AnomDet:
nu = 0.05, RBF gamma = 1 / sum(weight^2) (sklearn's 'scale' for these features), libsvm's
default tolerance 1e-3 with shrinking. Fit and score are timed apart (best of --reps), with
process CPU time; then the scores are compared with ocsvm_scores_ours.csv when present
(PyOD's score = rho - sum(alpha K), the same orientation as AnomDet's).
"""
import argparse
import json
import os
import time

import numpy as np
import pandas as pd

W, NU, HALF_LIFE = 100, 0.05, 4


def features(values, mean, std):
    x = (values - mean) / std
    win = np.lib.stride_tricks.sliding_window_view(x, W)          # (n-W+1, W), oldest first
    age = np.arange(W - 1, -1, -1, dtype=float)
    weights = 0.5 ** (age / HALF_LIFE)
    return np.ascontiguousarray(win * weights), weights


def timed(reps, f):
    best_wall = best_cpu = float("inf")
    out = None
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        out = f()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-train", type=int, default=0,
                    help="fit on N evenly spaced training windows (AnomDet's max_train rule)")
    a = ap.parse_args()

    train = pd.read_csv(os.path.join(a.dir, "ocsvm_train.csv"))["value"].to_numpy(float)
    test = pd.read_csv(os.path.join(a.dir, "ocsvm_test.csv"))["value"].to_numpy(float)
    mean, std = train.mean(), train.std()
    xtr, weights = features(train, mean, std)
    xte, _ = features(test, mean, std)
    gamma = 1.0 / float(np.sum(weights ** 2))
    if a.max_train and a.max_train < len(xtr):
        # AnomDet's rule: k * (total - 1) // (take - 1), first and last window included.
        take, total = a.max_train, len(xtr)
        xtr = xtr[[k * (total - 1) // (take - 1) for k in range(take)]]

    from pyod.models.ocsvm import OCSVM
    from sklearn.svm import OneClassSVM

    results = {"train_windows": len(xtr), "test_windows": len(xte), "dim": xtr.shape[1],
               "nu": NU, "gamma": gamma}

    # scikit-learn alone: fit, then decision_function on the test windows.
    wall, cpu, sk = timed(a.reps, lambda: OneClassSVM(nu=NU, gamma=gamma, tol=1e-3).fit(xtr))
    results["sklearn_fit"] = {"wall": wall, "cpu": cpu, "support_vectors": int(len(sk.support_))}
    wall, cpu, sk_scores = timed(a.reps, lambda: -sk.decision_function(xte))
    results["sklearn_score"] = {"wall": wall, "cpu": cpu}

    # PyOD (its fit also scores the training windows: decision_scores_).
    wall, cpu, pm = timed(a.reps, lambda: OCSVM(nu=NU, gamma=gamma, tol=1e-3).fit(xtr))
    results["pyod_fit"] = {"wall": wall, "cpu": cpu}
    wall, cpu, py_scores = timed(a.reps, lambda: pm.decision_function(xte))
    results["pyod_score"] = {"wall": wall, "cpu": cpu}

    ours_path = os.path.join(a.dir, "ocsvm_scores_ours.csv")
    if os.path.exists(ours_path):
        ours = pd.read_csv(ours_path)["score"].to_numpy(float)[W - 1:]
        ok = np.isfinite(ours)
        diff = np.abs(ours[ok] - py_scores[ok])
        results["vs_ours"] = {
            "pearson": float(np.corrcoef(ours[ok], py_scores[ok])[0, 1]),
            "max_abs_diff": float(diff.max()),
            "score_range": float(py_scores.max() - py_scores.min()),
            "same_top_100": int(len(set(np.argsort(-ours)[:100]) & set(np.argsort(-py_scores)[:100]))),
        }
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
