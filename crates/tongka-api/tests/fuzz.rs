//! Property tests that throw random and mutated bodies at every endpoint
//! that takes one (POST, PATCH, PUT), on a real node in process, with a
//! valid token and a fresh idempotency key per request. Whatever comes in:
//! - never a 5xx;
//! - a 4xx is the JSON error object, with a machine code the OpenAPI
//!   document lists for that operation and status;
//! - a refused request changes nothing: the ledger summary, the version
//!   vector and the replicated state hash are as they were;
//! - an accepted one is answered as the document says (schema, strictly);
//! - a quote (`POST /checkouts/quote`) and a member code's verification
//!   (`POST /member-codes/verify`) change nothing, accepted or not.
//!
//! Case counts are bounded so the file runs in seconds in debug builds; set
//! `TONGKA_FUZZ_CASES=N` for N cases per strategy and endpoint.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use common::schema::{self, conforms};
use common::{App, Seed};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

// ------------------------------------------------------------------ JSON text

/// A JSON text tree that can say what `serde_json::Value` cannot: numbers
/// as raw text (huge, long, with exponents) and objects with duplicate keys.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn from_value(v: &Value) -> J {
        match v {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Num(n.to_string()),
            Value::String(s) => J::Str(s.clone()),
            Value::Array(a) => J::Arr(a.iter().map(J::from_value).collect()),
            Value::Object(m) => J::Obj(
                m.iter()
                    .map(|(k, v)| (k.clone(), J::from_value(v)))
                    .collect(),
            ),
        }
    }

    fn render(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(n),
            J::Str(s) => out.push_str(&serde_json::to_string(s).expect("a string")),
            J::Arr(items) => {
                out.push('[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    x.render(out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, x)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).expect("a key"));
                    out.push(':');
                    x.render(out);
                }
                out.push('}');
            }
        }
    }

    fn text(&self) -> String {
        let mut s = String::new();
        self.render(&mut s);
        s
    }

    fn children_mut(&mut self) -> Option<Vec<&mut J>> {
        match self {
            J::Arr(items) => Some(items.iter_mut().collect()),
            J::Obj(members) => Some(members.iter_mut().map(|(_, v)| v).collect()),
            _ => None,
        }
    }

    /// Paths (child indexes from the root) of every node but the root.
    fn paths(&self) -> Vec<Vec<usize>> {
        fn walk(j: &J, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            let kids: Vec<&J> = match j {
                J::Arr(items) => items.iter().collect(),
                J::Obj(members) => members.iter().map(|(_, v)| v).collect(),
                _ => Vec::new(),
            };
            for (i, k) in kids.into_iter().enumerate() {
                prefix.push(i);
                out.push(prefix.clone());
                walk(k, prefix, out);
                prefix.pop();
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    fn at_mut(&mut self, path: &[usize]) -> &mut J {
        let mut j = self;
        for &i in path {
            j = j
                .children_mut()
                .expect("a container")
                .into_iter()
                .nth(i)
                .expect("a child");
        }
        j
    }
}

/// Field names of every request body, so random objects hit real fields.
const KEYS: &[&str] = &[
    "phone",
    "name",
    "birthday",
    "gender",
    "card_no",
    "invite_code",
    "tags",
    "notes",
    "amount",
    "tender",
    "member_id",
    "lines",
    "sku",
    "barcode",
    "description",
    "unit_price",
    "qty",
    "coupon_codes",
    "points",
    "tenders",
    "kind",
    "line",
    "reason",
    "price",
];

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "-?[1-9][0-9]{20,80}",
        "-?[0-9]{1,9}\\.[0-9]{3,60}",
        "-?[0-9]{1,9}\\.[0-9]{1,2}",
        "-?[1-9](\\.[0-9]{1,3})?[eE][+-]?[0-9]{1,4}",
        Just("-0".to_string()),
        Just("0.000000000000000000000000000000000001".to_string()),
        Just("100.000000000000000000000000000000000001".to_string()),
        Just("79228162514264337593543950335".to_string()),
        Just("1e400".to_string()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\\x7f]{1,8}",
        "[\\u{1F600}-\\u{1F64F}\\u{1F1E6}-\\u{1F1FF}\\u{200D}\\u{FE0F}]{1,8}",
        "\\PC{0,40}",
        "[0-9.+ -]{0,14}",
        "1[3-9][0-9]{9}",
        prop::sample::select(vec![
            "",
            " ",
            "0",
            "0.00",
            "-0",
            "1.001",
            "10000000.01",
            "cash",
            "balance",
            "wechat",
            "latte",
            "6901234567908",
            "m-store-1-1",
            "o-store-1-3",
            "2000-02-30",
            "female",
            "\u{0}",
            "\u{202E}",
            "\u{FEFF}",
            "1e3",
            "NaN",
            "Infinity",
        ])
        .prop_map(str::to_string),
        "x{200,600}",
    ]
}

