//! The chain `tongka bench hq-scale` feeds its HQ: the ops several stores
//! would make over a year, decided by the core's own rules
//! (`MemberState::registered`, `decide_recharge`, `checkout::checkout`,
//! `decide_transfer`, `OrderState::decide`), stamped as a store stamps
//! them (`tongka_machine::stamp`: the store's next number, deps = what it
//! holds of the others) and signed as a store signs the ops of one commit
//! (`op::sign_batch`, with each store's chain key), in the one causal
//! order every store is taken to have seen.
//!
//! The mix, per sale: members register at a random store as the sales go
//! (evenly over the year), and 60% of them recharge there at once; 6% of
//! sales come with a recharge of a random member, 3% with a full refund of
//! a recent sale (at its store); 15% of sales are walk-ins (no member),
//! paid in cash, card, WeChat or Alipay; a member's sale is at their home
//! store 85% of the time and elsewhere 15%, paid from the balance when it
//! covers the sale (at another store after an escrow transfer from the
//! home store, `SharesTransferred`), otherwise in another tender. Every
//! figure comes from a seeded generator: the same options make the same
//! ops.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;
use tongka_core::checkout::{self, Buyer, CheckoutContext, LineInput, TenderInput, TenderKind};
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OrderId, RechargeId, RefundId};
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::op::{EncodedOp, Op, OpBody, OpDraft, OpSigner};
use tongka_core::programme::Programme;
use tongka_core::refund::OrderState;
use tongka_core::state::{MemberState, decide_recharge, decide_transfer};
use tongka_machine::stamp::{Held, stamp};

/// Ops one store signs together: about one group commit of a busy store.
const SIGN_GROUP: usize = 64;
/// Recent sales a refund may pick from.
const RECENT_SALES: usize = 4096;
/// The span the ops cover, ending a minute before the run.
pub(crate) const SPAN_DAYS: u64 = 365;

/// What the generator made, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Made {
    pub ops: u64,
    pub members: u64,
    pub recharges: u64,
    /// Sales in all (member and walk-in): the orders.
    pub sales: u64,
    pub balance_sales: u64,
    pub walk_in_sales: u64,
    pub refunds: u64,
    pub transfers: u64,
    /// Encoded bytes of the ops, signatures included.
    pub bytes: u64,
}

/// A small seeded generator (SplitMix64): the mix, not cryptography.
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A store the generator makes ops of, with the key it signs them with.
pub(crate) struct GenStore {
    pub node: NodeId,
    pub signer: Box<dyn OpSigner + Send>,
}

/// A sale a refund may pick: the order as sold, and its member's index.
struct Recent {
    order: OrderState,
    member: Option<usize>,
}

/// The generator: the stores' ops, in causal order, in signed batches.
pub(crate) struct ChainGen {
    stores: Vec<GenStore>,
    programme: Programme,
    run: u64,
    rng: Rng,
    members_wanted: u64,
    sales_wanted: u64,
    /// Every op made so far, per origin: what every store is taken to hold.
    held: VersionVector,
    /// Numbers for minted ids (members, orders, …) per store.
    minted: Vec<u64>,
    members: Vec<(MemberState, usize)>,
    recent: VecDeque<Recent>,
    start_ms: u64,
    span_ms: u64,
    last: Hlc,
    /// Ops made and not yet handed out, in order.
    pending: Vec<(usize, Op)>,
    pub made: Made,
}

impl ChainGen {
    pub fn new(stores: Vec<GenStore>, run: u64, members: u64, sales: u64) -> ChainGen {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let span_ms = SPAN_DAYS * 86_400_000;
        let start_ms = now_ms.saturating_sub(span_ms + 60_000);
        let n = stores.len();
        ChainGen {
            stores,
            programme: Programme::default(),
            run,
            rng: Rng::new(run ^ 0x5ca1e),
            members_wanted: members,
            sales_wanted: sales,
            held: VersionVector::new(),
            minted: vec![0; n],
            members: Vec::with_capacity(members as usize),
            recent: VecDeque::with_capacity(RECENT_SALES),
            start_ms,
            span_ms,
            last: Hlc {
                ms: start_ms,
                count: 0,
            },
            pending: Vec::new(),
            made: Made::default(),
        }
    }

    /// Whether every member and sale asked for has been made.
    pub fn done(&self) -> bool {
        self.made.sales >= self.sales_wanted && self.made.members >= self.members_wanted
    }

    /// The next batch of about `size` ops (fewer only at the end; empty
    /// once done), signed, in causal order.
    pub fn next_batch(&mut self, size: usize) -> anyhow::Result<Vec<EncodedOp>> {
        while self.pending.len() < size && !self.done() {
            self.step()?;
        }
        let take = self.pending.len().min(size);
        let ops: Vec<(usize, Op)> = self.pending.drain(..take).collect();
        Ok(self.sign(ops))
    }

