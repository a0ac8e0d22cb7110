//! The op format (format 2, `tongka_core::codec`): every op body and
//! amount survives its encoding; an op of the next version is read by
//! today's decoder as the op it knows, or refused with a clear reason when
//! it needs a feature this build does not know; ops of format 1, truncated
//! ops and garbage are refused without panicking.

use minicbor::{Decode, Encode};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tongka_core::card::{CardKind, CardPlan, CardSale};
use tongka_core::catalogue::Product;
use tongka_core::checkout::{Order, OrderLine, Tender, TenderKind};
use tongka_core::codec::{FEATURE_POINTS, feature_name};
use tongka_core::coupon::{
    Benefit, Coupon, CouponKind, CouponTemplate, CouponUse, Scope, Validity,
};
use tongka_core::day::Day;
use tongka_core::error::DomainError;
use tongka_core::ids::{
    CardId, CouponId, MemberId, NodeId, OpId, OrderId, RechargeId, RefundId, StaffId,
};
use tongka_core::member::{Gender, Profile, ProfilePatch};
use tongka_core::op::{DecodeError, EncodedOp, MergedFigures, OP_FORMAT_V2, OpDraft, UsesOf};
use tongka_core::programme::{PointsDeduction, Programme};
use tongka_core::refund::{Refund, RefundLine};
use tongka_core::staff::{Role, StaffPatch};
use tongka_core::{Hlc, Money, Op, OpBody, VersionVector};

// ---- strategies -------------------------------------------------------

fn node() -> impl Strategy<Value = NodeId> {
    "[a-z][a-z0-9-]{0,31}".prop_map(|s| NodeId::new(s).unwrap())
}

fn money() -> impl Strategy<Value = Money> {
    prop_oneof![
        (-1_000_000_000_000i64..1_000_000_000_000).prop_map(Money::from_fen),
        Just(Money::ZERO),
        any::<i64>().prop_map(Money::from_fen),
    ]
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=10).prop_map(|(m, s)| Decimal::new(m, s))
}

fn hlc() -> impl Strategy<Value = Hlc> {
    (any::<u64>(), any::<u32>()).prop_map(|(ms, count)| Hlc { ms, count })
}

fn text() -> impl Strategy<Value = String> {
    "[a-z茶退货 ]{0,12}"
}

fn tender() -> impl Strategy<Value = Tender> {
    (0usize..5, money()).prop_map(|(k, amount)| Tender {
        kind: [
            TenderKind::Balance,
            TenderKind::Cash,
            TenderKind::Card,
            TenderKind::Wechat,
            TenderKind::Alipay,
        ][k],
        amount,
    })
}

fn line() -> impl Strategy<Value = OrderLine> {
    (
        proptest::option::of(text()),
        proptest::option::of(text()),
        text(),
        money(),
        decimal(),
        (
            money(),
            money(),
            money(),
            prop_oneof![Just(Money::ZERO), money()],
        ),
    )
        .prop_map(
            |(
                sku,
                barcode,
                description,
                unit_price,
                qty,
                (amount, discount, payable, coupon_off),
            )| {
                OrderLine {
                    sku,
                    barcode,
                    description,
                    unit_price,
                    qty,
                    amount,
                    discount,
                    payable,
                    coupon_off,
                    card: (coupon_off.fen() % 3 == 0).then(|| CardSale {
                        plan: CardPlan {
                            kind: CardKind::Count {
                                visits: 10,
                                days: None,
                            },
                            services: vec![],
                        },
                        cards: vec![CardId::mint(&NodeId::new("s1").unwrap(), 5)],
                    }),
                }
            },
        )
}

fn order() -> impl Strategy<Value = Order> {
    (
        (
            node(),
            any::<u64>(),
            proptest::option::of(1u64..1000),
            hlc(),
        ),
        (proptest::option::of(text()), decimal()),
        proptest::collection::vec(line(), 0..4),
        (money(), money(), money(), money(), money(), money()),
        proptest::collection::vec(tender(), 0..3),
        (any::<i64>(), prop_oneof![Just(0i64), any::<i64>()], money()),
        (
            proptest::collection::vec(coupon_use(), 0..3),
            prop_oneof![Just(Money::ZERO), money()],
        ),
    )
        .prop_map(
            |(
                (store, n, member, at),
                (level, rate),
                lines,
                (total, discount, payable, change, balance_principal, balance_bonus),
                tenders,
                (points_earned, points_used, points_value),
                (coupons, coupon_off),
            )| Order {
                id: OrderId::mint(&store, n),
                member: member.map(|m| MemberId::mint(&store, m)),
                store,
                at,
                level,
                rate,
                lines,
                total,
                discount,
                payable,
                tenders,
                change,
                balance_principal,
                balance_bonus,
                points_earned,
                points_used,
                points_value,
                coupons,
                coupon_off,
            },
        )
}

