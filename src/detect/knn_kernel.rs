//! The inner loops of the exact sliding-window kNN search (`knn_windows`) and the neighbour
//! list they fill ([`TopK`]).
//!
//! One query against one block of reference windows is a single pass: the dot products are
//! advanced in O(1) per window (`cur[s] = prev[s-1] - left*y[s-1] + right*y[s-1+m]`), turned
//! into squared distances and compared with the list's current limit [`LANES`] at a time; only
//! a group whose least distance beats the limit is offered window by window. The pass is
//! written as plain fixed-size array code so that the compiler vectorises it; `knn_windows`
//! runs it under `pulp`'s runtime dispatch, which compiles it once for baseline x86-64 and once
//! for x86-64-v3 (AVX2) and picks one at run time.
//!
//! Determinism: no fused multiply-add and a fixed summation order everywhere, so every
//! compiled version performs the same IEEE operations and gives bit-identical results; the
//! dispatch changes speed only (a unit test compares against plain scalar formulas).
#![expect(
    clippy::inline_always,
    reason = "the loops must inline into pulp's target-feature context to be vectorised for it"
)]

/// Windows handled per group (two AVX2 vectors of `f64`).
pub(super) const LANES: usize = 8;

/// Direct dot product with a fixed summation order (8 partial sums, then a fixed tree): the one
/// formula of the anchors, norms and block heads on every path.
#[inline(always)]
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let b = &b[..a.len()];
    let (a8, a_tail) = a.as_chunks::<LANES>();
    let (b8, b_tail) = b.as_chunks::<LANES>();
    let mut acc = [0.0; LANES];
    for (x, y) in a8.iter().zip(b8) {
        for t in 0..LANES {
            acc[t] += x[t] * y[t];
        }
    }
    let mut tail = 0.0;
    for (x, y) in a_tail.iter().zip(b_tail) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The per-query constants of the sliding update: the value leaving the query window
/// (`left`), the one entering it (`right`) and the query's squared norm (`qn`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Step {
    pub(super) left: f64,
    pub(super) right: f64,
    pub(super) qn: f64,
}

impl Step {
    /// The dot product with a reference window from the previous query's dot with the window
    /// one row earlier; the one formula of both paths.
    #[inline(always)]
    fn advance(self, prev: f64, y_old: f64, y_new: f64) -> f64 {
        prev - self.left * y_old + self.right * y_new
    }

    /// Squared distance before clamping (may be slightly negative through rounding).
    #[inline(always)]
    fn raw_distance2(self, norm2: f64, dot: f64) -> f64 {
        (self.qn + norm2) - 2.0 * dot
    }
}

/// Squared distance clamped at 0: what the neighbour lists store.
#[inline(always)]
fn clamp(d2: f64) -> f64 {
    if d2 > 0.0 { d2 } else { 0.0 }
}

/// Whether any of a group is below `limit`: one vector compare, no horizontal minimum.
#[expect(
    clippy::needless_bitwise_bool,
    reason = "branch-free on purpose: one vector compare and mask test"
)]
#[inline(always)]
fn any_below(d: &[f64; LANES], limit: f64) -> bool {
    let mut hit = [false; LANES];
    for t in 0..LANES {
        hit[t] = d[t] < limit;
    }
    (hit[0] | hit[1] | hit[2] | hit[3]) | (hit[4] | hit[5] | hit[6] | hit[7])
}

/// Advances the dot products of one contiguous run of reference windows without offering them
/// (windows that overlap the query): `cur[i] = step.advance(prev[i], y_old[i], y_new[i])`.
#[inline(always)]
pub(super) fn advance(cur: &mut [f64], prev: &[f64], y_old: &[f64], y_new: &[f64], step: Step) {
    let n = cur.len();
    for (((c, &p), &o), &w) in cur
        .iter_mut()
        .zip(&prev[..n])
        .zip(&y_old[..n])
        .zip(&y_new[..n])
    {
        *c = step.advance(p, o, w);
    }
}

