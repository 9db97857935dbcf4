#!/usr/bin/env python3
"""Generate TSB-AD reference fixtures for the Rust metrics (tests/eval.rs).

    bash /work/shared/peers/setup.sh            # or any venv with tsb-ad==1.5 (--no-deps),
    ~/.cache/anomdet-peers-venv/bin/python scripts/tsbad_fixtures.py [--out tests/fixtures/tsbad]

Each case is a small (labels, scores, predictions, slidingWindow) input and the values that
TSB-AD 1.5 (TSB_AD.evaluation) and scikit-learn compute for it. Cases vary: random labels and
scores, heavy ties, windows touching both ends of the series, a one-row window on the last
row, long windows, many short windows whose VUS margins overlap, several sliding windows
(0, 1, 2, odd, larger than the gaps), fewer rows than thresholds, NaN warm-up scores.
Inputs without anomalies are skipped: TSB-AD divides by zero on them.

NaN scores are stored as null; the reference values are computed after the crate's NaN
contract (NaN -> lowest finite score), since TSB-AD itself cannot take NaN.

Keys of `expected` are TSB-AD's names (get_metrics), plus:
  R_AUC_ROC / R_AUC_PR   the VUS surface at buffer length slidingWindow (TSB-AD's own legacy
                         RangeAUC divides by zero for windows >= 4, so it is not used)
  VUS_ROC_per_window / VUS_PR_per_window   the surface, buffer lengths 0..slidingWindow
  *_pred                 the same metric at the stored predictions (preds=pred)
  best_F1_exact          max 2PR/(P+R) over scikit-learn's PR curve (no epsilon)
"""
import argparse
import importlib.metadata as md
import json
import pathlib
import warnings

import numpy as np
import sklearn
from sklearn import metrics as skm
from TSB_AD.evaluation.basic_metrics import basic_metricor, generate_curve

THRE = 250


def clean(score):
    score = np.asarray(score, dtype=float)
    fin = np.isfinite(score)
    if not fin.any():
        return np.zeros_like(score)
    return np.nan_to_num(score, nan=score[fin].min(), posinf=score[fin].max(), neginf=score[fin].min())


def surface(label, score, window):
    g = basic_metricor()
    tpr, fpr, prec, _, vroc, vpr = g.RangeAUC_volume_opt(label, score, window, THRE)
    roc = [float(np.dot(f[1:] - f[:-1], (t[1:] + t[:-1]) / 2)) for t, f in zip(tpr, fpr)]
    pr = [float(np.dot(t[1:-1] - t[:-2], p[1:])) for t, p in zip(tpr, prec)]
    return roc, pr, float(vroc), float(vpr)


def reference(label, raw_score, pred, window):
    score = clean(raw_score)
    g = basic_metricor()
    _, _, _, _, _, _, vroc, vpr = generate_curve(label, score, window, "opt", THRE)
    roc, pr, vroc2, vpr2 = surface(label, score, window)
    assert abs(vroc - vroc2) < 1e-12 and abs(vpr - vpr2) < 1e-12
    p, r, _ = skm.precision_recall_curve(label, score)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    exp = {
        "AUC-ROC": skm.roc_auc_score(label, score),
        "AUC-PR": skm.average_precision_score(label, score),
        "VUS-ROC": vroc,
        "VUS-PR": vpr,
        "R_AUC_ROC": roc[-1],
        "R_AUC_PR": pr[-1],
        "VUS_ROC_per_window": roc,
        "VUS_PR_per_window": pr,
        "Standard-F1": g.metric_PointF1(label, score),
        "PA-F1": g.metric_PointF1PA(label, score),
        "Event-based-F1": g.metric_EventF1PA(label, score),
        "R-based-F1": g.metric_RF1(label, score),
        "best_F1_exact": float(f.max()),
        "Standard-F1_pred": g.metric_PointF1(label, score, preds=pred),
        "PA-F1_pred": g.metric_PointF1PA(label, score, preds=pred),
        "Event-based-F1_pred": g.metric_EventF1PA(label, score, preds=pred),
        "R-based-F1_pred": g.metric_RF1(label, score, preds=pred),
    }
    return {k: (v if isinstance(v, list) else float(v)) for k, v in exp.items()}