fn day() -> impl Strategy<Value = Day> {
    (-40_000i32..80_000).prop_map(Day)
}

fn coupon_use() -> impl Strategy<Value = CouponUse> {
    (
        text(),
        text(),
        money(),
        proptest::collection::vec((any::<u32>(), money()), 0..3),
        day(),
    )
        .prop_map(|(code, template, off, lines, to)| CouponUse {
            code,
            template,
            off,
            lines,
            to,
        })
}

fn template() -> impl Strategy<Value = CouponTemplate> {
    (
        text(),
        text(),
        prop_oneof![
            money().prop_map(|off| Benefit::AmountOff { off }),
            (decimal(), proptest::option::of(money()))
                .prop_map(|(rate, max_off)| Benefit::Percent { rate, max_off }),
            text().prop_map(|sku| Benefit::FreeItem { sku }),
        ],
        prop_oneof![
            (day(), day()).prop_map(|(from, to)| Validity::Dates { from, to }),
            any::<u16>().prop_map(|days| Validity::DaysFromIssue { days }),
        ],
        (any::<u32>(), money(), any::<u32>()),
        proptest::collection::vec(text(), 0..3),
    )
        .prop_map(
            |(id, name, benefit, validity, (uses, min_spend, per_member_limit), skus)| {
                CouponTemplate {
                    id,
                    name,
                    kind: CouponKind::Cash,
                    benefit,
                    validity,
                    scope: Scope {
                        skus,
                        ..Scope::default()
                    },
                    uses,
                    min_spend,
                    per_member_limit,
                }
            },
        )
}

fn refund() -> impl Strategy<Value = Refund> {
    (
        (
            node(),
            any::<u64>(),
            proptest::option::of(1u64..1000),
            hlc(),
        ),
        proptest::collection::vec(
            (any::<usize>(), decimal()).prop_map(|(line, qty)| RefundLine { line, qty }),
            0..3,
        ),
        (money(), money(), money()),
        proptest::collection::vec(tender(), 0..3),
        (any::<i64>(), text(), prop_oneof![Just(0i64), any::<i64>()]),
        proptest::collection::vec(1u64..99, 0..3),
    )
        .prop_map(
            |(
                (store, n, member, at),
                lines,
                (amount, balance_principal, balance_bonus),
                tenders,
                (points_reversed, reason, points_returned),
                coupons,
            )| Refund {
                coupons_returned: coupons.iter().map(|c| CouponId::mint(&store, *c)).collect(),
                cards_refunded: coupons.iter().map(|c| CardId::mint(&store, *c)).collect(),
                card_kept: Money::from_fen(coupons.len() as i64),
                approved_by: (coupons.len() % 2 == 1).then(|| "s-store-1-2".to_string()),
                id: RefundId::mint(&store, n),
                order: OrderId::mint(&store, n / 2),
                member: member.map(|m| MemberId::mint(&store, m)),
                store,
                at,
                lines,
                amount,
                tenders,
                balance_principal,
                balance_bonus,
                points_reversed,
                reason,
                points_returned,
            },
        )
}

fn profile() -> impl Strategy<Value = Profile> {
    (
        (text(), text(), proptest::option::of(text())),
        proptest::option::of(prop_oneof![
            Just(Gender::Female),
            Just(Gender::Male),
            Just(Gender::Other)
        ]),
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::collection::vec(text(), 0..3),
            text(),
        ),
    )
        .prop_map(
            |((phone, name, birthday), gender, (card_no, invited_by, tags, notes))| Profile {
                phone,
                name,
                birthday,
                gender,
                card_no,
                invited_by,
                tags,
                notes,
            },
        )
}

fn patch() -> impl Strategy<Value = ProfilePatch> {
    let clearable = || proptest::option::of(proptest::option::of(text()));
    (
        proptest::option::of(text()),
        proptest::option::of(text()),
        clearable(),
        proptest::option::of(proptest::option::of(Just(Gender::Male))),
        clearable(),
        proptest::option::of(proptest::collection::vec(text(), 0..3)),
        proptest::option::of(text()),
    )
        .prop_map(
            |(phone, name, birthday, gender, card_no, tags, notes)| ProfilePatch {
                phone,
                name,
                birthday,
                gender,
                card_no,
                tags,
                notes,
            },
        )
}

