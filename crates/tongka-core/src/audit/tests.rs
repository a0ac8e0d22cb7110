use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::*;
use crate::catalogue::Product;
use crate::checkout::{Buyer, CheckoutContext, LineInput, TenderInput, checkout};
use crate::clock::Hlc;
use crate::close::{Close, CloseKind};
use crate::coupon::{Benefit, Coupon, CouponKind, CouponTemplate, Scope, Validity};
use crate::ids::WithdrawalId;
use crate::ids::{CardId, CouponId, OrderId, RechargeId, RefundId, StaffId};
use crate::member::Profile;
use crate::op::MergedFigures;
use crate::op::Opening;
use crate::programme::Programme;
use crate::refund::OrderState;
use crate::settlement::WithdrawalStep;
use crate::staff::{Role, StaffPatch};
use crate::stock::StockCount;
use crate::stock::op::{StockInLine, StockQty};
use crate::stock::transfer::{Receipt, ReceivedLine, Shipment, TransferId, TransferLine};
use crate::testkit::{n, op};
use crate::wallet::{Share, Wallet};

fn m(i: u64) -> MemberId {
    MemberId::mint(&n("store-1"), i)
}

fn yuan(y: i64) -> Money {
    Money::from_yuan(y)
}

/// A sale of 2 × 50.00 paid from the balance of member 1, and a refund of
/// half of it whose reason holds an escape character.
fn sale_and_refund() -> (OpBody, OpBody) {
    let p = Programme::default();
    let mut w = Wallet::default();
    w.credit(
        &n("store-1"),
        Share {
            principal: yuan(1000),
            bonus: yuan(100),
            points: 0,
        },
    );
    let member = m(1);
    let store = n("store-1");
    let order = checkout(
        &CheckoutContext {
            programme: &p,
            store: &store,
            order: OrderId::mint(&store, 2),
            at: Hlc::default(),
            buyer: Some(Buyer {
                member: &member,
                level: &p.levels[0],
                wallet: &w,
            }),
        },
        &[LineInput {
            sku: None,
            barcode: None,
            description: "咖啡".into(),
            unit_price: yuan(50),
            qty: Decimal::from(2),
            card: None,
            pricing: Default::default(),
        }],
        &[TenderInput {
            kind: TenderKind::Balance,
            amount: None,
        }],
    )
    .expect("the sale");
    let mut refund = OrderState::new(order.clone())
        .decide(
            RefundId::mint(&store, 3),
            &store,
            Hlc::default(),
            Some(&[crate::refund::RefundLine {
                line: 0,
                qty: Decimal::ONE,
            }]),
            "顾客退货",
            0,
        )
        .expect("the refund");
    // As a node that let it through might have recorded it.
    refund.reason = "顾客\u{1b}退货".into();
    (OpBody::sale(order), OpBody::refund(refund))
}

fn template() -> CouponTemplate {
    CouponTemplate {
        id: "cash-10".into(),
        name: "10元代金券".into(),
        kind: CouponKind::Cash,
        benefit: Benefit::AmountOff { off: yuan(10) },
        validity: Validity::DaysFromIssue { days: 30 },
        scope: Scope::default(),
        uses: 1,
        min_spend: Money::ZERO,
        per_member_limit: 0,
    }
}