    /// Sign each store's ops of the batch in groups, as its commits would.
    fn sign(&mut self, ops: Vec<(usize, Op)>) -> Vec<EncodedOp> {
        let mut out: Vec<Option<EncodedOp>> = (0..ops.len()).map(|_| None).collect();
        let mut by_store: Vec<Vec<(usize, Op)>> =
            (0..self.stores.len()).map(|_| Vec::new()).collect();
        for (pos, (store, op)) in ops.into_iter().enumerate() {
            by_store[store].push((pos, op));
        }
        for (store, list) in by_store.into_iter().enumerate() {
            let mut list = list.into_iter().peekable();
            while list.peek().is_some() {
                let mut group: Vec<(usize, Op)> = list.by_ref().take(SIGN_GROUP).collect();
                let hashes: Vec<[u8; 32]>;
                let signed = {
                    let items: Vec<(&mut Op, Vec<u8>, [u8; 32])> = group
                        .iter_mut()
                        .map(|(_, op)| {
                            let (bytes, hash) = op.encode_and_hash();
                            (op, bytes, hash)
                        })
                        .collect();
                    hashes = items.iter().map(|(_, _, h)| *h).collect();
                    tongka_core::op::sign_batch(items, self.stores[store].signer.as_ref())
                };
                for (((pos, op), bytes), hash) in group.into_iter().zip(signed).zip(hashes) {
                    self.made.bytes += bytes.len() as u64;
                    out[pos] = Some(EncodedOp { op, bytes, hash });
                }
            }
        }
        out.into_iter()
            .map(|e| e.expect("every op signed"))
            .collect()
    }

    /// The clock of the next op: the sales spread evenly over the span,
    /// each op after the one before.
    fn tick(&mut self) -> Hlc {
        let done = u128::from(self.made.sales);
        let want = u128::from(self.sales_wanted.max(1));
        let ms = self.start_ms + (done * u128::from(self.span_ms) / want) as u64;
        self.last = if ms > self.last.ms {
            Hlc { ms, count: 0 }
        } else {
            Hlc {
                ms: self.last.ms,
                count: self.last.count + 1,
            }
        };
        self.last
    }

    fn mint(&mut self, store: usize) -> u64 {
        self.minted[store] += 1;
        self.minted[store]
    }

    /// Stamp `body` as `store` would, keep it for the next batch, and fold
    /// it into the member's state when it is a member's.
    fn emit(&mut self, store: usize, hlc: Hlc, body: OpBody) -> anyhow::Result<Op> {
        let origin = self.stores[store].node.clone();
        let seq = self.held.get(&origin) + 1;
        let draft = OpDraft {
            hlc,
            by: "till-1".into(),
            idem: Some(format!("hq-scale-{:x}-{origin}-{seq}", self.run)),
            body,
        };
        let op = stamp(
            draft,
            &mut Held {
                origin: &origin,
                held: &self.held,
            },
        );
        self.held.advance(&op.id);
        self.made.ops += 1;
        self.pending.push((store, op.clone()));
        Ok(op)
    }

    fn member_apply(&mut self, m: usize, op: &Op) -> anyhow::Result<()> {
        self.members[m]
            .0
            .apply(op)
            .map_err(|e| anyhow::anyhow!("the generator's member state refused {:?}: {e}", op.id))
    }

    /// One sale, with what comes before it (registrations, a recharge, a
    /// refund, a transfer).
    fn step(&mut self) -> anyhow::Result<()> {
        let next_sale = self.made.sales + 1;
        let members_due = if self.sales_wanted == 0 {
            self.members_wanted
        } else {
            (u128::from(self.members_wanted) * u128::from(next_sale.min(self.sales_wanted))
                / u128::from(self.sales_wanted)) as u64
        };
        while self.made.members < members_due.max(1).min(self.members_wanted) {
            self.register()?;
        }
        if self.made.sales >= self.sales_wanted {
            return Ok(());
        }
        if !self.members.is_empty() && self.rng.percent(6) {
            let m = self.rng.below(self.members.len() as u64) as usize;
            let store = if self.rng.percent(80) {
                self.members[m].1
            } else {
                self.rng.below(self.stores.len() as u64) as usize
            };
            self.recharge(m, store)?;
        }
        if !self.recent.is_empty() && self.rng.percent(3) {
            self.refund()?;
        }
        self.sale()
    }