fn leaf() -> impl Strategy<Value = J> {
    prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        number_text().prop_map(J::Num),
        text().prop_map(J::Str),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => text(),
    ]
}

fn json() -> impl Strategy<Value = J> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(J::Arr),
            prop::collection::vec((key(), inner), 0..8).prop_map(J::Obj),
        ]
    })
}

// ------------------------------------------------------------------ mutations

#[derive(Debug, Clone)]
enum Mutation {
    /// Delete the node at the chosen path.
    Delete(usize),
    /// Replace the node with another value (retype).
    Replace(usize, J),
    /// Replace a leaf (string, number, …) with a nearby value: another
    /// string, a decimal as a string or as a number.
    Tweak(usize, J),
    /// Repeat an object member (same key, maybe another value) or an element.
    Duplicate(usize, Option<J>),
    /// Add a member to the chosen object (or the root).
    Insert(usize, String, J),
    /// Wrap the node in `depth` arrays or objects.
    Nest(usize, usize, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let near = prop_oneof![
        text().prop_map(J::Str),
        number_text().prop_map(J::Str),
        number_text().prop_map(J::Num),
    ];
    prop_oneof![
        8 => (any::<usize>(), near).prop_map(|(i, j)| Mutation::Tweak(i, j)),
        3 => any::<usize>().prop_map(Mutation::Delete),
        2 => (any::<usize>(), json()).prop_map(|(i, j)| Mutation::Replace(i, j)),
        1 => (any::<usize>(), prop::option::of(leaf())).prop_map(|(i, j)| Mutation::Duplicate(i, j)),
        1 => (any::<usize>(), key(), json()).prop_map(|(i, k, j)| Mutation::Insert(i, k, j)),
        1 => (any::<usize>(), 1usize..300, any::<bool>()).prop_map(|(i, d, o)| Mutation::Nest(i, d, o)),
    ]
}

impl Mutation {
    fn apply(&self, root: &mut J) {
        let paths = root.paths();
        let pick = |i: usize| -> Option<Vec<usize>> {
            (!paths.is_empty()).then(|| paths[i % paths.len()].clone())
        };
        match self {
            Mutation::Delete(i) => {
                if let Some(p) = pick(*i) {
                    let (last, parent) = p.split_last().expect("non-root");
                    match root.at_mut(parent) {
                        J::Arr(items) => {
                            items.remove(*last);
                        }
                        J::Obj(members) => {
                            members.remove(*last);
                        }
                        _ => unreachable!("parents are containers"),
                    }
                }
            }
            Mutation::Replace(i, j) => match pick(*i) {
                Some(p) => *root.at_mut(&p) = j.clone(),
                None => *root = j.clone(),
            },
            Mutation::Tweak(i, j) => {
                let leaves: Vec<&Vec<usize>> = paths
                    .iter()
                    .filter(|p| !matches!(root.at_mut(p), J::Arr(_) | J::Obj(_)))
                    .collect();
                if !leaves.is_empty() {
                    let p = leaves[i % leaves.len()].clone();
                    *root.at_mut(&p) = j.clone();
                }
            }
            Mutation::Duplicate(i, j) => {
                if let Some(p) = pick(*i) {
                    let (last, parent) = p.split_last().expect("non-root");
                    match root.at_mut(parent) {
                        J::Arr(items) => {
                            let x = j.clone().unwrap_or_else(|| items[*last].clone());
                            items.insert(*last + 1, x);
                        }
                        J::Obj(members) => {
                            let (k, v) = members[*last].clone();
                            members.insert(*last + 1, (k, j.clone().unwrap_or(v)));
                        }
                        _ => unreachable!("parents are containers"),
                    }
                }
            }
            Mutation::Insert(i, k, j) => {
                let objects: Vec<Vec<usize>> = std::iter::once(Vec::new())
                    .chain(paths.iter().cloned())
                    .filter(|p| matches!(root.at_mut(p), J::Obj(_)))
                    .collect();
                if !objects.is_empty() {
                    let p = &objects[i % objects.len()];
                    if let J::Obj(members) = root.at_mut(p) {
                        members.push((k.clone(), j.clone()));
                    }
                }
            }
            Mutation::Nest(i, depth, objects) => {
                let target = match pick(*i) {
                    Some(p) => root.at_mut(&p),
                    None => root,
                };
                let mut x = std::mem::replace(target, J::Null);
                for _ in 0..*depth {
                    x = if *objects {
                        J::Obj(vec![("amount".to_string(), x)])
                    } else {
                        J::Arr(vec![x])
                    };
                }
                *target = x;
            }
        }
    }
}

/// Byte-level damage to the text of a (mutated) valid body.
#[derive(Debug, Clone)]
enum Damage {
    /// Cut the text at a position.
    Truncate(usize),
    /// Overwrite one byte.
    Flip(usize, u8),
    /// Insert bytes that are not UTF-8 (or a raw control byte) just inside a
    /// string, or anywhere.
    Insert(usize, Vec<u8>, bool),
    /// A `\uD800`-style lone surrogate escape inside a string.
    LoneSurrogate(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    let bad = prop::sample::select(vec![
        vec![0xff],
        vec![0xc0, 0x80],
        vec![0xed, 0xa0, 0x80],
        vec![0xf4, 0x90, 0x80, 0x80],
        vec![0xe4, 0xb8],
        vec![0x00],
        vec![0x07],
        vec![0x1b, b'['],
    ]);
    prop_oneof![
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Flip(i, b)),
        (any::<usize>(), bad, any::<bool>()).prop_map(|(i, b, s)| Damage::Insert(i, b, s)),
        any::<usize>().prop_map(Damage::LoneSurrogate),
    ]
}

impl Damage {
    fn apply(&self, mut bytes: Vec<u8>) -> Vec<u8> {
        let quotes: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'"')
            .map(|(i, _)| i + 1)
            .collect();
        let len = bytes.len().max(1);
        match self {
            Damage::Truncate(i) => bytes.truncate(i % len),
            Damage::Flip(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = *b;
                }
            }
            Damage::Insert(i, bad, in_string) => {
                let at = if *in_string && !quotes.is_empty() {
                    quotes[i % quotes.len()]
                } else {
                    i % len
                }
                .min(bytes.len());
                bytes.splice(at..at, bad.iter().copied());
            }
            Damage::LoneSurrogate(i) => {
                if !quotes.is_empty() {
                    let at = quotes[i % quotes.len()].min(bytes.len());
                    bytes.splice(at..at, b"\\ud800".iter().copied());
                }
            }
        }
        bytes
    }
}