/// One op body of each kind.
fn one_of_each() -> Vec<OpBody> {
    let (sale, refund) = sale_and_refund();
    let store = n("store-1");
    vec![
        OpBody::MemberRegistered {
            member: m(1),
            profile: Profile {
                phone: "13812341234".into(),
                name: "张三".into(),
                birthday: None,
                gender: None,
                card_no: None,
                invited_by: None,
                tags: vec![],
                notes: String::new(),
            },
            opening: None,
        },
        OpBody::ProfileUpdated {
            member: m(1),
            patch: ProfilePatch {
                name: Some("李四".into()),
                tags: Some(vec![]),
                ..ProfilePatch::default()
            },
            change: vec![],
        },
        OpBody::Recharged {
            member: m(1),
            recharge: RechargeId::mint(&store, 4),
            amount: yuan(1000),
            bonus: yuan(100),
            tender: TenderKind::Wechat,
        },
        sale,
        refund,
        OpBody::SharesTransferred {
            member: m(1),
            to: n("store-2"),
            principal: yuan(30),
            bonus: yuan(3),
            points: 7,
        },
        OpBody::MembersMerged {
            member: m(1),
            absorbed: m(9),
            change: vec![],
            figures: MergedFigures::default(),
        },
        OpBody::MergeMoved {
            member: m(9),
            into: m(1),
            principal: yuan(20),
            bonus: Money::ZERO,
            points: 0,
            coupons: vec![],
            cards: vec![],
        },
        OpBody::ProgrammeChanged {
            change: vec![],
            programme: Programme::default(),
        },
        OpBody::CatalogueChanged {
            change: vec![],
            products: ["latte", "mocha", "tea", "cake", "pie"]
                .iter()
                .map(|s| Product::new(s, None, s, yuan(1)))
                .collect(),
        },
        OpBody::CouponIssued {
            member: m(1),
            coupon: Coupon::issue(CouponId::mint(&n("hq"), 5), &template(), Day(20_000)),
            holder: store.clone(),
        },
        OpBody::UsesTransferred {
            member: m(1),
            of: UsesOf::Coupon(CouponId::mint(&n("hq"), 5)),
            to: n("store-2"),
            uses: 1,
        },
        OpBody::CardVisited {
            member: m(1),
            card: CardId::mint(&store, 6),
            count: 2,
            service: Some("latte".into()),
            day: Day(20_000),
        },
        OpBody::StaffChanged {
            staff: StaffId::mint(&n("hq"), 3),
            patch: StaffPatch {
                login: Some("li.si".into()),
                name: Some("李四".into()),
                role: Some(Role::Cashier),
                stores: Some(vec![store.clone(), n("store-2")]),
                disabled: None,
                password: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
            },
        },
        OpBody::MemberRegistered {
            member: m(7),
            profile: Profile {
                phone: "13812345678".into(),
                name: "王五".into(),
                birthday: None,
                gender: None,
                card_no: Some("A0001".into()),
                invited_by: None,
                tags: vec![],
                notes: String::new(),
            },
            opening: Some(Opening {
                principal: yuan(300),
                bonus: yuan(30),
                points: 12,
                level: Some("gold".into()),
                counted: yuan(300),
            }),
        },
        stock(StockChange::In {
            supplier: "甲供应商".into(),
            note: String::new(),
            lines: vec![StockInLine {
                sku: "latte".into(),
                qty: Decimal::from(3),
                unit_cost: yuan(4),
            }],
        }),
        stock(StockChange::Return {
            supplier: "甲供应商".into(),
            note: String::new(),
            lines: vec![qty("latte", 1)],
        }),
        stock(StockChange::Ship {
            shipment: Shipment {
                id: TransferId::mint(&store, 8),
                from: store.clone(),
                to: n("store-2"),
                lines: vec![TransferLine {
                    sku: "latte".into(),
                    qty: Decimal::from(2),
                    value: yuan(8),
                }],
            },
            note: String::new(),
        }),
        stock(StockChange::Receive {
            receipt: Receipt {
                id: TransferId::mint(&n("store-2"), 9),
                at: store.clone(),
                lines: vec![ReceivedLine {
                    sku: "latte".into(),
                    qty: Decimal::ONE,
                }],
            },
            note: String::new(),
        }),
        stock(StockChange::Count {
            counts: vec![StockCount {
                sku: "latte".into(),
                counted: Decimal::from(4),
            }],
            adjust: vec![qty("latte", -1)],
            note: String::new(),
        }),
        stock(StockChange::Minimums {
            lines: vec![qty("latte", 5)],
        }),
        closed(CloseKind::Shift, "500.00", "499.50"),
        closed(CloseKind::Day, "720.00", "720.00"),
        OpBody::Withdrawal {
            id: WithdrawalId::mint(&store, 10),
            step: WithdrawalStep::Requested {
                amount: yuan(50),
                note: "月结".into(),
            },
        },
        OpBody::Withdrawal {
            id: WithdrawalId::mint(&store, 10),
            step: WithdrawalStep::Approved {
                note: String::new(),
            },
        },
        OpBody::Withdrawal {
            id: WithdrawalId::mint(&store, 11),
            step: WithdrawalStep::Rejected {
                reason: "金额有误\u{1b}[2J".into(),
            },
        },
    ]
}

fn stock(change: StockChange) -> OpBody {
    OpBody::StockChanged { change }
}

fn qty(sku: &str, q: i64) -> StockQty {
    StockQty {
        sku: sku.into(),
        qty: Decimal::from(q),
    }
}

