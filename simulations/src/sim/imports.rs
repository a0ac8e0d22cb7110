//! Member imports at the simulated stores (see `crate::imports`): a file
//! planned by `tongka_core::member_import::plan` over the store's phone
//! index and idempotency records, each chunk made under the key of the
//! file's hash and its number (`member-import:<hash>:<n>`, as `POST
//! /members/import` keys it) after the machine's verdict
//! (`tongka_machine::idem`: a chunk made already replays), its
//! registrations made together through `Sim::make_keyed` and the key
//! recorded once, as `Engine::import_members` commits a chunk with its
//! key. The imported members then shop as the other clients do.

use std::fmt::Write;
use std::rc::Rc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use tongka_core::ids::MemberId;
use tongka_core::member_import::{self, Lookups};
use tongka_core::money::Money;
use tongka_core::op::OpBody;
use tongka_machine::idem::Verdict;

use super::workload::count;
use super::{Ev, MemberModel, Sim, between, chance};
use crate::Mutation;
use crate::imports::{ImportStats, Imported};
use crate::node::Node;

/// The imports' own random stream (stream 6 of the seed: runs without
/// `[imports]` draw as before), the next phone number to import, and what
/// the workload imported: per chunk answered, (store, its last op's seq,
/// its key, what it brought).
pub(super) struct ImportWork {
    rng: ChaCha8Rng,
    next_phone: u64,
    chunks: Vec<(usize, u64, String, Imported)>,
}

impl ImportWork {
    pub fn new(seed: u64) -> ImportWork {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(6);
        ImportWork {
            rng,
            next_phone: 0,
            chunks: Vec::new(),
        }
    }
}

/// A chunk's key: the file's hash and the chunk's number.
fn chunk_key(hash: &str, n: usize) -> String {
    format!("member-import:{hash}:{n}")
}

/// What a store's plan asks of it: its phone index and its keys.
struct AtNode<'a> {
    node: &'a Node,
    hash: &'a str,
}