/// What one case sends.
#[derive(Debug, Clone)]
enum Body {
    /// Any JSON at all.
    Random(J),
    /// The endpoint's valid body, mutated, maybe damaged at the byte level.
    Mutated(Vec<Mutation>, Option<Damage>),
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        2 => json().prop_map(Body::Random),
        1 => prop::collection::vec((key(), json()), 0..10).prop_map(|m| Body::Random(J::Obj(m))),
        8 => (prop::collection::vec(mutation(), 0..4), prop::option::weighted(0.15, damage()))
            .prop_map(|(m, d)| Body::Mutated(m, d)),
        1 => prop::collection::vec(any::<u8>(), 0..600).prop_map(Body::Bytes),
    ]
}

impl Body {
    fn bytes(&self, valid: &Value) -> Vec<u8> {
        match self {
            Body::Random(j) => j.text().into_bytes(),
            Body::Mutated(ms, d) => {
                let mut j = J::from_value(valid);
                for m in ms {
                    m.apply(&mut j);
                }
                let bytes = j.text().into_bytes();
                match d {
                    Some(d) => d.apply(bytes),
                    None => bytes,
                }
            }
            Body::Bytes(b) => b.clone(),
        }
    }
}

// ------------------------------------------------------------------ targets

/// One endpoint under fuzzing: where the n-th case goes and what a valid
/// body for it looks like.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Register,
    Patch,
    Recharge,
    Checkout,
    Quote,
    Refund,
    PutProduct,
    Merge,
    VerifyCode,
}

