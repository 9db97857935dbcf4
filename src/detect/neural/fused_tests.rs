//! Gradient checks of the fused LSTM op (`fused.rs`): against the same layer written op by op
//! with candle tensors (what training used before), and against central finite differences of
//! that layer in `f64`.

#![expect(
    clippy::similar_names,
    clippy::many_single_char_names,
    clippy::needless_range_loop,
    reason = "LSTM names (W_ih, W_hh, i, f, g, o, c, h) and index-paired gradients"
)]

use candle_core::{Device, IndexOp as _, Tensor, Var};

use super::fused::{LstmSpec, lstm_seq};

type R<T> = candle_core::Result<T>;

/// The layer op by op (candle's own sigmoid/tanh/matmul, autograd through every step).
fn reference(x: &Tensor, p: &Tensor, spec: LstmSpec) -> R<Tensor> {
    let (ni, nh) = (spec.inp, spec.hidden);
    let w_ih = p.narrow(0, 0, ni)?;
    let w_hh = p.narrow(0, ni, nh)?;
    let b = p.narrow(0, ni + nh, 1)?;
    let (batch, steps) = match spec.repeat {
        None => {
            let (bb, t, _) = x.dims3()?;
            (bb, t)
        }
        Some(t) => (x.dims2()?.0, t),
    };
    let proj = match spec.repeat {
        None => x
            .reshape((batch * steps, ni))?
            .matmul(&w_ih)?
            .broadcast_add(&b)?
            .reshape((batch, steps, 4 * nh))?,
        Some(_) => x.matmul(&w_ih)?.broadcast_add(&b)?,
    };
    let mut h = Tensor::zeros((batch, nh), x.dtype(), &Device::Cpu)?;
    let mut c = h.clone();
    let mut hs = Vec::new();
    for s in 0..steps {
        let p_s = match spec.repeat {
            None => proj.i((.., s, ..))?,
            Some(_) => proj.clone(),
        };
        let gates = (p_s + h.matmul(&w_hh)?)?;
        let sig = candle_nn::ops::sigmoid(&gates)?;
        let i = sig.narrow(1, 0, nh)?;
        let f = sig.narrow(1, nh, nh)?;
        let g = gates.narrow(1, 2 * nh, nh)?.tanh()?;
        let o = sig.narrow(1, 3 * nh, nh)?;
        c = ((f * &c)? + (i * g)?)?;
        h = (o * c.tanh()?)?;
        hs.push(h.clone());
    }
    if spec.all_steps {
        Tensor::stack(&hs, 1)
    } else {
        Ok(h)
    }
}

fn values(n: usize, seed: f32, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 + 1.0) * seed).sin() * scale)
        .collect()
}

fn specs() -> [LstmSpec; 3] {
    let seq = LstmSpec {
        inp: 3,
        hidden: 5,
        repeat: None,
        all_steps: false,
    };
    [
        seq,
        LstmSpec {
            all_steps: true,
            ..seq
        },
        LstmSpec {
            inp: 5,
            repeat: Some(6),
            all_steps: true,
            ..seq
        },
    ]
}