fn programme() -> impl Strategy<Value = Programme> {
    (
        decimal(),
        proptest::option::of((1i64..10_000, decimal(), 0i64..1000)),
    )
        .prop_map(|(points_per_yuan, deduction)| Programme {
            points_per_yuan,
            points_deduction: deduction.map(|(p, cap, min_points)| PointsDeduction {
                points_per_yuan: p,
                cap,
                min_points,
            }),
            ..Programme::default()
        })
}

fn body() -> impl Strategy<Value = OpBody> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        (node(), 1u64..99, profile()).prop_map(|(n, i, profile)| OpBody::MemberRegistered {
            member: MemberId::mint(&n, i),
            profile,
            opening: None,
        }),
        (node(), patch(), bytes()).prop_map(|(n, patch, change)| OpBody::ProfileUpdated {
            member: MemberId::mint(&n, 1),
            patch,
            change
        }),
        (node(), money(), money(), tender()).prop_map(|(n, amount, bonus, t)| {
            OpBody::Recharged {
                member: MemberId::mint(&n, 1),
                recharge: RechargeId::mint(&n, 2),
                amount,
                bonus,
                tender: t.kind,
            }
        }),
        order().prop_map(OpBody::sale),
        refund().prop_map(OpBody::refund),
        (node(), node(), money(), money(), any::<i64>()).prop_map(
            |(n, to, principal, bonus, points)| OpBody::SharesTransferred {
                member: MemberId::mint(&n, 1),
                to,
                principal,
                bonus,
                points
            }
        ),
        (node(), bytes(), money(), money(), money(), any::<u64>()).prop_map(
            |(n, change, principal, bonus, spent, visits)| OpBody::MembersMerged {
                member: MemberId::mint(&n, 1),
                absorbed: MemberId::mint(&n, 2),
                change,
                figures: MergedFigures {
                    principal,
                    bonus,
                    spent,
                    visits
                },
            }
        ),
        (node(), money(), money(), any::<i64>()).prop_map(|(n, principal, bonus, points)| {
            OpBody::MergeMoved {
                member: MemberId::mint(&n, 1),
                into: MemberId::mint(&n, 2),
                principal,
                bonus,
                points,
                coupons: vec![],
                cards: vec![],
            }
        }),
        (bytes(), programme())
            .prop_map(|(change, programme)| OpBody::ProgrammeChanged { change, programme }),
        (
            bytes(),
            proptest::collection::vec(
                (text(), proptest::option::of(text()), text(), money()).prop_map(
                    |(sku, barcode, name, price)| Product::new(
                        &sku,
                        barcode.as_deref(),
                        &name,
                        price
                    )
                ),
                0..3
            )
        )
            .prop_map(|(change, products)| OpBody::CatalogueChanged { change, products }),
        (node(), 1u64..99, template(), day(), day(), node()).prop_map(
            |(n, i, template, from, to, holder)| OpBody::CouponIssued {
                member: MemberId::mint(&n, 1),
                coupon: Coupon {
                    id: CouponId::mint(&n, i),
                    template,
                    from,
                    to,
                },
                holder,
            }
        ),
        (node(), 1u64..99, node(), any::<u32>()).prop_map(|(n, i, to, uses)| {
            OpBody::UsesTransferred {
                member: MemberId::mint(&n, 1),
                of: if i % 2 == 0 {
                    UsesOf::Coupon(CouponId::mint(&n, i))
                } else {
                    UsesOf::Card(CardId::mint(&n, i))
                },
                to,
                uses,
            }
        }),
        (
            node(),
            1u64..99,
            any::<u32>(),
            proptest::option::of(text()),
            day()
        )
            .prop_map(|(n, i, count, service, day)| OpBody::CardVisited {
                member: MemberId::mint(&n, 1),
                card: CardId::mint(&n, i),
                count,
                service,
                day,
            }),
        (
            node(),
            1u64..99,
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(0usize..5),
            proptest::option::of(proptest::collection::vec(node(), 0..3)),
            proptest::option::of(any::<bool>()),
            proptest::option::of(text()),
        )
            .prop_map(|(n, i, login, name, role, stores, disabled, password)| {
                OpBody::StaffChanged {
                    staff: StaffId::mint(&n, i),
                    patch: StaffPatch {
                        login,
                        name,
                        role: role.map(|r| Role::ALL[r]),
                        stores,
                        disabled,
                        password,
                    },
                }
            }),
    ]
}