impl Target {
    fn method(self) -> &'static str {
        match self {
            Target::Register
            | Target::Recharge
            | Target::Checkout
            | Target::Quote
            | Target::Refund
            | Target::Merge
            | Target::VerifyCode => "POST",
            Target::Patch => "PATCH",
            Target::PutProduct => "PUT",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Target::Register => "/api/v1/members",
            Target::Patch => "/api/v1/members/{id}",
            Target::Recharge => "/api/v1/members/{id}/recharges",
            Target::Checkout => "/api/v1/checkouts",
            Target::Quote => "/api/v1/checkouts/quote",
            Target::Refund => "/api/v1/orders/{id}/refunds",
            Target::PutProduct => "/api/v1/products/{sku}",
            Target::Merge => "/api/v1/members/{id}/merge",
            Target::VerifyCode => "/api/v1/member-codes/verify",
        }
    }

    /// The path and a valid body for case `n`, making what the case needs
    /// (a fresh order to refund).
    async fn prepare(self, app: &App, seed: &Seed, n: u64) -> (String, Value) {
        let m = &seed.member;
        match self {
            Target::Register => (
                "/api/v1/members".into(),
                json!({"phone": format!("137{n:08}"), "name": "赵六", "birthday": "1999-09-09",
                       "gender": "other", "card_no": format!("C{n:06}"), "invite_code": "INV1",
                       "tags": ["a", "新客"], "notes": "x"}),
            ),
            Target::Patch => (
                format!("/api/v1/members/{m}"),
                json!({"phone": format!("136{n:08}"), "name": "张三", "birthday": "1990-01-01",
                       "gender": "male", "card_no": format!("CD{n:06}"), "tags": ["t"], "notes": "n"}),
            ),
            Target::Recharge => (
                format!("/api/v1/members/{m}/recharges"),
                json!({"amount": "100.00", "tender": "cash"}),
            ),
            Target::Checkout | Target::Quote => (
                self.template().into(),
                json!({"member_id": m,
                       "lines": [{"sku": "latte", "qty": "1"}, {"barcode": "6901234567908", "qty": 2},
                                 {"description": "蛋糕", "unit_price": "18.50", "qty": "1.5"}],
                       "coupon_codes": [], "points": "0",
                       "tenders": [{"kind": "cash", "amount": "10"}, {"kind": "balance"}]}),
            ),
            Target::Refund => {
                let (s, o) = app
                    .send(
                        "POST",
                        "/api/v1/checkouts",
                        &json!({"member_id": m,
                                "lines": [{"sku": "latte", "qty": "3"}, {"description": "面包", "unit_price": "0.01", "qty": "1000"}],
                                "tenders": [{"kind": "card", "amount": "1.00"}, {"kind": "balance"}]}),
                        Some(&format!("fuzz-order-{n}")),
                    )
                    .await;
                assert_eq!(s, 201, "{o}");
                let id = o["id"].as_str().expect("order id");
                (
                    format!("/api/v1/orders/{id}/refunds"),
                    json!({"lines": [{"line": 0, "qty": "1"}, {"line": 1, "qty": "10.5"}], "reason": "退货"}),
                )
            }
            Target::PutProduct => (
                format!("/api/v1/products/fz-{n}"),
                json!({"name": "商品", "barcode": format!("77{n:08}"), "price": "9.90"}),
            ),
            Target::Merge => {
                // A fresh duplicate to absorb, with a balance to move.
                let (s, d) = app
                    .send(
                        "POST",
                        "/api/v1/members",
                        &json!({"phone": format!("135{n:08}"), "name": "重复", "tags": ["dup"]}),
                        Some(&format!("fuzz-dup-{n}")),
                    )
                    .await;
                assert_eq!(s, 201, "{d}");
                let id = d["id"].as_str().expect("member id");
                let (s, r) = app
                    .send(
                        "POST",
                        &format!("/api/v1/members/{id}/recharges"),
                        &json!({"amount": "10.00", "tender": "cash"}),
                        Some(&format!("fuzz-dup-r-{n}")),
                    )
                    .await;
                assert_eq!(s, 201, "{r}");
                (format!("/api/v1/members/{m}/merge"), json!({"absorb": id}))
            }
            Target::VerifyCode => {
                // A fresh code of the seed member, as its screen shows it.
                let (s, c) = app.get(&format!("/api/v1/members/{m}/code")).await;
                assert_eq!(s, 200, "{c}");
                (self.template().into(), json!({"code": c["code"]}))
            }
        }
    }
}