/// Advances the dot products of a run of reference windows with ids `first_id..` (as
/// [`advance`]) and offers each window's squared distance (norms `norm2`) to `top`, in
/// ascending id order, in the same pass.
#[inline(always)]
pub(super) fn advance_offer(
    cur: &mut [f64],
    (prev, y_old, y_new, norm2): (&[f64], &[f64], &[f64], &[f64]),
    step: Step,
    first_id: usize,
    top: &mut TopK,
) {
    let n = cur.len();
    let (c8, c_tail) = cur.as_chunks_mut::<LANES>();
    let (p8, p_tail) = prev[..n].as_chunks::<LANES>();
    let (o8, o_tail) = y_old[..n].as_chunks::<LANES>();
    let (w8, w_tail) = y_new[..n].as_chunks::<LANES>();
    let (n8, n_tail) = norm2[..n].as_chunks::<LANES>();
    let groups = c8.len();
    let mut from = 0;
    while from < groups {
        // The hot run: no call inside, so the constants stay in registers; it stops at the
        // first group with a distance below the limit.
        let limit = top.limit;
        let mut hit = groups;
        for (i, ((((c, p), o), w), nn)) in c8[from..]
            .iter_mut()
            .zip(&p8[from..])
            .zip(&o8[from..])
            .zip(&w8[from..])
            .zip(&n8[from..])
            .enumerate()
        {
            // Computed in registers, then stored whole (keeps the loop vectorised).
            let mut v = [0.0; LANES];
            let mut d2 = [0.0; LANES];
            for t in 0..LANES {
                v[t] = step.advance(p[t], o[t], w[t]);
                d2[t] = step.raw_distance2(nn[t], v[t]);
            }
            *c = v;
            if any_below(&d2, limit) {
                hit = from + i;
                break;
            }
        }
        if hit == groups {
            break;
        }
        // The same distances again from the stored products (same operations, same bits).
        let mut d2 = [0.0; LANES];
        for t in 0..LANES {
            d2[t] = step.raw_distance2(n8[hit][t], c8[hit][t]);
        }
        top.offer_group(&d2, first_id + hit * LANES);
        from = hit + 1;
    }
    let id = first_id + groups * LANES;
    for (t, ((((c, &p), &o), &w), &nn)) in c_tail
        .iter_mut()
        .zip(p_tail)
        .zip(o_tail)
        .zip(w_tail)
        .zip(n_tail)
        .enumerate()
    {
        let v = step.advance(p, o, w);
        *c = v;
        top.offer(step.raw_distance2(nn, v), id + t);
    }
}

/// Offers reference windows `first_id..` (squared norms `norm2`, dot products `dots`) to `top`
/// in ascending id order, [`LANES`] at a time as in [`advance_offer`].
#[inline(always)]
pub(super) fn offer_run(qn: f64, norm2: &[f64], dots: &[f64], first_id: usize, top: &mut TopK) {
    let step = Step {
        left: 0.0,
        right: 0.0,
        qn,
    };
    let (n8, n_tail) = norm2.as_chunks::<LANES>();
    let (d8, d_tail) = dots[..norm2.len()].as_chunks::<LANES>();
    let mut id = first_id;
    for (nn, d) in n8.iter().zip(d8) {
        let mut d2 = [0.0; LANES];
        for t in 0..LANES {
            d2[t] = step.raw_distance2(nn[t], d[t]);
        }
        if any_below(&d2, top.limit) {
            top.offer_group(&d2, id);
        }
        id += LANES;
    }
    for (&nn, &d) in n_tail.iter().zip(d_tail) {
        top.offer(step.raw_distance2(nn, d), id);
        id += 1;
    }
}

/// The `k` smallest squared distances offered, ascending, with reference ids; on equal
/// distances the window offered first (the lower id) comes first.
///
/// A list may start with a `bound`: while it holds fewer than `k` items, only distances below
/// the bound are kept. Whenever `k` distances below the bound were offered, the list equals the
/// unbounded one (the `k` smallest all lie below the bound), so a good guess of the bound only
/// saves insertions; a list that ends short ([`TopK::complete`] false) must be recomputed
/// without bound.
#[derive(Clone, Debug)]
pub(super) struct TopK {
    k: usize,
    items: Vec<(f64, usize)>,
    /// Offers at or above this are dropped: the bound, then the k-th distance once full.
    limit: f64,
    bounded: bool,
}

impl TopK {
    /// An empty list of at most `k` items, keeping only distances below `bound` until full.
    pub(super) fn new(k: usize, bound: f64) -> Self {
        Self {
            k,
            items: Vec::with_capacity(k),
            limit: bound,
            bounded: bound < f64::INFINITY,
        }
    }

