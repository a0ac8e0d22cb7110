//! Time without a clock: hybrid logical clocks and version vectors. The
//! physical time is always passed in, so the same code runs in the node
//! (system clock) and the simulator (simulated clock).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{NodeId, OpId};

/// A hybrid logical clock reading: wall milliseconds since the Unix epoch,
/// and a counter that orders readings within the same millisecond.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Hlc {
    pub ms: u64,
    pub count: u32,
}

impl std::fmt::Debug for Hlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.ms, self.count)
    }
}

/// How far ahead of local time a remote reading may be before it is refused
/// rather than dragging the local clock forward.
pub const HLC_DRIFT_MAX_MS: u64 = 5 * 60 * 1000;

/// A node's hybrid logical clock.
#[derive(Debug, Clone, Default)]
pub struct HlcClock {
    last: Hlc,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "remote clock {remote_ms} ms is more than {HLC_DRIFT_MAX_MS} ms ahead of local {local_ms} ms"
)]
pub struct ClockDrift {
    pub remote_ms: u64,
    pub local_ms: u64,
}

impl HlcClock {
    /// A clock that never goes below `last` (restored from storage).
    pub fn starting_at(last: Hlc) -> HlcClock {
        HlcClock { last }
    }

    pub fn last(&self) -> Hlc {
        self.last
    }

    /// The reading for a local event at physical time `now_ms`.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        self.last = if now_ms > self.last.ms {
            Hlc {
                ms: now_ms,
                count: 0,
            }
        } else {
            Hlc {
                ms: self.last.ms,
                count: self.last.count + 1,
            }
        };
        self.last
    }

    /// Take a remote reading into account, so later local readings order
    /// after it.
    pub fn observe(&mut self, remote: Hlc, now_ms: u64) -> Result<(), ClockDrift> {
        if remote.ms > now_ms.saturating_add(HLC_DRIFT_MAX_MS) {
            return Err(ClockDrift {
                remote_ms: remote.ms,
                local_ms: now_ms,
            });
        }
        if remote > self.last {
            self.last = remote;
        }
        Ok(())
    }
}

/// For each node, how many of its ops (a prefix 1..=n of its log) are held.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VersionVector(BTreeMap<NodeId, u64>);

impl std::fmt::Debug for VersionVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl VersionVector {
    pub fn new() -> VersionVector {
        VersionVector::default()
    }

    pub fn get(&self, node: &NodeId) -> u64 {
        self.0.get(node).copied().unwrap_or(0)
    }

    pub fn contains(&self, id: &OpId) -> bool {
        self.get(&id.origin) >= id.seq
    }

    /// Whether `id` is the very next op of its origin (causal delivery).
    pub fn is_next(&self, id: &OpId) -> bool {
        self.get(&id.origin) + 1 == id.seq
    }

    /// Record that op `id` is held. Ops of one origin are held as a prefix.
    pub fn advance(&mut self, id: &OpId) {
        assert!(
            self.is_next(id),
            "version vector must advance without gaps: {id} after {}",
            self.get(&id.origin)
        );
        match self.0.get_mut(&id.origin) {
            Some(s) => *s = id.seq,
            None => {
                self.0.insert(id.origin.clone(), id.seq);
            }
        }
    }

    /// Record that ops of `node` up to `seq` are held (or sent), if that is
    /// more than already recorded.
    pub fn raise(&mut self, node: &NodeId, seq: u64) {
        match self.0.get_mut(node) {
            Some(s) => *s = (*s).max(seq),
            None => {
                self.0.insert(node.clone(), seq);
            }
        }
    }

    /// Whether everything `other` holds is held here too.
    pub fn dominates(&self, other: &VersionVector) -> bool {
        other.0.iter().all(|(n, &s)| self.get(n) >= s)
    }

    pub fn merge(&mut self, other: &VersionVector) {
        for (n, &s) in &other.0 {
            self.raise(n, s);
        }
    }

    /// The vector without `node`'s entry (an op's deps leave out its own
    /// origin, whose earlier ops its sequence number already implies).
    pub fn without(&self, node: &NodeId) -> VersionVector {
        let mut v = self.clone();
        v.0.remove(node);
        v
    }

    pub fn iter(&self) -> impl Iterator<Item = (&NodeId, u64)> {
        self.0.iter().map(|(n, &s)| (n, s))
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hlc_is_monotonic_even_when_time_goes_back() {
        let mut c = HlcClock::default();
        let a = c.tick(1000);
        let b = c.tick(999);
        let d = c.tick(1000);
        assert!(a < b && b < d);
        c.observe(Hlc { ms: 2000, count: 3 }, 1000).unwrap();
        assert!(c.tick(1000) > Hlc { ms: 2000, count: 3 });
        assert!(
            c.observe(
                Hlc {
                    ms: 1000 + HLC_DRIFT_MAX_MS + 1,
                    count: 0
                },
                1000
            )
            .is_err()
        );
    }

    #[test]
    fn version_vectors() {
        let a = NodeId::new("a").unwrap();
        let b = NodeId::new("b").unwrap();
        let mut v = VersionVector::new();
        v.advance(&OpId {
            origin: a.clone(),
            seq: 1,
        });
        assert!(v.is_next(&OpId {
            origin: a.clone(),
            seq: 2
        }));
        assert!(!v.is_next(&OpId {
            origin: a.clone(),
            seq: 3
        }));
        let mut w = VersionVector::new();
        w.advance(&OpId {
            origin: b.clone(),
            seq: 1,
        });
        assert!(!v.dominates(&w));
        v.merge(&w);
        assert!(v.dominates(&w));
        assert_eq!(v.total(), 2);
    }
}
