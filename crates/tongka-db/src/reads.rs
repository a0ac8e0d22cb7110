//! Reads: members, orders, ops, the summary, the phone, card and barcode
//! indexes, duplicates, merges, documents, products, idempotency records
//! and refused ops, each in its own read transaction on the caller's thread.

use std::sync::atomic::Ordering;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use tongka_core::catalogue::Product;
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId};
use tongka_core::op::{EncodedOp, Op};
use tongka_core::refund::OrderState;
use tongka_core::state::MemberState;

use crate::tables::*;
use crate::values::decode;
use crate::{Db, DbError, IdemRecord, RefusedOp, Summary};

impl Db {
    pub fn node(&self) -> &NodeId {
        &self.shared.node
    }

    pub fn stats(&self) -> (u64, u64) {
        (
            self.shared.stats.commits.load(Ordering::Relaxed),
            self.shared.stats.requests.load(Ordering::Relaxed),
        )
    }

    /// The group commit's batch sizes so far (for metrics).
    pub fn batch_sizes(&self) -> crate::BatchSizes {
        self.shared.stats.batch_sizes()
    }

    /// The replicated-state summary as of the last commit.
    pub fn summary(&self) -> Summary {
        self.shared.summary.lock().expect("summary lock").clone()
    }

    pub fn member(&self, id: &MemberId) -> Result<Option<MemberState>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(MEMBERS)?;
        t.get(id.as_str())?
            .map(|v| decode(v.value(), "member"))
            .transpose()
    }

    pub fn member_by_phone(&self, phone: &str) -> Result<Option<MemberId>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(PHONES)?;
        Ok(t.get(phone)?.and_then(|v| MemberId::parse(v.value())))
    }

    pub fn member_by_card(&self, card: &str) -> Result<Option<MemberId>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(CARDS)?;
        Ok(t.get(card)?.and_then(|v| MemberId::parse(v.value())))
    }

    /// Up to `limit` members after `after` (by id; `None`: from the
    /// first), for a job that walks them all a page at a time.
    pub fn members_after(
        &self,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<MemberState>, DbError> {
        use std::ops::Bound;
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(MEMBERS)?;
        let from = match after {
            Some(m) => Bound::Excluded(m.as_str()),
            None => Bound::Unbounded,
        };
        let mut out = Vec::new();
        for item in t.range::<&str>((from, Bound::Unbounded))?.take(limit) {
            let (_, v) = item?;
            out.push(decode(v.value(), "member")?);
        }
        Ok(out)
    }

    pub fn member_count(&self) -> Result<u64, DbError> {
        let r = self.shared.db.begin_read()?;
        Ok(r.open_table(MEMBERS)?.len()?)
    }

    pub fn order(&self, id: &OrderId) -> Result<Option<OrderState>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(ORDERS)?;
        t.get(id.as_str())?
            .map(|v| decode(v.value(), "order"))
            .transpose()
    }

    pub fn idem(&self, key: &str) -> Result<Option<IdemRecord>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(IDEM)?;
        t.get(key)?
            .map(|v| decode(v.value(), "idempotency record"))
            .transpose()
    }

    pub fn op(&self, id: &OpId) -> Result<Option<Op>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(OPS)?;
        t.get((id.origin.as_str(), id.seq))?
            .map(|v| Op::decode(v.value()).map_err(|e| DbError::Corrupt(e.to_string())))
            .transpose()
    }

    /// Ops of `origin` from `from_seq` on, at most `limit` (for replication
    /// and audit).
    pub fn ops_from(
        &self,
        origin: &NodeId,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<Op>, DbError> {
        Ok(self
            .ops_from_encoded(origin, from_seq, limit)?
            .into_iter()
            .map(|e| e.op)
            .collect())
    }

    /// `ops_from`, each op with the bytes the log holds (replication sends
    /// them as they are).
    pub fn ops_from_encoded(
        &self,
        origin: &NodeId,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<EncodedOp>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(OPS)?;
        let mut out = Vec::new();
        for item in t
            .range((origin.as_str(), from_seq)..=(origin.as_str(), u64::MAX))?
            .take(limit)
        {
            let (_, v) = item?;
            out.push(
                EncodedOp::decode(v.value().to_vec())
                    .map_err(|e| DbError::Corrupt(e.to_string()))?,
            );
        }
        Ok(out)
    }

    /// Remote ops refused before applying, with the peer that sent them.
    pub fn refused(&self, limit: usize) -> Result<Vec<RefusedOp>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(REFUSED)?;
        let mut out = Vec::new();
        for item in t.iter()?.take(limit) {
            let (k, v) = item?;
            let (origin, seq, from) = k.value();
            if let (Ok(origin), Ok(from)) = (NodeId::new(origin), NodeId::new(from)) {
                out.push(RefusedOp {
                    id: OpId { origin, seq },
                    from,
                    reason: v.value().to_string(),
                });
            }
        }
        Ok(out)
    }

    /// Phone and card numbers held by more than one member, with the
    /// members (the merge queue).
    pub fn duplicates(&self, limit: usize) -> Result<Vec<(String, Vec<MemberId>)>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(DUPLICATES)?;
        let mut out: Vec<(String, Vec<MemberId>)> = Vec::new();
        for item in t.iter()? {
            let (k, _) = item?;
            let (key, member) = k.value();
            let Some(member) = MemberId::parse(member) else {
                continue;
            };
            let full = out.len() >= limit;
            match out.last_mut() {
                Some((last, ms)) if last == key => ms.push(member),
                _ if full => break,
                _ => out.push((key.to_string(), vec![member])),
            }
        }
        Ok(out)
    }

    /// Every merge this node applied: `(absorbed, survivor)`.
    pub fn merged(&self) -> Result<Vec<(MemberId, MemberId)>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(MERGED)?;
        let mut out = Vec::new();
        for item in t.iter()? {
            let (k, _) = item?;
            let (a, s) = k.value();
            if let (Some(a), Some(s)) = (MemberId::parse(a), MemberId::parse(s)) {
                out.push((a, s));
            }
        }
        Ok(out)
    }

    /// The programme document (`programme_doc`, saved), if any op changed
    /// it; none means the initial one.
    pub fn programme_doc(&self) -> Result<Option<Vec<u8>>, DbError> {
        let r = self.shared.db.begin_read()?;
        let meta = r.open_table(META)?;
        Ok(meta.get("programme")?.map(|v| v.value().to_vec()))
    }

    /// The staff book (`tongka_core::staff::StaffBook`, minicbor), if any
    /// staff op was applied; none means no account.
    pub fn staff_book(&self) -> Result<Option<Vec<u8>>, DbError> {
        let r = self.shared.db.begin_read()?;
        let meta = r.open_table(META)?;
        Ok(meta.get("staff")?.map(|v| v.value().to_vec()))
    }

    /// The catalogue document (`catalogue_doc`, saved): written at
    /// creation (the initial one) and by each catalogue change.
    pub fn catalogue_doc(&self) -> Result<Option<Vec<u8>>, DbError> {
        let r = self.shared.db.begin_read()?;
        let meta = r.open_table(META)?;
        Ok(meta.get("catalogue")?.map(|v| v.value().to_vec()))
    }

    /// Whether this node ever authored a programme or catalogue change
    /// (`meta` `authored-documents`): a store of a chain may not, so a
    /// node that did (without a chain) cannot join one as a store.
    pub fn authored_documents(&self) -> Result<bool, DbError> {
        let r = self.shared.db.begin_read()?;
        let meta = r.open_table(META)?;
        Ok(meta.get("authored-documents")?.is_some())
    }

    /// Remote ops refused by their checks, with the reason.
    pub fn rejected(&self, limit: usize) -> Result<Vec<(OpId, String)>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(REJECTED)?;
        let mut out = Vec::new();
        for item in t.iter()?.take(limit) {
            let (k, v) = item?;
            let (origin, seq) = k.value();
            if let Ok(origin) = NodeId::new(origin) {
                out.push((OpId { origin, seq }, v.value().to_string()));
            }
        }
        Ok(out)
    }

    pub fn product(&self, sku: &str) -> Result<Option<Product>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(PRODUCTS)?;
        t.get(sku)?
            .map(|v| decode(v.value(), "product"))
            .transpose()
    }

    pub fn product_by_barcode(&self, barcode: &str) -> Result<Option<Product>, DbError> {
        let sku = {
            let r = self.shared.db.begin_read()?;
            let t = r.open_table(BARCODES)?;
            t.get(barcode)?.map(|v| v.value().to_string())
        };
        match sku {
            Some(s) => self.product(&s),
            None => Ok(None),
        }
    }

    pub fn products(&self, limit: usize) -> Result<Vec<Product>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(PRODUCTS)?;
        let mut out = Vec::new();
        for item in t.iter()?.take(limit) {
            let (_, v) = item?;
            out.push(decode(v.value(), "product")?);
        }
        Ok(out)
    }
}

