//! Dense numbers for member and order ids, shared by every node of a run,
//! and maps keyed by them: a node's members, expected balances and orders
//! are vectors indexed by those numbers, not string-keyed trees (a chain
//! day applies every op on every node; string compares and key clones per
//! delivery were most of the simulator's time).
//!
//! Nothing depends on hash order: the hash map only answers "which number
//! has this id"; iteration is by number (the order ids were first seen,
//! deterministic for a seed) or, where the result must not depend on it
//! (the state hash), by id.

use std::cell::{Ref, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

/// A fast hasher for short ids (FxHash's mixing, eight bytes at a time).
/// `finish` rotates the well-mixed high bits down, as rustc-hash 2 does:
/// the hash table picks buckets by the low bits, and a product's low bits
/// depend only on the low bytes of the input (keys `k1`, `k2`, … sharing
/// their first bytes fell into a few long probe runs).
#[derive(Default)]
pub(crate) struct Fx(u64);

impl Fx {
    #[inline]
    fn mix(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes(c.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(b));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
}

/// Ids by number: number k is the k-th id first seen.
pub(crate) struct Interner<K> {
    map: HashMap<K, u32, BuildHasherDefault<Fx>>,
    keys: Vec<K>,
    /// Numbers in id order, for as many ids as it covers (remade when
    /// more were seen).
    sorted: Vec<u32>,
}

impl<K> Default for Interner<K> {
    fn default() -> Self {
        Interner {
            map: HashMap::default(),
            keys: Vec::new(),
            sorted: Vec::new(),
        }
    }
}

impl<K: Ord + Hash + Clone> Interner<K> {
    pub fn get(&self, k: &K) -> Option<u32> {
        self.map.get(k).copied()
    }

    pub fn intern(&mut self, k: &K) -> u32 {
        if let Some(&i) = self.map.get(k) {
            return i;
        }
        let i = u32::try_from(self.keys.len()).expect("fewer than 2^32 ids");
        self.keys.push(k.clone());
        self.map.insert(k.clone(), i);
        i
    }

    /// Room for `n` more ids without growing.
    pub fn reserve(&mut self, n: usize) {
        self.map.reserve(n);
        self.keys.reserve(n);
    }

    pub fn key(&self, i: u32) -> &K {
        &self.keys[i as usize]
    }

    /// Make `sorted` cover every id seen.
    fn sort(&mut self) {
        if self.sorted.len() != self.keys.len() {
            let mut s: Vec<u32> = (0..self.keys.len() as u32).collect();
            let keys = &self.keys;
            s.sort_unstable_by(|a, b| keys[*a as usize].cmp(&keys[*b as usize]));
            self.sorted = s;
        }
    }
}

/// An interner shared by the nodes of one run.
pub(crate) type Shared<K> = Rc<RefCell<Interner<K>>>;

/// A map from ids to values: a vector indexed by the ids' numbers.
pub(crate) struct IdMap<K, V> {
    ids: Shared<K>,
    slots: Vec<Option<V>>,
    len: usize,
}

impl<K, V> fmt::Debug for IdMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdMap({} entries)", self.len)
    }
}

impl<K: Ord + Hash + Clone, V> IdMap<K, V> {
    pub fn new(ids: Shared<K>) -> Self {
        IdMap {
            ids,
            slots: Vec::new(),
            len: 0,
        }
    }

    /// Room for ids numbered below `n` without growing.
    pub fn reserve(&mut self, n: usize) {
        self.slots.reserve(n.saturating_sub(self.slots.len()));
    }

    /// The number of id `k`, if it was ever seen.
    pub fn slot(&self, k: &K) -> Option<u32> {
        self.ids.borrow().get(k)
    }

    /// The number of id `k`, made on first sight.
    pub fn intern(&self, k: &K) -> u32 {
        self.ids.borrow_mut().intern(k)
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.at(self.slot(k)?)
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = self.slot(k)?;
        self.at_mut(i)
    }

    pub fn contains_key(&self, k: &K) -> bool {
        self.get(k).is_some()
    }

    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        let i = self.intern(&k);
        self.put(i, v)
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        let i = self.slot(k)?;
        let old = self.slots.get_mut(i as usize)?.take();
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    #[inline]
    pub fn at(&self, i: u32) -> Option<&V> {
        self.slots.get(i as usize)?.as_ref()
    }

    #[inline]
    pub fn at_mut(&mut self, i: u32) -> Option<&mut V> {
        self.slots.get_mut(i as usize)?.as_mut()
    }

    pub fn put(&mut self, i: u32, v: V) -> Option<V> {
        let i = i as usize;
        if self.slots.len() <= i {
            // The vector's room grows geometrically (ids arrive one by
            // one), unless reserved.
            self.slots.resize_with(i + 1, || None);
        }
        let old = self.slots[i].replace(v);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Entries by number (first-seen order), with their numbers.
    pub fn slots(&self) -> impl Iterator<Item = (u32, &V)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i as u32, v)))
    }

    /// The interner, to read keys by number.
    #[allow(dead_code)] // the ordered map's API, kept whole
    pub fn ids(&self) -> Ref<'_, Interner<K>> {
        self.ids.borrow()
    }

    /// Numbers in id order (every id seen by the run, held here or not).
    pub fn sorted(&self) -> Ref<'_, Interner<K>> {
        self.ids.borrow_mut().sort();
        self.ids.borrow()
    }

    /// Entries in id order.
    pub fn for_each_sorted(&self, mut f: impl FnMut(&K, &V)) {
        let ids = self.sorted();
        for &i in &ids.sorted {
            if let Some(v) = self.at(i) {
                f(ids.key(i), v);
            }
        }
    }

    /// Values held, in id order.
    pub fn values(&self) -> std::vec::IntoIter<&V> {
        let ids = self.sorted();
        let v: Vec<&V> = ids.sorted.iter().filter_map(|&i| self.at(i)).collect();
        v.into_iter()
    }

    /// The value of `k`, made with `V::default()` on first use.
    pub fn or_default(&mut self, k: &K) -> &mut V
    where
        V: Default,
    {
        let i = self.intern(k);
        if self.at(i).is_none() {
            self.put(i, V::default());
        }
        self.at_mut(i).expect("put above")
    }

    /// Ids held, in id order.
    pub fn keys(&self) -> Vec<K> {
        let mut out = Vec::with_capacity(self.len);
        self.for_each_sorted(|k, _| out.push(k.clone()));
        out
    }
}

impl<K: Ord + Hash + Clone, V> std::ops::Index<&K> for IdMap<K, V> {
    type Output = V;

    fn index(&self, k: &K) -> &V {
        self.get(k).expect("id held")
    }
}

/// Equal when the same ids hold equal values (maps of one run: one
/// numbering).
impl<K: Ord + Hash + Clone, V: PartialEq> PartialEq for IdMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.slots().all(|(i, v)| other.at(i) == Some(v))
    }
}
