//! Tests of the sliding-window kNN: brute force, batch == streaming, overlap exclusion,
//! bounds and tiles.

use super::*;
use crate::testing::seasonal_values;

fn stamps(n: usize, offset: i64) -> Vec<Timestamp> {
    (0..n as i64).map(|i| Timestamp(i + offset)).collect()
}

/// Brute force: every reference window, no sliding tricks.
fn brute(
    train: &[f64],
    test: &[f64],
    m: usize,
    k: usize,
    test_offset: i64,
) -> Vec<Vec<(f64, usize)>> {
    let scale = Scale::from_values(train);
    let zt: Vec<f64> = train.iter().map(|&v| scale.apply(v)).collect();
    let zq: Vec<f64> = test.iter().map(|&v| scale.apply(v)).collect();
    (0..=test.len() - m)
        .map(|u| {
            let mut all: Vec<(f64, usize)> = (0..=train.len() - m)
                .filter(|&s| {
                    let (qs, qe) = (u as i64 + test_offset, (u + m - 1) as i64 + test_offset);
                    ((s + m - 1) as i64) < qs || s as i64 > qe
                })
                .map(|s| {
                    let d2: f64 = (0..m).map(|i| (zq[u + i] - zt[s + i]).powi(2)).sum();
                    (d2.sqrt(), s)
                })
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            all.truncate(k);
            all
        })
        .collect()
}

#[test]
fn matches_brute_force_with_and_without_overlap() {
    let train = seasonal_values(3000, 40, 0.3, 1);
    let test = seasonal_values(2500, 40, 0.3, 2);
    for offset in [0, 100_000] {
        let reference = Reference::fit(&train, &stamps(3000, 0), 16, 100_000, 5).unwrap();
        let got = reference
            .batch_neighbours(&test, &stamps(2500, offset), 5, false, &CancelToken::new())
            .unwrap();
        let want = brute(&train, &test, 16, 5, offset);
        for (u, w) in want.iter().enumerate() {
            let g: Vec<(f64, usize)> = got[u + 15].as_ref().unwrap().neighbours().collect();
            assert_eq!(g.len(), w.len());
            for (a, b) in g.iter().zip(w) {
                assert!((a.0 - b.0).abs() < 1e-6, "query {u}: {a:?} vs {b:?}");
            }
        }
    }
}

#[test]
fn streaming_equals_batch_with_blocks() {
    let train = seasonal_values(5000, 40, 0.3, 1);
    let test = seasonal_values(2500, 40, 0.3, 2);
    let reference = Reference::fit(&train, &stamps(5000, 0), 16, 1000, 5).unwrap();
    assert!(reference.blocks.len() > 1);
    assert_eq!(reference.len(), 768);
    let ts = stamps(2500, 7000);
    let batch = reference
        .batch_neighbours(&test, &ts, 5, false, &CancelToken::new())
        .unwrap();
    let mut stream = QueryStream::new();
    for (i, (&x, &t)) in test.iter().zip(&ts).enumerate() {
        let got = stream.push(&reference, x, t, 5);
        match (got, &batch[i]) {
            (None, None) => {}
            (Some(a), Some(b)) => {
                assert_eq!(a.items().len(), b.items().len());
                for (p, q) in a.items().iter().zip(b.items()) {
                    assert_eq!((p.0.to_bits(), p.1), (q.0.to_bits(), q.1));
                }
            }
            _ => panic!("row {i}: warm-up differs"),
        }
    }
}

#[test]
fn wrong_bound_guesses_still_give_the_exact_lists() {
    let train = seasonal_values(3000, 40, 0.3, 1);
    let test = seasonal_values(400, 40, 0.3, 2);
    let reference = Reference::fit(&train, &stamps(3000, 0), 16, 1000, 5).unwrap();
    let ts = stamps(400, 9000);
    let z: Vec<f64> = test.iter().map(|&v| reference.scale.apply(v)).collect();
    let mut stream = QueryStream::new();
    let want: Vec<Option<TopK>> = test
        .iter()
        .zip(&ts)
        .map(|(&x, &t)| stream.push(&reference, x, t, 5))
        .collect();
    let key = |t: &TopK| -> Vec<(u64, usize)> {
        t.items().iter().map(|&(d, i)| (d.to_bits(), i)).collect()
    };
    // Bounds far too small (every list ends short: single queries rescan, tiles are
    // redone), then far too large: the lists never change.
    for fake in [-1e9, 1e9] {
        let mut dots = Dots::new(&reference);
        let first = reference.query(&mut dots, &Query::of(&z, &ts, 0, 16, 5));
        assert_eq!(key(&first), key(want[15].as_ref().unwrap()));
        let mut u = 1;
        while u + 16 <= z.len() {
            for item in &mut dots.last {
                item.0 = fake;
            }
            let got = if u % 2 == 0 {
                vec![Some(
                    reference.query(&mut dots, &Query::of(&z, &ts, u, 16, 5)),
                )]
            } else {
                let mut out = vec![None; TILE.min(z.len() - 15 - u)];
                reference.query_tile(&mut dots, (&z, &ts), u, 5, &mut out);
                out
            };
            for (j, g) in got.iter().enumerate() {
                let w = want[u + j + 15].as_ref().unwrap();
                assert_eq!(
                    key(g.as_ref().unwrap()),
                    key(w),
                    "query {} fake {fake}",
                    u + j
                );
            }
            u += got.len();
        }
    }
}

#[test]
fn self_join_excludes_overlapping_windows() {
    let train = seasonal_values(600, 30, 0.2, 1);
    let reference = Reference::fit(&train, &stamps(600, 0), 10, 100_000, 3).unwrap();
    let lists = reference.self_join(3, &CancelToken::new()).unwrap();
    assert_eq!(lists.len(), reference.len());
    for (id, list) in lists.iter().enumerate() {
        for (_, other) in list.neighbours() {
            assert!(other.abs_diff(id) >= 10, "{id} matched {other}");
        }
    }
}

#[test]
fn too_short_training_is_an_error() {
    assert!(Reference::fit(&[1.0; 10], &stamps(10, 0), 8, 100, 5).is_err());
}
