#!/usr/bin/env python3
"""Time pandas on the import benchmark file, for comparison with `cargo bench --bench import`.

  python scripts/bench_pandas_import.py [--rows 1000000] [--repeat 5] [--file PATH]

Without --file it writes the same 1M-row file as benches/import.rs (`timestamp,value,label`,
RFC 3339 timestamps one minute apart from 2024-01-01, values with 6 decimals from an integer
hash, label 1 on every 997th row) to a temporary folder, then reports the best and median wall
time of `pd.read_csv(path)` + `pd.to_datetime(df["timestamp"])` over --repeat runs.
"""
import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone

import pandas as pd


def write_file(path, rows):
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with open(path, "w", newline="\n") as f:
        f.write("timestamp,value,label\n")
        for i in range(rows):
            ts = (t0 + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            value = (i * 2654435761 % 1000003) / 1000003 * 100.0
            label = 1 if i % 997 == 0 else 0
            f.write(f"{ts},{value:.6f},{label}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file or os.path.join(tmp, "import_1m.csv")
        if not args.file:
            write_file(path, args.rows)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            df = pd.read_csv(path)
            df["timestamp"] = pd.to_datetime(df["timestamp"])
            times.append(time.perf_counter() - start)
        assert len(df) == args.rows or args.file, len(df)
        print(f"pandas {pd.__version__}: rows={len(df)} dtype={df['timestamp'].dtype} "
              f"best={min(times):.3f}s median={statistics.median(times):.3f}s "
              f"runs={[round(t, 3) for t in times]}")


if __name__ == "__main__":
    main()
