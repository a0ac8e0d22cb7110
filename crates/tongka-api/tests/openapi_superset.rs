//! The derived OpenAPI document extends the hand-kept one it replaced and
//! never breaks it: every path, method, parameter, request field, answer
//! field, status and machine code of `fixtures/openapi-v1-handkept.json`
//! (the last hand-kept document, kept as it was) is in the document the
//! node serves now. Wording may differ; the contract may not shrink.

mod common;

use std::collections::BTreeSet;

use common::schema::{self, resolve};
use serde_json::Value;

const HANDKEPT: &str = include_str!("fixtures/openapi-v1-handkept.json");

fn handkept() -> Value {
    serde_json::from_str(HANDKEPT).expect("the hand-kept document is JSON")
}

/// Schemas the hand-kept document named twice for one Rust type: an order
/// line and a quoted line are one `LineView` (a quoted line has no
/// `refunded_qty`).
const SAME_AS: &[(&str, &str)] = &[("QuoteLine", "OrderLine")];

/// Every field path a schema describes (`lines[].qty`, `error.code`),
/// following `$ref`, `allOf`/`anyOf`/`oneOf` and `items`.
fn fields(doc: &Value, schema: &Value, at: &str, depth: usize, out: &mut BTreeSet<String>) {
    if depth > 12 {
        return;
    }
    let s = resolve(doc, schema);
    for k in ["allOf", "anyOf", "oneOf"] {
        for sub in s.get(k).and_then(Value::as_array).into_iter().flatten() {
            fields(doc, sub, at, depth + 1, out);
        }
    }
    if let Some(items) = s.get("items") {
        fields(doc, items, &format!("{at}[]"), depth + 1, out);
    }
    for (name, sub) in s
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let here = if at.is_empty() {
            name.clone()
        } else {
            format!("{at}.{name}")
        };
        out.insert(here.clone());
        fields(doc, sub, &here, depth + 1, out);
    }
}

fn fields_of(doc: &Value, schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fields(doc, schema, "", 0, &mut out);
    out
}

/// The (name, in) of every parameter of an operation, its path item's
/// included.
fn parameters(doc: &Value, path: &str, method: &str) -> BTreeSet<(String, String)> {
    let item = &doc["paths"][path];
    let op = &item[method];
    let mut out = BTreeSet::new();
    for list in [&item["parameters"], &op["parameters"]] {
        for p in list.as_array().into_iter().flatten() {
            let p = resolve(doc, p);
            out.insert((
                p["name"].as_str().expect("name").to_string(),
                p["in"].as_str().expect("in").to_string(),
            ));
        }
    }
    out
}

/// The machine codes an answer lists (the `enum` narrowing the error code).
fn codes(doc: &Value, response: &Value) -> BTreeSet<String> {
    let r = resolve(doc, response);
    let mut out = BTreeSet::new();
    let schema = &r["content"]["application/json"]["schema"];
    for part in schema["allOf"].as_array().into_iter().flatten() {
        for c in part
            .pointer("/properties/error/properties/code/enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.insert(c.as_str().expect("code").to_string());
        }
    }
    out
}

/// Codes of the hand-kept document that no longer exist, on purpose:
/// `coupons_not_enabled` refused every `coupon_codes` before coupons were
/// (issue 11); a checkout now uses them, refused only by the coupon codes.
const RETIRED: &[&str] = &["coupons_not_enabled"];

