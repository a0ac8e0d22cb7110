//! Time without a clock: hybrid logical clocks and version vectors. The
//! physical time is always passed in, so the same code runs in the node
//! (system clock) and the simulator (simulated clock).

use serde::{Deserialize, Serialize};

use crate::ids::{NodeId, OpId};

/// A hybrid logical clock reading: wall milliseconds since the Unix epoch,
/// and a counter that orders readings within the same millisecond.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
pub struct Hlc {
    #[n(0)]
    pub ms: u64,
    #[n(1)]
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
///
/// Held as entries sorted by node name, each name once (a chain has tens of
/// nodes: a sorted vector is smaller and faster than a tree). Encoded as a
/// map from name to count, in name order, as it always was.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct VersionVector(Vec<(NodeId, u64)>);

impl std::fmt::Debug for VersionVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, s)| (n, s)))
            .finish()
    }
}

impl Serialize for VersionVector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (n, v) in &self.0 {
            m.serialize_entry(n, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for VersionVector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<VersionVector, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = VersionVector;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<VersionVector, A::Error> {
                let mut v: Vec<(NodeId, u64)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some((n, s)) = map.next_entry::<NodeId, u64>()? {
                    v.push((n, s));
                }
                Ok(VersionVector::from_entries(v))
            }
        }
        d.deserialize_map(Entries)
    }
}

/// In ops (`codec`): a map from name to count, in name order.
impl<C> minicbor::Encode<C> for VersionVector {
    fn encode<W: minicbor::encode::Write>(
        &self,
        e: &mut minicbor::Encoder<W>,
        ctx: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.map(self.0.len() as u64)?;
        for (n, s) in &self.0 {
            minicbor::Encode::encode(n, e, ctx)?;
            e.u64(*s)?;
        }
        Ok(())
    }
}

impl<'b, C> minicbor::Decode<'b, C> for VersionVector {
    fn decode(
        d: &mut minicbor::Decoder<'b>,
        ctx: &mut C,
    ) -> Result<VersionVector, minicbor::decode::Error> {
        let mut v = Vec::new();
        for entry in d.map_iter_with::<C, NodeId, u64>(ctx)? {
            v.push(entry?);
        }
        Ok(VersionVector::from_entries(v))
    }
}

impl VersionVector {
    pub fn new() -> VersionVector {
        VersionVector::default()
    }

