//! Staff accounts in the simulator (issue 12): the scenario's `[staff]`
//! table, what the report counts of them, and the checks over a node's
//! `StaffBook`.
//!
//! The rule is the core's (`tongka_core::staff`): accounts replicate by
//! `StaffChanged` ops, each field last-writer-wins by the op's `Stamp`
//! (clock, origin, by), and of two accounts claiming one login the lower
//! id keeps it. A node makes an edit as `Engine::change_staff` does: the
//! login checked free in its view for a creation, the account after the
//! patch checked by `StaffBook::after` under the stamp the op will carry,
//! then the op made through the node's draft-and-stamp path
//! (`Sim::make`) and applied by `StaffBook::apply` like every node's. The
//! Sim's side lives in `sim/staff.rs`.
//!
//! Checks (full sweeps, only when the scenario has staff), computed from
//! the ops, not by the core's code:
//! - last_writer_wins: for each account and field, the value a node holds
//!   is the value of the `StaffChanged` op it applied with the greatest
//!   (hlc, origin, by) among those setting that field (a creation sets
//!   every field), and the node holds exactly the accounts created by the
//!   ops it applied;
//! - login_unique: for every login, `by_login` answers the account of the
//!   lowest id (byte order) among those created with it.
//!
//! Convergence (every node's book equal after the final heal) is the
//! state hash's, which covers the book once it is not empty.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tongka_core::clock::Hlc;
use tongka_core::ids::{NodeId, StaffId};
use tongka_core::op::{Op, OpBody};
use tongka_core::staff::{Role, StaffBook};

use crate::scenario::Num;

/// The scenario's `[staff]` table (absent: no staff, and the run draws the
/// same random numbers and reports byte for byte as before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Staff {
    /// Accounts HQ creates in the first minute (roles in turn from
    /// `Role::ALL`; cashiers and store managers at one or two stores).
    pub accounts: u32,
    /// Edits per day, chain-wide, each at a node picked at random (HQ or
    /// a store), of an account that node knows: a password change, a
    /// rename, disabling or enabling, a role or stores change.
    #[serde(default)]
    pub edits: Num,
    /// Per partition in `faults`: how many times, while it lasts, two
    /// nodes on either side create an account with one new login.
    #[serde(default)]
    pub clashes: u32,
}

impl Staff {
    /// What is wrong with the table, if anything.
    pub fn problem(&self, hq: bool) -> Option<String> {
        if !hq {
            return Some("staff needs chain.hq (HQ creates the accounts)".into());
        }
        if self.accounts == 0 || self.accounts > 999 {
            return Some("staff.accounts: 1 to 999".into());
        }
        None
    }
}

/// The kinds of edit, as the report names them.
pub(crate) const EDIT_KINDS: [&str; 4] = ["password", "rename", "disable/enable", "role/stores"];

/// What the report counts of staff accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffStats {
    /// Accounts created at the start, by HQ.
    pub created: u64,
    /// Accounts created in login clashes (two per clash).
    pub clash_created: u64,
    /// Clashes that found no two nodes apart and up.
    pub clashes_missed: u64,
    /// Edits made, by kind (`EDIT_KINDS`).
    pub edits: [u64; 4],
    /// Edits made at a node cut off from another node.
    pub edits_cut_off: u64,
    /// Edits not made: the node was down or its disk full, it knew no
    /// account yet, or the edit drawn changed nothing (no op, as the
    /// engine's `staff_is_noop`).
    pub edits_skipped: u64,
    /// Changes the authoring node refused (`StaffError` codes): none is
    /// expected, the workload makes valid ones.
    pub refused: BTreeMap<&'static str, u64>,
    /// At the end: (account, field) registers two concurrent ops wrote.
    pub concurrent_fields: u64,
    /// At the end: accounts shut out of their login (a lower id holds it).
    pub login_conflicts: u64,
    /// At the end: accounts, and of them disabled.
    pub accounts_end: u64,
    pub disabled_end: u64,
}

impl StaffStats {
    pub fn edits_made(&self) -> u64 {
        self.edits.iter().sum()
    }

    pub fn to_text(&self, o: &mut String) {
        let _ = writeln!(o, "staff accounts");
        let _ = writeln!(
            o,
            "  accounts {} at the end ({} disabled): {} created by HQ, {} in login clashes ({} clashes found no two nodes apart)",
            self.accounts_end,
            self.disabled_end,
            self.created,
            self.clash_created,
            self.clashes_missed
        );
        let kinds: Vec<String> = EDIT_KINDS
            .iter()
            .zip(&self.edits)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let refused = if self.refused.is_empty() {
            "none".to_string()
        } else {
            let v: Vec<String> = self
                .refused
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            v.join(", ")
        };
        let _ = writeln!(
            o,
            "  edits made {} ({}), {} while cut off; skipped {}; refused: {refused}",
            self.edits_made(),
            kinds.join(", "),
            self.edits_cut_off,
            self.edits_skipped
        );
        let _ = writeln!(
            o,
            "  conflicts: {} fields written by concurrent edits (the greatest stamp kept), {} accounts shut out of a login a lower id holds",
            self.concurrent_fields, self.login_conflicts
        );
    }
}

