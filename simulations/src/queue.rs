//! The event queue: events by (time, sequence number), earliest first, as a
//! radix heap. Keys only grow (an event is never scheduled before the one
//! being handled), so an event waits in the bucket of the highest bit in
//! which its key differs from the last key taken, and moves to a lower
//! bucket at most once per bit: cheaper than a binary heap's sifting of
//! whole entries on every push and pop, same order.

pub(crate) struct Queue<T> {
    /// The last key taken.
    last: u128,
    /// `buckets[b]`: keys whose highest bit differing from `last` is bit
    /// `b − 1` (bucket 0: equal to `last`).
    buckets: Vec<Vec<(u128, T)>>,
    /// Bit `b − 1` set: bucket `b` (1..=128) holds something.
    full: u128,
    len: usize,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            last: 0,
            buckets: (0..=128).map(|_| Vec::new()).collect(),
            full: 0,
            len: 0,
        }
    }
}

fn bucket(key: u128, last: u128) -> usize {
    (128 - (key ^ last).leading_zeros()) as usize
}

/// The key of an event at `at` scheduled `seq`-th.
fn key(at: u64, seq: u64) -> u128 {
    (u128::from(at) << 64) | u128::from(seq)
}

impl<T> Queue<T> {
    /// Schedule `v` at `at`; `seq` orders events at the same time (each
    /// event its own, growing).
    pub fn push(&mut self, at: u64, seq: u64, v: T) {
        let k = key(at, seq);
        assert!(k >= self.last, "an event scheduled in the past");
        self.put(k, v);
        self.len += 1;
    }

    fn put(&mut self, k: u128, v: T) {
        let b = bucket(k, self.last);
        if b > 0 {
            self.full |= 1 << (b - 1);
        }
        self.buckets[b].push((k, v));
    }

    /// The earliest event, with its time.
    pub fn pop(&mut self) -> Option<(u64, T)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            // The lowest bucket holding something.
            let b = self.full.trailing_zeros() as usize + 1;
            self.full &= !(1 << (b - 1));
            let mut items = std::mem::take(&mut self.buckets[b]);
            self.last = items.iter().map(|(k, _)| *k).min().expect("non-empty");
            for (k, v) in items.drain(..) {
                self.put(k, v);
            }
            // Keep the bucket's room for next time.
            self.buckets[b] = items;
        }
        let (k, v) = self.buckets[0].pop().expect("the minimum is here");
        self.len -= 1;
        Some(((k >> 64) as u64, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BinaryHeap;

    /// The same order as a binary heap of (time, seq), events scheduled
    /// while others are taken.
    #[test]
    fn same_order_as_a_heap() {
        let mut q = Queue::default();
        let mut h = BinaryHeap::new();
        let mut seq = 0u64;
        let mut x = 12345u64;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut now = 0;
        let mut taken = Vec::new();
        let mut expected = Vec::new();
        for round in 0..20_000u64 {
            for _ in 0..rnd(4) {
                seq += 1;
                let at = now + rnd(if round % 7 == 0 { 100_000 } else { 50 });
                q.push(at, seq, seq);
                h.push(std::cmp::Reverse((at, seq)));
            }
            if let Some((at, v)) = q.pop() {
                let std::cmp::Reverse((t, s)) = h.pop().expect("same length");
                assert_eq!((at, v), (t, s));
                now = at;
                taken.push(v);
                expected.push(s);
            } else {
                assert!(h.is_empty());
            }
        }
        while let Some((_, v)) = q.pop() {
            taken.push(v);
        }
        while let Some(std::cmp::Reverse((_, s))) = h.pop() {
            expected.push(s);
        }
        assert_eq!(taken, expected);
        assert!(taken.len() > 10_000);
    }
}