    /// The vector of `entries` as read from an encoding: as a `BTreeMap`
    /// reads them, in any order, a repeated name's last count winning.
    pub(crate) fn from_entries(mut v: Vec<(NodeId, u64)>) -> VersionVector {
        if !v.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable: of equal names, the last read stays last.
            v.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(NodeId, u64)> = Vec::with_capacity(v.len());
            for e in v {
                match out.last_mut() {
                    Some(last) if last.0 == e.0 => last.1 = e.1,
                    _ => out.push(e),
                }
            }
            v = out;
        }
        VersionVector(v)
    }

    fn find(&self, node: &NodeId) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.cmp(node))
    }

    pub fn get(&self, node: &NodeId) -> u64 {
        match self.find(node) {
            Ok(i) => self.0[i].1,
            Err(_) => 0,
        }
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
        self.raise(&id.origin, id.seq);
    }

    /// Record that ops of `node` up to `seq` are held (or sent), if that is
    /// more than already recorded.
    pub fn raise(&mut self, node: &NodeId, seq: u64) {
        // Names usually come in name order: try after the last one first.
        if self.0.last().is_none_or(|(n, _)| n < node) {
            self.0.push((node.clone(), seq));
            return;
        }
        match self.find(node) {
            Ok(i) => self.0[i].1 = self.0[i].1.max(seq),
            Err(i) => self.0.insert(i, (node.clone(), seq)),
        }
    }

    /// Whether everything `other` holds is held here too.
    pub fn dominates(&self, other: &VersionVector) -> bool {
        // Both sorted by name: one walk.
        let mut mine = self.0.iter().peekable();
        other.0.iter().all(|(n, s)| {
            while mine.next_if(|(m, _)| m < n).is_some() {}
            match mine.peek() {
                Some((m, have)) if m == n => have >= s,
                _ => *s == 0,
            }
        })
    }

    pub fn merge(&mut self, other: &VersionVector) {
        for (n, s) in &other.0 {
            self.raise(n, *s);
        }
    }

    /// The vector without `node`'s entry (an op's deps leave out its own
    /// origin, whose earlier ops its sequence number already implies).
    pub fn without(&self, node: &NodeId) -> VersionVector {
        let mut v = self.clone();
        if let Ok(i) = v.find(node) {
            v.0.remove(i);
        }
        v
    }

    pub fn iter(&self) -> impl Iterator<Item = (&NodeId, u64)> {
        self.0.iter().map(|(n, s)| (n, *s))
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, s)| s).sum()
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

    proptest::proptest! {
        /// The vector reads, writes and prints as the `BTreeMap` it was:
        /// same encoding both ways (postcard and JSON), same answers.
        #[test]
        fn vectors_behave_as_a_tree(
            raises in proptest::collection::vec(("[a-z][a-z0-9-]{0,6}", 0u64..50), 0..40),
            others in proptest::collection::vec(("[a-z][a-z0-9-]{0,6}", 0u64..50), 0..40),
        ) {
            use std::collections::BTreeMap;
            let build = |rs: &[(String, u64)]| {
                let mut v = VersionVector::new();
                let mut t: BTreeMap<NodeId, u64> = BTreeMap::new();
                for (n, s) in rs {
                    let n = NodeId::new(n.clone()).unwrap();
                    v.raise(&n, *s);
                    let e = t.entry(n).or_insert(*s);
                    *e = (*e).max(*s);
                }
                (v, t)
            };
            let (v, t) = build(&raises);
            let (w, u) = build(&others);
            let bytes = postcard::to_allocvec(&v).unwrap();
            proptest::prop_assert_eq!(&bytes, &postcard::to_allocvec(&t).unwrap());
            proptest::prop_assert_eq!(&postcard::from_bytes::<VersionVector>(&bytes).unwrap(), &v);
            let json = serde_json::to_string(&v).unwrap();
            proptest::prop_assert_eq!(&json, &serde_json::to_string(&t).unwrap());
            proptest::prop_assert_eq!(&serde_json::from_str::<VersionVector>(&json).unwrap(), &v);
            proptest::prop_assert_eq!(format!("{v:?}"), format!("{t:?}"));
            proptest::prop_assert_eq!(v.total(), t.values().sum::<u64>());
            let dominated = u.iter().all(|(n, s)| t.get(n).copied().unwrap_or(0) >= *s);
            proptest::prop_assert_eq!(v.dominates(&w), dominated);
            let mut m = v.clone();
            m.merge(&w);
            let mut mt = t.clone();
            for (n, s) in &u {
                let e = mt.entry(n.clone()).or_insert(*s);
                *e = (*e).max(*s);
            }
            proptest::prop_assert_eq!(postcard::to_allocvec(&m).unwrap(), postcard::to_allocvec(&mt).unwrap());
            for n in t.keys() {
                proptest::prop_assert_eq!(v.get(n), t[n]);
                let mut less = t.clone();
                less.remove(n);
                proptest::prop_assert_eq!(postcard::to_allocvec(&v.without(n)).unwrap(), postcard::to_allocvec(&less).unwrap());
            }
        }
    }

    /// A map given out of order, or with a name twice, reads as a
    /// `BTreeMap` reads it: sorted, the last count of a name wins.
    #[test]
    fn unsorted_maps_read_as_a_tree_reads_them() {
        let json = r#"{"c":3,"a":1,"c":7,"b":2}"#;
        let v: VersionVector = serde_json::from_str(json).unwrap();
        let t: std::collections::BTreeMap<NodeId, u64> = serde_json::from_str(json).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            serde_json::to_string(&t).unwrap()
        );
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"a":1,"b":2,"c":7}"#);
        assert!(serde_json::from_str::<VersionVector>(r#"{"A":1}"#).is_err());
    }
}
