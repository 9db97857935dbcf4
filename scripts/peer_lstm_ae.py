#!/usr/bin/env python3
"""Keras (TensorFlow CPU) twin of AnomDet's LSTM autoencoder, for train/score speed.

  cargo run --release --all-features --example learned_speed -- lstm --export /tmp/l7
  python3 -m venv ~/.cache/anomdet-keras-venv
  ~/.cache/anomdet-keras-venv/bin/pip install tensorflow-cpu pandas
  ~/.cache/anomdet-keras-venv/bin/python scripts/peer_lstm_ae.py /tmp/l7/lstm_series.csv [--epochs 2]

(PyTorch was the first choice, but PyPI's torch wheel needs ~3 GB of CUDA packages to import;
PyTorch's CPU-only wheels are not on PyPI. tensorflow-cpu is.)

Same model as `NeuralDetector::lstm_autoencoder`: standardise with the training mean and
population std; every sliding window of W = 64 rows; the first 80% of windows train, the
rest are held out (AnomDet scores them to learn its normalisation). Encoder LSTM(32) over the
window -> its last hidden state -> repeated W times -> decoder LSTM(32, sequences) -> dense
to 1 value per step, trained to reproduce the window reversed in time; MSE loss; Adam lr
0.005 (AnomDet: AdamW with weight decay 0 = Adam); batch 64, shuffled; forget-gate bias 1
(Keras' unit_forget_bias), sigmoid/tanh gates. Prints seconds per epoch (the first epoch
includes graph tracing, so later epochs are the fair figure) and scoring throughput: the full
reconstruction (W decoder steps) and, as AnomDet's default `score_on = last`, a model that
runs the decoder for 1 step (the last row's reconstruction), both over all windows.
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd

W, HIDDEN, BATCH, LR = 64, 32, 64, 0.005


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
    win = np.lib.stride_tricks.sliding_window_view(x, W)[..., None]     # (n, W, 1)
    n_train = len(win) - len(win) // 5
    x_train = np.ascontiguousarray(win[:n_train])
    y_train = np.ascontiguousarray(x_train[:, ::-1, :])
    x_all = np.ascontiguousarray(win)

    inp = keras.Input((W, 1))
    code = layers.LSTM(HIDDEN)(inp)
    decoder = layers.LSTM(HIDDEN, return_sequences=True)
    dense = layers.Dense(1)
    out = dense(decoder(layers.RepeatVector(W)(code)))
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(LR), loss="mse")
    last = keras.Model(inp, dense(decoder(layers.RepeatVector(1)(code))))

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.c0 = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            epochs.append({"epoch": epoch + 1, "wall": time.perf_counter() - self.t0,
                           "cpu": time.process_time() - self.c0, "loss": float(logs["loss"])})

    epochs = []
    model.fit(x_train, y_train, batch_size=BATCH, epochs=a.epochs, shuffle=True, verbose=0,
              callbacks=[EpochTimer()])

    def score(m):
        m.predict(x_all[:a.score_batch], batch_size=a.score_batch, verbose=0)   # warm-up/trace
        t0, c0 = time.perf_counter(), time.process_time()
        m.predict(x_all, batch_size=a.score_batch, verbose=0)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return {"wall": wall, "cpu": cpu, "points_per_s": len(x) / wall}

    info = {
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "threads": {"intra": tf.config.threading.get_intra_op_parallelism_threads(),
                    "inter": tf.config.threading.get_inter_op_parallelism_threads()},
        "points": len(x), "windows": len(win), "trained_windows": n_train,
        "epochs": epochs,
        "score_full_window": score(model),
        "score_last_row": score(last),
    }
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
