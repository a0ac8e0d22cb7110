//! Staff accounts at the simulated nodes (see `crate::staff`): HQ's
//! accounts at the start, edits at random nodes, two nodes apart creating
//! one login, each made as `Engine::change_staff` makes it; the staff
//! checks of the full sweeps, and the report's figures at the end.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tongka_core::error::DomainError;
use tongka_core::ids::{NodeId, StaffId};
use tongka_core::op::{Op, OpBody};
use tongka_core::staff::{Role, StaffError, StaffPatch, Stamp};

use super::workload::count;
use super::{Ev, Sim, between};
use crate::scenario::Fault;
use crate::staff::fake_hash;

/// The staff workload's own random stream (stream 2 of the seed: drawing
/// it leaves the workload's and the network's streams as they were), the
/// counter that varies names and password hashes, and where the staff ops
/// are in the origins' logs.
pub(super) struct StaffWork {
    rng: ChaCha8Rng,
    k: u64,
    /// Per origin (node index), the seqs of its `StaffChanged` ops.
    pub seqs: Vec<Vec<u64>>,
}

impl StaffWork {
    pub fn new(seed: u64, nodes: usize) -> StaffWork {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(2);
        StaffWork {
            rng,
            k: 0,
            seqs: vec![Vec::new(); nodes],
        }
    }
}