/// A fake argon2id PHC string, different for each `k`: the core checks
/// only the form (`staff::check_hash`); no password is ever typed here.
pub(crate) fn fake_hash(k: u64) -> String {
    format!(
        "$argon2id$v=19$m=19456,t=2,p=1$c2ltc2FsdA{k:08}$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo{k:011}"
    )
}

/// The order of writes, by the op's fields: (hlc, origin, by), as the
/// module doc says (not the core's `Stamp`, so the check does not lean on
/// the code it checks).
type Key<'a> = (Hlc, &'a str, &'a str);

fn key(op: &Op) -> Key<'_> {
    (op.hlc, op.id.origin.as_str(), op.by.as_str())
}

/// One account's fields as the latest writes set them: name, role,
/// stores (sorted, once each), disabled, password; each with the op that
/// wrote it.
#[derive(Default)]
struct Expected<'a> {
    login: Option<(&'a str, Key<'a>)>,
    name: Option<(&'a str, Key<'a>, &'a Op)>,
    role: Option<(Role, Key<'a>, &'a Op)>,
    stores: Option<(Vec<NodeId>, Key<'a>, &'a Op)>,
    disabled: Option<(bool, Key<'a>, &'a Op)>,
    password: Option<(&'a str, Key<'a>, &'a Op)>,
}

fn later<'a, T>(slot: &mut Option<(T, Key<'a>, &'a Op)>, v: T, k: Key<'a>, op: &'a Op) {
    if slot.as_ref().is_none_or(|(_, have, _)| k > *have) {
        *slot = Some((v, k, op));
    }
}

/// What is wrong with `book` given the `StaffChanged` ops the node
/// applied (any order), if anything: `("last_writer_wins", detail)` or
/// `("login_unique", detail)`.
pub(crate) fn book_problem<'a>(
    book: &StaffBook,
    applied: impl Iterator<Item = &'a Op>,
) -> Option<(&'static str, String)> {
    let mut want: BTreeMap<&StaffId, Expected> = BTreeMap::new();
    for op in applied {
        let OpBody::StaffChanged { staff, patch } = &op.body else {
            continue;
        };
        let k = key(op);
        let e = want.entry(staff).or_default();
        if let Some(l) = &patch.login {
            e.login = Some((l, k));
            // A creation sets every field (not given: not disabled).
            later(&mut e.disabled, patch.disabled.unwrap_or(false), k, op);
        }
        if let Some(v) = &patch.name {
            later(&mut e.name, v.as_str(), k, op);
        }
        if let Some(v) = patch.role {
            later(&mut e.role, v, k, op);
        }
        if let Some(v) = &patch.stores {
            let mut s = v.clone();
            s.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            s.dedup();
            later(&mut e.stores, s, k, op);
        }
        if let Some(v) = patch.disabled {
            later(&mut e.disabled, v, k, op);
        }
        if let Some(v) = &patch.password {
            later(&mut e.password, v.as_str(), k, op);
        }
    }
    let lww = |d: String| Some(("last_writer_wins", d));
    if book.len() != want.len() {
        return lww(format!(
            "holds {} accounts, its ops create {}",
            book.len(),
            want.len()
        ));
    }
    for (id, e) in &want {
        let Some(a) = book.get(id) else {
            return lww(format!("{id} created by an op applied here, not held"));
        };
        let Some((login, _)) = e.login else {
            return lww(format!("{id} edited here, never created"));
        };
        if a.login != login {
            return lww(format!("{id} holds login {}, created as {login}", a.login));
        }
        let by = |op: &Op| format!("{} at {}.{} by {}", op.id, op.hlc.ms, op.hlc.count, op.by);
        macro_rules! field {
            ($f:ident, $held:expr, $fmt:literal) => {
                if let Some((v, _, op)) = &e.$f
                    && $held != *v
                {
                    return lww(format!(
                        concat!(
                            "{} ({}) {}: holds ",
                            $fmt,
                            ", the latest write is ",
                            $fmt,
                            " ({})"
                        ),
                        id,
                        a.login,
                        stringify!($f),
                        $held,
                        v,
                        by(op)
                    ));
                }
            };
        }
        field!(name, a.name.as_str(), "{:?}");
        field!(role, a.role, "{:?}");
        field!(stores, a.stores, "{:?}");
        field!(disabled, a.disabled, "{}");
        field!(password, a.password.as_str(), "{:?}");
    }
    // The lowest id of each login's claimants keeps it.
    let mut lowest: BTreeMap<&str, &str> = BTreeMap::new();
    for a in book.iter() {
        let l = lowest.entry(a.login.as_str()).or_insert(a.id.as_str());
        if a.id.as_str().as_bytes() < l.as_bytes() {
            *l = a.id.as_str();
        }
    }
    for (login, id) in lowest {
        let got = book.by_login(login).map(|a| a.id.as_str());
        if got != Some(id) {
            return Some((
                "login_unique",
                format!("login {login} signs in as {got:?}, the lowest id claiming it is {id}"),
            ));
        }
    }
    None
}

