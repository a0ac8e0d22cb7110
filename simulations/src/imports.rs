//! Member import with opening balances (会员导入) in the simulator: the
//! scenario's `[imports]` table, the report's figures, and the checker.
//!
//! A store imports a file of members from another system now and then,
//! cut off or not (`sim/imports.rs`): a CSV text planned by the core's
//! rule (`tongka_core::member_import::plan`, the node's phone index and
//! idempotency records as its lookups, as `POST /members/import` plans
//! it), then each chunk made under the key of the file's hash and the
//! chunk's number, its registrations (`MemberRegistered` with `Opening`)
//! made together as `Engine::import_members` makes them. The same file
//! may be run again at its store: every chunk then replays (the machine's
//! idempotency verdict) and nothing is made. The imported members join
//! the clients and shop, at other stores too, where their balance comes
//! by escrow from the importing store's share.
//!
//! Checker import_once (in full sweeps, after every chunk at its store,
//! and at the end): at every node each imported phone is registered by
//! one import op, and the ledger's imported figures (`LedgerTotals`:
//! imports, principal, bonus, points) are the sum of the import ops the
//! node applied; at the end they equal what the workload imported (each
//! chunk answered once, re-runs counted nothing).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tongka_core::ids::OpId;
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody};
use tongka_core::state::LedgerTotals;

use crate::scenario::Num;

/// The scenario's `[imports]` table (absent: no imports, and the run
/// draws the same random numbers and reports as before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imports {
    /// Files imported per store-day, at random times.
    #[serde(default)]
    pub files: Num,
    /// Rows (members) per file, `[min, max]`.
    pub rows: [u32; 2],
    /// Probability a file is run again at its store 1–60 min later (every
    /// chunk replays: nothing is made).
    #[serde(default)]
    pub again: Num,
    /// Probability a file carries a row whose phone is a member's already
    /// (refused whole, `import_rejected`: nothing is made).
    #[serde(default)]
    pub rejects: Num,
    /// Probability an imported member's visit is at another store than
    /// the importing one (default `members.other_store`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away: Option<Num>,
}

impl Imports {
    pub fn problem(&self) -> Option<String> {
        for (name, p) in [
            ("imports.again", Some(self.again)),
            ("imports.rejects", Some(self.rejects)),
            ("imports.away", self.away),
        ] {
            if p.is_some_and(|p| p.0 > rust_decimal::Decimal::ONE) {
                return Some(format!("{name} is a probability (0 to 1)"));
            }
        }
        let [lo, hi] = self.rows;
        (lo == 0 || lo > hi || hi > 10_000)
            .then(|| "imports.rows: [min, max] with 1 <= min <= max <= 10000".into())
    }
}

/// What import ops add up to (or what the workload imported).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub members: u64,
    pub principal: Money,
    pub bonus: Money,
    pub points: i64,
}

impl Imported {
    pub fn of_totals(t: &LedgerTotals) -> Imported {
        Imported {
            members: t.imports,
            principal: t.imported_principal,
            bonus: t.imported_bonus,
            points: t.imported_points,
        }
    }

    pub fn add(&mut self, principal: Money, bonus: Money, points: i64) {
        self.members += 1;
        self.principal += principal;
        self.bonus += bonus;
        self.points += points;
    }
}

impl std::fmt::Display for Imported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} members, {}/{} (principal/bonus), {} points",
            self.members, self.principal, self.bonus, self.points
        )
    }
}

/// What the report counts of imports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Files imported (made), and of them while the store was cut off.
    pub files: u64,
    pub files_cut_off: u64,
    pub chunks: u64,
    /// What the workload imported (the chunks answered).
    pub imported: Imported,
    /// Files run again, and the chunks that replayed.
    pub reruns: u64,
    pub replayed: u64,
    /// Files refused whole (a row's phone a member's already).
    pub rejected: u64,
    /// Imports not made: the store was down.
    pub skipped: u64,
    /// Balance checkouts of imported members at another store than the
    /// importing one (at the end: the transfers of their shares there).
    pub away_spends: u64,
    pub transfers: u64,
    pub transferred: Money,
}