impl Sim<'_> {
    /// At the start: HQ's accounts over the first minute, and each
    /// partition's login clashes inside it.
    pub(super) fn schedule_staff_start(&mut self) {
        let Some(s) = self.sc.staff.as_ref() else {
            return;
        };
        for i in 0..s.accounts {
            let t = between(&mut self.staff.rng, 0, 60_000);
            self.at(t, Ev::StaffCreate(i));
        }
        for (f, fault) in self.sc.faults.iter().enumerate() {
            if let Fault::Partition { at, heal, .. } = fault {
                // A minute in and before the heal, so both sides are apart.
                let (lo, hi) = (at.ms() + 60_000, heal.ms().saturating_sub(60_000));
                for _ in 0..s.clashes {
                    let t = between(&mut self.staff.rng, lo, hi.max(lo));
                    self.at(t, Ev::StaffClash(f));
                }
            }
        }
    }

    /// The edits of one hour of the workload (`staff.edits` per day).
    pub(super) fn schedule_staff(&mut self, start: u64, span: u64, frac: rust_decimal::Decimal) {
        let Some(s) = self.sc.staff.as_ref().filter(|s| !s.edits.is_zero()) else {
            return;
        };
        let n = count(&mut self.staff.rng, s.edits.0 * frac);
        for _ in 0..n {
            let t = start + self.staff.rng.random_range(0..span);
            self.at(t, Ev::StaffEdit);
        }
    }

    fn staff_stats(&mut self) -> &mut crate::staff::StaffStats {
        self.report
            .staff
            .as_mut()
            .expect("staff figures when the scenario has staff")
    }

    fn can_write(&self, n: usize) -> bool {
        self.nodes[n].up && !self.nodes[n].disk_full
    }

    /// Account `i` of the scenario's, created by HQ: roles in turn,
    /// cashiers and store managers at one store or two.
    pub(super) fn staff_create(&mut self, i: u32) {
        let hq = self.stores;
        if !self.can_write(hq) {
            // HQ's admin tries again a minute later.
            let t = self.now + 60_000;
            self.at(t, Ev::StaffCreate(i));
            return;
        }
        let role = Role::ALL[i as usize % Role::ALL.len()];
        let stores = self.store_set(role);
        let patch = StaffPatch {
            login: Some(format!("staff{i:03}")),
            name: Some(format!("员工{i}")),
            role: Some(role),
            stores: Some(stores),
            disabled: None,
            password: Some(self.next_hash()),
        };
        if self.change_staff(hq, None, patch).is_some() {
            self.staff_stats().created += 1;
        }
    }

    /// Stores for an account of `role`: one or two (picked at random) for
    /// a store role, none for the others.
    fn store_set(&mut self, role: Role) -> Vec<NodeId> {
        if !role.is_store_role() {
            return Vec::new();
        }
        let a = self.staff.rng.random_range(0..self.stores);
        let mut v = vec![self.names[a].clone()];
        if self.stores > 1 && self.staff.rng.random_range(0..2u8) == 0 {
            let b = (a + 1 + self.staff.rng.random_range(0..self.stores - 1)) % self.stores;
            v.push(self.names[b].clone());
        }
        v
    }

    fn next_hash(&mut self) -> String {
        self.staff.k += 1;
        fake_hash(self.staff.k)
    }

    /// An edit at a node picked at random, of an account it knows.
    pub(super) fn staff_edit(&mut self) {
        if self.workload_over {
            return;
        }
        let n = self.staff.rng.random_range(0..self.names.len());
        let known = self.nodes[n].st.staff.len();
        if !self.can_write(n) || known == 0 {
            self.staff_stats().edits_skipped += 1;
            return;
        }
        let pick = self.staff.rng.random_range(0..known);
        let a = self.nodes[n]
            .st
            .staff
            .iter()
            .nth(pick)
            .expect("in range")
            .clone();
        let kind = self.staff.rng.random_range(0..4usize);
        let mut patch = StaffPatch::default();
        match kind {
            0 => patch.password = Some(self.next_hash()),
            1 => {
                self.staff.k += 1;
                patch.name = Some(format!("员工{}-{}", a.login, self.staff.k));
            }
            2 => patch.disabled = Some(!a.disabled),
            _ => {
                // A new role (its stores with it when it works at stores),
                // or new stores for a store role.
                if a.role.is_store_role() && self.staff.rng.random_range(0..2u8) == 0 {
                    patch.stores = Some(self.store_set(a.role));
                } else {
                    let r = Role::ALL[self.staff.rng.random_range(0..Role::ALL.len())];
                    patch.role = Some(r);
                    if r.is_store_role() {
                        patch.stores = Some(self.store_set(r));
                    }
                }
            }
        }
        // Two concurrent edits may have merged into a store role without
        // stores (`StaffBook::apply`'s doc): an edit of it gives stores
        // too, or `after` refuses it (the role-and-stores rule).
        if a.role.is_store_role() && a.stores.is_empty() && patch.stores.is_none() {
            patch.stores = Some(self.store_set(a.role));
        }
        let cut_off = (0..self.names.len()).any(|b| b != n && self.separated(n, b));
        if self.change_staff(n, Some(a.id), patch).is_some() {
            let st = self.staff_stats();
            st.edits[kind] += 1;
            st.edits_cut_off += u64::from(cut_off);
        }
    }

    /// Partition `f`'s clash: two nodes on either side, up, each create an
    /// account with one new login (each finds it free in its view).
    pub(super) fn staff_clash(&mut self, f: usize) {
        if self.workload_over {
            return;
        }
        let Some(groups) = self.partitions.get(&f) else {
            self.staff_stats().clashes_missed += 1;
            return;
        };
        let n = self.names.len();
        let first = self.staff.rng.random_range(0..n);
        let pair = (0..n)
            .map(|d| (first + d) % n)
            .filter(|&a| self.can_write(a))
            .find_map(|a| {
                (0..n)
                    .find(|&b| self.can_write(b) && groups[a] != groups[b])
                    .map(|b| (a, b))
            });
        let Some((a, b)) = pair else {
            self.staff_stats().clashes_missed += 1;
            return;
        };
        self.staff.k += 1;
        let login = format!("dup{}", self.staff.k);
        for at in [a, b] {
            // HQ creates a store manager, a store a cashier of its own.
            let (role, stores) = if at == self.stores {
                (Role::StoreManager, vec![self.names[0].clone()])
            } else {
                (Role::Cashier, vec![self.names[at].clone()])
            };
            let patch = StaffPatch {
                login: Some(login.clone()),
                name: Some(format!("新员工{}", self.staff.k)),
                role: Some(role),
                stores: Some(stores),
                disabled: None,
                password: Some(self.next_hash()),
            };
            if self.change_staff(at, None, patch).is_some() {
                self.staff_stats().clash_created += 1;
            }
        }
    }

    /// `Engine::change_staff` at node `n`: a creation (`staff: None`) is
    /// refused when its login is taken in this node's view and gets a new
    /// id; the account after the patch is checked by `StaffBook::after`
    /// under the stamp the op will carry; then the op is made (stamped,
    /// logged and applied as every op made here). A refusal is counted by
    /// its code. Answers the op's seq.
    fn change_staff(&mut self, n: usize, staff: Option<StaffId>, patch: StaffPatch) -> Option<u64> {
        let id = match staff {
            Some(id) => id,
            None => {
                let login = patch.login.as_deref().unwrap_or_default();
                if self.nodes[n].st.staff.by_login(login).is_some() {
                    self.staff_refused(&StaffError::LoginTaken(login.into()));
                    return None;
                }
                let e = self.next_entity(n);
                StaffId::mint(&self.names[n], e)
            }
        };
        let at = self.tick(n);
        let by = "admin";
        let stamp = Stamp {
            hlc: at,
            origin: self.names[n].clone(),
            by: by.into(),
        };
        let after = match self.nodes[n].st.staff.after(&id, &patch, &stamp) {
            Ok(a) => a,
            Err(e) => {
                self.staff_refused(&e);
                return None;
            }
        };
        // A change that changes nothing makes no op (`staff_is_noop`).
        if let Some(a) = self.nodes[n].st.staff.get(&id)
            && (&a.name, a.role, &a.stores, a.disabled, &a.password)
                == (
                    &after.name,
                    after.role,
                    &after.stores,
                    after.disabled,
                    &after.password,
                )
        {
            self.staff_stats().edits_skipped += 1;
            return None;
        }
        let body = OpBody::StaffChanged { staff: id, patch };
        let rec = self.make(n, at, by, None, body);
        debug_assert_eq!(Stamp::of(&rec.op), stamp);
        let seq = rec.op.id.seq;
        self.staff.seqs[n].push(seq);
        Some(seq)
    }

    fn staff_refused(&mut self, e: &StaffError) {
        *self.staff_stats().refused.entry(e.code()).or_default() += 1;
    }

    /// The `StaffChanged` ops node `n` holds (in its log, not rejected).
    fn staff_applied(&self, n: usize) -> Vec<&Op> {
        let node = &self.nodes[n];
        self.staff
            .seqs
            .iter()
            .enumerate()
            .flat_map(|(o, seqs)| {
                seqs.iter()
                    .take_while(move |&&s| s <= node.held[o])
                    .map(move |&s| &node.log[o][(s - 1) as usize].op)
            })
            .filter(|op| !node.rejected.contains(&op.id))
            .collect()
    }

    /// The staff checks of a full sweep (`crate::staff::book_problem`).
    pub(super) fn check_staff(&mut self, n: usize) {
        if self.sc.staff.is_none() {
            return;
        }
        let problem =
            crate::staff::book_problem(&self.nodes[n].st.staff, self.staff_applied(n).into_iter());
        if let Some((inv, d)) = problem {
            self.violate(inv, Some(n), d);
        }
    }

    /// A crash at `n` lost its ops after `kept`: their staff seqs too.
    pub(super) fn staff_lost(&mut self, n: usize, kept: u64) {
        self.staff.seqs[n].retain(|&s| s <= kept);
    }

    /// The report's end figures, from the converged chain.
    pub(super) fn staff_final(&mut self) {
        if self.sc.staff.is_none() {
            return;
        }
        let recs: Vec<_> = self
            .staff
            .seqs
            .iter()
            .enumerate()
            .flat_map(|(o, seqs)| seqs.iter().map(move |&s| (o, s)))
            .map(|(o, s)| self.ops[o][(s - 1) as usize].clone())
            .collect();
        // `b` was made after `a` reached its origin: same origin and
        // later, or `b`'s deps hold `a`.
        let seen = |a: usize, b: usize| {
            let (x, y) = (&recs[a], &recs[b]);
            if x.o == y.o {
                x.op.id.seq < y.op.id.seq
            } else {
                u64::from(y.deps[x.o as usize]) >= x.op.id.seq
            }
        };
        let just: Vec<&Op> = recs.iter().map(|r| &r.op).collect();
        let concurrent = crate::staff::concurrent_fields(&just, seen);
        let book = &self.nodes[0].st.staff;
        let conflicts = book.iter().filter(|a| book.login_conflict(a)).count() as u64;
        let (accounts, disabled) = (
            book.len() as u64,
            book.iter().filter(|a| a.disabled).count() as u64,
        );
        let st = self.staff_stats();
        st.concurrent_fields = concurrent;
        st.login_conflicts = conflicts;
        st.accounts_end = accounts;
        st.disabled_end = disabled;
    }
}