    /// Whether the list is the unbounded one: full, or never bounded.
    pub(super) fn complete(&self) -> bool {
        !self.bounded || self.items.len() == self.k
    }

    /// The k-th squared distance when full, else infinity.
    #[cfg(test)]
    pub(super) fn kth_d2(&self) -> f64 {
        if self.items.len() == self.k {
            self.limit
        } else {
            f64::INFINITY
        }
    }

    /// Offers one window (raw squared distance, clamped here).
    #[inline(always)]
    fn offer(&mut self, raw_d2: f64, id: usize) {
        let d2 = clamp(raw_d2);
        if d2 < self.limit {
            self.insert(d2, id);
        }
    }

    /// Offers a group of windows `id..id + LANES` one by one.
    fn offer_group(&mut self, raw: &[f64; LANES], id: usize) {
        for (t, &x) in raw.iter().enumerate() {
            self.offer(x, id + t);
        }
    }

    /// Inserts after the items at or below `d2` (dropping the k-th when full): a short
    /// insertion-sort step from the end, as lists are short.
    fn insert(&mut self, d2: f64, id: usize) {
        if self.items.len() < self.k {
            self.items.push((d2, id));
        }
        let items = &mut self.items[..];
        let mut at = items.len() - 1;
        while at > 0 && items[at - 1].0 > d2 {
            items[at] = items[at - 1];
            at -= 1;
        }
        items[at] = (d2, id);
        if items.len() == self.k {
            self.limit = items[self.k - 1].0;
        }
    }