fn cases() -> u32 {
    std::env::var("TONGKA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn shown(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.chars().count() > 400 {
        let head: String = s.chars().take(400).collect();
        format!("{head}… ({} bytes)", bytes.len())
    } else {
        s.into_owned()
    }
}

/// Send one case and check what must hold whatever the body.
async fn probe(
    app: &App,
    doc: &Value,
    target: Target,
    path: &str,
    valid: &Value,
    body: &Body,
    n: u64,
) -> Result<Outcome, TestCaseError> {
    let bytes = body.bytes(valid);
    let before = app.snapshot().await;
    let a = app
        .call(
            target.method(),
            path,
            bytes.clone(),
            Some(&format!("fuzz-{n}")),
        )
        .await;
    let status = a.status.as_u16();
    let what = format!(
        "{} {path} {} → {status} {}",
        target.method(),
        shown(&bytes),
        shown(&a.body)
    );
    prop_assert!(status < 500, "a 5xx: {}", what);
    if status >= 400 {
        prop_assert_eq!(
            schema::media_type(a.content_type()),
            "application/json",
            "{}",
            what
        );
        let v = a.json();
        prop_assert!(v.is_some(), "not JSON: {}", what);
        let v = v.expect("checked");
        let e = &v["error"];
        prop_assert!(
            e["code"].is_string() && e["message"].is_string() && e["message_zh"].is_string(),
            "not the error object: {}",
            what
        );
        let after = app.snapshot().await;
        prop_assert_eq!(&before, &after, "a refusal changed state: {}", what);
    } else {
        prop_assert!(status == 200 || status == 201, "{}", what);
        if matches!(target, Target::Quote | Target::VerifyCode) {
            let after = app.snapshot().await;
            prop_assert_eq!(&before, &after, "a read changed state: {}", what);
        }
    }
    // Status, code and body as the document says.
    let conformance = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        conforms(doc, target.method(), target.template(), &a)
    }));
    prop_assert!(conformance.is_ok(), "not as documented: {}", what);
    Ok(Outcome(status, a.error_code()))
}

/// What a case got: the status and the machine code, for the summary.
struct Outcome(u16, Option<String>);

