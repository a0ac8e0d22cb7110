//! The served OpenAPI document, and a small JSON Schema checker for the
//! subset the document uses ($ref, type, properties, required,
//! additionalProperties, items, enum, allOf/anyOf/oneOf, pattern, lengths,
//! item counts, numeric bounds), so the tests can hold every answer against
//! what the document says about it.

use std::collections::BTreeSet;

use serde_json::Value;

/// The document as the node serves it (derived by utoipa).
pub fn doc() -> Value {
    serde_json::from_str(tongka_api::openapi::json()).expect("the document is JSON")
}

/// The HTTP methods an OpenAPI path item may hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every (METHOD, path) the document describes.
pub fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The operation object for `method` on the path template `path`.
pub fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &doc["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

/// Follow a local `$ref` (`#/components/...`).
pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let ptr = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local refs: {r}"));
        s = doc
            .pointer(ptr)
            .unwrap_or_else(|| panic!("dangling $ref {r}"));
    }
    s
}

/// The schema of the answer `status` to `method path` (as `content_type`),
/// or None when the document gives that answer no body.
pub fn response_schema<'a>(
    doc: &'a Value,
    method: &str,
    path: &str,
    status: u16,
    content_type: &str,
) -> Option<&'a Value> {
    let op = operation(doc, method, path);
    let resp = op["responses"]
        .get(status.to_string())
        .unwrap_or_else(|| panic!("{method} {path}: status {status} is not documented"));
    let resp = resolve(doc, resp);
    resp.get("content")?.get(content_type)?.get("schema")
}

/// The machine codes the document lists for `status` of `method path`.
pub fn documented_codes(doc: &Value, method: &str, path: &str, status: u16) -> Vec<String> {
    let Some(schema) = response_schema(doc, method, path, status, "application/json") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        if let Some(codes) = part
            .pointer("/properties/error/properties/code/enum")
            .and_then(Value::as_array)
        {
            out.extend(codes.iter().filter_map(Value::as_str).map(str::to_string));
        }
    }
    out
}

pub fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Check an answer against the document: the status is documented for the
/// operation, the content type is the documented one, the body matches the
/// schema (strictly: no undocumented member), and an error's machine code is
/// one the document lists for that status.
pub fn conforms(doc: &Value, method: &str, template: &str, a: &super::Answer) {
    let status = a.status.as_u16();
    let ct = media_type(a.content_type()).to_string();
    let what = format!(
        "{method} {template} → {status} {}",
        String::from_utf8_lossy(&a.body)
    );
    let op = operation(doc, method, template);
    let resp = resolve(doc, &op["responses"][status.to_string()]);
    assert!(resp.is_object(), "status not documented: {what}");
    let Some(content) = resp.get("content").and_then(Value::as_object) else {
        return;
    };
    assert!(
        content.contains_key(&ct),
        "content type {ct:?} not documented: {what}"
    );
    let s = response_schema(doc, method, template, status, &ct).expect("a schema");
    if ct == "application/json" {
        let body: Value = serde_json::from_slice(&a.body).unwrap_or_else(|e| panic!("{e}: {what}"));
        let errors = check(doc, s, &body, true);
        assert!(errors.is_empty(), "{errors:#?}\n{what}");
        if status >= 400 {
            let code = body["error"]["code"].as_str().expect("error.code");
            let codes = documented_codes(doc, method, template, status);
            assert!(
                codes.iter().any(|c| c == code),
                "code {code} not documented for {status}: {what}"
            );
        }
    } else {
        assert!(std::str::from_utf8(&a.body).is_ok(), "{what}");
    }
}

/// Check `value` against `schema`; `strict` also refuses object members that
/// an object schema (one with `"type": "object"` and `properties`) does not
/// declare, so an answer cannot carry an undocumented field. Returns every
/// mismatch, with the JSON path where it is.
pub fn check(doc: &Value, schema: &Value, value: &Value, strict: bool) -> Vec<String> {
    let mut errors = Vec::new();
    walk(doc, schema, value, strict, "$", &mut errors);
    errors
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        other => panic!("unknown type {other}"),
    }
}

/// A JSON number as an exact decimal (no floating point, as in the API).
fn number(v: &Value) -> Option<rust_decimal::Decimal> {
    let text = v.as_number()?.to_string();
    text.parse()
        .ok()
        .or_else(|| rust_decimal::Decimal::from_scientific(&text).ok())
}

