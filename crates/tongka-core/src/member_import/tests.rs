use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::consistency;
use crate::ids::MemberId;
use crate::op::{Op, OpBody};
use crate::state::{LedgerTotals, MemberState};
use crate::testkit::op;

#[derive(Default)]
struct Index {
    phones: HashSet<String>,
    cards: HashSet<String>,
    done: HashSet<usize>,
}

impl Lookups for Index {
    fn phone_taken(&self, phone: &str) -> bool {
        self.phones.contains(phone)
    }
    fn card_taken(&self, card: &str) -> bool {
        self.cards.contains(card)
    }
    fn done(&self, chunk: usize) -> bool {
        self.done.contains(&chunk)
    }
}

fn index() -> Index {
    Index {
        phones: ["13900000000".to_string()].into(),
        cards: ["TAKEN01".to_string()].into(),
        done: HashSet::new(),
    }
}

#[test]
fn every_rejected_row_with_its_line_and_reason() {
    let csv = "\u{feff}手机号,姓名,生日,卡号,本金,赠送金额,积分,等级\n\
        13800000001,张三,1990-03-07,A0001,100.50,10,20,gold\n\
        13800000002,李四,1985/1/2,,,,,\n\
        1380000000,王五,,,,,,\n\
        13800000001,赵六,,,,,,\n\
        13900000000,钱七,,,,,,\n\
        13800000004,孙八,,A0001,,,,\n\
        13800000005,周九,,TAKEN01,,,,\n\
        13800000006,吴十,,x,,,,\n\
        13800000007,,,,,,,\n\
        13800000008,郑,1990-02-30,,,,,\n\
        13800000009,冯,,,-1,,,\n\
        13800000010,陈,,,1.005,,,\n\
        13800000011,褚,,,,99999999999,,\n\
        13800000012,卫,,,,,1.5,\n\
        13800000013,蒋,,,,,-3,\n\
        13800000014,沈,,,,,,emperor\n\
        13800000015,\"韩\u{7}\",,,,,,\n\
        13800000016,杨,,,,,\n\
        13800000017,朱,,,,,,银卡会员\n";
    let p = plan(csv, &Programme::default(), &index()).unwrap();
    let ok: Vec<(usize, &str)> = p
        .rows
        .iter()
        .map(|r| (r.line, r.profile.phone.as_str()))
        .collect();
    assert_eq!(
        ok,
        vec![(2, "13800000001"), (3, "13800000002"), (20, "13800000017")]
    );
    let first = &p.rows[0];
    assert_eq!(first.profile.birthday.as_deref(), Some("1990-03-07"));
    assert_eq!(first.profile.card_no.as_deref(), Some("A0001"));
    assert_eq!(first.opening.principal, Money::from_fen(10050));
    assert_eq!(first.opening.bonus, Money::from_yuan(10));
    assert_eq!(first.opening.points, 20);
    assert_eq!(first.opening.level.as_deref(), Some("gold"));
    // Gold is from 2000 of cumulative principal: the level is kept.
    assert_eq!(first.opening.counted, Money::from_yuan(2000));
    assert_eq!(p.rows[1].profile.birthday.as_deref(), Some("1985-01-02"));
    assert_eq!(p.rows[1].opening, Opening::default());
    assert_eq!(p.rows[2].opening.level.as_deref(), Some("silver"));
    let codes: Vec<(usize, &str)> = p.rejected.iter().map(|(l, e)| (*l, e.code())).collect();
    assert_eq!(
        codes,
        vec![
            (4, "invalid_phone"),
            (5, "duplicate_phone"),
            (6, "phone_taken"),
            (7, "duplicate_card_no"),
            (8, "card_taken"),
            (9, "invalid_card_no"),
            (10, "invalid_name"),
            (11, "invalid_birthday"),
            (12, "invalid_amount"),
            (13, "invalid_amount"),
            (14, "invalid_amount"),
            (15, "invalid_points"),
            (16, "invalid_points"),
            (17, "unknown_level"),
            (18, "invalid_text"),
            (19, "invalid_csv"),
        ]
    );
    for (_, e) in &p.rejected {
        assert!(!e.message_zh().is_empty() && !e.to_string().is_empty());
    }
    // The phone is masked in Chinese, as registration masks it.
    assert!(!p.rejected[1].1.message_zh().contains("13800000001"));
    assert_eq!(
        p.totals(),
        (Money::from_fen(10050), Money::from_yuan(10), 20)
    );
}