/// Input dims, packed dims and output element count of a spec with `batch` items.
fn dims(spec: LstmSpec, batch: usize, steps: usize) -> (Vec<usize>, (usize, usize), usize) {
    let x = match spec.repeat {
        None => vec![batch, steps, spec.inp],
        Some(_) => vec![batch, spec.inp],
    };
    let out = batch * spec.hidden * if spec.all_steps { steps } else { 1 };
    (x, (spec.inp + spec.hidden + 1, 4 * spec.hidden), out)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn max_abs(a: &Tensor) -> f32 {
    a.flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .fold(0.0, |m, v| m.max(v.abs()))
}

/// Same weights → same outputs (1e-5) and gradients (1e-4 relative) as the op-by-op layer;
/// batch 11 exercises both the 8-lane blocks and the one-lane remainder.
#[test]
fn fused_matches_op_by_op_candle() {
    let dev = Device::Cpu;
    for spec in specs() {
        let batch = 11;
        let (xd, pd, n_out) = dims(spec, batch, 6);
        let x = Var::from_vec(values(xd.iter().product(), 0.37, 1.5), xd.as_slice(), &dev).unwrap();
        let p = Var::from_vec(values(pd.0 * pd.1, 0.71, 0.6), pd, &dev).unwrap();
        let weights = Tensor::from_vec(values(n_out, 1.9, 1.0), n_out, &dev).unwrap();
        let fused = lstm_seq(x.as_tensor(), p.as_tensor(), spec).unwrap();
        let refd = reference(x.as_tensor(), p.as_tensor(), spec).unwrap();
        assert_eq!(fused.dims(), refd.dims());
        assert!(max_abs_diff(&fused, &refd) < 1e-5, "{spec:?} outputs");
        let loss = |out: &Tensor| {
            (out.flatten_all().unwrap() * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
        };
        let (g_fused, g_ref) = (
            loss(&fused).backward().unwrap(),
            loss(&refd).backward().unwrap(),
        );
        for var in [&x, &p] {
            let (a, b) = (g_fused.get(var).unwrap(), g_ref.get(var).unwrap());
            let tol = 1e-4 * max_abs(b).max(1.0);
            assert!(
                max_abs_diff(a, b) < tol,
                "{spec:?} gradient: {}",
                max_abs_diff(a, b)
            );
        }
    }
}

/// The fused gradients agree with central differences of the op-by-op layer in f64.
#[test]
fn fused_gradient_matches_finite_differences() {
    let dev = Device::Cpu;
    for spec in specs() {
        let spec = LstmSpec {
            inp: 2,
            hidden: 2,
            repeat: spec.repeat.map(|_| 3),
            ..spec
        };
        let batch = 2;
        let (xd, pd, n_out) = dims(spec, batch, 3);
        let x0 = values(xd.iter().product(), 0.53, 1.2);
        let p0 = values(pd.0 * pd.1, 0.29, 0.8);
        let w0 = values(n_out, 1.3, 1.0);
        let x = Var::from_vec(x0.clone(), xd.as_slice(), &dev).unwrap();
        let p = Var::from_vec(p0.clone(), pd, &dev).unwrap();
        let weights = Tensor::from_vec(w0.clone(), n_out, &dev).unwrap();
        let out = lstm_seq(x.as_tensor(), p.as_tensor(), spec).unwrap();
        let grads = (out.flatten_all().unwrap() * &weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let loss64 = |xv: &[f32], pv: &[f32], bump: Option<(bool, usize, f64)>| -> f64 {
            let mut xv: Vec<f64> = xv.iter().map(|&v| f64::from(v)).collect();
            let mut pv: Vec<f64> = pv.iter().map(|&v| f64::from(v)).collect();
            if let Some((in_x, k, e)) = bump {
                if in_x { xv[k] += e } else { pv[k] += e }
            }
            let xt = Tensor::from_vec(xv, xd.as_slice(), &dev).unwrap();
            let pt = Tensor::from_vec(pv, pd, &dev).unwrap();
            let wt = Tensor::from_vec(
                w0.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
                n_out,
                &dev,
            )
            .unwrap();
            let out = reference(&xt, &pt, spec).unwrap();
            (out.flatten_all().unwrap() * wt)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        for (in_x, var, len) in [(true, &x, x0.len()), (false, &p, p0.len())] {
            let g = grads
                .get(var)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            for k in 0..len {
                let e = 1e-5;
                let fd = (loss64(&x0, &p0, Some((in_x, k, e)))
                    - loss64(&x0, &p0, Some((in_x, k, -e))))
                    / (2.0 * e);
                let diff = (f64::from(g[k]) - fd).abs();
                assert!(
                    diff < 1e-4 * fd.abs().max(1.0),
                    "{spec:?} x={in_x} #{k}: {} vs {fd}",
                    g[k]
                );
            }
        }
    }
}

/// An input that needs no gradient (the encoder's data) gets none, and the weights still do.
#[test]
fn data_input_gets_no_gradient() {
    let dev = Device::Cpu;
    let spec = specs()[0];
    let (xd, pd, _) = dims(spec, 4, 6);
    let x = Tensor::from_vec(values(xd.iter().product(), 0.4, 1.0), xd.as_slice(), &dev).unwrap();
    let p = Var::from_vec(values(pd.0 * pd.1, 0.8, 0.5), pd, &dev).unwrap();
    let grads = lstm_seq(&x, p.as_tensor(), spec)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert!(grads.get(&x).is_none());
    assert!(max_abs(grads.get(&p).unwrap()) > 0.0);
}