    /// `(distance, reference id)` of the neighbours, nearest first (fewer than `k` only when
    /// the reference has fewer non-overlapping windows).
    pub(super) fn neighbours(&self) -> impl Iterator<Item = (f64, usize)> + '_ {
        self.items.iter().map(|&(d2, id)| (d2.sqrt(), id))
    }

    /// Distance to the farthest kept neighbour (the k-th), NaN when there is none.
    pub(super) fn kth_distance(&self) -> f64 {
        self.items.last().map_or(f64::NAN, |&(d2, _)| d2.sqrt())
    }

    /// The raw items: `(squared distance, reference id)`, ascending.
    pub(super) fn items(&self) -> &[(f64, usize)] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use pulp::{Simd, WithSimd};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn random(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(-2.0..2.0)).collect()
    }

    /// The x86-64-v3 (AVX2) version of `op` when the CPU has it.
    #[cfg(target_arch = "x86_64")]
    fn v3<Op: WithSimd>(op: Op) -> Option<Op::Output> {
        pulp::x86::V3::try_new().map(|simd| Simd::vectorize(simd, op))
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn v3<Op: WithSimd>(_op: Op) -> Option<Op::Output> {
        None
    }

    fn bits(top: &TopK) -> Vec<(u64, usize)> {
        top.items().iter().map(|&(d, i)| (d.to_bits(), i)).collect()
    }

    fn bits_of(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Inputs of one run: previous products, leaving/entering rows, norms, step.
    struct Run<'a> {
        inputs: (&'a [f64], &'a [f64], &'a [f64], &'a [f64]),
        step: Step,
        k: usize,
    }

    /// What the kernels produce for a run: products, fused list, scan-only list, plain advance.
    type Output = (Vec<f64>, TopK, TopK, Vec<f64>);

    impl WithSimd for &Run<'_> {
        type Output = Output;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _simd: S) -> Output {
            let (prev, y_old, y_new, norm2) = self.inputs;
            let mut cur = vec![0.0; prev.len()];
            let mut fused = TopK::new(self.k, f64::INFINITY);
            advance_offer(&mut cur, self.inputs, self.step, 100, &mut fused);
            let mut scanned = TopK::new(self.k, f64::INFINITY);
            offer_run(self.step.qn, norm2, &cur, 100, &mut scanned);
            let mut plain = vec![0.0; prev.len()];
            advance(&mut plain, prev, y_old, y_new, self.step);
            (cur, fused, scanned, plain)
        }
    }

    /// Plain scalar formulas, every window offered in order.
    fn scalar(run: &Run<'_>) -> (Vec<f64>, TopK) {
        let (prev, y_old, y_new, norm2) = run.inputs;
        let s = run.step;
        let cur: Vec<f64> = (0..prev.len())
            .map(|i| prev[i] - s.left * y_old[i] + s.right * y_new[i])
            .collect();
        let mut top = TopK::new(run.k, f64::INFINITY);
        for (i, (&c, &n)) in cur.iter().zip(norm2).enumerate() {
            let d2 = s.qn + n - 2.0 * c;
            let d2 = if d2 > 0.0 { d2 } else { 0.0 };
            if d2 < top.limit {
                top.insert(d2, 100 + i);
            }
        }
        (cur, top)
    }

    #[test]
    fn dispatched_kernels_equal_scalar_formulas_including_ragged_tails() {
        for (len, seed) in [(0, 1), (5, 2), (8, 3), (61, 4), (400, 5), (1003, 6)] {
            let v = random(4 * len + 2, seed);
            let norm2: Vec<f64> = v[3 * len..4 * len]
                .iter()
                .map(|x| 40.0 + 10.0 * x)
                .collect();
            let run = Run {
                inputs: (&v[..len], &v[len..2 * len], &v[2 * len..3 * len], &norm2),
                step: Step {
                    left: v[4 * len],
                    right: v[4 * len + 1],
                    qn: 41.0,
                },
                k: 7,
            };
            let (want_cur, want_top) = scalar(&run);
            let mut outputs = vec![
                pulp::Scalar::new().vectorize(&run),
                pulp::Arch::new().dispatch(&run),
            ];
            outputs.extend(v3(&run));
            for (cur, fused, scanned, plain) in outputs {
                assert_eq!(bits_of(&cur), bits_of(&want_cur), "len {len}");
                assert_eq!(bits_of(&plain), bits_of(&want_cur), "len {len}");
                assert_eq!(bits(&fused), bits(&want_top), "len {len}");
                assert_eq!(bits(&scanned), bits(&want_top), "len {len}");
            }
        }
    }

    struct Dot<'a>(&'a [f64], &'a [f64]);

    impl WithSimd for &Dot<'_> {
        type Output = f64;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _simd: S) -> f64 {
            dot(self.0, self.1)
        }
    }

    #[test]
    fn dot_matches_naive_sum_and_every_dispatch_is_bit_identical() {
        for len in [0, 1, 7, 8, 9, 100, 257] {
            let a = random(len, 10 + len as u64);
            let b = random(len, 20 + len as u64);
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let plain = dot(&a, &b);
            assert!(
                (plain - naive).abs() < 1e-12 * (1.0 + naive.abs()),
                "len {len}"
            );
            let case = Dot(&a, &b);
            let mut all = vec![
                pulp::Scalar::new().vectorize(&case),
                pulp::Arch::new().dispatch(&case),
            ];
            all.extend(v3(&case));
            for got in all {
                assert_eq!(got.to_bits(), plain.to_bits(), "len {len}");
            }
        }
    }

    #[test]
    fn top_k_keeps_the_k_smallest_with_ties_to_the_lower_id() {
        let d = [5.0, 1.0, 3.0, 1.0, 4.0, 0.5, 3.0, -0.1, 9.0];
        let mut top = TopK::new(4, f64::INFINITY);
        for (i, &x) in d.iter().enumerate() {
            top.offer(x, i);
        }
        assert_eq!(top.items(), &[(0.0, 7), (0.5, 5), (1.0, 1), (1.0, 3)]);
        assert!(top.complete());
        assert_eq!(top.kth_d2().to_bits(), 1.0f64.to_bits());
    }

    #[test]
    fn a_bound_changes_nothing_when_k_items_fall_below_it_and_reports_when_not() {
        let d = random(300, 9);
        let mut free = TopK::new(10, f64::INFINITY);
        for (i, &x) in d.iter().enumerate() {
            free.offer(x + 2.0, i);
        }
        let kth = free.kth_d2();
        for bound in [kth * (1.0 + 1e-12), kth * 1.5, 100.0] {
            let mut bounded = TopK::new(10, bound);
            for (i, &x) in d.iter().enumerate() {
                bounded.offer(x + 2.0, i);
            }
            assert!(bounded.complete());
            assert_eq!(bits(&bounded), bits(&free));
        }
        let mut short = TopK::new(10, kth);
        for (i, &x) in d.iter().enumerate() {
            short.offer(x + 2.0, i);
        }
        assert!(!short.complete());
        assert!(short.kth_d2().is_infinite());
    }
}