fn op_of(body: OpBody, deps: Vec<(NodeId, u64)>, sig: Vec<u8>) -> Op {
    let origin = NodeId::new("store-1").unwrap();
    let mut vv = VersionVector::new();
    for (n, s) in deps {
        for seq in 1..=s.min(3) {
            vv.advance(&OpId {
                origin: n.clone(),
                seq,
            });
        }
    }
    let mut op = OpDraft {
        hlc: Hlc { ms: 7, count: 1 },
        by: "till".into(),
        idem: Some("k-1".into()),
        body,
    }
    .stamp(OpId { origin, seq: 9 }, vv);
    op.sig = sig;
    op
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every body, in an op of any deps and signature, decodes as itself;
    /// the tail made off the writer gives the same bytes and hash.
    #[test]
    fn every_op_body_round_trips(
        body in body(),
        deps in proptest::collection::vec((node(), 0u64..4), 0..4),
        sig in prop_oneof![Just(Vec::new()), proptest::collection::vec(any::<u8>(), 72..300)],
    ) {
        let op = op_of(body, deps, sig);
        let bytes = op.encode();
        prop_assert_eq!(bytes[0], OP_FORMAT_V2);
        prop_assert_eq!(&Op::decode(&bytes).unwrap(), &op);
        let e = EncodedOp::decode(bytes.clone()).unwrap();
        prop_assert_eq!(e.hash, op.hash());
        let tail = OpDraft {
            hlc: op.hlc,
            by: op.by.clone(),
            idem: op.idem.clone(),
            body: op.body.clone(),
        }
        .encode_tail();
        prop_assert_eq!(op.encode_with_tail(&tail), (bytes, op.hash()));
    }

    /// Amounts keep their exact value, whatever their scale.
    #[test]
    fn money_round_trips(m in any::<i64>(), scale in 0u32..=6) {
        let fen = Money::from_fen(m);
        prop_assert_eq!(minicbor::decode::<Money>(&minicbor::to_vec(fen).unwrap()).unwrap(), fen);
        let d = Decimal::new(m, scale);
        // Any decimal an amount may be made of (sums, rounding inputs).
        let odd = Money::from_fen(0) + Money::round_half_up(d);
        prop_assert_eq!(minicbor::decode::<Money>(&minicbor::to_vec(odd).unwrap()).unwrap(), odd);
    }

    /// Input from the network is never trusted: any bytes give an op or
    /// an error, never a panic.
    #[test]
    fn garbage_is_refused_without_panic(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..600),
        format in prop_oneof![Just(OP_FORMAT_V2), any::<u8>()],
    ) {
        if let Some(b) = bytes.first_mut() {
            *b = format;
        }
        let _ = Op::decode(&bytes);
        let _ = EncodedOp::decode(bytes);
    }

    /// Every prefix of an op, and every op with one byte changed, is
    /// refused or decodes to some op: never a panic, never the same op
    /// from fewer bytes.
    #[test]
    fn truncated_or_flipped_ops_do_not_panic(body in body(), at in any::<usize>(), bit in 0u8..8) {
        let op = op_of(body, Vec::new(), vec![5; 72]);
        let bytes = op.encode();
        let cut = at % bytes.len();
        prop_assert!(Op::decode(&bytes[..cut]).is_err());
        let mut flipped = bytes.clone();
        flipped[cut] ^= 1 << bit;
        let _ = EncodedOp::decode(flipped);
    }
}

// ---- the next version of the sale ---------------------------------------

