//! Idempotency: what a request that comes with an idempotency key gets,
//! written once for the node's engine and the simulator.
//!
//! A key is bound to the first request it came with: its *fingerprint*
//! (the node's is a hash of method, path and body) and its *answer*,
//! recorded with the op the request made, in the same commit (no op, no
//! record: a refused request leaves its key unused, and a retry decides
//! afresh). Then:
//! - a key with no record runs its request ([`Verdict::Run`]);
//! - a key recorded with this very fingerprint answers the recorded
//!   answer again, and nothing more happens ([`Verdict::Replay`]);
//! - a key recorded with another fingerprint is refused
//!   ([`Verdict::Reused`]: the engine's `idempotency_key_reused`);
//! - a key whose request is still running is refused ([`InProgress`]:
//!   `idempotency_key_in_progress`), so two attempts never both run.
//!
//! The order matters: a request first holds its key ([`Idempotency::begin`]),
//! then reads the record and settles ([`Idempotency::settle`]). Read
//! first, and an attempt whose op commits between another's read and its
//! hold would let both run. A held key is let go when its request ends
//! ([`Idempotency::end`]): refused, or committed (its record answers from
//! then on). The record's store is the host's: the node's is its store's
//! table, written in the op's commit and read outside any lock; a host
//! without a store keeps [`Answers`] in memory.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

/// What a request gets from its key's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<A> {
    /// No record: run the request, and record its answer with its op.
    Run,
    /// Recorded for this very request: answer this again, change nothing.
    Replay(A),
    /// Recorded for another request: refused (`idempotency_key_reused`).
    Reused,
}

/// The key's request is still running: refused
/// (`idempotency_key_in_progress`); the client may retry later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InProgress;

/// The rule: what a request with `fingerprint` gets from its key's
/// `recorded` fingerprint and answer, if any.
pub fn verdict<F: PartialEq + ?Sized, A>(fingerprint: &F, recorded: Option<(&F, A)>) -> Verdict<A> {
    match recorded {
        None => Verdict::Run,
        Some((first, answer)) if first == fingerprint => Verdict::Replay(answer),
        Some(_) => Verdict::Reused,
    }
}

/// The keys whose requests are running here. The node shares one between
/// its concurrent requests (behind a lock, held only for `begin`,
/// `settle` and `end`, never while the record is read); it is not kept
/// across a restart, which ends every request.
#[derive(Debug, Default)]
pub struct Idempotency {
    in_flight: HashSet<String>,
}

impl Idempotency {
    pub fn new() -> Idempotency {
        Idempotency::default()
    }

    /// Hold `key` for a request about to read its record, or
    /// [`InProgress`] if another request holds it.
    pub fn begin(&mut self, key: &str) -> Result<(), InProgress> {
        if self.in_flight.contains(key) {
            return Err(InProgress);
        }
        self.in_flight.insert(key.to_owned());
        Ok(())
    }

    /// The verdict for a request holding `key` (after `begin`), given the
    /// record read since. The key is let go unless the request runs: a
    /// replay or a refusal ends it here.
    pub fn settle<F: PartialEq + ?Sized, A>(
        &mut self,
        key: &str,
        fingerprint: &F,
        recorded: Option<(&F, A)>,
    ) -> Verdict<A> {
        let v = verdict(fingerprint, recorded);
        if !matches!(v, Verdict::Run) {
            self.end(key);
        }
        v
    }

    /// The request holding `key` ended: refused (nothing recorded, the key
    /// is free for a retry) or committed (its record answers from now on).
    pub fn end(&mut self, key: &str) {
        self.in_flight.remove(key);
    }

    /// Whether a request holding `key` is running.
    pub fn is_running(&self, key: &str) -> bool {
        self.in_flight.contains(key)
    }
}

/// Keys' records kept in memory: for a host with no store of them (the
/// simulator, whose log is in memory too). `S` is the hasher.
#[derive(Debug, Clone)]
pub struct Answers<F, A, S = RandomState> {
    recorded: HashMap<String, (F, A), S>,
}

impl<F, A, S: Default> Default for Answers<F, A, S> {
    fn default() -> Self {
        Answers {
            recorded: HashMap::default(),
        }
    }
}

impl<F: PartialEq, A, S: BuildHasher> Answers<F, A, S> {
    /// What a request with `key` and `fingerprint` gets from the records.
    pub fn verdict(&self, key: &str, fingerprint: &F) -> Verdict<&A> {
        verdict(fingerprint, self.get(key))
    }

    /// `key`'s record: the fingerprint of the request it answered, and
    /// the answer.
    pub fn get(&self, key: &str) -> Option<(&F, &A)> {
        self.recorded.get(key).map(|(f, a)| (f, a))
    }

    /// Record what `key` answered, as its request's op is logged. A key
    /// answers once: if it is recorded already, the first record stays
    /// and this returns false (the host ran a request twice: a bug its
    /// checks report).
    pub fn record(&mut self, key: String, fingerprint: F, answer: A) -> bool {
        first(&mut self.recorded, key, (fingerprint, answer))
    }

    /// Forget `key`'s record: the op it came with was lost (never
    /// acknowledged), so a retry decides afresh.
    pub fn forget(&mut self, key: &str) {
        self.recorded.remove(key);
    }

    pub fn len(&self) -> usize {
        self.recorded.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recorded.is_empty()
    }
}

/// Insert unless `key` is there (`HashMap::try_insert`, unstable).
fn first<V, S: BuildHasher>(map: &mut HashMap<String, V, S>, key: String, value: V) -> bool {
    match map.entry(key) {
        Entry::Occupied(_) => false,
        Entry::Vacant(v) => {
            v.insert(value);
            true
        }
    }
}

/// Records as rebuilt from a log: `(key, fingerprint, answer)`, the first
/// of a key kept.
impl<F, A, S: BuildHasher + Default> FromIterator<(String, F, A)> for Answers<F, A, S> {
    fn from_iter<I: IntoIterator<Item = (String, F, A)>>(iter: I) -> Self {
        let mut recorded = HashMap::default();
        for (k, f, a) in iter {
            first(&mut recorded, k, (f, a));
        }
        Answers { recorded }
    }
}

#[cfg(test)]
mod tests;
