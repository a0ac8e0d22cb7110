//! Dormant members and the rankings' rows in the db
//! (`tongka_core::figures::{seen, ranks}`), written in the commit of every
//! op applied (not rejected), next to the figures (`crate::figures`):
//!
//! - `member-last-1` and `last-day-1`: each member's last day per scope
//!   (the chain, `""`, or a store) and the members per scope and last day.
//!   An op that sees a member reads two entries (chain and its store) and
//!   writes those that move, moving one count each; a merge marks the
//!   absorbed member's entries gone (a prefix scan of their few scopes).
//!   Dormant as of a day is a range read of `last-day-1`: one row per day
//!   a member was last seen, per scope.
//! - `spend-2`: per store, day and bucket of member ids (`bucket`), the
//!   members' spend in the bucket, each row read once and written once
//!   per commit with the additions of the commit's ops merged in;
//!   `product-sales-1`: per store, day and sku, likewise. A refund's
//!   product rows need its order as it was before it: the caller reads it
//!   from `orders-1`, which at that point holds it (the refund's own state
//!   is written after).
//!
//! A database whose log predates these tables is backfilled once at open
//! (`backfill`, marked by `meta` `figures-more`).

use std::collections::{BTreeMap, HashMap};

use redb::{ReadableDatabase, ReadableTable, Table};
use rust_decimal::Decimal;
use smol_str::SmolStr;
use tongka_core::day::Day;
use tongka_core::figures::ranks::{self, ProductFigures, Spend};
use tongka_core::figures::seen::{self, Last, Seen};
use tongka_core::figures::{self};
use tongka_core::ids::{MemberId, NodeId, OrderId};
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody};
use tongka_core::refund::OrderState;

use crate::tables::{
    LAST_DAY, MEMBER_LAST, META, OPS, ORDERS, PRODUCT_SALES, REJECTED, SPEND, SPEND_V1,
};
use crate::values::decode;
use crate::{Db, DbError};

/// The `meta` key set once these tables hold every op of the log.
const KEPT: &str = "figures-more";
/// The `meta` key set once the members' spend is kept in buckets
/// (`spend-2`).
const PACKED: &str = "spend-2";
/// Buckets per store and day in `spend-2`: a chain's store-day of 3,000
/// members buying is rows of some 25 members each, rewritten whole when
/// one changes (a few µs in a commit).
pub(crate) const BUCKETS: u16 = 128;
/// The chain's scope in `member-last-1` and `last-day-1` (no store is
/// named "").
const CHAIN: &str = "";

fn corrupt(what: &str, e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(format!("{what}: {e}"))
}

/// The tables of one write transaction, and the rows of `spend-2` and
/// `product-sales-1` its ops changed so far (written by `flush`).
pub(crate) struct MoreTables<'w> {
    member_last: Table<'w, (&'static str, &'static str), (i32, bool)>,
    last_day: Table<'w, (&'static str, i32), u64>,
    spend: Table<'w, (&'static str, i32, u16), &'static [u8]>,
    products: Table<'w, (&'static str, i32, &'static str), &'static [u8]>,
    /// What this transaction's ops add to each member's row (added to the
    /// stored bucket at `flush`).
    pending_spend: HashMap<(NodeId, i32, MemberId), Spend>,
    pending_products: HashMap<(NodeId, i32, String), ProductFigures>,
}

