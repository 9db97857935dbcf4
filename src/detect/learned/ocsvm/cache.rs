//! The bounded LRU cache of kernel rows (libsvm's `Cache`), with rows computed straight into
//! their slots.
//!
//! Why an arena in one anonymous mapping with transparent huge pages: a fit at 10k windows
//! touches ~85 MB of new rows, and on 4 KB pages that is ~21 000 page faults, which cost as
//! much as computing the rows did (a third of the fit in `perf`); on 2 MB pages it is ~40.
//! Rows are written by the kernel directly into the slots handed out by
//! [`RowCache::claim`], so nothing is copied either. Small caches stay on the heap.

use memmap2::{MmapMut, MmapOptions};

/// No slot.
const EMPTY: u32 = u32::MAX;

/// Arenas from this size on are mapped (and advised to use huge pages).
const MAP_MIN_BYTES: usize = 4 << 20;

/// The memory of every slot, `capacity × n` values.
#[derive(Debug)]
enum Arena {
    Heap(Vec<f64>),
    Mapped(MmapMut),
}

impl Arena {
    fn new(values: usize) -> Self {
        let bytes = values * size_of::<f64>();
        if bytes >= MAP_MIN_BYTES
            && let Ok(map) = MmapOptions::new().len(bytes).map_anon()
        {
            // Only a hint: without huge pages the cache works the same, with more faults.
            #[cfg(target_os = "linux")]
            let _ = map.advise(memmap2::Advice::HugePage);
            return Self::Mapped(map);
        }
        Self::Heap(vec![0.0; values])
    }

    fn values(&self) -> &[f64] {
        match self {
            Self::Heap(v) => v,
            // A mapping is page-aligned and its length a multiple of 8 bytes, so the cast
            // cannot fail; an empty slice would only make every row empty.
            Self::Mapped(map) => bytemuck::try_cast_slice(map).unwrap_or_default(),
        }
    }

    fn values_mut(&mut self) -> &mut [f64] {
        match self {
            Self::Heap(v) => v,
            Self::Mapped(map) => bytemuck::try_cast_slice_mut(map).unwrap_or_default(),
        }
    }
}

/// Kernel rows kept between solver iterations, least recently used evicted first, at most
/// `capacity` rows (libsvm's `cache_size`, in bytes, divided by a row's size).
#[derive(Debug)]
pub(super) struct RowCache {
    capacity: usize,
    /// Values per row.
    n: usize,
    /// Slot of each training row, or [`EMPTY`].
    slot_of: Vec<u32>,
    /// Training row held by each slot (slots are handed out in order).
    owner: Vec<usize>,
    /// Last use of each slot (a counter, higher = more recent).
    used: Vec<u64>,
    clock: u64,
    arena: Arena,
    /// Rows computed so far (cache misses plus prefetched rows).
    pub(super) computed: usize,
}

impl RowCache {
    /// A cache of at most `bytes` (never fewer than two rows: the solver needs a pair).
    pub(super) fn new(n: usize, bytes: usize) -> Self {
        let row_bytes = (n * size_of::<f64>()).max(1);
        let capacity = (bytes / row_bytes).clamp(2, n.max(2));
        Self {
            capacity,
            n,
            slot_of: vec![EMPTY; n],
            owner: Vec::new(),
            used: Vec::new(),
            clock: 0,
            arena: Arena::new(capacity * n),
            computed: 0,
        }
    }

    /// Most rows it holds at once.
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// True when row `i` is cached.
    pub(super) fn contains(&self, i: usize) -> bool {
        self.slot_of[i] != EMPTY
    }

    /// Row `i` if cached, marking it as just used.
    pub(super) fn get(&mut self, i: usize) -> Option<&[f64]> {
        let slot = self.slot_of[i];
        if slot == EMPTY {
            return None;
        }
        self.clock += 1;
        self.used[slot as usize] = self.clock;
        Some(self.peek(slot as usize))
    }

    /// Row `i`; empty when not cached (callers [`claim`](Self::claim) and fill it first).
    pub(super) fn row(&self, i: usize) -> &[f64] {
        match self.slot_of[i] {
            EMPTY => &[],
            slot => self.peek(slot as usize),
        }
    }