impl Lookups for AtNode<'_> {
    fn phone_taken(&self, phone: &str) -> bool {
        self.node
            .st
            .phones
            .get(&phone.to_string())
            .is_some_and(|h| !h.is_empty())
    }

    fn card_taken(&self, _: &str) -> bool {
        false
    }

    fn done(&self, chunk: usize) -> bool {
        matches!(
            self.node.idem.verdict(&chunk_key(self.hash, chunk), &()),
            Verdict::Replay(())
        )
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

impl Sim<'_> {
    fn import_stats(&mut self) -> &mut ImportStats {
        self.report
            .imports
            .as_mut()
            .expect("import figures when the scenario has imports")
    }

    /// The import files of one hour of the workload.
    pub(super) fn schedule_imports(&mut self, start: u64, span: u64, frac: Decimal) {
        let Some(i) = self.sc.imports.as_ref() else {
            return;
        };
        let rate = i.files.0;
        for s in 0..self.stores {
            for _ in 0..count(&mut self.import.rng, rate * frac) {
                let t = start + self.import.rng.random_range(0..span);
                self.at(t, Ev::Import(s, None));
            }
        }
    }

    /// A new file for store `s`: fresh phones, opening balances, some
    /// with a level; with `imports.rejects`, one row a member's phone.
    fn import_file(&mut self, s: usize) -> String {
        let sc = self.sc.imports.as_ref().expect("imports");
        let (rows, rejects) = (sc.rows, sc.rejects.ppm());
        let levels: Vec<String> = self.nodes[s]
            .st
            .programme
            .levels
            .iter()
            .map(|l| l.code.clone())
            .collect();
        let ImportWork {
            rng, next_phone, ..
        } = &mut self.import;
        let n = between(rng, u64::from(rows[0]), u64::from(rows[1]));
        let mut text = String::from("phone,name,principal,bonus,points,level\n");
        for _ in 0..n {
            *next_phone += 1;
            let k = *next_phone;
            let principal = yuan(rng.random_range(0..=50_000));
            let bonus = yuan(rng.random_range(0..=5_000));
            let points = rng.random_range(0..=3_000);
            let level = match rng.random_range(0..4) {
                0 if !levels.is_empty() => levels[rng.random_range(0..levels.len())].clone(),
                _ => String::new(),
            };
            let _ = writeln!(
                text,
                "15{k:09},导入{k},{principal},{bonus},{points},{level}"
            );
        }
        if chance(rng, rejects) {
            // A member's phone the store knows: the plan refuses the file.
            let phones = &self.nodes[s].st.phones;
            let known = self
                .models
                .iter()
                .find(|m| phones.get(&m.phone).is_some_and(|h| !h.is_empty()))
                .map(|m| m.phone.clone());
            if let Some(phone) = known {
                let _ = writeln!(text, "{phone},已有,1.00,0,0,");
            }
        }
        text
    }

    /// Store `s` imports a new file, or runs `file` again.
    pub(super) fn import_event(&mut self, s: usize, file: Option<Rc<str>>) {
        if self.workload_over {
            return;
        }
        if !self.nodes[s].up || self.nodes[s].disk_full {
            self.import_stats().skipped += 1;
            return;
        }
        let rerun = file.is_some();
        let text: Rc<str> = match file {
            Some(t) => t,
            None => self.import_file(s).into(),
        };
        let hash = blake3::hash(text.as_bytes()).to_hex().to_string();
        let programme = self.nodes[s].st.programme.clone();
        let plan = member_import::plan(
            &text,
            &programme,
            &AtNode {
                node: &self.nodes[s],
                hash: &hash,
            },
        )
        .expect("the workload writes well-formed files");
        if rerun {
            self.import_stats().reruns += 1;
        }
        if !plan.rejected.is_empty() {
            self.import_stats().rejected += 1;
            return;
        }
        let skip_verdict = self.mutant(s, Mutation::ImportRerunRegisters);
        let mut made = false;
        for (n, rows) in plan.chunks() {
            let key = chunk_key(&hash, n);
            if !skip_verdict {
                match self.nodes[s].idem.verdict(&key, &()) {
                    Verdict::Run => {}
                    Verdict::Replay(()) => {
                        self.import_stats().replayed += 1;
                        continue;
                    }
                    Verdict::Reused => unreachable!("a chunk's key answers that chunk only"),
                }
            }
            let mut sum = Imported::default();
            let mut last = None;
            for row in rows {
                let e = self.next_entity(s);
                let member = MemberId::mint(&self.names[s], e);
                let at = self.tick(s);
                let o = &row.opening;
                sum.add(o.principal, o.bonus, o.points);
                let body = OpBody::MemberRegistered {
                    member: member.clone(),
                    profile: row.profile.clone(),
                    opening: Some(row.opening.clone()),
                };
                let rec = self.make_keyed(s, at, "manager", Some(key.clone()), body, false);
                if !rerun {
                    let away = self.sc.imports.as_ref().and_then(|i| i.away);
                    self.models.push(MemberModel {
                        phone: row.profile.phone.clone(),
                        home: s,
                        id: Some(member),
                        balance: o.principal + o.bonus,
                        edits: 0,
                        coupons: Vec::new(),
                        away: Some(away.map_or(self.p_other, |a| a.ppm())),
                    });
                }
                last = Some(rec);
            }
            let rec = last.expect("a chunk has rows");
            // The chunk answered: its key recorded with its last op (the
            // import check first: a chunk made twice is the importer's bug).
            self.check_imports(s);
            self.record_key(s, key.clone(), &rec.op.id);
            self.ack(s, &rec);
            made = true;
            if !rerun {
                self.import.chunks.push((s, rec.op.id.seq, key, sum));
                let cut_off = self.cut_off[s];
                let st = self.import_stats();
                st.chunks += 1;
                st.imported.members += sum.members;
                st.imported.principal += sum.principal;
                st.imported.bonus += sum.bonus;
                st.imported.points += sum.points;
                if n == 1 {
                    st.files += 1;
                    st.files_cut_off += u64::from(cut_off);
                }
            }
        }
        let again = self.sc.imports.as_ref().map_or(0, |i| i.again.ppm());
        if made && !rerun && chance(&mut self.import.rng, again) {
            let t = self.now + between(&mut self.import.rng, 60_000, 3_600_000);
            self.at(t, Ev::Import(s, Some(text)));
        }
    }

    /// An imported member's balance checkout away from its importing
    /// store (the report's count).
    pub(super) fn import_away(&mut self, model: usize, store: usize, balance: bool) {
        if balance && self.models[model].away.is_some() && self.models[model].home != store {
            self.import_stats().away_spends += 1;
        }
    }

    /// import_once at node `n`.
    pub(super) fn check_imports(&mut self, n: usize) {
        if self.sc.imports.is_none() {
            return;
        }
        let node = &self.nodes[n];
        let ops = node
            .log
            .iter()
            .flatten()
            .map(|r| &r.op)
            .filter(|o| !node.rejected.contains(&o.id));
        if let Some(d) = crate::imports::problem(ops, &node.st.totals) {
            self.violate("import_once", Some(n), d);
        }
    }

    /// At convergence: every node's ledger counts what the workload
    /// imported (its chunks still in their store's log: a crash before a
    /// group commit loses a chunk unanswered), and the imported members'
    /// share transfers are counted.
    pub(super) fn imports_final(&mut self) {
        if self.sc.imports.is_none() {
            return;
        }
        let mut want = Imported::default();
        for (s, seq, key, sum) in &self.import.chunks {
            let kept = self.ops[*s]
                .get((*seq - 1) as usize)
                .is_some_and(|r| r.op.idem.as_deref() == Some(key.as_str()));
            if kept {
                want.members += sum.members;
                want.principal += sum.principal;
                want.bonus += sum.bonus;
                want.points += sum.points;
            }
        }
        for n in 0..self.nodes.len() {
            self.check_imports(n);
            let have = Imported::of_totals(&self.nodes[n].st.totals);
            if have != want {
                let d = format!("the ledger counts {have} imported, the workload imported {want}");
                return self.violate("import_once", Some(n), d);
            }
        }
        let imported: std::collections::BTreeSet<&MemberId> = self
            .models
            .iter()
            .filter(|m| m.away.is_some())
            .filter_map(|m| m.id.as_ref())
            .collect();
        let (mut transfers, mut moved) = (0, Money::ZERO);
        for r in self.nodes[0].log.iter().flatten() {
            if let OpBody::SharesTransferred {
                member,
                principal,
                bonus,
                ..
            } = &r.op.body
                && imported.contains(member)
            {
                transfers += 1;
                moved += *principal + *bonus;
            }
        }
        let st = self.import_stats();
        st.transfers = transfers;
        st.transferred = moved;
    }
}