/// A close of `kind` on day 20000, expecting and counting the cash given.
fn closed(kind: CloseKind, expected: &str, counted: &str) -> OpBody {
    let money = |s: &str| Money::parse_amount(s, false).expect("money");
    OpBody::DayClosed {
        close: Close {
            kind,
            day: Day(20_000),
            from_ms: 0,
            to_ms: 1,
            seq_from: 1,
            seq_to: 9,
            totals: Default::default(),
            opening_float: Money::ZERO,
            expected_cash: money(expected),
            counted_cash: money(counted),
            difference: money(counted) - money(expected),
            note: String::new(),
        },
    }
}

/// Which kind of op `b` is, numbered: a match with no wildcard over
/// `OpBody` and the parts that name a kind (an import's opening, the stock
/// change, the close's kind, the withdrawal's step), so a new one does not
/// compile here until it is numbered; `every_kind_maps` then wants a sample
/// of each number, and `KINDS` the sample's kind.
fn variant(b: &OpBody) -> usize {
    match b {
        OpBody::MemberRegistered { opening: None, .. } => 0,
        OpBody::ProfileUpdated { .. } => 1,
        OpBody::Recharged { .. } => 2,
        OpBody::CheckedOut { .. } => 3,
        OpBody::Refunded { .. } => 4,
        OpBody::SharesTransferred { .. } => 5,
        OpBody::MembersMerged { .. } => 6,
        OpBody::MergeMoved { .. } => 7,
        OpBody::ProgrammeChanged { .. } => 8,
        OpBody::CatalogueChanged { .. } => 9,
        OpBody::CouponIssued { .. } => 10,
        OpBody::UsesTransferred { .. } => 11,
        OpBody::CardVisited { .. } => 12,
        OpBody::StaffChanged { .. } => 13,
        OpBody::MemberRegistered {
            opening: Some(_), ..
        } => 14,
        OpBody::StockChanged { change } => match change {
            StockChange::In { .. } => 15,
            StockChange::Return { .. } => 16,
            StockChange::Ship { .. } => 17,
            StockChange::Receive { .. } => 18,
            StockChange::Count { .. } => 19,
            StockChange::Minimums { .. } => 20,
        },
        OpBody::DayClosed { close } => match close.kind {
            CloseKind::Shift => 21,
            CloseKind::Day => 22,
        },
        OpBody::Withdrawal { step, .. } => match step {
            WithdrawalStep::Requested { .. } => 23,
            WithdrawalStep::Approved { .. } => 24,
            WithdrawalStep::Rejected { .. } => 25,
        },
    }
}

/// How many numbers `variant` gives.
const VARIANTS: usize = 26;

#[test]
fn every_kind_maps() {
    let bodies = one_of_each();
    let kinds: BTreeSet<&str> = bodies.iter().map(OpBody::kind).collect();
    // One body of each variant, in KINDS' order, and KINDS is exactly
    // their kinds, each once.
    let numbers: Vec<usize> = bodies.iter().map(variant).collect();
    assert_eq!(numbers, (0..VARIANTS).collect::<Vec<_>>());
    assert_eq!(
        bodies.iter().map(OpBody::kind).collect::<Vec<_>>(),
        KINDS,
        "the samples in KINDS' order"
    );
    assert_eq!(kinds.len(), bodies.len(), "a kind twice among the samples");
    assert_eq!(kinds, KINDS.iter().copied().collect::<BTreeSet<_>>());
    assert_eq!(KINDS.len(), kinds.len(), "a kind twice in KINDS");
    for b in &bodies {
        assert_eq!(kind_named(b.kind()), Some(b.kind()));
        let f = facts(b);
        assert!(!f.summary.is_empty() && !f.summary_zh.is_empty(), "{b:?}");
        assert!(
            !f.summary.contains('\n') && !f.summary_zh.contains('\n'),
            "one line: {f:?}"
        );
        assert!(
            f.summary.chars().all(|c| crate::text::refused(c).is_none())
                && f.summary_zh
                    .chars()
                    .all(|c| crate::text::refused(c).is_none()),
            "printable: {f:?}"
        );
        // The member is the op's own, except for the rule changes.
        assert_eq!(f.member.as_ref(), b.member(), "{}", b.kind());
        assert_eq!(f.approved_by, None);
    }
    assert_eq!(kind_named("nope"), None);
    assert_eq!(kind_named("staff"), None);
}