fn walk(doc: &Value, schema: &Value, v: &Value, strict: bool, at: &str, errors: &mut Vec<String>) {
    let s = resolve(doc, schema);
    if s == &Value::Bool(true) {
        return;
    }
    if s == &Value::Bool(false) {
        errors.push(format!("{at}: not allowed"));
        return;
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts
                .iter()
                .any(|t| type_ok(t.as_str().expect("type name"), v)),
            _ => panic!("bad type {t}"),
        };
        if !ok {
            errors.push(format!("{at}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errors.push(format!(
            "{at}: {v} is not one of {}",
            Value::Array(e.clone())
        ));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        errors.push(format!("{at}: {v} is not {c}"));
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for sub in all {
            walk(doc, sub, v, strict, at, errors);
        }
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(|sub| check(doc, sub, v, strict).is_empty())
    {
        errors.push(format!("{at}: {v} matches none of anyOf"));
    }
    if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
        let n = one
            .iter()
            .filter(|sub| check(doc, sub, v, strict).is_empty())
            .count();
        if n != 1 {
            let why: Vec<String> = one
                .iter()
                .flat_map(|sub| check(doc, sub, v, strict))
                .collect();
            errors.push(format!("{at}: {v} matches {n} of oneOf ({why:?})"));
        }
    }
    match v {
        Value::String(text) => {
            let chars = text.chars().count() as u64;
            if let Some(n) = s.get("minLength").and_then(Value::as_u64)
                && chars < n
            {
                errors.push(format!("{at}: {text:?} shorter than {n}"));
            }
            if let Some(n) = s.get("maxLength").and_then(Value::as_u64)
                && chars > n
            {
                errors.push(format!("{at}: {text:?} longer than {n}"));
            }
            if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                let re = regex::Regex::new(p).unwrap_or_else(|e| panic!("pattern {p}: {e}"));
                if !re.is_match(text) {
                    errors.push(format!("{at}: {text:?} does not match {p}"));
                }
            }
        }
        Value::Number(_) => {
            let Some(x) = number(v) else {
                errors.push(format!("{at}: {v} is out of the decimal range"));
                return;
            };
            if let Some(m) = s.get("minimum").and_then(number)
                && x < m
            {
                errors.push(format!("{at}: {v} below {m}"));
            }
            if let Some(m) = s.get("exclusiveMinimum").and_then(number)
                && x <= m
            {
                errors.push(format!("{at}: {v} not above {m}"));
            }
            if let Some(m) = s.get("maximum").and_then(number)
                && x > m
            {
                errors.push(format!("{at}: {v} above {m}"));
            }
        }
        Value::Array(items) => {
            if let Some(n) = s.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < n
            {
                errors.push(format!("{at}: fewer than {n} items"));
            }
            if let Some(n) = s.get("maxItems").and_then(Value::as_u64)
                && (items.len() as u64) > n
            {
                errors.push(format!("{at}: more than {n} items"));
            }
            if let Some(item) = s.get("items") {
                for (i, x) in items.iter().enumerate() {
                    walk(doc, item, x, strict, &format!("{at}[{i}]"), errors);
                }
            }
        }
        Value::Object(map) => {
            let props = s.get("properties").and_then(Value::as_object);
            if let Some(req) = s.get("required").and_then(Value::as_array) {
                for r in req.iter().filter_map(Value::as_str) {
                    if !map.contains_key(r) {
                        errors.push(format!("{at}: required member {r:?} is missing"));
                    }
                }
            }
            if let Some(n) = s.get("minProperties").and_then(Value::as_u64)
                && (map.len() as u64) < n
            {
                errors.push(format!("{at}: fewer than {n} members"));
            }
            let closed_by_strictness =
                strict && s.get("type") == Some(&Value::from("object")) && props.is_some();
            for (k, x) in map {
                let here = format!("{at}.{k}");
                if let Some(p) = props.and_then(|p| p.get(k)) {
                    walk(doc, p, x, strict, &here, errors);
                } else {
                    match s.get("additionalProperties") {
                        Some(extra) => walk(doc, extra, x, strict, &here, errors),
                        None if closed_by_strictness => {
                            errors.push(format!("{here}: not documented"));
                        }
                        None => {}
                    }
                }
            }
        }
        _ => {}
    }
}