impl<'w> MoreTables<'w> {
    pub(crate) fn open(w: &'w redb::WriteTransaction) -> Result<MoreTables<'w>, DbError> {
        Ok(MoreTables {
            member_last: w.open_table(MEMBER_LAST)?,
            last_day: w.open_table(LAST_DAY)?,
            spend: w.open_table(SPEND)?,
            products: w.open_table(PRODUCT_SALES)?,
            pending_spend: HashMap::new(),
            pending_products: HashMap::new(),
        })
    }

    /// Count `op`, applied; `before` is the state of the order it refunds
    /// (a refund), before it.
    pub(crate) fn apply(&mut self, op: &Op, before: Option<&OrderState>) -> Result<(), DbError> {
        match seen::seen(op) {
            Some(Seen::At { member, store, day }) => {
                let chain = self.put(member.as_str(), CHAIN, Last { day, gone: false })?;
                self.put(
                    member.as_str(),
                    store.as_str(),
                    Last {
                        day,
                        gone: chain.gone,
                    },
                )?;
            }
            Some(Seen::Gone { member, day }) => {
                self.put(member.as_str(), CHAIN, Last { day, gone: true })?;
                let mut stores = Vec::new();
                for row in self.member_last.range((member.as_str(), "\u{1}")..)? {
                    let (k, v) = row?;
                    if k.value().0 != member.as_str() {
                        break;
                    }
                    stores.push((k.value().1.to_string(), v.value().0));
                }
                for (store, d) in stores {
                    self.put(
                        member.as_str(),
                        &store,
                        Last {
                            day: Day(d),
                            gone: true,
                        },
                    )?;
                }
            }
            None => {}
        }
        let day = figures::day_of(op).0;
        let store = op.origin();
        if let Some((m, s)) = ranks::spend(op) {
            self.pending_spend
                .entry((store.clone(), day, m.clone()))
                .or_default()
                .add(&s);
        }
        for (sku, p) in ranks::products(op, before) {
            let key = (store.clone(), day, sku);
            let row = match self.pending_products.get_mut(&key) {
                Some(row) => row,
                None => {
                    let stored = match self.products.get((store.as_str(), day, key.2.as_str()))? {
                        Some(v) => {
                            minicbor::decode(v.value()).map_err(|e| corrupt("product sales", e))?
                        }
                        None => ProductFigures::default(),
                    };
                    self.pending_products.entry(key).or_insert(stored)
                }
            };
            row.add(&p);
        }
        Ok(())
    }

    /// Join `with` into `member`'s entry in `scope`, moving its count; the
    /// entry after.
    fn put(&mut self, member: &str, scope: &str, with: Last) -> Result<Last, DbError> {
        let old = self.member_last.get((member, scope))?.map(|v| {
            let (day, gone) = v.value();
            Last {
                day: Day(day),
                gone,
            }
        });
        let new = old.map_or(with, |o| o.join(with));
        if old == Some(new) {
            return Ok(new);
        }
        let (was, is) = (old.and_then(Last::counted), new.counted());
        if was != is {
            if let Some(d) = was {
                let c = self.last_day.get((scope, d.0))?.map_or(0, |v| v.value());
                if c <= 1 {
                    self.last_day.remove((scope, d.0))?;
                } else {
                    self.last_day.insert((scope, d.0), c - 1)?;
                }
            }
            if let Some(d) = is {
                let c = self.last_day.get((scope, d.0))?.map_or(0, |v| v.value());
                self.last_day.insert((scope, d.0), c + 1)?;
            }
        }
        self.member_last
            .insert((member, scope), (new.day.0, new.gone))?;
        Ok(new)
    }

    /// Write the rows changed, once each: each bucket of `spend-2` its
    /// members' additions merged in.
    pub(crate) fn flush(mut self) -> Result<(), DbError> {
        let mut buckets: BTreeMap<(NodeId, i32, u16), Vec<(MemberId, Spend)>> = BTreeMap::new();
        for ((store, day, m), s) in self.pending_spend.drain() {
            let b = bucket(m.as_str());
            buckets.entry((store, day, b)).or_default().push((m, s));
        }
        for ((store, day, b), adds) in buckets {
            let key = (store.as_str(), day, b);
            let mut row: Vec<(String, Spend)> = match self.spend.get(key)? {
                Some(v) => minicbor::decode(v.value()).map_err(|e| corrupt("spend", e))?,
                None => Vec::new(),
            };
            for (m, s) in adds {
                match row.binary_search_by(|(id, _)| id.as_str().cmp(m.as_str())) {
                    Ok(i) => row[i].1.add(&s),
                    Err(i) => row.insert(i, (m.to_string(), s)),
                }
            }
            let bytes = minicbor::to_vec(&row).expect("encoding to memory cannot fail");
            self.spend.insert(key, bytes.as_slice())?;
        }
        for ((store, day, sku), p) in self.pending_products.drain() {
            let bytes = minicbor::to_vec(&p).expect("encoding to memory cannot fail");
            self.products
                .insert((store.as_str(), day, sku.as_str()), bytes.as_slice())?;
        }
        Ok(())
    }
}

/// The order a refund op refunds, as `orders` holds it now.
pub(crate) fn order_before(
    orders: &impl ReadableTable<&'static str, &'static [u8]>,
    op: &Op,
) -> Result<Option<OrderState>, DbError> {
    match ranks::refunds(op) {
        Some(id) => orders
            .get(id.as_str())?
            .map(|v| decode(v.value(), "order"))
            .transpose(),
        None => Ok(None),
    }
}

/// Make these tables hold the whole log, once (see `figures::backfill`).
/// `orders-1` holds each order's state after all its refunds: the state
/// before each refund is that order with the quantities refunded by the
/// refunds before it, tracked here (an origin's ops are read in order).
pub(crate) fn backfill(w: &redb::WriteTransaction) -> Result<(), DbError> {
    let mut meta = w.open_table(META)?;
    if meta.get(KEPT)?.is_some() {
        if meta.get(PACKED)?.is_none() {
            pack_spend(w)?;
            meta.insert(PACKED, [1u8].as_slice())?;
        }
        return Ok(());
    }
    // Made from the log below, packed from the start.
    w.delete_table(SPEND_V1)?;
    meta.insert(PACKED, [1u8].as_slice())?;
    let ops = w.open_table(OPS)?;
    let rejected = w.open_table(REJECTED)?;
    let orders = w.open_table(ORDERS)?;
    let mut refunded: HashMap<OrderId, Vec<Decimal>> = HashMap::new();
    let mut tables = MoreTables::open(w)?;
    for row in ops.iter()? {
        let (k, v) = row?;
        if rejected.get(k.value())?.is_some() {
            continue;
        }
        let Ok(op) = Op::decode(v.value()) else {
            continue;
        };
        let before = match (&op.body, order_before(&orders, &op)?) {
            (OpBody::Refunded { refund, .. }, Some(mut state)) => {
                let done = refunded
                    .entry(refund.order.clone())
                    .or_insert_with(|| vec![Decimal::ZERO; state.order.lines.len()]);
                state.refunded_qty = done.clone();
                for r in &refund.lines {
                    if let Some(q) = done.get_mut(r.line) {
                        *q += r.qty;
                    }
                }
                Some(state)
            }
            _ => None,
        };
        tables.apply(&op, before.as_ref())?;
    }
    tables.flush()?;
    meta.insert(KEPT, [1u8].as_slice())?;
    Ok(())
}

/// Move a db's `spend-1` rows (one per store, day and member) into
/// `spend-2`'s buckets, and delete `spend-1`: once, at open.
fn pack_spend(w: &redb::WriteTransaction) -> Result<(), DbError> {
    let mut tables = MoreTables::open(w)?;
    {
        let old = w.open_table(SPEND_V1)?;
        for row in old.iter()? {
            let (k, v) = row?;
            let (store, day, m) = k.value();
            let s: Spend = minicbor::decode(v.value()).map_err(|e| corrupt("spend", e))?;
            let store = NodeId::new(store).map_err(|_| corrupt("spend", store))?;
            tables.pending_spend.insert((store, day, member_id(m)?), s);
        }
    }
    tables.flush()?;
    w.delete_table(SPEND_V1)?;
    Ok(())
}

/// Which bucket of `spend-2` a member's rows are in: FNV-1a of the id
/// (fixed here, so a db reads what it wrote), modulo [`BUCKETS`].
pub(crate) fn bucket(member: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in member.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % u32::from(BUCKETS)) as u16
}