#[test]
fn english_headers_in_any_order_and_bad_files() {
    let p = plan(
        "Name, Phone ,points\nAnn,13800000001,5\n",
        &Programme::default(),
        &index(),
    )
    .unwrap();
    assert_eq!(p.rows.len(), 1);
    assert_eq!(p.rows[0].opening.points, 5);
    let idx = index();
    let pr = Programme::default();
    assert_eq!(plan("", &pr, &idx), Err(MemberImportError::Header));
    assert_eq!(plan("phone\n", &pr, &idx), Err(MemberImportError::Header));
    assert_eq!(
        plan("phone,name,手机号\n", &pr, &idx),
        Err(MemberImportError::Header)
    );
    assert!(matches!(
        plan("phone,name,colour\n", &pr, &idx),
        Err(MemberImportError::UnknownColumn(_))
    ));
    assert_eq!(
        plan("phone,name\n\"13800000001,a\n", &pr, &idx),
        Err(MemberImportError::Quote)
    );
    let many = format!("phone,name\n{}", "1,a\n".repeat(ROWS_MAX + 1));
    assert_eq!(plan(&many, &pr, &idx), Err(MemberImportError::Rows));
}

#[test]
fn rows_of_a_chunk_made_already_are_not_asked_of_the_index() {
    let mut csv = String::from("phone,name\n");
    let n = CHUNK_ROWS + 10;
    for i in 0..n {
        csv.push_str(&format!("138{i:08},m{i}\n"));
    }
    // Every phone is a member's now (the file was imported): chunk 1 is
    // made, chunk 2 was not (say the run stopped there).
    let mut idx = Index::default();
    for i in 0..n {
        idx.phones.insert(format!("138{i:08}"));
    }
    idx.done.insert(1);
    let p = plan(&csv, &Programme::default(), &idx).unwrap();
    assert_eq!(p.done, vec![1]);
    assert_eq!(p.rows.len(), CHUNK_ROWS);
    assert_eq!(p.rejected.len(), 10);
    assert!(p.rejected.iter().all(|(_, e)| e.code() == "phone_taken"));
    idx.done.insert(2);
    let p = plan(&csv, &Programme::default(), &idx).unwrap();
    assert_eq!((p.rows.len(), p.rejected.len()), (n, 0));
    let chunks: Vec<(usize, usize)> = p.chunks().map(|(k, c)| (k, c.len())).collect();
    assert_eq!(chunks, vec![(1, CHUNK_ROWS), (2, 10)]);
    assert_eq!(chunk_of(CHUNK_ROWS - 1), 1);
    assert_eq!(chunk_of(CHUNK_ROWS), 2);
}

fn money() -> impl Strategy<Value = Money> {
    (0i64..100_000_000).prop_map(Money::from_fen)
}