/// Run `cases()` random bodies at `target` on a fresh seeded node.
fn fuzz(target: Target, setup: impl AsyncFnOnce(&App, &Seed)) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let app = App::new();
    let doc = schema::doc();
    let seed = rt.block_on(async {
        let seed = app.seed().await;
        setup(&app, &seed).await;
        seed
    });
    let counter = Cell::new(0u64);
    let seen: RefCell<BTreeMap<(u16, String), u32>> = RefCell::default();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    });
    let result = runner.run(&body(), |b| {
        let n = counter.get();
        counter.set(n + 1);
        rt.block_on(async {
            let (path, valid) = target.prepare(&app, &seed, n).await;
            let Outcome(status, code) = probe(&app, &doc, target, &path, &valid, &b, n).await?;
            *seen
                .borrow_mut()
                .entry((status, code.unwrap_or_default()))
                .or_default() += 1;
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{} {}: {e}", target.method(), target.template());
    }
    // Shown with --nocapture: how the cases were answered.
    eprintln!(
        "{} {}: {:?}",
        target.method(),
        target.template(),
        seen.borrow()
    );
}

async fn nothing(_: &App, _: &Seed) {}

#[test]
fn fuzz_register() {
    fuzz(Target::Register, nothing);
}

#[test]
fn fuzz_patch_member() {
    fuzz(Target::Patch, nothing);
}

#[test]
fn fuzz_recharge() {
    fuzz(Target::Recharge, nothing);
}

#[test]
fn fuzz_checkout() {
    // Enough balance that valid checkouts keep being accepted.
    fuzz(Target::Checkout, async |app: &App, seed: &Seed| {
        let (s, r) = app
            .send(
                "POST",
                &format!("/api/v1/members/{}/recharges", seed.member),
                &json!({"amount": "10000000", "tender": "card"}),
                Some("fuzz-topup"),
            )
            .await;
        assert_eq!(s, 201, "{r}");
    });
}

#[test]
fn fuzz_quote() {
    fuzz(Target::Quote, nothing);
}

#[test]
fn fuzz_refund() {
    fuzz(Target::Refund, async |app: &App, seed: &Seed| {
        let (s, r) = app
            .send(
                "POST",
                &format!("/api/v1/members/{}/recharges", seed.member),
                &json!({"amount": "10000000", "tender": "card"}),
                Some("fuzz-topup"),
            )
            .await;
        assert_eq!(s, 201, "{r}");
    });
}

#[test]
fn fuzz_put_product() {
    fuzz(Target::PutProduct, nothing);
}

#[test]
fn fuzz_merge() {
    fuzz(Target::Merge, nothing);
}

/// A scanned member code: whatever comes in, a member or a refusal, and
/// never a change (`probe` compares the snapshots, accepted or not).
#[test]
fn fuzz_verify_member_code() {
    fuzz(Target::VerifyCode, nothing);
}

/// The mutators do what they say (a broken mutator would make the fuzzing
/// above quietly weaker).
#[test]
fn mutators_work() {
    let valid = json!({"a": [1, {"b": "x"}], "c": "2.00"});
    let text = |ms: Vec<Mutation>| Body::Mutated(ms, None).bytes(&valid);
    assert_eq!(text(vec![]), br#"{"a":[1,{"b":"x"}],"c":"2.00"}"#);
    // Paths in pre-order: a, a[0], a[1], a[1].b, c.
    assert_eq!(text(vec![Mutation::Delete(0)]), br#"{"c":"2.00"}"#);
    assert_eq!(
        text(vec![Mutation::Duplicate(4, None)]),
        br#"{"a":[1,{"b":"x"}],"c":"2.00","c":"2.00"}"#
    );
    assert_eq!(
        text(vec![Mutation::Replace(4, J::Num("1e400".into()))]),
        br#"{"a":[1,{"b":"x"}],"c":1e400}"#
    );
    assert_eq!(
        text(vec![Mutation::Nest(1, 2, false)]),
        br#"{"a":[[[1]],{"b":"x"}],"c":"2.00"}"#
    );
    assert_eq!(
        text(vec![Mutation::Insert(1, "z".into(), J::Null)]),
        br#"{"a":[1,{"b":"x","z":null}],"c":"2.00"}"#
    );
    let d = Damage::Insert(0, vec![0xff], true).apply(b"{\"a\":\"b\"}".to_vec());
    assert_eq!(d, b"{\"\xffa\":\"b\"}");
    assert!(std::str::from_utf8(&d).is_err());
}