#[test]
fn the_money_each_kind_moves() {
    let amounts: Vec<(&str, Option<String>)> = one_of_each()
        .iter()
        .map(|b| (b.kind(), facts(b).amount.map(|a| a.to_string())))
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        amounts,
        vec![
            ("member_registered", None),
            ("profile_updated", None),
            ("recharged", s("1100.00")),
            ("checked_out", s("100.00")),
            ("refunded", s("50.00")),
            ("shares_transferred", s("33.00")),
            ("members_merged", None),
            ("merge_moved", s("20.00")),
            ("programme_changed", None),
            ("catalogue_changed", None),
            ("coupon_issued", None),
            ("uses_transferred", None),
            ("card_visited", None),
            ("staff_changed", None),
            ("member_imported", s("330.00")),
            ("stock_in", s("12.00")),
            ("stock_return", None),
            ("transfer_shipped", s("8.00")),
            ("transfer_received", None),
            ("stocktake", None),
            ("stock_minimums", None),
            ("shift_closed", s("499.50")),
            ("day_closed", s("720.00")),
            ("withdrawal_requested", s("50.00")),
            ("withdrawal_approved", None),
            ("withdrawal_rejected", None),
        ]
    );
}

#[test]
fn summaries_say_what_happened() {
    let all: Vec<Facts> = one_of_each().iter().map(facts).collect();
    let by_kind = |k: &str| {
        let i = KINDS.iter().position(|x| *x == k).expect("a kind");
        all[i].clone()
    };
    let r = by_kind("recharged");
    assert_eq!(
        r.summary,
        "recharge r-store-1-4 of m-store-1-1: 1000.00 + bonus 100.00, paid by wechat"
    );
    assert_eq!(
        r.summary_zh,
        "充值 r-store-1-4（会员 m-store-1-1）：1000.00 + 赠送 100.00，微信支付"
    );
    let p = by_kind("profile_updated");
    assert_eq!(p.summary, "changed m-store-1-1's profile: name, tags");
    assert_eq!(p.summary_zh, "修改会员 m-store-1-1 资料：姓名、标签");
    // The reason's escape character is not carried into the summary.
    let f = by_kind("refunded");
    assert_eq!(
        f.summary,
        "refund f-store-1-3 of sale o-store-1-2: 50.00 (顾客\u{fffd}退货)"
    );
    let d = by_kind("day_closed");
    assert_eq!(
        (d.summary.as_str(), d.summary_zh.as_str()),
        (
            "day close of 2024-10-04: expected cash 720.00, counted 720.00, difference 0.00",
            "日结 2024-10-04：应有现金 720.00，实点 720.00，差额 0.00"
        )
    );
    // A rejection's reason, free text, is made printable like any other.
    let w = by_kind("withdrawal_rejected");
    assert_eq!(
        (w.summary.as_str(), w.summary_zh.as_str()),
        (
            "rejected withdrawal w-store-1-11: 金额有误\u{fffd}[2J",
            "驳回提现 w-store-1-11：金额有误\u{fffd}[2J"
        )
    );
    let c = by_kind("catalogue_changed");
    assert_eq!(c.summary, "catalogue changed: latte, mocha, tea, +2");
    assert_eq!(c.summary_zh, "商品目录修改：latte、mocha、tea、+2");
    let st = by_kind("staff_changed");
    assert_eq!(
        st.summary,
        "created staff account s-hq-3: login li.si, name, role cashier, stores store-1 store-2, password"
    );
    assert_eq!(
        st.summary_zh,
        "新建员工账号 s-hq-3：登录名 li.si，姓名，角色 收银员，门店 store-1、store-2，密码"
    );
    let Some(OpBody::StaffChanged { staff, .. }) = one_of_each()
        .into_iter()
        .find(|b| b.kind() == "staff_changed")
    else {
        unreachable!("a staff sample")
    };
    let disable = OpBody::StaffChanged {
        staff,
        patch: StaffPatch {
            disabled: Some(true),
            ..StaffPatch::default()
        },
    };
    assert_eq!(
        facts(&disable).summary,
        "changed staff account s-hq-3: disabled"
    );
    // A refund a manager approved names them.
    let (_, mut refund) = sale_and_refund();
    if let OpBody::Refunded { refund, .. } = &mut refund {
        refund.approved_by = Some("s-store-1-2".into());
    }
    assert_eq!(facts(&refund).approved_by.as_deref(), Some("s-store-1-2"));
    let s = by_kind("checked_out");
    assert_eq!(
        s.summary,
        "sale o-store-1-2 (m-store-1-1): payable 100.00, from balance 100.00"
    );
}