/// `Order` as the next version might have it: today's fields at their
/// indexes, and two new ones. `staff` is informational (an older node may
/// ignore it); `coupons` changes what applying the sale does, so a sale
/// using it declares a new feature.
#[derive(Encode, Decode)]
struct NextOrder {
    #[n(0)]
    id: OrderId,
    #[n(1)]
    member: Option<MemberId>,
    #[n(2)]
    store: NodeId,
    #[n(3)]
    at: Hlc,
    #[n(4)]
    level: Option<String>,
    #[cbor(n(5), with = "tongka_core::codec::decimal")]
    rate: Decimal,
    #[n(6)]
    lines: Vec<OrderLine>,
    #[n(7)]
    total: Money,
    #[n(8)]
    discount: Money,
    #[n(9)]
    payable: Money,
    #[n(10)]
    tenders: Vec<Tender>,
    #[n(11)]
    change: Money,
    #[n(12)]
    balance_principal: Money,
    #[n(13)]
    balance_bonus: Money,
    #[n(14)]
    points_earned: i64,
    #[cbor(n(15), skip_if = "tongka_core::codec::is_zero_i64")]
    points_used: i64,
    #[cbor(n(16), skip_if = "tongka_core::codec::is_zero_money")]
    points_value: Money,
    #[cbor(n(17), skip_if = "Vec::is_empty")]
    coupons: Vec<CouponUse>,
    #[cbor(n(18), skip_if = "tongka_core::codec::is_zero_money")]
    coupon_off: Money,
    /// New, informational.
    #[n(19)]
    staff: Option<String>,
    /// New, a feature: stock taken by the sale.
    #[cbor(n(20), skip_if = "Vec::is_empty")]
    stock: Vec<String>,
}

/// A feature the next version gives stock (bit 4 is this build's own stock,
/// bits 5 to 7 are taken; this stands for one it does not know).
const FEATURE_STOCK: u64 = 1 << 20;

impl NextOrder {
    fn of(o: &Order, staff: Option<&str>, stock: &[&str]) -> NextOrder {
        NextOrder {
            id: o.id.clone(),
            member: o.member.clone(),
            store: o.store.clone(),
            at: o.at,
            level: o.level.clone(),
            rate: o.rate,
            lines: o.lines.clone(),
            total: o.total,
            discount: o.discount,
            payable: o.payable,
            tenders: o.tenders.clone(),
            change: o.change,
            balance_principal: o.balance_principal,
            balance_bonus: o.balance_bonus,
            points_earned: o.points_earned,
            points_used: o.points_used,
            points_value: o.points_value,
            coupons: o.coupons.clone(),
            coupon_off: o.coupon_off,
            staff: staff.map(str::to_string),
            stock: stock.iter().map(|c| c.to_string()).collect(),
        }
    }
}

/// The next version's op body: the sale at today's variant index.
#[derive(Encode)]
enum NextBody {
    #[n(3)]
    CheckedOut {
        #[n(0)]
        order: NextOrder,
    },
}

/// The op envelope, as format 2 lays it out.
#[derive(Encode)]
struct NextOp {
    #[n(0)]
    id: OpId,
    #[n(1)]
    hlc: Hlc,
    #[n(2)]
    deps: VersionVector,
    #[n(3)]
    needs: u64,
    #[n(4)]
    by: String,
    #[n(5)]
    idem: Option<String>,
    #[n(6)]
    body: NextBody,
    #[cbor(n(7), with = "minicbor::bytes")]
    sig: Vec<u8>,
}

/// The next version's encoding of `op` (a sale) with its order as `next`.
fn next_encoding(op: &Op, next: NextOrder, needs: u64) -> Vec<u8> {
    let mut out = vec![OP_FORMAT_V2];
    minicbor::encode(
        NextOp {
            id: op.id.clone(),
            hlc: op.hlc,
            deps: op.deps.clone(),
            needs,
            by: op.by.clone(),
            idem: op.idem.clone(),
            body: NextBody::CheckedOut { order: next },
            sig: op.sig.clone(),
        },
        &mut out,
    )
    .unwrap();
    out
}

fn a_sale(points_used: i64) -> Op {
    let store = NodeId::new("store-2").unwrap();
    let order = Order {
        id: OrderId::mint(&store, 4),
        member: Some(MemberId::mint(&store, 1)),
        store: store.clone(),
        at: Hlc { ms: 5, count: 0 },
        level: Some("silver".into()),
        rate: Decimal::new(95, 2),
        lines: vec![OrderLine {
            sku: Some("tea".into()),
            barcode: None,
            description: "茶".into(),
            unit_price: Money::from_fen(1200),
            qty: Decimal::ONE,
            amount: Money::from_fen(1200),
            discount: Money::from_fen(60),
            payable: Money::from_fen(1140),
            coupon_off: Money::ZERO,
            card: None,
        }],
        total: Money::from_fen(1200),
        discount: Money::from_fen(60),
        payable: Money::from_fen(1140),
        tenders: vec![Tender {
            kind: TenderKind::Balance,
            amount: Money::from_fen(1140),
        }],
        change: Money::ZERO,
        balance_principal: Money::from_fen(1036),
        balance_bonus: Money::from_fen(104),
        points_earned: 11,
        points_used,
        points_value: Money::from_fen(points_used),
        coupons: Vec::new(),
        coupon_off: Money::ZERO,
    };
    op_of(OpBody::sale(order), Vec::new(), vec![3; 72])
}