/// Dormant members as of a day: the chain's and each store's asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dormant {
    pub chain: u64,
    pub stores: Vec<(NodeId, u64)>,
}

/// Every scope with a row in `last-day-1`.
fn scopes(t: &redb::ReadOnlyTable<(&'static str, i32), u64>) -> Result<Vec<String>, DbError> {
    let first = t.first()?.map(|(k, _)| k.value().0.to_string());
    listed(None, first, |scope| {
        Ok(t.range((scope, i32::MAX)..)?
            .next()
            .transpose()?
            .map(|(k, _)| k.value().0.to_string()))
    })
}

impl Db {
    /// Members dormant as of the day after `cutoff` (those last seen on or
    /// before it): in the chain, and at each of `stores` (every store
    /// seen: `None`). A range read per scope.
    pub fn dormant(&self, stores: Option<&[NodeId]>, cutoff: Day) -> Result<Dormant, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(LAST_DAY)?;
        let count = |scope: &str| -> Result<u64, DbError> {
            let mut n = 0;
            for row in t.range((scope, i32::MIN)..=(scope, cutoff.0))? {
                n += row?.1.value();
            }
            Ok(n)
        };
        let list: Vec<String> = match stores {
            Some(list) => list.iter().map(|s| s.to_string()).collect(),
            None => scopes(&t)?.into_iter().filter(|s| s != CHAIN).collect(),
        };
        let mut out = Dormant {
            chain: count(CHAIN)?,
            stores: Vec::new(),
        };
        let mut list = list;
        list.sort();
        list.dedup();
        for s in list {
            let node = NodeId::new(s.as_str()).map_err(|_| corrupt("last-day", &s))?;
            out.stores.push((node, count(&s)?));
        }
        Ok(out)
    }

    /// Each member's spend from `from` to `to` at `stores` (every store:
    /// `None`), summed; in member order. Reads every row of the range.
    pub fn member_spend(
        &self,
        stores: Option<&[NodeId]>,
        from: Day,
        to: Day,
    ) -> Result<Vec<(MemberId, Spend)>, DbError> {
        let mut all = self.spend_by_member(stores, from, to)?;
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all.into_iter()
            .map(|(m, s)| Ok((member_id(&m)?, s)))
            .collect()
    }

    /// The first `limit` members in `order` by their spend from `from` to
    /// `to` at `stores` (every store: `None`), ranked. Reads every row of
    /// the range (up to members × days), keeps nothing but a sum per
    /// member, and parses the ids of the kept ones only.
    pub fn member_spend_top(
        &self,
        stores: Option<&[NodeId]>,
        from: Day,
        to: Day,
        order: tongka_core::figures::ranks::MemberOrder,
        limit: usize,
    ) -> Result<Vec<(MemberId, Spend)>, DbError> {
        let all = self.spend_by_member(stores, from, to)?;
        order
            .top(all, limit)
            .into_iter()
            .map(|(m, s)| Ok((member_id(&m)?, s)))
            .collect()
    }

    /// The spend rows of the range summed per member (id as stored, in no
    /// order). The sums are kept in fen and counts (exact integers: every
    /// amount is held to the fen, `money`), one hash entry per member, so
    /// an entry costs a lookup and four additions; each becomes a [`Spend`]
    /// once, at the end. The ids are read in place from the bucket rows.
    fn spend_by_member(
        &self,
        stores: Option<&[NodeId]>,
        from: Day,
        to: Day,
    ) -> Result<Vec<(SmolStr, Spend)>, DbError> {
        #[derive(Default)]
        struct Sum {
            sales: u64,
            sold: i64,
            refunds: u64,
            refunded: i64,
        }
        // Room for every member at once: a map that grows rehashes them all
        // on the way (a million members, a few times).
        let capacity = usize::try_from(self.member_count()?).unwrap_or(0);
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(SPEND)?;
        let first = t.first()?.map(|(k, _)| k.value().0.to_string());
        let list = listed(stores, first, |store| {
            Ok(t.range((store, i32::MAX, u16::MAX)..)?
                .next()
                .transpose()?
                .map(|(k, _)| k.value().0.to_string()))
        })?;
        let per = in_halves(
            &list,
            |part| {
                let mut per: Sums<Sum> =
                    Sums::with_capacity_and_hasher(capacity, Default::default());
                for store in part {
                    let (lo, hi) = (
                        (store.as_str(), from.0, 0u16),
                        (store.as_str(), to.0, u16::MAX),
                    );
                    for row in t.range(lo..=hi)? {
                        let (_, v) = row?;
                        let entries: Vec<(&str, Spend)> =
                            minicbor::decode(v.value()).map_err(|e| corrupt("spend", e))?;
                        for (m, s) in entries {
                            let sum = match per.get_mut(m) {
                                Some(sum) => sum,
                                None => per.entry(SmolStr::new(m)).or_default(),
                            };
                            sum.sales += s.sales;
                            sum.sold += s.sold.fen();
                            sum.refunds += s.refunds;
                            sum.refunded += s.refunded.fen();
                        }
                    }
                }
                Ok(per)
            },
            |a, b| {
                a.sales += b.sales;
                a.sold += b.sold;
                a.refunds += b.refunds;
                a.refunded += b.refunded;
            },
        )?;
        Ok(per
            .into_iter()
            .map(|(m, x)| {
                let spend = Spend {
                    sales: x.sales,
                    sold: Money::from_fen(x.sold),
                    refunds: x.refunds,
                    refunded: Money::from_fen(x.refunded),
                };
                (m, spend)
            })
            .collect())
    }

    /// Each product's figures from `from` to `to` at `stores` (every
    /// store: `None`), summed; in sku order. Reads every row of the range.
    pub fn product_sales(
        &self,
        stores: Option<&[NodeId]>,
        from: Day,
        to: Day,
    ) -> Result<Vec<(String, ProductFigures)>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(PRODUCT_SALES)?;
        let list = scan_list(&t, stores)?;
        let per = in_halves(
            &list,
            |part| {
                let mut per: Sums<ProductFigures> = Sums::default();
                for store in part {
                    let (lo, hi) = ((store.as_str(), from.0, ""), (store.as_str(), to.0 + 1, ""));
                    for row in t.range(lo..hi)? {
                        let (k, v) = row?;
                        let key = k.value();
                        let p: ProductFigures =
                            minicbor::decode(v.value()).map_err(|e| corrupt("product sales", e))?;
                        match per.get_mut(key.2) {
                            Some(sum) => sum.add(&p),
                            None => {
                                per.insert(SmolStr::new(key.2), p);
                            }
                        }
                    }
                }
                Ok(per)
            },
            |a, b| a.add(&b),
        )?;
        let mut all: Vec<(String, ProductFigures)> =
            per.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }
}