impl Db {
    /// The ledger totals and what the members hold (Σ of every share of
    /// every wallet, the running sum each commit keeps: `held`), read in
    /// one read transaction so both sides are of the same commit
    /// (`tongka_core::consistency::check` compares them). O(1): two `meta`
    /// values.
    pub fn ledger_sides(
        &self,
    ) -> Result<(tongka_core::state::LedgerTotals, tongka_core::wallet::Share), DbError> {
        let r = self.shared.db.begin_read()?;
        let meta = r.open_table(META)?;
        let totals = read_totals(&meta)?;
        let held = crate::held::read(&meta)?.unwrap_or_default();
        Ok((totals, held))
    }

    /// The deep check: the ledger totals, the running sum of what members
    /// hold, and that sum made afresh by reading every member, all of one
    /// commit. The running sum must equal the scan; a difference is a bug
    /// in the writer's upkeep (or a damaged row). Costs a read of every
    /// member (about 1.5–2.5 µs each).
    pub fn ledger_sides_deep(
        &self,
    ) -> Result<
        (
            tongka_core::state::LedgerTotals,
            tongka_core::wallet::Share,
            tongka_core::wallet::Share,
        ),
        DbError,
    > {
        let r = self.shared.db.begin_read()?;
        let meta = r.open_table(META)?;
        let totals = read_totals(&meta)?;
        let running = crate::held::read(&meta)?.unwrap_or_default();
        let scanned = crate::held::scan(&r.open_table(MEMBERS)?)?;
        Ok((totals, running, scanned))
    }
}

/// The whole ledger totals as of the read's commit.
fn read_totals(
    meta: &impl redb::ReadableTable<&'static str, &'static [u8]>,
) -> Result<tongka_core::state::LedgerTotals, DbError> {
    let (summary, totals) = (meta.get("summary")?, meta.get("totals")?);
    Ok(Summary::read(
        summary.as_ref().map(|v| v.value()),
        totals.as_ref().map(|v| v.value()),
    )?
    .totals)
}