/// What of `old` is not in `new`, one line each.
fn shrunk(old: &Value, new: &Value) -> Vec<String> {
    let mut lost = Vec::new();
    for (path, item) in old["paths"].as_object().expect("paths") {
        for method in schema::METHODS {
            let Some(op) = item.get(method) else { continue };
            let what = format!("{} {path}", method.to_uppercase());
            let Some(now) = new["paths"].get(path).and_then(|i| i.get(method)) else {
                lost.push(format!("{what}: operation"));
                continue;
            };
            for p in parameters(old, path, method).difference(&parameters(new, path, method)) {
                lost.push(format!("{what}: parameter {p:?}"));
            }
            if let Some(body) = op.get("requestBody") {
                let body = resolve(old, body);
                let Some(body_now) = now.get("requestBody") else {
                    lost.push(format!("{what}: request body"));
                    continue;
                };
                let body_now = resolve(new, body_now);
                for (ct, c) in body["content"].as_object().expect("content") {
                    let Some(c_now) = body_now["content"].get(ct) else {
                        lost.push(format!("{what}: request body as {ct}"));
                        continue;
                    };
                    let was = fields_of(old, &c["schema"]);
                    let is = fields_of(new, &c_now["schema"]);
                    for f in was.difference(&is) {
                        lost.push(format!("{what}: request field {f}"));
                    }
                }
            }
            for (status, r) in op["responses"].as_object().expect("responses") {
                let Some(r_now) = now["responses"].get(status) else {
                    lost.push(format!("{what}: status {status}"));
                    continue;
                };
                for c in codes(old, r).difference(&codes(new, r_now)) {
                    if !RETIRED.contains(&c.as_str()) {
                        lost.push(format!("{what}: {status} code {c}"));
                    }
                }
                let (r, r_now) = (resolve(old, r), resolve(new, r_now));
                for h in r["headers"].as_object().into_iter().flatten().map(|h| h.0) {
                    if r_now["headers"].get(h).is_none() {
                        lost.push(format!("{what}: {status} header {h}"));
                    }
                }
                for (ct, c) in r["content"].as_object().into_iter().flatten() {
                    let Some(c_now) = r_now["content"].get(ct) else {
                        lost.push(format!("{what}: {status} as {ct}"));
                        continue;
                    };
                    let was = fields_of(old, &c["schema"]);
                    let is = fields_of(new, &c_now["schema"]);
                    for f in was.difference(&is) {
                        lost.push(format!("{what}: {status} field {f}"));
                    }
                }
            }
        }
    }
    let schemas_now = &new["components"]["schemas"];
    for (name, s) in old["components"]["schemas"].as_object().expect("schemas") {
        let now_name = SAME_AS
            .iter()
            .find(|(a, _)| a == name)
            .map_or(name.as_str(), |(_, b)| b);
        let Some(now) = schemas_now.get(now_name) else {
            lost.push(format!("schema {name}"));
            continue;
        };
        for f in fields_of(old, s).difference(&fields_of(new, now)) {
            lost.push(format!("schema {name}: field {f}"));
        }
        // Strings stay strings (money is never a JSON number in answers),
        // with the same pattern and enum.
        for k in ["type", "pattern", "enum"] {
            if s.get(k).is_some() && s.get(k) != now.get(k) {
                lost.push(format!("schema {name}: {k} {} is now {}", s[k], now[k]));
            }
        }
    }
    lost
}

#[test]
fn the_derived_document_keeps_every_part_of_the_hand_kept_one() {
    let lost = shrunk(&handkept(), &schema::doc());
    assert!(lost.is_empty(), "the contract shrank:\n{}", lost.join("\n"));
}

/// The validation keywords the comparison of constraints looks at.
const CONSTRAINTS: [&str; 11] = [
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "enum",
    "minProperties",
    "maxProperties",
];

/// Where the derived document's constraints differ from the hand-kept one
/// on purpose, because the derived one says what the code does: amounts in
/// `PUT /programme` are parsed like every amount a client sends
/// (`AmountInput`, not the answers' two-place `Money`), and a member's
/// history also shows programme and catalogue changes.
const WIDER: &[&str] = &[
    "ProgrammeRequest.recharge_offers[].threshold pattern",
    "ProgrammeRequest.recharge_offers[].bonus pattern",
    "ProgrammeRequest.levels[].min_principal pattern",
    "ProgrammeRequest.recharge_offers[].threshold maximum",
    "ProgrammeRequest.recharge_offers[].bonus maximum",
    "ProgrammeRequest.levels[].min_principal maximum",
    "ProgrammeRequest.recharge_offers[].threshold minimum",
    "ProgrammeRequest.recharge_offers[].bonus minimum",
    "ProgrammeRequest.levels[].min_principal minimum",
    "HistoryEntry.kind enum",
    "History.entries[].kind enum",
    // Reserved (at most 0) until coupons were; at most 5 per order since.
    "CheckoutRequest.coupon_codes maxItems",
];