#[test]
fn a_long_free_text_is_cut() {
    assert_eq!(short("短"), "短");
    let long = "退".repeat(40);
    let cut = short(&long);
    assert_eq!(cut.chars().count(), SUMMARY_TEXT_MAX + 1);
    assert!(cut.ends_with('…'));
}

#[test]
fn the_filter_keeps_what_it_names() {
    let day: Day = "2026-12-05".parse().unwrap();
    let at = |d: Day, h: i64| (d.start_ms() + h * 3_600_000) as u64;
    let recharge = one_of_each().swap_remove(2);
    let mut o = op("store-1", 1, at(day, 23), recharge);
    o.by = "s-hq-3".into();
    let all = Filter::default();
    assert!(all.keeps(&o));
    let f = |g: fn(&mut Filter)| {
        let mut f = Filter::default();
        g(&mut f);
        f.keeps(&o)
    };
    assert!(f(|f| f.origins = Some([n("store-1")].into())));
    assert!(!f(|f| f.origins = Some([n("store-2")].into())));
    assert!(f(|f| f.by = Some("s-hq-3".into())));
    assert!(!f(|f| f.by = Some("admin".into())));
    assert!(f(|f| f.kinds = Some(["recharged", "refunded"].into())));
    assert!(!f(|f| f.kinds = Some(["refunded"].into())));
    // 23:00 China time of the 5th is still the 5th.
    let five: Day = "2026-12-05".parse().unwrap();
    assert!(f(|f| f.from = Some("2026-12-05".parse().unwrap())));
    assert!(f(|f| f.to = Some("2026-12-05".parse().unwrap())));
    assert!(!f(|f| f.from = Some("2026-12-06".parse().unwrap())));
    assert!(!f(|f| f.to = Some("2026-12-04".parse().unwrap())));
    assert_eq!(Day::of_ms(o.hlc.ms), five);

    // A scan stops only past the slack before `from`.
    let from = Filter {
        from: Some(five.plus(1)),
        ..Filter::default()
    };
    assert!(!from.keeps(&o));
    let start = five.plus(1).start_ms() as u64;
    o.hlc.ms = start - CLOCK_SLACK_MS;
    assert!(!from.past_the_start(&o));
    o.hlc.ms = start - CLOCK_SLACK_MS - 1;
    assert!(from.past_the_start(&o));
    assert!(!all.past_the_start(&o));

    // A scan starts below an op only from the slack after `to`'s end.
    let to = Filter {
        to: Some(five),
        ..Filter::default()
    };
    o.hlc.ms = start + CLOCK_SLACK_MS - 1;
    assert!(!to.keeps(&o) && !to.past_the_end(&o));
    o.hlc.ms = start + CLOCK_SLACK_MS;
    assert!(to.past_the_end(&o));
    assert!(!all.past_the_end(&o) && !from.past_the_end(&o));
}

#[test]
fn cursors_read_back_and_refuse_anything_else() {
    let c = Cursor {
        next: [(n("store-1"), 41), (n("hq"), 3)].into(),
    };
    assert_eq!(c.to_string(), "hq.3_store-1.41");
    assert_eq!("hq.3_store-1.41".parse::<Cursor>(), Ok(c));
    assert_eq!(
        "store-1.41_hq.3".parse::<Cursor>().unwrap().to_string(),
        "hq.3_store-1.41"
    );
    for bad in [
        "",
        "hq",
        "hq.",
        "hq.0",
        "hq.03",
        "hq.-1",
        "hq.+1",
        "hq.1_",
        "_hq.1",
        "hq.1_hq.2",
        "HQ.1",
        "hq.1.2",
        "hq.18446744073709551616",
        "hq.1 ",
        "hq.1\u{1b}",
        "店.1",
    ] {
        assert_eq!(bad.parse::<Cursor>(), Err(BadCursor), "{bad:?}");
    }
    let many: Vec<String> = (0..=CURSOR_ORIGINS_MAX)
        .map(|i| format!("s{i}.1"))
        .collect();
    assert!(many.join("_").parse::<Cursor>().is_err());
    assert!(
        many[..CURSOR_ORIGINS_MAX]
            .join("_")
            .parse::<Cursor>()
            .is_ok()
    );
}