    fn register(&mut self) -> anyhow::Result<()> {
        let i = self.made.members;
        let store = self.rng.below(self.stores.len() as u64) as usize;
        let n = self.mint(store);
        let member = MemberId::mint(&self.stores[store].node, n);
        let hlc = self.tick();
        let op = self.emit(
            store,
            hlc,
            OpBody::MemberRegistered {
                member,
                profile: Profile {
                    phone: crate::phone(self.run, i as usize),
                    name: format!("会员{i}"),
                    birthday: None,
                    gender: None,
                    card_no: None,
                    invited_by: None,
                    tags: Vec::new(),
                    notes: String::new(),
                },
                opening: None,
            },
        )?;
        let mut state = MemberState::registered(&op)?;
        // The generator needs the wallet and the level, not the profile.
        state.profile.name = String::new();
        state.profile.phone = String::new();
        self.members.push((state, store));
        self.made.members += 1;
        if self.rng.percent(60) {
            self.recharge(self.members.len() - 1, store)?;
        }
        Ok(())
    }

    fn recharge(&mut self, m: usize, store: usize) -> anyhow::Result<()> {
        const AMOUNTS: [i64; 4] = [200, 500, 1000, 2000];
        const TENDERS: [TenderKind; 4] = [
            TenderKind::Cash,
            TenderKind::Wechat,
            TenderKind::Alipay,
            TenderKind::Card,
        ];
        let amount = Money::from_yuan(AMOUNTS[self.rng.below(4) as usize]);
        let tender = TENDERS[self.rng.below(4) as usize];
        let n = self.mint(store);
        let id = RechargeId::mint(&self.stores[store].node, n);
        let body = decide_recharge(&self.programme, &self.members[m].0.id, id, amount, tender)?;
        let hlc = self.tick();
        let op = self.emit(store, hlc, body)?;
        self.member_apply(m, &op)?;
        self.made.recharges += 1;
        Ok(())
    }

    /// One to three lines, and their list total. Each line names its
    /// product by sku (so the products ranking has a catalogue to rank):
    /// half of them one of six best sellers, half one of a tail of
    /// `TAIL_SKUS` products.
    fn lines(&mut self) -> (Vec<LineInput>, Money) {
        const PRICES: [(&str, i64); 6] = [
            ("美式咖啡", 1800),
            ("拿铁", 2800),
            ("蛋糕", 3650),
            ("三明治", 4200),
            ("咖啡豆 250g", 8800),
            ("礼盒", 16800),
        ];
        const TAIL_SKUS: u64 = 2_000;
        let n = 1 + self.rng.below(3) as usize;
        let mut total = Money::ZERO;
        let lines = (0..n)
            .map(|_| {
                let (sku, name, fen) = if self.rng.below(2) == 0 {
                    let i = self.rng.below(PRICES.len() as u64) as usize;
                    let (name, fen) = PRICES[i];
                    (format!("B{i:02}"), name.to_string(), fen)
                } else {
                    let i = self.rng.below(TAIL_SKUS) as i64;
                    (
                        format!("T{i:04}"),
                        format!("商品 {i}"),
                        500 + (i * 37) % 9_500,
                    )
                };
                let qty = 1 + self.rng.below(2) as i64;
                total += Money::from_fen(fen * qty);
                LineInput {
                    sku: Some(sku),
                    barcode: None,
                    description: name,
                    unit_price: Money::from_fen(fen),
                    qty: Decimal::from(qty),
                    card: None,
                    pricing: Default::default(),
                }
            })
            .collect();
        (lines, total)
    }

    fn other_tender(&mut self) -> TenderKind {
        const OTHER: [TenderKind; 4] = [
            TenderKind::Cash,
            TenderKind::Wechat,
            TenderKind::Alipay,
            TenderKind::Card,
        ];
        OTHER[self.rng.below(4) as usize]
    }

