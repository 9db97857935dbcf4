#!/usr/bin/env python3
"""Keras (TensorFlow CPU) twin of AnomDet's CNN forecaster, for train/score speed.

  cargo run --release --all-features --example learned_speed -- cnn --export /tmp/c7
  ~/.cache/anomdet-keras-venv/bin/python scripts/peer_cnn.py /tmp/c7/cnn_series.csv [--epochs 2]

(The venv: `python3 -m venv ~/.cache/anomdet-keras-venv` then
`~/.cache/anomdet-keras-venv/bin/pip install tensorflow-cpu pandas`; see peer_lstm_ae.py.)

Same model as `NeuralDetector::cnn_forecaster` with the example's sizes: standardise with the
series' mean and population std; every sliding window of W = 64 rows with the row after it as
the target; the first 80% of samples train, the rest are held out (AnomDet scores them to learn
its normalisation). Conv1D(32, 3, valid, relu) -> Conv1D(32, 3, valid, relu) -> Flatten ->
Dense(1); MSE loss; Adam lr 0.005 (AnomDet: AdamW with weight decay 0 = Adam); batch 64,
shuffled. Prints seconds per epoch (the first includes graph tracing, so later epochs are the
fair figure) and the throughput of predicting every sample.
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd

W, CHANNELS, BATCH, LR = 64, 32, 64, 0.005


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("series")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--score-batch", type=int, default=1024)
    a = ap.parse_args()

    import keras
    import tensorflow as tf
    from keras import layers

    keras.utils.set_random_seed(0)
    x = pd.read_csv(a.series)["value"].to_numpy(np.float32)
    x = (x - x.mean()) / x.std()
    span = np.lib.stride_tricks.sliding_window_view(x, W + 1)        # (n, W + 1)
    inputs = np.ascontiguousarray(span[:, :W, None])                  # (n, W, 1)
    targets = np.ascontiguousarray(span[:, W:])                        # (n, 1)
    n_train = len(span) - len(span) // 5

    model = keras.Sequential([
        keras.Input((W, 1)),
        layers.Conv1D(CHANNELS, 3, activation="relu"),
        layers.Conv1D(CHANNELS, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(LR), loss="mse")

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.c0 = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            epochs.append({"epoch": epoch + 1, "wall": time.perf_counter() - self.t0,
                           "cpu": time.process_time() - self.c0, "loss": float(logs["loss"])})

    epochs = []
    model.fit(inputs[:n_train], targets[:n_train], batch_size=BATCH, epochs=a.epochs,
              shuffle=True, verbose=0, callbacks=[EpochTimer()])

    model.predict(inputs[:a.score_batch], batch_size=a.score_batch, verbose=0)   # warm-up/trace
    t0, c0 = time.perf_counter(), time.process_time()
    model.predict(inputs, batch_size=a.score_batch, verbose=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0

    print(json.dumps({
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "points": len(x), "samples": len(span), "trained_samples": n_train,
        "epochs": epochs,
        "score": {"wall": wall, "cpu": cpu, "points_per_s": len(x) / wall},
    }, indent=1))


if __name__ == "__main__":
    main()
