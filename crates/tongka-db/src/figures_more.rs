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
//! - `spend-1` and `product-sales-1`: per store, day and member or sku,
//!   read once and written once per commit (like `figures-1`). A refund's
//!   product rows need its order as it was before it: the caller reads it
//!   from `orders-1`, which at that point holds it (the refund's own state
//!   is written after).
//!
//! A database whose log predates these tables is backfilled once at open
//! (`backfill`, marked by `meta` `figures-more`).

use std::collections::HashMap;

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

use crate::tables::{LAST_DAY, MEMBER_LAST, META, OPS, ORDERS, PRODUCT_SALES, REJECTED, SPEND};
use crate::values::decode;
use crate::{Db, DbError};

/// The `meta` key set once these tables hold every op of the log.
const KEPT: &str = "figures-more";
/// The chain's scope in `member-last-1` and `last-day-1` (no store is
/// named "").
const CHAIN: &str = "";

fn corrupt(what: &str, e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(format!("{what}: {e}"))
}

/// The tables of one write transaction, and the rows of `spend-1` and
/// `product-sales-1` its ops changed so far (written by `flush`).
pub(crate) struct MoreTables<'w> {
    member_last: Table<'w, (&'static str, &'static str), (i32, bool)>,
    last_day: Table<'w, (&'static str, i32), u64>,
    spend: Table<'w, (&'static str, i32, &'static str), &'static [u8]>,
    products: Table<'w, (&'static str, i32, &'static str), &'static [u8]>,
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
            let key = (store.clone(), day, m.clone());
            let row = match self.pending_spend.get_mut(&key) {
                Some(row) => row,
                None => {
                    let stored = match self.spend.get((store.as_str(), day, m.as_str()))? {
                        Some(v) => minicbor::decode(v.value()).map_err(|e| corrupt("spend", e))?,
                        None => Spend::default(),
                    };
                    self.pending_spend.entry(key).or_insert(stored)
                }
            };
            row.add(&s);
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

    /// Write the rows changed, once each.
    pub(crate) fn flush(mut self) -> Result<(), DbError> {
        for ((store, day, m), s) in self.pending_spend.drain() {
            let bytes = minicbor::to_vec(&s).expect("encoding to memory cannot fail");
            self.spend
                .insert((store.as_str(), day, m.as_str()), bytes.as_slice())?;
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
        return Ok(());
    }
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

/// Dormant members as of a day: the chain's and each store's asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dormant {
    pub chain: u64,
    pub stores: Vec<(NodeId, u64)>,
}

/// Every scope with a row in `last-day-1`: found by skipping from one
/// scope's rows to the next's.
fn scopes(t: &redb::ReadOnlyTable<(&'static str, i32), u64>) -> Result<Vec<String>, DbError> {
    let mut out: Vec<String> = Vec::new();
    let mut next = t.first()?.map(|(k, _)| k.value().0.to_string());
    while let Some(scope) = next {
        next = match t.range((scope.as_str(), i32::MAX)..)?.next() {
            Some(row) => Some(row?.0.value().0.to_string()).filter(|s| *s != scope),
            None => None,
        };
        out.push(scope);
    }
    Ok(out)
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
    /// a row costs a lookup and four additions; each becomes a [`Spend`]
    /// once, at the end.
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
        let members = self.member_count()?;
        let per = self.fold_range(
            SPEND,
            stores,
            (from, to),
            usize::try_from(members).unwrap_or(0),
            |sum: &mut Sum, v| {
                let s: Spend = minicbor::decode(v).map_err(|e| corrupt("spend", e))?;
                sum.sales += s.sales;
                sum.sold += s.sold.fen();
                sum.refunds += s.refunds;
                sum.refunded += s.refunded.fen();
                Ok(())
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

    /// Fold the rows of `def` from `from` to `to` at `stores` (every
    /// store: `None`) into one sum per name (the key's third part): `add`
    /// a row's value to its name's sum, `join` two sums of a name. The
    /// stores are read in two halves on two threads, from one read
    /// transaction (one commit), then the halves joined: a ranking of a
    /// million members is a few million rows, and the machine has cores.
    fn fold_range<A: Default + Send>(
        &self,
        def: redb::TableDefinition<(&'static str, i32, &'static str), &'static [u8]>,
        stores: Option<&[NodeId]>,
        (from, to): (Day, Day),
        capacity: usize,
        add: impl Fn(&mut A, &[u8]) -> Result<(), DbError> + Sync,
        join: impl Fn(&mut A, A),
    ) -> Result<Sums<A>, DbError> {
        let r = self.shared.db.begin_read()?;
        let t = r.open_table(def)?;
        let list = scan_list(&t, stores)?;
        let half = |part: Vec<&String>| {
            let mut per: Sums<A> = Sums::with_capacity_and_hasher(capacity, Default::default());
            for store in part {
                for row in t.range((store.as_str(), from.0, "")..(store.as_str(), to.0 + 1, ""))? {
                    let (k, v) = row?;
                    let key = k.value();
                    let sum = match per.get_mut(key.2) {
                        Some(sum) => sum,
                        None => per.entry(SmolStr::new(key.2)).or_default(),
                    };
                    add(sum, v.value())?;
                }
            }
            Ok::<_, DbError>(per)
        };
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

    /// Each product's figures from `from` to `to` at `stores` (every
    /// store: `None`), summed; in sku order. Reads every row of the range.
    pub fn product_sales(
        &self,
        stores: Option<&[NodeId]>,
        from: Day,
        to: Day,
    ) -> Result<Vec<(String, ProductFigures)>, DbError> {
        let per = self.fold_range(
            PRODUCT_SALES,
            stores,
            (from, to),
            0,
            |sum: &mut ProductFigures, v| {
                let p: ProductFigures =
                    minicbor::decode(v).map_err(|e| corrupt("product sales", e))?;
                sum.add(&p);
                Ok(())
            },
            |a, b| a.add(&b),
        )?;
        let mut all: Vec<(String, ProductFigures)> =
            per.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }
}

/// The stores to read of a `(store, day, name)` table.
fn scan_list(
    t: &redb::ReadOnlyTable<(&'static str, i32, &'static str), &'static [u8]>,
    stores: Option<&[NodeId]>,
) -> Result<Vec<String>, DbError> {
    Ok(match stores {
        Some(list) => {
            let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            v.sort();
            v.dedup();
            v
        }
        None => {
            let mut out: Vec<String> = Vec::new();
            let mut next = t.first()?.map(|(k, _)| k.value().0.to_string());
            while let Some(store) = next {
                next = match t.range((store.as_str(), i32::MAX, "\u{10FFFF}")..)?.next() {
                    Some(row) => Some(row?.0.value().0.to_string()).filter(|s| *s != store),
                    None => None,
                };
                out.push(store);
            }
            out
        }
    })
}

/// Sums per name (member id or sku), read from a table's rows.
type Sums<A> = HashMap<SmolStr, A, rustc_hash::FxBuildHasher>;

fn member_id(m: &str) -> Result<MemberId, DbError> {
    MemberId::parse(m).ok_or_else(|| corrupt("spend", format!("member {m:?}")))
}