    fn sale(&mut self) -> anyhow::Result<()> {
        let (lines, list_total) = self.lines();
        let walk_in = self.members.is_empty() || self.rng.percent(15);
        let (store, member) = if walk_in {
            (self.rng.below(self.stores.len() as u64) as usize, None)
        } else {
            let m = self.rng.below(self.members.len() as u64) as usize;
            let home = self.members[m].1;
            let store = if self.stores.len() > 1 && self.rng.percent(15) {
                let other = self.rng.below(self.stores.len() as u64 - 1) as usize;
                if other >= home { other + 1 } else { other }
            } else {
                home
            };
            (store, Some(m))
        };
        let mut tender = self.other_tender();
        if let Some(m) = member {
            let here = &self.stores[store].node;
            let wallet = &self.members[m].0.wallet;
            if wallet.share(here).money() >= list_total {
                tender = TenderKind::Balance;
            } else if store != self.members[m].1 {
                // The escrow: the home store gives what the sale needs.
                let home = self.members[m].1;
                let from = &self.stores[home].node;
                if wallet.share(from).money() >= list_total
                    && let Some(body) = decide_transfer(&self.members[m].0, from, here, list_total)
                {
                    let hlc = self.tick();
                    let op = self.emit(home, hlc, body)?;
                    self.member_apply(m, &op)?;
                    self.made.transfers += 1;
                    tender = TenderKind::Balance;
                }
            }
        }
        let n = self.mint(store);
        let order = OrderId::mint(&self.stores[store].node, n);
        let hlc = self.tick();
        let state = member.map(|m| &self.members[m].0);
        let level = state.map(|s| self.programme.level_for(s.cumulative_principal));
        let ctx = CheckoutContext {
            programme: &self.programme,
            store: &self.stores[store].node,
            order,
            at: hlc,
            buyer: state.zip(level).map(|(s, level)| Buyer {
                member: &s.id,
                level,
                wallet: &s.wallet,
            }),
        };
        let order = checkout::checkout(
            &ctx,
            &lines,
            &[TenderInput {
                kind: tender,
                amount: None,
            }],
        )
        .map_err(|e| anyhow::anyhow!("synthesising a sale: {e}"))?;
        let op = self.emit(store, hlc, OpBody::sale(order.clone()))?;
        if let Some(m) = member {
            self.member_apply(m, &op)?;
        }
        self.made.sales += 1;
        if tender == TenderKind::Balance {
            self.made.balance_sales += 1;
        }
        if member.is_none() {
            self.made.walk_in_sales += 1;
        }
        if self.recent.len() == RECENT_SALES {
            self.recent.pop_front();
        }
        self.recent.push_back(Recent {
            order: OrderState::new(order),
            member,
        });
        Ok(())
    }

    /// A full refund of a recent sale, at its store.
    fn refund(&mut self) -> anyhow::Result<()> {
        let pick = self.rng.below(self.recent.len() as u64) as usize;
        let Recent { order, member } = self.recent.remove(pick).expect("picked in range");
        let store = self
            .stores
            .iter()
            .position(|s| s.node == order.order.store)
            .ok_or_else(|| anyhow::anyhow!("a sale of an unknown store"))?;
        let points_here = member.map_or(0, |m| {
            self.members[m]
                .0
                .wallet
                .share(&self.stores[store].node)
                .points
        });
        let n = self.mint(store);
        let id = RefundId::mint(&self.stores[store].node, n);
        let hlc = self.tick();
        let refund = order
            .decide(
                id,
                &self.stores[store].node,
                hlc,
                None,
                "顾客退货",
                points_here,
            )
            .map_err(|e| anyhow::anyhow!("synthesising a refund: {e}"))?;
        let op = self.emit(store, hlc, OpBody::refund(refund))?;
        if let Some(m) = member {
            self.member_apply(m, &op)?;
        }
        self.made.refunds += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoKey;
    impl OpSigner for NoKey {
        fn sign(&self, _message: &[u8]) -> Vec<u8> {
            vec![0; 64]
        }
    }

    #[test]
    fn the_mix_follows_the_rules_and_covers_the_year() {
        let stores: Vec<GenStore> = (1..=3)
            .map(|i| GenStore {
                node: NodeId::new(format!("store-{i}")).unwrap(),
                signer: Box::new(NoKey),
            })
            .collect();
        let mut g = ChainGen::new(stores, 7, 200, 3000);
        let mut all = Vec::new();
        loop {
            let batch = g.next_batch(500).unwrap();
            if batch.is_empty() {
                break;
            }
            all.extend(batch);
        }
        let made = g.made;
        assert_eq!(made.members, 200);
        assert_eq!(made.sales, 3000);
        assert_eq!(made.ops as usize, all.len());
        assert!(made.refunds > 30 && made.transfers > 10, "{made:?}");
        assert!(
            made.balance_sales > 100 && made.walk_in_sales > 100,
            "{made:?}"
        );
        // Each store's ops are numbered 1, 2, … and its clock only rises.
        let mut seen = VersionVector::new();
        let mut last: Option<Hlc> = None;
        let mut totals = tongka_core::state::LedgerTotals::default();
        for e in &all {
            assert!(seen.is_next(&e.op.id), "{:?} out of order", e.op.id);
            seen.advance(&e.op.id);
            assert!(last.is_none_or(|l| e.op.hlc > l));
            last = Some(e.op.hlc);
            assert_eq!(Op::decode(&e.bytes).unwrap(), e.op);
            assert!(!e.op.sig.is_empty());
            totals.apply(&e.op);
        }
        assert_eq!(totals.members, 200);
        assert_eq!(totals.orders, 3000);
        let first = tongka_core::figures::day_of(&all[0].op);
        let end = tongka_core::figures::day_of(&all[all.len() - 1].op);
        assert!(end.0 - first.0 >= SPAN_DAYS as i32 - 2, "{first} to {end}");
    }
}