def windows_to_labels(n, windows):
    label = np.zeros(n, dtype=int)
    for s, e in windows:  # inclusive
        label[s : e + 1] = 1
    return label


def random_windows(rng, n, count, lo, hi):
    label = np.zeros(n, dtype=int)
    for _ in range(count):
        length = int(rng.integers(lo, hi + 1))
        start = int(rng.integers(0, n - length))
        label[start : start + length] = 1
    return label


def cases():
    rng = np.random.default_rng(20241125)
    out = []

    def add(name, label, score, window, pred=None):
        label = np.asarray(label, dtype=int)
        score = np.asarray(score, dtype=float)
        if pred is None:
            s = clean(score)
            pred = (s > np.quantile(s, 0.9)).astype(int)
        out.append((name, label, score, np.asarray(pred, dtype=int), window))

    n = 200
    lab = random_windows(rng, n, 3, 3, 12)
    add("random_small", lab, rng.random(n), 10)

    n = 300
    lab = random_windows(rng, n, 4, 2, 20)
    add("ties_rounded", lab, np.round(rng.random(n) + 0.3 * lab, 1), 20)

    n = 150
    lab = windows_to_labels(n, [(0, 6), (60, 70), (140, 149)])
    add("edge_windows", lab, rng.random(n) + 0.4 * lab, 16)

    n = 120
    lab = windows_to_labels(n, [(30, 35), (119, 119)])
    sc = rng.random(n)
    sc[119] = 5.0
    add("last_row_single", lab, sc, 8)

    n = 1000
    lab = windows_to_labels(n, [(300, 499), (800, 805)])
    add("long_window", lab, rng.normal(size=n) + 0.8 * lab, 50)

    n = 500
    lab = windows_to_labels(n, [(i, i + (i % 3)) for i in range(40, 460, 9)])
    add("many_short_overlapping_margins", lab, rng.random(n) + 0.2 * lab, 30)

    n = 400
    lab = random_windows(rng, n, 5, 1, 15)
    sc = rng.random(n) + 0.5 * lab
    for w in (0, 1, 2, 7, 100):
        add(f"sliding_window_{w}", lab, sc, w)

    n = 400
    lab = windows_to_labels(n, [(100, 129), (250, 252)])
    add("good_detector", lab, lab + 0.05 * rng.normal(size=n), 100)

    n = 600
    lab = random_windows(rng, n, 6, 2, 25)
    add("integer_scores", lab, rng.integers(0, 4, size=n) + lab * rng.integers(0, 2, size=n), 24)

    n = 300
    lab = windows_to_labels(n, [(40, 50), (200, 230)])
    sc = rng.random(n) + 0.5 * lab
    sc[:25] = np.nan
    add("nan_warmup", lab, sc, 20)

    n = 50
    lab = windows_to_labels(n, [(10, 13), (40, 41)])
    add("fewer_rows_than_thresholds", lab, rng.random(n), 6)

    n = 3000
    lab = random_windows(rng, n, 12, 5, 60)
    add("larger_random", lab, rng.random(n) + 0.3 * lab, 100)

    n = 256
    lab = windows_to_labels(n, [(0, 0), (2, 2), (5, 9), (11, 11), (255, 255)])
    add("single_rows_and_both_edges", lab, rng.random(n) + 0.3 * lab, 5, pred=(rng.random(n) > 0.8))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/tsbad"))
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore")
    versions = {"tsb-ad": md.version("tsb-ad"), "scikit-learn": sklearn.__version__, "numpy": np.__version__}
    names = []
    for name, label, score, pred, window in cases():
        doc = {
            "name": name,
            "generator": "scripts/tsbad_fixtures.py",
            "versions": versions,
            "sliding_window": window,
            "thresholds": THRE,
            "labels": label.tolist(),
            "scores": [None if np.isnan(s) else float(s) for s in score],
            "predictions": pred.tolist(),
            "expected": reference(label, score, pred, window),
        }
        (out / f"{name}.json").write_text(json.dumps(doc, indent=None, separators=(",", ":")) + "\n")
        names.append(name)
    (out / "index.json").write_text(json.dumps({"cases": names, "versions": versions}, indent=1) + "\n")
    print(f"wrote {len(names)} fixtures to {out}")


if __name__ == "__main__":
    main()