    fn peek(&self, slot: usize) -> &[f64] {
        self.arena
            .values()
            .get(slot * self.n..(slot + 1) * self.n)
            .unwrap_or_default()
    }

    /// Slots for the uncached rows `rows` (at most [`capacity`](Self::capacity) of them,
    /// distinct), evicting least recently used rows other than `keep`, in the order given (the
    /// last counts as the most recently used); returns the slots' memory, one `n`-value slice
    /// per row, for the caller to fill before reading any of them.
    pub(super) fn claim(&mut self, rows: &[usize], keep: Option<usize>) -> Vec<&mut [f64]> {
        let mut slots = Vec::with_capacity(rows.len());
        for &i in rows {
            let slot = if self.slot_of[i] != EMPTY {
                self.slot_of[i] as usize
            } else if self.owner.len() < self.capacity {
                self.owner.push(i);
                self.used.push(0);
                self.owner.len() - 1
            } else {
                let keep_slot = keep.map_or(EMPTY, |k| self.slot_of[k]);
                let victim = (0..self.owner.len())
                    .filter(|&s| s as u32 != keep_slot && !slots.contains(&s))
                    .min_by_key(|&s| self.used[s])
                    .unwrap_or(0);
                self.slot_of[self.owner[victim]] = EMPTY;
                self.owner[victim] = i;
                victim
            };
            self.slot_of[i] = slot as u32;
            self.clock += 1;
            self.used[slot] = self.clock;
            slots.push(slot);
        }
        // Hand out the slots' rows in the order asked for.
        let mut picked: Vec<Option<&mut [f64]>> = (0..slots.len()).map(|_| None).collect();
        let mut order: Vec<(usize, usize)> = slots.iter().copied().zip(0..).collect();
        order.sort_unstable();
        let mut wanted = order.into_iter().peekable();
        for (slot, row) in self.arena.values_mut().chunks_exact_mut(self.n).enumerate() {
            if let Some(&(s, k)) = wanted.peek()
                && s == slot
            {
                picked[k] = Some(row);
                wanted.next();
            }
            if wanted.peek().is_none() {
                break;
            }
        }
        picked.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(cache: &mut RowCache, i: usize, keep: Option<usize>) {
        let mut slots = cache.claim(&[i], keep);
        slots[0].fill(i as f64);
    }

    #[test]
    fn evicts_least_recently_used_but_never_the_kept_row() {
        let n = 4;
        let mut cache = RowCache::new(n, 3 * n * 8);
        assert_eq!(cache.capacity(), 3);
        for i in 0..3 {
            put(&mut cache, i, None);
        }
        assert!(cache.get(0).is_some());
        put(&mut cache, 3, None);
        assert!(!cache.contains(1), "row 1 was the least recently used");
        assert_eq!(cache.row(0), &[0.0; 4]);
        // Row 2 is now the oldest; keeping it evicts row 0 instead.
        put(&mut cache, 1, Some(2));
        assert!(cache.contains(2) && !cache.contains(0));
        assert_eq!(cache.row(1), &[1.0; 4]);
        assert!(cache.row(0).is_empty());
    }

    #[test]
    fn claimed_slots_are_distinct_and_in_the_order_asked() {
        // A heap arena and a mapped one (past MAP_MIN_BYTES).
        for (n, capacity) in [(8, 5), (1200, 500)] {
            let mut cache = RowCache::new(n, capacity * n * 8);
            assert_eq!(cache.capacity(), capacity);
            for (k, slot) in cache.claim(&[3, 1, 0], None).into_iter().enumerate() {
                assert_eq!(slot.len(), n);
                slot.fill(k as f64);
            }
            assert_eq!(cache.row(3), vec![0.0; n]);
            assert_eq!(cache.row(1), vec![1.0; n]);
            assert_eq!(cache.row(0), vec![2.0; n]);
        }
        // Two free slots, then the least recently used row that is not kept (1, as 3 is).
        let mut cache = RowCache::new(8, 5 * 8 * 8);
        drop(cache.claim(&[3, 1, 0], None));
        assert_eq!(cache.claim(&[2, 4, 5], Some(3)).len(), 3);
        assert!(cache.contains(3) && !cache.contains(1) && cache.contains(0));
        assert!(cache.contains(2) && cache.contains(4) && cache.contains(5));
    }
}
