//! Tests of the one-class SMO solver: against linfa-svm, the KKT conditions, cache and
//! shrinking independence, parameter checks.

use linfa::dataset::{DatasetBase, Pr};
use linfa::traits::Fit as _;
use linfa_svm::Svm;
use ndarray::Array2;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::*;

/// `n` points of `dim` values: two Gaussian-ish blobs and a few far points.
fn points(n: usize, dim: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .flat_map(|i| {
            let centre = if i % 3 == 0 { 2.0 } else { -1.0 };
            let spread = if i % 17 == 0 { 4.0 } else { 0.7 };
            (0..dim)
                .map(|_| centre + spread * (rng.random::<f64>() - 0.5) * 2.0)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn rbf(a: &[f64], b: &[f64], gamma: f64) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    (-gamma * d).exp()
}

/// `Σ αᵢ K(xᵢ, p) - rho`.
fn decision(x: &[f64], dim: usize, alpha: &[f64], rho: f64, gamma: f64, p: &[f64]) -> f64 {
    x.chunks_exact(dim)
        .zip(alpha)
        .map(|(xi, a)| a * rbf(xi, p, gamma))
        .sum::<f64>()
        - rho
}

fn params(nu: f64, eps: f64) -> SmoParams {
    SmoParams {
        nu,
        eps,
        ..SmoParams::default()
    }
}

#[test]
fn same_support_vectors_and_decision_values_as_linfa() {
    let (n, dim, gamma, nu) = (160, 6, 0.15, 0.1);
    let x = points(n, dim, 1);
    let ours = solve(
        &x,
        n,
        dim,
        gamma,
        None,
        &params(nu, 1e-9),
        &CancelToken::new(),
    )
    .unwrap();
    let dataset = DatasetBase::from(Array2::from_shape_vec((n, dim), x.clone()).unwrap());
    let linfa = Svm::<f64, Pr>::params()
        .nu_weight(nu)
        .gaussian_kernel(1.0 / gamma)
        .eps(1e-9)
        .fit(&dataset)
        .unwrap();
    let support = |alpha: &[f64]| -> Vec<usize> { (0..n).filter(|&i| alpha[i] > 1e-9).collect() };
    assert_eq!(support(&ours.alpha), support(&linfa.alpha));
    assert!(support(&ours.alpha).len() >= (nu * n as f64) as usize);
    let probes = points(40, dim, 2);
    for p in x.chunks_exact(dim).chain(probes.chunks_exact(dim)) {
        let a = decision(&x, dim, &ours.alpha, ours.rho, gamma, p);
        let b = decision(&x, dim, &linfa.alpha, linfa.rho, gamma, p);
        assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
    }
}

#[test]
fn kkt_conditions_hold_at_the_solution() {
    let (n, dim, gamma, nu, eps) = (300, 5, 0.3, 0.07, 1e-3);
    let data = points(n, dim, 3);
    for shrinking in [true, false] {
        let settings = SmoParams {
            shrinking,
            ..params(nu, eps)
        };
        let sol = solve(&data, n, dim, gamma, None, &settings, &CancelToken::new()).unwrap();
        let sum: f64 = sol.alpha.iter().sum();
        assert!((sum - nu * n as f64).abs() < 1e-9, "Σα = {sum}");
        assert!(sol.alpha.iter().all(|&a| (0.0..=1.0).contains(&a)));
        let g: Vec<f64> = data
            .chunks_exact(dim)
            .map(|w| decision(&data, dim, &sol.alpha, 0.0, gamma, w))
            .collect();
        // Maximal violation: the solver's stopping rule, evaluated from scratch.
        let up = (0..n)
            .filter(|&i| sol.alpha[i] < 1.0)
            .map(|i| -g[i])
            .fold(f64::NEG_INFINITY, f64::max);
        let down = (0..n)
            .filter(|&i| sol.alpha[i] > 0.0)
            .map(|i| g[i])
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(up + down < eps + 1e-9, "violation {}", up + down);
        let tol = eps + 1e-9;
        for (i, (&a, &gi)) in sol.alpha.iter().zip(&g).enumerate() {
            let rho = sol.rho;
            match a {
                0.0 => assert!(gi >= rho - tol, "{i}: {gi} < rho {rho}"),
                1.0 => assert!(gi <= rho + tol, "{i}: {gi} > rho {rho}"),
                _ => assert!((gi - rho).abs() <= tol, "{i}: free, {gi} vs {rho}"),
            }
        }
    }
}

#[test]
fn a_tiny_cache_gives_the_same_solution_as_an_unlimited_one() {
    let (n, dim, gamma, nu) = (400, 8, 0.1, 0.05);
    let x = points(n, dim, 4);
    let big = solve(
        &x,
        n,
        dim,
        gamma,
        None,
        &params(nu, 1e-3),
        &CancelToken::new(),
    )
    .unwrap();
    for prefetch in [1, 4] {
        let tiny = SmoParams {
            cache_bytes: 3 * n * 8,
            prefetch,
            ..params(nu, 1e-3)
        };
        let small = solve(&x, n, dim, gamma, None, &tiny, &CancelToken::new()).unwrap();
        assert_eq!(small.alpha, big.alpha, "prefetch {prefetch}");
        assert_eq!(small.rho.to_bits(), big.rho.to_bits());
        assert_eq!(small.iterations, big.iterations);
        assert!(
            small.rows_computed > big.rows_computed,
            "evicted rows are recomputed"
        );
    }
}

#[test]
fn shrinking_does_not_change_the_model() {
    let (n, dim, gamma, nu) = (500, 4, 0.5, 0.1);
    let x = points(n, dim, 5);
    let solve_with = |shrinking| {
        let p = SmoParams {
            shrinking,
            ..params(nu, 1e-7)
        };
        solve(&x, n, dim, gamma, None, &p, &CancelToken::new()).unwrap()
    };
    let (on, off) = (solve_with(true), solve_with(false));
    for p in x.chunks_exact(dim).step_by(7) {
        let a = decision(&x, dim, &on.alpha, on.rho, gamma, p);
        let b = decision(&x, dim, &off.alpha, off.rho, gamma, p);
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn bad_input_is_an_error() {
    let x = points(10, 3, 6);
    let cancel = CancelToken::new();
    let run = |x: &[f64], n, dim, gamma, p: &SmoParams| solve(x, n, dim, gamma, None, p, &cancel);
    for nu in [0.0, -0.1, 1.5, f64::NAN] {
        assert!(
            matches!(
                run(&x, 10, 3, 0.1, &params(nu, 1e-3)),
                Err(SmoError::Param { name: "nu", .. })
            ),
            "nu {nu}"
        );
    }
    for eps in [0.0, f64::INFINITY, f64::NAN] {
        assert!(matches!(
            run(&x, 10, 3, 0.1, &params(0.5, eps)),
            Err(SmoError::Param { name: "eps", .. })
        ));
    }
    for gamma in [0.0, -1.0, f64::INFINITY] {
        assert!(matches!(
            run(&x, 10, 3, gamma, &params(0.5, 1e-3)),
            Err(SmoError::Param { name: "gamma", .. })
        ));
    }
    let no_prefetch = SmoParams {
        prefetch: 0,
        ..params(0.5, 1e-3)
    };
    assert!(matches!(
        run(&x, 10, 3, 0.1, &no_prefetch),
        Err(SmoError::Param {
            name: "prefetch",
            ..
        })
    ));
    assert!(matches!(
        run(&x, 9, 3, 0.1, &params(0.5, 1e-3)),
        Err(SmoError::Shape { .. })
    ));
    assert!(matches!(
        run(&[], 0, 3, 0.1, &params(0.5, 1e-3)),
        Err(SmoError::Shape { .. })
    ));
    let mut bad = x.clone();
    bad[7] = f64::NAN;
    assert_eq!(
        run(&bad, 10, 3, 0.1, &params(0.5, 1e-3)).unwrap_err(),
        SmoError::NonFinite { index: 7 }
    );
    let cancelled = CancelToken::new();
    cancelled.cancel();
    assert!(matches!(
        solve(&x, 10, 3, 0.1, None, &params(0.5, 1e-3), &cancelled),
        Err(SmoError::Cancelled)
    ));
}

#[test]
fn nu_one_keeps_every_window_and_tiny_nu_one_fraction() {
    let (n, dim) = (50, 3);
    let x = points(n, dim, 7);
    let all = solve(
        &x,
        n,
        dim,
        0.2,
        None,
        &params(1.0, 1e-3),
        &CancelToken::new(),
    )
    .unwrap();
    assert!(all.alpha.iter().all(|&a| (a - 1.0).abs() < 1e-12));
    let few = solve(
        &x,
        n,
        dim,
        0.2,
        None,
        &params(0.01, 1e-3),
        &CancelToken::new(),
    )
    .unwrap();
    let sum: f64 = few.alpha.iter().sum();
    assert!((sum - 0.5).abs() < 1e-12, "Σα = {sum}");
}
