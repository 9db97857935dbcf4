//! Inference side of the networks: an LSTM layer and a dense layer in plain Rust over `f32`
//! weights copied out of candle after training, run on a block of `n` windows at once.
//!
//! Why not candle for scoring: `update` sees one window at a time, and a matrix library may sum
//! in a different order for a batch of one than for a batch of many, so batch and streaming
//! scores would differ in the last bits. Here every window is a *lane* of the `math.rs`
//! kernels, whose per-lane arithmetic does not depend on the number of lanes: `score_series`
//! runs blocks of 64 windows through vector registers, `update` runs a block of one, and both
//! give the same bits. Gate order and maths are those of the training op (`fused.rs`):
//! i, f, g, o; `c = f·c + i·g`; `h = o·tanh c`; the same `exp`/`tanh`.

#![expect(
    clippy::inline_always,
    reason = "the kernels must inline into the AVX2-dispatched caller to be compiled for it"
)]

use super::math::{Init, cell_update, matmul_lanes, sigmoid_into, tanh_into};

/// A dense layer `y = W x + b`, `W` row-major `out × inp`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Dense {
    pub(crate) inp: usize,
    pub(crate) out: usize,
    pub(crate) w: Vec<f32>,
    pub(crate) b: Vec<f32>,
}

impl Dense {
    /// `y = W x + b` for `n` lanes: `x` is `inp × n`, `y` becomes `out × n` (lane matrices).
    #[inline(always)]
    pub(crate) fn forward(&self, x: &[f32], n: usize, y: &mut Vec<f32>) {
        y.clear();
        y.resize(self.out * n, 0.0);
        matmul_lanes(
            &self.w,
            self.out,
            self.inp,
            x,
            n,
            Init::Bias(&self.b),
            y,
            n,
            n,
        );
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

/// Hidden and cell state of `n` lanes (`H × n` lane matrices) plus gate buffers.
#[derive(Clone, Debug, Default)]
pub(crate) struct LstmState {
    pub(crate) h: Vec<f32>,
    c: Vec<f32>,
    c_next: Vec<f32>,
    tc: Vec<f32>,
    gates: Vec<f32>,
    acts: Vec<f32>,
    proj: Vec<f32>,
}

impl Lstm {
    /// Zeroes `state` for new sequences in `n` lanes.
    pub(crate) fn start(&self, n: usize, state: &mut LstmState) {
        for (v, rows) in [
            (&mut state.h, self.hidden),
            (&mut state.c, self.hidden),
            (&mut state.c_next, self.hidden),
            (&mut state.tc, self.hidden),
            (&mut state.gates, 4 * self.hidden),
            (&mut state.acts, 4 * self.hidden),
            (&mut state.proj, 4 * self.hidden),
        ] {
            v.clear();
            v.resize(rows * n, 0.0);
        }
    }

    /// `proj = W_ih x + b` (`4H × n`) for an input lane matrix `x` (`inp` rows, `stride`).
    #[inline(always)]
    pub(crate) fn project(&self, x: &[f32], stride: usize, n: usize, proj: &mut Vec<f32>) {
        proj.clear();
        proj.resize(4 * self.hidden * n, 0.0);
        let bias = Init::Bias(&self.b);
        matmul_lanes(
            &self.w_ih,
            4 * self.hidden,
            self.inp,
            x,
            stride,
            bias,
            proj,
            n,
            n,
        );
    }

    /// One step of `n` lanes whose input projection `W_ih x + b` (`4H × n`) is known.
    #[inline(always)]
    pub(crate) fn step_projected(&self, proj: &[f32], n: usize, state: &mut LstmState) {
        let h = self.hidden;
        let LstmState {
            h: hs,
            c,
            c_next,
            tc,
            gates,
            acts,
            ..
        } = state;
        matmul_lanes(
            &self.w_hh,
            4 * h,
            h,
            hs,
            n,
            Init::Rows(proj, n),
            gates,
            n,
            n,
        );
        sigmoid_into(&gates[..2 * h * n], &mut acts[..2 * h * n]);
        tanh_into(
            &gates[2 * h * n..3 * h * n],
            &mut acts[2 * h * n..3 * h * n],
        );
        sigmoid_into(&gates[3 * h * n..], &mut acts[3 * h * n..]);
        for k in 0..h {
            let gate = |q: usize| &acts[(q * h + k) * n..][..n];
            let row = k * n..(k + 1) * n;
            cell_update(
                [gate(0), gate(1), gate(2), gate(3)],
                &c[row.clone()],
                &mut c_next[row.clone()],
                &mut tc[row.clone()],
                &mut hs[row],
            );
        }
        std::mem::swap(c, c_next);
    }

    /// Runs `n` lanes over `steps` steps from a zero state: `x` is the `inp × (steps · n)` lane
    /// matrix with step `t` of lane `l` in column `t · n + l`.
    #[inline(always)]
    pub(crate) fn run(&self, x: &[f32], steps: usize, n: usize, state: &mut LstmState) {
        self.start(n, state);
        let mut proj = std::mem::take(&mut state.proj);
        for t in 0..steps {
            self.project(&x[t * n..], steps * n, n, &mut proj);
            self.step_projected(&proj, n, state);
        }
        state.proj = proj;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        cell.run(&[3.0], 1, 1, &mut state);
        let c = 0.5 * 1.0f32.tanh();
        assert!((state.h[0] - 0.5 * c.tanh()).abs() < 1e-6);
    }

    /// A lane's result has the same bits whether it runs alone or in a block of many.
    #[test]
    fn lanes_are_independent() {
        let (inp, hidden, steps, n) = (2, 5, 7, 19);
        let vals = |len: usize, s: f32| -> Vec<f32> {
            (0..len)
                .map(|i| ((i as f32 + 1.0) * s).sin() * 0.6)
                .collect()
        };
        let cell = Lstm {
            inp,
            hidden,
            w_ih: vals(4 * hidden * inp, 0.7),
            w_hh: vals(4 * hidden * hidden, 1.3),
            b: vals(4 * hidden, 2.1),
        };
        let x = vals(inp * steps * n, 0.37);
        let mut all = LstmState::default();
        cell.run(&x, steps, n, &mut all);
        for l in 0..n {
            let mut one_x = vec![0.0; inp * steps];
            for i in 0..inp {
                for t in 0..steps {
                    one_x[i * steps + t] = x[i * steps * n + t * n + l];
                }
            }
            let mut one = LstmState::default();
            cell.run(&one_x, steps, 1, &mut one);
            for k in 0..hidden {
                assert_eq!(one.h[k].to_bits(), all.h[k * n + l].to_bits());
            }
        }
    }
}