/// Each (field path, keyword) → the values a schema constrains it to
/// (several when `oneOf` branches differ).
fn constraints(
    doc: &Value,
    schema: &Value,
    at: &str,
    depth: usize,
    out: &mut std::collections::BTreeMap<String, BTreeSet<String>>,
) {
    if depth > 12 {
        return;
    }
    let s = resolve(doc, schema);
    for k in CONSTRAINTS {
        if let Some(v) = s.get(k) {
            out.entry(format!("{at} {k}"))
                .or_default()
                .insert(v.to_string());
        }
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        for sub in s.get(k).and_then(Value::as_array).into_iter().flatten() {
            constraints(doc, sub, at, depth + 1, out);
        }
    }
    if let Some(items) = s.get("items") {
        constraints(doc, items, &format!("{at}[]"), depth + 1, out);
    }
    for (name, sub) in s
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        constraints(doc, sub, &format!("{at}.{name}"), depth + 1, out);
    }
}

/// Every field keeps the constraints it had, and gains none (a new
/// constraint could refuse what a client sends today).
#[test]
fn every_field_keeps_its_constraints() {
    let (old, new) = (handkept(), schema::doc());
    let mut differ = Vec::new();
    for (name, s) in old["components"]["schemas"].as_object().expect("schemas") {
        let now_name = SAME_AS
            .iter()
            .find(|(a, _)| a == name)
            .map_or(name.as_str(), |(_, b)| b);
        let (mut was, mut is) = Default::default();
        constraints(&old, s, name, 0, &mut was);
        constraints(
            &new,
            &new["components"]["schemas"][now_name],
            name,
            0,
            &mut is,
        );
        let keys: BTreeSet<&String> = was.keys().chain(is.keys()).collect();
        for key in keys {
            let field = key.rsplit_once(' ').map_or("", |k| k.0);
            // A field the old document did not have may bring its own.
            if !was.keys().any(|k| k.starts_with(&format!("{field} ")))
                && is.contains_key(key)
                && !fields_of(&old, s).contains(field.split_once('.').map_or("", |f| f.1))
            {
                continue;
            }
            if was.get(key) != is.get(key) && !WIDER.contains(&key.as_str()) {
                differ.push(format!(
                    "{key}: was {:?}, now {:?}",
                    was.get(key),
                    is.get(key)
                ));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "constraints changed:\n{}",
        differ.join("\n")
    );
}

#[test]
fn money_and_decimals_are_strings_with_the_hand_kept_patterns() {
    let (old, new) = (handkept(), schema::doc());
    for name in ["Money", "Decimal", "MemberId", "OrderId", "NodeName"] {
        let s = &new["components"]["schemas"][name];
        assert_eq!(s["type"], "string", "{name}");
        assert_eq!(
            s["pattern"], old["components"]["schemas"][name]["pattern"],
            "{name}"
        );
    }
    // An answer's money field refers to it.
    let order = &new["components"]["schemas"]["Order"]["properties"];
    assert_eq!(order["payable"]["$ref"], "#/components/schemas/Money");
}

#[test]
fn every_summary_and_description_is_kept() {
    let (old, new) = (handkept(), schema::doc());
    assert_eq!(old["info"]["description"], new["info"]["description"]);
    for (m, p) in schema::operations(&old) {
        let (a, b) = (
            schema::operation(&old, &m, &p),
            schema::operation(&new, &m, &p),
        );
        assert_eq!(a["summary"], b["summary"], "{m} {p}");
        assert_eq!(a["operationId"], b["operationId"], "{m} {p}");
        if a.get("description").is_some() {
            assert_eq!(a["description"], b["description"], "{m} {p}");
        }
    }
}

/// A change that takes something out of a document.
type Cut = fn(&mut Value);

/// The comparison does find what a document loses: a field, a code, a
/// status, a parameter and a whole operation taken out are each reported.
#[test]
fn the_comparison_reports_what_is_taken_out() {
    let old = handkept();
    let cases: [(&str, Cut); 5] = [
        ("schema Member: field phone", |d| {
            d["components"]["schemas"]["Member"]["properties"]
                .as_object_mut()
                .expect("properties")
                .remove("phone");
        }),
        (
            "POST /api/v1/checkouts: 409 code insufficient_balance",
            |d| {
                let r = &mut d["paths"]["/api/v1/checkouts"]["post"]["responses"]["409"];
                let e = r
                .pointer_mut("/content/application~1json/schema/allOf/1/properties/error/properties/code/enum")
                .and_then(Value::as_array_mut)
                .expect("enum");
                e.retain(|c| c != "insufficient_balance");
            },
        ),
        ("GET /api/v1/members/{id}: status 404", |d| {
            d["paths"]["/api/v1/members/{id}"]["get"]["responses"]
                .as_object_mut()
                .expect("responses")
                .remove("404");
        }),
        (
            "GET /api/v1/members: parameter (\"phone\", \"query\")",
            |d| {
                d["paths"]["/api/v1/members"]["get"]["parameters"]
                    .as_array_mut()
                    .expect("parameters")
                    .retain(|p| p["name"] != "phone");
            },
        ),
        ("GET /api/v1/ledger/summary: operation", |d| {
            d["paths"]
                .as_object_mut()
                .expect("paths")
                .remove("/api/v1/ledger/summary");
        }),
    ];
    assert!(shrunk(&old, &old).is_empty());
    for (expected, cut) in cases {
        let mut new = old.clone();
        cut(&mut new);
        let lost = shrunk(&old, &new);
        assert!(
            lost.iter().any(|l| l == expected),
            "{expected:?} not reported: {lost:?}"
        );
    }
}

/// The code catalogue holds no code that no operation answers, and each
/// code is answered under the catalogue's status only.
#[test]
fn every_catalogued_code_is_answered_somewhere() {
    let doc = schema::doc();
    let mut answered = BTreeSet::new();
    for (m, p) in schema::operations(&doc) {
        let op = schema::operation(&doc, &m, &p);
        for (status, r) in op["responses"].as_object().expect("responses") {
            for c in codes(&doc, r) {
                answered.insert((status.parse::<u16>().expect("status"), c));
            }
        }
    }
    let catalogue: BTreeSet<(u16, String)> = tongka_api::openapi::CODES
        .iter()
        .map(|(s, c, _)| (*s, c.to_string()))
        .collect();
    assert_eq!(catalogue, answered);
}

/// A field an answer always carried (maybe as `null`) is still documented
/// as always there. The one exception: an order line's `refunded_qty`,
/// which a quoted line (the same Rust type) leaves out.
#[test]
fn answers_keep_their_required_fields() {
    let (old, new) = (handkept(), schema::doc());
    let mut lost = Vec::new();
    for (name, s) in old["components"]["schemas"].as_object().expect("schemas") {
        let now_name = SAME_AS
            .iter()
            .find(|(a, _)| a == name)
            .map_or(name.as_str(), |(_, b)| b);
        let now = &new["components"]["schemas"][now_name];
        for r in s["required"].as_array().into_iter().flatten() {
            let r = r.as_str().expect("name");
            let kept = now["required"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == r));
            let exempt = now_name == "OrderLine" && r == "refunded_qty";
            if !(kept || exempt) {
                lost.push(format!("{name}.{r}"));
            }
        }
    }
    assert!(lost.is_empty(), "no longer required: {lost:?}");
}
