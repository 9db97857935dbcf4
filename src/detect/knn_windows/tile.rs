//! The batch path's tiles: [`TILE`] consecutive queries advanced through each reference block
//! while the block's products are in the L1 cache, with the per-pair operations of the
//! streaming path (so the same bits).

use pulp::{Simd, WithSimd};

use super::{Dots, Query, Reference, Step, TILE, TopK, dot};
use crate::model::Timestamp;

impl Reference {
    /// Queries `u0..u0 + out.len()` (at most [`TILE`], none an anchor) of the column `z` with
    /// row timestamps `ts`, one reference block at a time: the block's products stay in the
    /// L1 cache while every query of the tile advances them. The same operations as
    /// [`Reference::query`] one query after the other, so the same bits; if any list ends short
    /// of its bound, the tile is redone query by query (which rescans).
    pub(super) fn query_tile(
        &self,
        dots: &mut Dots,
        column: (&[f64], &[Timestamp]),
        u0: usize,
        k: usize,
        out: &mut [Option<TopK>],
    ) {
        pulp::Arch::new().dispatch(TileOp {
            reference: self,
            dots,
            column,
            u0,
            k,
            out,
        });
    }

    /// The body of [`Reference::query_tile`], inlined into each dispatched version.
    #[expect(
        clippy::inline_always,
        reason = "must inline into pulp's target-feature context to be vectorised for it"
    )]
    #[inline(always)]
    fn tile_inline(
        &self,
        dots: &mut Dots,
        column: (&[f64], &[Timestamp]),
        u0: usize,
        k: usize,
        out: &mut [Option<TopK>],
    ) {
        let (z, ts) = column;
        let m = self.m;
        let n = out.len().min(TILE);
        let queries: Vec<Query<'_>> = (u0..u0 + n).map(|u| Query::of(z, ts, u, m, k)).collect();
        let steps: Vec<Step> = queries
            .iter()
            .map(|q| Step {
                left: q.left,
                right: q.window[m - 1],
                qn: dot(q.window, q.window),
            })
            .collect();
        let mut bounds = [0.0; TILE];
        self.bounds(&dots.last, &queries, &steps, &mut bounds[..n]);
        let mut tops: Vec<TopK> = bounds[..n].iter().map(|&b| TopK::new(k, b)).collect();
        let [sa, sb] = &mut dots.scratch;
        for (block, (base, fin)) in self
            .blocks
            .iter()
            .zip(dots.cur.iter().zip(dots.prev.iter_mut()))
        {
            let count = block.count();
            let (sa, sb) = (&mut sa[..count], &mut sb[..count]);
            for j in 0..n {
                let (src, dst): (&[f64], &mut [f64]) = match (j, j + 1 == n) {
                    (0, true) => (base, fin),
                    (0, false) => (base, sa),
                    (_, last) => {
                        let (src, dst) = if j % 2 == 1 {
                            (&*sa, &mut *sb)
                        } else {
                            (&*sb, &mut *sa)
                        };
                        (src, if last { &mut **fin } else { dst })
                    }
                };
                self.advance_block(block, dst, src, &queries[j], steps[j], &mut tops[j]);
            }
        }
        if tops.iter().all(TopK::complete) {
            std::mem::swap(&mut dots.cur, &mut dots.prev);
            dots.last.clear();
            dots.last.extend_from_slice(tops[n - 1].items());
            for (slot, top) in out.iter_mut().zip(tops) {
                *slot = Some(top);
            }
        } else {
            // `dots` still holds the state before the tile.
            for (slot, q) in out.iter_mut().zip(&queries) {
                *slot = Some(self.query(dots, q));
            }
        }
    }
}

/// [`Reference::tile_inline`] as a `pulp` operation.
struct TileOp<'a> {
    reference: &'a Reference,
    dots: &'a mut Dots,
    column: (&'a [f64], &'a [Timestamp]),
    u0: usize,
    k: usize,
    out: &'a mut [Option<TopK>],
}

impl WithSimd for TileOp<'_> {
    type Output = ();

    #[expect(
        clippy::inline_always,
        reason = "the tile must inline into pulp's target-feature context"
    )]
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        self.reference
            .tile_inline(self.dots, self.column, self.u0, self.k, self.out);
    }
}