/// Run `half` on the even and on the odd stores of `list` (two threads,
/// reading the one transaction the caller opened), then join the two sums
/// per name: a ranking of a million members reads a few million entries,
/// and the machine has cores.
fn in_halves<A: Send>(
    list: &[String],
    half: impl Fn(Vec<&String>) -> Result<Sums<A>, DbError> + Sync,
    join: impl Fn(&mut A, A),
) -> Result<Sums<A>, DbError> {
    let odd: Vec<&String> = list.iter().skip(1).step_by(2).collect();
    let even: Vec<&String> = list.iter().step_by(2).collect();
    let (a, b) = if odd.is_empty() {
        (half(even)?, Sums::default())
    } else {
        std::thread::scope(|sc| {
            let other = sc.spawn(|| half(odd));
            let mine = half(even);
            let other = other
                .join()
                .map_err(|_| corrupt("report read", "a reading thread panicked"))?;
            Ok::<_, DbError>((mine?, other?))
        })?
    };
    let (mut a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    for (k, v) in b {
        match a.get_mut(&k) {
            Some(x) => join(x, v),
            None => {
                a.insert(k, v);
            }
        }
    }
    Ok(a)
}

/// The stores to read of a `(store, day, name)` table.
fn scan_list(
    t: &redb::ReadOnlyTable<(&'static str, i32, &'static str), &'static [u8]>,
    stores: Option<&[NodeId]>,
) -> Result<Vec<String>, DbError> {
    let first = t.first()?.map(|(k, _)| k.value().0.to_string());
    listed(stores, first, |store| {
        Ok(t.range((store, i32::MAX, "\u{10FFFF}")..)?
            .next()
            .transpose()?
            .map(|(k, _)| k.value().0.to_string()))
    })
}

/// The stores (or scopes) to read: those asked, each once, in order; or
/// (`None`) every first key part of a table, found by skipping from one's
/// rows to the next's: `first` is the first row's, `after(s)` the first
/// row's past all of `s`'s rows.
fn listed(
    stores: Option<&[NodeId]>,
    first: Option<String>,
    after: impl Fn(&str) -> Result<Option<String>, DbError>,
) -> Result<Vec<String>, DbError> {
    if let Some(list) = stores {
        let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        v.sort();
        v.dedup();
        return Ok(v);
    }
    let mut out: Vec<String> = Vec::new();
    let mut next = first;
    while let Some(store) = next {
        next = after(&store)?.filter(|s| *s != store);
        out.push(store);
    }
    Ok(out)
}

/// Sums per name (member id or sku), read from a table's rows.
type Sums<A> = HashMap<SmolStr, A, rustc_hash::FxBuildHasher>;

fn member_id(m: &str) -> Result<MemberId, DbError> {
    MemberId::parse(m).ok_or_else(|| corrupt("spend", format!("member {m:?}")))
}