/// How many (account, field) registers two concurrent ops of `ops` wrote:
/// neither op had seen the other (`seen(a, b)`: `b` was made after `a`
/// reached its origin).
pub(crate) fn concurrent_fields(ops: &[&Op], seen: impl Fn(usize, usize) -> bool) -> u64 {
    let mut writes: BTreeMap<(&StaffId, usize), Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        let OpBody::StaffChanged { staff, patch } = &op.body else {
            continue;
        };
        // A creation writes every field, but nothing is concurrent with it
        // (an edit's origin saw the account).
        let set = [
            patch.name.is_some(),
            patch.role.is_some(),
            patch.stores.is_some(),
            patch.disabled.is_some(),
            patch.password.is_some(),
        ];
        if patch.creates() {
            continue;
        }
        for (f, s) in set.iter().enumerate() {
            if *s {
                writes.entry((staff, f)).or_default().push(i);
            }
        }
    }
    writes
        .values()
        .filter(|w| {
            w.iter()
                .enumerate()
                .any(|(x, &a)| w[x + 1..].iter().any(|&b| !seen(a, b) && !seen(b, a)))
        })
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongka_core::clock::VersionVector;
    use tongka_core::ids::OpId;
    use tongka_core::op::OpDraft;
    use tongka_core::staff::StaffPatch;

    fn op(origin: &str, seq: u64, ms: u64, staff: &StaffId, patch: StaffPatch) -> Op {
        OpDraft {
            hlc: Hlc { ms, count: 0 },
            by: "admin".into(),
            idem: None,
            body: OpBody::StaffChanged {
                staff: staff.clone(),
                patch,
            },
        }
        .stamp(
            OpId {
                origin: NodeId::new(origin).unwrap(),
                seq,
            },
            VersionVector::new(),
        )
    }

    fn create(login: &str) -> StaffPatch {
        StaffPatch {
            login: Some(login.into()),
            name: Some("员工".into()),
            role: Some(Role::HqFinance),
            stores: Some(vec![]),
            disabled: None,
            password: Some(fake_hash(0)),
        }
    }

    #[test]
    fn the_checks_hold_for_the_core_and_catch_a_book_applied_in_arrival_order() {
        let hq = NodeId::new("hq").unwrap();
        let id = StaffId::mint(&hq, 1);
        let made = op("hq", 1, 10, &id, create("anna"));
        let pw = |origin, ms, k| {
            op(
                origin,
                2,
                ms,
                &id,
                StaffPatch {
                    password: Some(fake_hash(k)),
                    ..Default::default()
                },
            )
        };
        // Two concurrent password changes; the later stamp wins.
        let (late, early) = (pw("store-1", 30, 1), pw("store-2", 20, 2));
        let ops = [&made, &late, &early];
        let mut book = StaffBook::default();
        for o in ops {
            book.apply(o).unwrap();
        }
        assert_eq!(book.get(&id).unwrap().password, fake_hash(1));
        assert_eq!(book_problem(&book, ops.into_iter()), None);
        // Applied in arrival order (the mutation's bug): the earlier stamp
        // arrived last and was taken.
        let mut broken = StaffBook::default();
        broken.apply(&made).unwrap();
        broken.apply(&early).unwrap();
        let mut inflated = late.clone();
        inflated.hlc.ms = 5;
        // (a store that ignores stamps: the earlier write stays)
        broken.apply(&inflated).unwrap();
        let (inv, d) = book_problem(&broken, ops.into_iter()).expect("caught");
        assert_eq!(inv, "last_writer_wins");
        assert!(d.contains("password"), "{d}");
        // Neither change saw the other: one register written concurrently.
        assert_eq!(concurrent_fields(&ops, |a, b| a == 0 && b > 0), 1);
        assert_eq!(concurrent_fields(&ops, |a, b| a < b), 0);
    }

    #[test]
    fn two_claims_of_one_login_go_to_the_lower_id() {
        let a = StaffId::mint(&NodeId::new("store-1").unwrap(), 9);
        let b = StaffId::mint(&NodeId::new("store-2").unwrap(), 1);
        let ops = [
            op("store-2", 1, 10, &b, create("dup1")),
            op("store-1", 1, 20, &a, create("dup1")),
        ];
        let mut book = StaffBook::default();
        for o in &ops {
            book.apply(o).unwrap();
        }
        assert_eq!(book_problem(&book, ops.iter()), None);
        assert_eq!(book.by_login("dup1").unwrap().id, a);
        assert!(fake_hash(7).starts_with("$argon2id$"));
        tongka_core::staff::check_hash(&fake_hash(u64::MAX)).unwrap();
    }
}