/// The issue's test: a sale with an added optional field is decoded by
/// today's decoder as the sale it knows, and kept as the bytes its origin
/// made (so its hash and signature still hold when relayed).
#[test]
fn a_sale_with_a_new_informational_field_decodes_as_the_sale_known() {
    for points in [0, 300] {
        let op = a_sale(points);
        let OpBody::CheckedOut { order, .. } = &op.body else {
            unreachable!()
        };
        let bytes = next_encoding(
            &op,
            NextOrder::of(order, Some("王芳"), &[]),
            op.body.needs(),
        );
        assert_ne!(bytes, op.encode(), "the field is in the bytes");
        let e = EncodedOp::decode(bytes.clone()).unwrap();
        assert_eq!(e.op, op, "the sale it knows, points {points}");
        assert_eq!(e.bytes, bytes, "kept as the origin made it");
        // Without the field, the next version's bytes are today's.
        let plain = next_encoding(&op, NextOrder::of(order, None, &[]), op.body.needs());
        assert_eq!(plain, op.encode());
    }
}

/// A sale using a feature this build does not know is refused, naming the
/// feature, rather than applied as less than it says.
#[test]
fn a_sale_needing_an_unknown_feature_is_refused() {
    let op = a_sale(300);
    let OpBody::CheckedOut { order, .. } = &op.body else {
        unreachable!()
    };
    let bytes = next_encoding(
        &op,
        NextOrder::of(order, None, &["tea:1"]),
        FEATURE_POINTS | FEATURE_STOCK,
    );
    let err = Op::decode(&bytes).unwrap_err();
    assert_eq!(err, DecodeError::UnknownFeature(20));
    assert_eq!(feature_name(20), None);
    assert_eq!(feature_name(5), Some("close"));
    assert_eq!(feature_name(4), Some("stock"));
    assert_eq!(feature_name(3), Some("staff"));
    assert_eq!(feature_name(1), Some("coupons"));
    assert_eq!(feature_name(2), Some("cards"));
    assert_eq!(err.code(), "unknown_feature");
    assert!(err.to_string().contains("feature 20"), "{err}");
    assert!(err.message_zh().contains("功能 20"), "{}", err.message_zh());
    assert_eq!(err.details(), vec![("feature", "20".to_string())]);
    assert_eq!(
        EncodedOp::decode(bytes).unwrap_err(),
        DecodeError::UnknownFeature(20)
    );
}

/// An op whose declared features are not its content's is refused: a sale
/// using points that does not say so, and a sale saying so that uses none.
#[test]
fn declared_features_must_match_the_content() {
    for (points, needs) in [(300, 0), (0, FEATURE_POINTS)] {
        let op = a_sale(points);
        let OpBody::CheckedOut { order, .. } = &op.body else {
            unreachable!()
        };
        let bytes = next_encoding(&op, NextOrder::of(order, None, &[]), needs);
        let err = Op::decode(&bytes).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Invalid("declared features differ from the op's content")
        );
        assert_eq!(err.code(), "op_invalid");
    }
}

/// Ops of format 1 (postcard, before the break) are refused with their
/// reason, not misread.
#[test]
fn ops_of_format_1_are_refused_with_their_reason() {
    let mut bytes = a_sale(0).encode();
    bytes[0] = 1;
    let err = Op::decode(&bytes).unwrap_err();
    assert_eq!(err, DecodeError::FormatRetired(1));
    assert_eq!(err.code(), "op_format_too_old");
    assert!(err.to_string().contains("format break"), "{err}");
    assert!(err.message_zh().contains("格式 2"), "{}", err.message_zh());
    assert_eq!(Op::decode(&[7]).unwrap_err().code(), "op_format_unknown");
}

/// A sale using no points leaves the counter out of its bytes.
#[test]
fn counters_at_zero_are_left_out() {
    let with = a_sale(300).encode();
    let without = a_sale(0).encode();
    // points_used (2 bytes for 300 = 0x19 0x01 0x2c: 3) and points_value
    // (3 bytes) are gone, and the array header says 15 fields, not 17.
    assert_eq!(with.len() - without.len(), 6);
}