proptest! {
    /// Any good file: every row is planned, in order, with its amounts;
    /// and the ops a real run makes, applied, balance the ledger to the
    /// fen (held = owed), count apart from recharges, and keep each
    /// imported level.
    #[test]
    fn a_good_file_plans_every_row_and_balances(
        rows in prop::collection::vec((money(), money(), 0i64..1_000_000, 0usize..6, any::<bool>()), 1..60)
    ) {
        let programme = Programme::default();
        let mut csv = String::from("卡号,手机号,姓名,本金,赠送金额,积分,等级\n");
        for (i, (p, b, pts, lvl, card)) in rows.iter().enumerate() {
            let level = programme.levels.get(*lvl).map_or("", |l| l.name_zh.as_str());
            let card = if *card { format!("C{i:05}") } else { String::new() };
            csv.push_str(&format!("{card},139{i:08},会员{i},{p},{b},{pts},{level}\n"));
        }
        let plan = plan(&csv, &programme, &Index::default()).unwrap();
        prop_assert!(plan.rejected.is_empty(), "{:?}", plan.rejected);
        prop_assert_eq!(plan.rows.len(), rows.len());
        let mut totals = LedgerTotals::default();
        let mut wallets = Vec::new();
        for (i, (r, (p, b, pts, lvl, _))) in plan.rows.iter().zip(&rows).enumerate() {
            prop_assert_eq!(r.line, i + 2);
            prop_assert_eq!((r.opening.principal, r.opening.bonus, r.opening.points), (*p, *b, *pts));
            let body = OpBody::MemberRegistered {
                member: MemberId::parse(&format!("m-s-{}", i + 1)).unwrap(),
                profile: r.profile.clone(),
                opening: Some(r.opening.clone()),
            };
            let o = op("s", i as u64 + 1, 1_000 + i as u64, body);
            let m = MemberState::registered(&o).unwrap();
            if let Some(l) = programme.levels.get(*lvl) {
                prop_assert!(programme.level_for(m.cumulative_principal).min_principal >= l.min_principal);
            }
            prop_assert_eq!(m.balance().principal + m.balance().bonus, *p + *b);
            totals.apply(&o);
            wallets.push(m.wallet);
        }
        let check = consistency::check(&totals, consistency::held(&wallets));
        prop_assert!(check.balanced, "{:?}", check);
        let (tp, tb, tpts) = plan.totals();
        prop_assert_eq!((totals.imported_principal, totals.imported_bonus, totals.imported_points), (tp, tb, tpts));
        prop_assert_eq!(totals.recharged_principal, Money::ZERO);
        prop_assert_eq!(totals.recharges, 0);
        prop_assert_eq!((totals.members, totals.imports), (rows.len() as u64, rows.len() as u64));
    }
}

/// The op an import makes travels with its feature bit and decodes as
/// made; a registration without an opening encodes as before the field
/// existed (its bytes end where the profile ends), so its signature holds.
#[test]
fn an_imported_registration_round_trips_and_a_plain_one_is_unchanged() {
    use crate::codec::FEATURE_IMPORT;
    let p = plan(
        "phone,name,principal,bonus,points,level\n13800000001,a,12.34,1,7,silver\n",
        &Programme::default(),
        &Index::default(),
    )
    .unwrap();
    let r = &p.rows[0];
    let member = MemberId::parse("m-s-1").unwrap();
    let body = |opening| OpBody::MemberRegistered {
        member: member.clone(),
        profile: r.profile.clone(),
        opening,
    };
    let imported = op("s", 1, 5, body(Some(r.opening.clone())));
    assert_eq!(imported.body.needs(), FEATURE_IMPORT);
    assert_eq!(imported.body.kind(), "member_imported");
    assert_eq!(Op::decode(&imported.encode()).unwrap(), imported);
    let plain = op("s", 1, 5, body(None));
    assert_eq!(plain.body.needs(), 0);
    assert_eq!(plain.body.kind(), "member_registered");
    assert_eq!(Op::decode(&plain.encode()).unwrap(), plain);
    // The body as the field-less variant wrote it: [member, profile].
    let mut old = Vec::new();
    let mut e = minicbor::Encoder::new(&mut old);
    e.array(2).unwrap();
    e.encode(&member).unwrap();
    e.encode(&r.profile).unwrap();
    let mut new = Vec::new();
    minicbor::encode(&plain.body, &mut new).unwrap();
    assert!(new.ends_with(&old), "a plain registration's fields changed");
    // HQ holds no stored value: it may not import.
    use crate::authority::{NotAuthorised, may_author};
    use crate::op::OriginRole;
    assert_eq!(
        may_author(Some(OriginRole::Hq), &imported.body),
        Err(NotAuthorised::HqHoldsNoBalances)
    );
    assert_eq!(may_author(Some(OriginRole::Hq), &plain.body), Ok(()));
    assert_eq!(may_author(Some(OriginRole::Store), &imported.body), Ok(()));
}