impl ImportStats {
    pub fn to_text(&self, o: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(o, "member imports (会员导入)");
        let _ = writeln!(
            o,
            "  files {} ({} while cut off), chunks {}: {}",
            self.files, self.files_cut_off, self.chunks, self.imported
        );
        let _ = writeln!(
            o,
            "  run again {} (chunks replayed {}), refused import_rejected {}, skipped (down) {}",
            self.reruns, self.replayed, self.rejected, self.skipped
        );
        let _ = writeln!(
            o,
            "  imported members' balance checkouts away {}; their share transfers {} ({})",
            self.away_spends, self.transfers, self.transferred
        );
    }
}

pub const IMPORT_INVARIANTS: &[(&str, &str)] = &[(
    "import_once",
    "in full sweeps, after every chunk and at the end: each imported phone registered by one import op, the ledger's imported figures the sum of the import ops applied; at the end equal to what the workload imported (re-runs and duplicate deliveries count nothing)",
)];

/// import_once over the ops a node applied: what they import, or the
/// first phone imported twice.
pub fn fold<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Result<Imported, String> {
    let mut seen: BTreeMap<&str, &OpId> = BTreeMap::new();
    let mut sum = Imported::default();
    for op in ops {
        let OpBody::MemberRegistered {
            profile,
            opening: Some(o),
            ..
        } = &op.body
        else {
            continue;
        };
        if let Some(first) = seen.insert(profile.phone.as_str(), &op.id) {
            return Err(format!(
                "phone {} imported twice: by {first} and by {}",
                profile.phone, op.id
            ));
        }
        sum.add(o.principal, o.bonus, o.points);
    }
    Ok(sum)
}

/// import_once at a node: its applied ops (`fold`) against its ledger.
pub fn problem<'a>(ops: impl IntoIterator<Item = &'a Op>, totals: &LedgerTotals) -> Option<String> {
    match fold(ops) {
        Err(d) => Some(d),
        Ok(sum) => {
            let ledger = Imported::of_totals(totals);
            (sum != ledger)
                .then(|| format!("the ledger counts {ledger} imported, its import ops {sum}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongka_core::clock::{Hlc, VersionVector};
    use tongka_core::ids::{MemberId, NodeId};
    use tongka_core::member::Profile;
    use tongka_core::op::{OpDraft, Opening};

    fn import(seq: u64, phone: &str, yuan: i64) -> Op {
        let node = NodeId::new("store-1").unwrap();
        OpDraft {
            hlc: Hlc { ms: seq, count: 0 },
            by: "x".into(),
            idem: None,
            body: OpBody::MemberRegistered {
                member: MemberId::mint(&node, seq),
                profile: Profile {
                    phone: phone.into(),
                    name: "n".into(),
                    birthday: None,
                    gender: None,
                    card_no: None,
                    invited_by: None,
                    tags: vec![],
                    notes: String::new(),
                },
                opening: Some(Opening {
                    principal: Money::from_yuan(yuan),
                    bonus: Money::from_yuan(1),
                    points: 5,
                    level: None,
                    counted: Money::from_yuan(yuan),
                }),
            },
        }
        .stamp(OpId { origin: node, seq }, VersionVector::new())
    }

    #[test]
    fn imports_fold_into_the_ledger_once() {
        let ops = [import(1, "15000000001", 10), import(2, "15000000002", 20)];
        let mut t = LedgerTotals::default();
        for o in &ops {
            t.apply(o);
        }
        assert_eq!(problem(&ops, &t), None);
        let sum = fold(&ops).unwrap();
        assert_eq!(
            (sum.members, sum.principal, sum.points),
            (2, Money::from_yuan(30), 10)
        );
        // The same phone imported again (a re-run made anew).
        let again = [ops[0].clone(), ops[1].clone(), import(3, "15000000001", 10)];
        let d = problem(&again, &t).unwrap();
        assert!(d.contains("imported twice"), "{d}");
        // A ledger that counts an opening twice.
        t.apply(&ops[0]);
        let d = problem(&ops, &t).unwrap();
        assert!(d.contains("the ledger counts 3 members"), "{d}");
    }
}
