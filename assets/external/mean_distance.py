#!/usr/bin/env python3
"""AnomDet external detector example: distance of each row from the running mean.

Protocol (see `anomdet detectors` and src/detect/external.rs): one CSV row per line on
stdin (values only, missing values written as NaN), one score per line on stdout, flushed
after every row. "nan" means "no score yet" (warm-up).

Score of a row: the root-mean-square over its columns of (x - mean) / std, where mean and
std are those of all previous rows of that column (Welford's running estimates), so the
score is causal and deterministic. Missing values are skipped.
"""

import math
import sys

WARM_UP = 10  # rows before the first score


def main() -> None:
    count: list[int] = []
    mean: list[float] = []
    m2: list[float] = []
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        values = [float(v) for v in line.strip().split(",")]
        if not count:
            count = [0] * len(values)
            mean = [0.0] * len(values)
            m2 = [0.0] * len(values)
        total, used = 0.0, 0
        for i, x in enumerate(values):
            if math.isnan(x):
                continue
            if count[i] >= WARM_UP:
                std = math.sqrt(m2[i] / count[i])
                floor = 1e-9 * (abs(mean[i]) + 1.0)
                total += ((x - mean[i]) / max(std, floor)) ** 2
                used += 1
            count[i] += 1
            delta = x - mean[i]
            mean[i] += delta / count[i]
            m2[i] += delta * (x - mean[i])
        score = math.sqrt(total / used) if used else float("nan")
        sys.stdout.write(f"{score!r}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
