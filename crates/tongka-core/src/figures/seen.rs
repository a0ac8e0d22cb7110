//! Dormant members (issue 13, "member growth: new, active, dormant"),
//! counted from an index kept in each op's commit, so a report reads a
//! range of day counts and never scans the members.
//!
//! **The rule.** A member's *last day* in a scope is the latest chain day
//! ([`Day::of_ms`] of the op's clock) on which they were registered, made
//! a sale or recharged ([`figures::active`]): in the chain scope anywhere,
//! in a store's scope at that store (registered there, or a sale or a
//! recharge there). As of day `D`, with `N` days (`dormant_days`, default
//! [`DORMANT_DAYS_DEFAULT`]), a member is **dormant** when their last day
//! is on or before `D − N`: registered on or before `D − N` and with no
//! sale or recharge on `D − N + 1 ..= D` (nor after: see below). A member
//! merged away (`MembersMerged::absorbed`) is *gone*: not counted in any
//! scope, whatever arrives of them later (their own days do not move the
//! survivor's). A member of no sale, recharge or registration at a store
//! is not that store's member and never counted there; per store counts
//! therefore do not sum to the chain's (a member seen at two stores counts
//! at each).
//!
//! **The index.** [`LastSeen::members`] holds each member's [`Last`] per
//! scope; [`LastSeen::counts`] the number of members not gone per scope
//! and last day. When an op moves a member's last day, one count moves
//! from the old day to the new one. Dormant as of `D` is then
//! Σ `counts[(scope, d)]` for `d ≤ D − N`: a range read of at most one row
//! per day of history. The index holds the last day as it is *now*, so for
//! a past `D` the figure counts the members dormant then **and not seen
//! since** (a member who came back after `D` is not counted); for `D` =
//! today it is exact.
//!
//! Each entry is a join of what the ops said (the latest day, gone if any
//! op said so), so the index does not depend on the order ops are applied
//! in (property test in `ranks_tests`).

use std::collections::BTreeMap;

use crate::day::Day;
use crate::figures;
use crate::ids::{MemberId, NodeId};
use crate::op::{Op, OpBody};

/// Days without a sale or recharge after which a member is dormant, when
/// a report does not say.
pub const DORMANT_DAYS_DEFAULT: i32 = 90;
/// The most days a report may ask (ten years).
pub const DORMANT_DAYS_MAX: i32 = 3660;

/// One member's entry in one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Last {
    /// The latest day the member was seen in the scope.
    pub day: Day,
    /// Merged away: counted nowhere.
    pub gone: bool,
}

impl Last {
    /// The join of two entries: the later day, gone if either is.
    pub fn join(self, other: Last) -> Last {
        Last {
            day: self.day.max(other.day),
            gone: self.gone || other.gone,
        }
    }

    /// The day this entry is counted on (none when gone).
    pub fn counted(self) -> Option<Day> {
        (!self.gone).then_some(self.day)
    }
}

/// What an op tells the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen<'a> {
    /// `member` seen at `store` (and so in the chain) on `day`.
    At {
        member: &'a MemberId,
        store: &'a NodeId,
        day: Day,
    },
    /// `member` merged away on `day`.
    Gone { member: &'a MemberId, day: Day },
}

/// What `op` tells of members' last days: a registration, a sale of a
/// member or a recharge sees the member at the op's origin; a merge makes
/// the absorbed member gone.
pub fn seen(op: &Op) -> Option<Seen<'_>> {
    let day = figures::day_of(op);
    match &op.body {
        OpBody::MemberRegistered { member, .. } => Some(Seen::At {
            member,
            store: op.origin(),
            day,
        }),
        OpBody::MembersMerged { absorbed, .. } => Some(Seen::Gone {
            member: absorbed,
            day,
        }),
        _ => figures::active(op).map(|member| Seen::At {
            member,
            store: op.origin(),
            day,
        }),
    }
}

/// A scope: the chain (`None`) or one store.
pub type Scope = Option<NodeId>;

/// The index in memory: the rule the db keeps in `member-last-1` and
/// `last-day-1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastSeen {
    pub members: BTreeMap<(MemberId, Scope), Last>,
    pub counts: BTreeMap<(Scope, Day), u64>,
}

impl LastSeen {
    pub fn apply(&mut self, op: &Op) {
        match seen(op) {
            Some(Seen::At { member, store, day }) => {
                let chain = self.put(member, None, Last { day, gone: false });
                self.put(
                    member,
                    Some(store.clone()),
                    Last {
                        day,
                        gone: chain.gone,
                    },
                );
            }
            Some(Seen::Gone { member, day }) => {
                self.put(member, None, Last { day, gone: true });
                let stores: Vec<Scope> = self
                    .members
                    .range((member.clone(), None)..)
                    .take_while(|((m, _), _)| m == member)
                    .filter(|((_, s), _)| s.is_some())
                    .map(|((_, s), _)| s.clone())
                    .collect();
                for s in stores {
                    let day = self.members[&(member.clone(), s.clone())].day;
                    self.put(member, s, Last { day, gone: true });
                }
            }
            None => {}
        }
    }

    /// Join `with` into `member`'s entry in `scope`, moving its count;
    /// the entry after.
    fn put(&mut self, member: &MemberId, scope: Scope, with: Last) -> Last {
        let key = (member.clone(), scope.clone());
        let old = self.members.get(&key).copied();
        let new = old.map_or(with, |o| o.join(with));
        let (was, is) = (old.and_then(Last::counted), new.counted());
        if was != is {
            if let Some(d) = was {
                let c = self.counts.get_mut(&(scope.clone(), d)).expect("counted");
                *c -= 1;
                if *c == 0 {
                    self.counts.remove(&(scope.clone(), d));
                }
            }
            if let Some(d) = is {
                *self.counts.entry((scope, d)).or_default() += 1;
            }
        }
        self.members.insert(key, new);
        new
    }

    /// Members of `scope` dormant as of `as_of` after `days` days.
    pub fn dormant(&self, scope: &Scope, as_of: Day, days: i32) -> u64 {
        self.counts
            .range((scope.clone(), Day(i32::MIN))..=(scope.clone(), cutoff(as_of, days)))
            .map(|(_, c)| *c)
            .sum()
    }
}

/// The last day a member dormant as of `as_of` after `days` days may have
/// been seen: `as_of − days`.
pub fn cutoff(as_of: Day, days: i32) -> Day {
    as_of.plus(-days)
}
