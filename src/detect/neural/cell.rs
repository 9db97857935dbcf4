//! Inference side of the networks: an LSTM cell and a dense layer in plain Rust over `f32`
//! weights copied out of candle after training.
//!
//! Why not candle for scoring: `update` sees one window at a time, and candle's matmul may sum
//! in a different order for a batch of one than for a batch of many, so batch and streaming
//! scores would differ in the last bits. One plain function scores a window for both paths, so
//! they are bit-identical; `score_series` gets its speed from running windows on two threads.
//! Gate order and maths are those of the candle training cell (`train.rs`): i, f, g, o.

/// `Σ a·b` with eight independent accumulators, so the compiler can vectorise it.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for lane in 0..8 {
            acc[lane] += x[lane] * y[lane];
        }
    }
    let mut sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

#[inline]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A dense layer `y = W x + b`, `W` row-major `out × inp`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Dense {
    pub(crate) inp: usize,
    pub(crate) out: usize,
    pub(crate) w: Vec<f32>,
    pub(crate) b: Vec<f32>,
}

impl Dense {
    /// Writes `W x + b` into `y` (length `out`).
    #[inline]
    pub(crate) fn forward(&self, x: &[f32], y: &mut [f32]) {
        for ((row, bias), out) in self.w.chunks_exact(self.inp).zip(&self.b).zip(y.iter_mut()) {
            *out = dot(row, x) + bias;
        }
    }
}

/// One LSTM layer: `w_ih` is `4H × inp`, `w_hh` is `4H × H`, one bias of `4H` (i, f, g, o).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Lstm {
    pub(crate) inp: usize,
    pub(crate) hidden: usize,
    pub(crate) w_ih: Vec<f32>,
    pub(crate) w_hh: Vec<f32>,
    pub(crate) b: Vec<f32>,
}

/// Scratch state for running an [`Lstm`]: hidden and cell state plus gate buffers.
#[derive(Clone, Debug, Default)]
pub(crate) struct LstmState {
    pub(crate) h: Vec<f32>,
    c: Vec<f32>,
    gates: Vec<f32>,
    proj: Vec<f32>,
}

impl Lstm {
    /// Zeroes `state` for a new sequence.
    pub(crate) fn start(&self, state: &mut LstmState) {
        for (v, n) in [
            (&mut state.h, self.hidden),
            (&mut state.c, self.hidden),
            (&mut state.gates, 4 * self.hidden),
            (&mut state.proj, 4 * self.hidden),
        ] {
            v.clear();
            v.resize(n, 0.0);
        }
    }

    /// `W_ih x + b` for one input, into `proj` (length 4H).
    pub(crate) fn project(&self, x: &[f32], proj: &mut [f32]) {
        for ((row, bias), out) in self
            .w_ih
            .chunks_exact(self.inp)
            .zip(&self.b)
            .zip(proj.iter_mut())
        {
            *out = dot(row, x) + bias;
        }
    }

    /// One step with input `x`.
    pub(crate) fn step(&self, x: &[f32], state: &mut LstmState) {
        let mut proj = std::mem::take(&mut state.proj);
        self.project(x, &mut proj);
        self.step_projected(&proj, state);
        state.proj = proj;
    }

    /// One step whose input projection `W_ih x + b` is already known (a repeated input).
    #[expect(
        clippy::many_single_char_names,
        reason = "gate names i, f, g, o, h follow the LSTM literature"
    )]
    pub(crate) fn step_projected(&self, proj: &[f32], state: &mut LstmState) {
        let h = self.hidden;
        for ((g, row), p) in state
            .gates
            .iter_mut()
            .zip(self.w_hh.chunks_exact(h))
            .zip(proj)
        {
            *g = p + dot(row, &state.h);
        }
        for k in 0..h {
            let i = sigmoid(state.gates[k]);
            let f = sigmoid(state.gates[h + k]);
            let g = state.gates[2 * h + k].tanh();
            let o = sigmoid(state.gates[3 * h + k]);
            state.c[k] = f * state.c[k] + i * g;
            state.h[k] = o * state.c[k].tanh();
        }
    }

    /// Runs over `steps` rows of `inp` values (row-major) from a zero state.
    pub(crate) fn run(&self, xs: &[f32], state: &mut LstmState) {
        self.start(state);
        for x in xs.chunks_exact(self.inp) {
            self.step(x, state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }

    #[test]
    fn lstm_step_known_value() {
        // H = 1, inp = 1, all weights 0, biases 0: i = f = o = 0.5, g = 0 → c = 0, h = 0.
        // With bias g = 1: g = tanh(1), c = 0.5·tanh(1), h = 0.5·tanh(c).
        let cell = Lstm {
            inp: 1,
            hidden: 1,
            w_ih: vec![0.0; 4],
            w_hh: vec![0.0; 4],
            b: vec![0.0, 0.0, 1.0, 0.0],
        };
        let mut state = LstmState::default();
        cell.run(&[3.0], &mut state);
        let c = 0.5 * 1.0f32.tanh();
        assert!((state.h[0] - 0.5 * c.tanh()).abs() < 1e-6);
    }
}
