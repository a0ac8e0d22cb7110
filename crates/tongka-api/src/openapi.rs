//! The OpenAPI 3.1 document served at `GET /api/v1/openapi.json`, derived
//! with utoipa: the schemas from the request and answer types
//! (`#[derive(ToSchema)]` in `dto.rs`, `render.rs` and the resource
//! modules), the operations from `#[utoipa::path]` on each handler, with
//! the refusal codes each handler answers (its `x-codes` extension), whose
//! statuses and meanings come from the one code catalogue [`CODES`]. It is
//! built once, on first use, and served from memory.
//!
//! What utoipa does not express is added here as JSON, in one place:
//! the wire shapes of values whose Rust types live in `tongka-core` (which
//! knows nothing of OpenAPI: `Money`, ids, tender kinds) or are parsed by
//! hand (`AmountInput`, `QtyInput`, the three forms of an order line); the
//! `Idempotency-Key` header as a shared parameter; and, per refusal
//! status, the error schema narrowed to the codes the operation answers.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{OpenApi, PartialSchema, ToSchema};

/// A schema given as JSON, for a type whose Rust definition cannot carry
/// the derive (it lives in the core) or whose wire shape is parsed by hand.
macro_rules! json_schema {
    ($name:ident, $json:literal) => {
        json_schema!($name as stringify!($name), $json);
    };
    ($name:ident as $as:expr, $json:literal) => {
        #[doc = concat!("The `", stringify!($name), "` schema (wire shape given as JSON).")]
        pub(crate) struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                serde_json::from_str($json).expect("a schema given as JSON parses")
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($as)
            }
        }
    };
}

json_schema!(
    Money,
    r##"{"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$", "examples": ["95.00"], "description": "An amount in yuan as a decimal string with exactly two places (金额，两位小数)."}"##
);
json_schema!(
    Decimal,
    r##"{"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$", "examples": ["1", "0.95", "1.5"], "description": "An exact decimal as a string (quantities, rates)."}"##
);
json_schema!(
    SignedMoney,
    r##"{"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$", "examples": ["-55.50"], "description": "A signed amount in yuan, two places (a change of value at cost; 带符号金额)."}"##
);
json_schema!(
    SignedDecimal,
    r##"{"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "examples": ["-2", "8"], "description": "A signed exact decimal as a string (a change of on hand, on hand below zero, a variance)."}"##
);
json_schema!(
    AmountInput,
    r##"{"description": "An amount given by a client: a decimal string (`\"95.00\"`, `\"95\"`, `\"95.5\"`) or a JSON number written the same way (`95`, `95.5`). At most two decimal places (trailing zeros beyond are allowed: `\"1.000\"` is 1.00), no exponent, not negative, at most 10000000.00. The exact text is parsed; it never passes through floating point.", "oneOf": [{"type": "string", "pattern": "^\\s*\\+?[0-9]*\\.?[0-9]*\\s*$", "examples": ["95.00"]}, {"type": "number", "minimum": 0, "maximum": 10000000}]}"##
);
json_schema!(
    QtyInput,
    r##"{"description": "A quantity: a positive decimal string (`\"2\"`, `\"0.5\"`) or JSON number (`2`), at most 3 decimal places, at most 100000. Only digits and `.`.", "oneOf": [{"type": "string", "pattern": "^\\s*[0-9]*\\.?[0-9]*\\s*$", "examples": ["1", "0.25"]}, {"type": "number", "exclusiveMinimum": 0, "maximum": 100000}]}"##
);
json_schema!(
    MemberId,
    r##"{"type": "string", "pattern": "^m-[a-z][a-z0-9-]{0,31}-[0-9]{1,20}$", "maxLength": 64, "examples": ["m-store-1-1"]}"##
);
json_schema!(
    OrderId,
    r##"{"type": "string", "pattern": "^o-[a-z][a-z0-9-]{0,31}-[0-9]{1,20}$", "maxLength": 64, "examples": ["o-store-1-3"]}"##
);
json_schema!(
    RechargeId,
    r##"{"type": "string", "pattern": "^r-[a-z][a-z0-9-]{0,31}-[0-9]{1,20}$", "examples": ["r-store-1-2"]}"##
);
json_schema!(
    RefundId,
    r##"{"type": "string", "pattern": "^f-[a-z][a-z0-9-]{0,31}-[0-9]{1,20}$", "examples": ["f-store-1-4"]}"##
);
json_schema!(
    CouponCode,
    r##"{"type": "string", "pattern": "^c-[a-z][a-z0-9-]{0,31}-[0-9]{1,20}$", "maxLength": 64, "examples": ["c-store-1-46"], "description": "A coupon's code, `c-<node>-<n>` (券码)."}"##
);
json_schema!(
    CouponStatus,
    r##"{"type": "string", "enum": ["usable", "not_yet_valid", "used", "expired"], "description": "As of today (China time): usable 可用; not_yet_valid 未到生效日; used 已用完; expired 已过期."}"##
);
json_schema!(
    CardCode,
    r##"{"type": "string", "pattern": "^k-[a-z][a-z0-9-]{0,31}-[0-9]{1,20}$", "maxLength": 64, "examples": ["k-store-1-3"], "description": "A card's code, `k-<store>-<n>` (卡号), minted by the store that sold it."}"##
);
json_schema!(
    CardKind,
    r##"{"type": "string", "enum": ["count", "period"], "description": "count 记次卡 (a number of visits); period 周期卡 (any visits for a number of days, maybe capped a day)."}"##
);
json_schema!(
    CardStatus,
    r##"{"type": "string", "enum": ["usable", "not_yet_valid", "used_up", "expired", "refunded"], "description": "As of today (China time): usable 可用; not_yet_valid 未到生效日; used_up 次数已用完 (a count card); expired 已过期; refunded 已退卡."}"##
);
json_schema!(
    NodeName,
    r##"{"type": "string", "pattern": "^[a-z][a-z0-9-]{0,31}$", "examples": ["store-1"], "description": "A node's name, as in its certificate."}"##
);
json_schema!(
    Gender,
    r##"{"type": "string", "enum": ["female", "male", "other"]}"##
);
json_schema!(
    TenderKind,
    r##"{"type": "string", "enum": ["balance", "cash", "card", "wechat", "alipay"], "description": "balance = the member's stored value (储值余额); cash 现金; card 银行卡; wechat 微信支付; alipay 支付宝."}"##
);
json_schema!(
    SkuLine,
    r##"{"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"$ref": "#/components/schemas/QtyInput"}}, "required": ["sku"], "additionalProperties": false, "description": "A catalogue product by sku."}"##
);
json_schema!(
    BarcodeLine,
    r##"{"type": "object", "properties": {"barcode": {"type": "string"}, "qty": {"$ref": "#/components/schemas/QtyInput"}}, "required": ["barcode"], "additionalProperties": false, "description": "A catalogue product by barcode."}"##
);
json_schema!(
    FreeLine,
    r##"{"type": "object", "properties": {"description": {"type": "string", "minLength": 1, "maxLength": 80}, "unit_price": {"$ref": "#/components/schemas/AmountInput", "description": "Zero or more."}, "qty": {"$ref": "#/components/schemas/QtyInput"}}, "required": ["description", "unit_price"], "additionalProperties": false, "description": "A line typed by the cashier."}"##
);
json_schema!(
    LineRequest,
    r##"{"oneOf": [{"$ref": "#/components/schemas/SkuLine"}, {"$ref": "#/components/schemas/BarcodeLine"}, {"$ref": "#/components/schemas/FreeLine"}], "description": "One of three forms; `qty` defaults to 1. (A field set to `null` counts as absent.)"}"##
);
json_schema!(
    HistoryKind,
    r##"{"type": "string", "enum": ["registered", "profile_updated", "recharged", "checked_out", "refunded", "shares_transferred", "members_merged", "merge_moved", "programme_changed", "catalogue_changed", "coupon_issued", "uses_transferred", "card_visited"], "description": "coupon_issued: ref is the coupon's code; uses_transferred: a coupon's uses moved to another store, ref is that store; card_visited: visits verified on a card (核销), ref is the card's code."}"##
);
json_schema!(
    AuditKind,
    r##"{"type": "string", "enum": ["member_registered", "profile_updated", "recharged", "checked_out", "refunded", "shares_transferred", "members_merged", "merge_moved", "programme_changed", "catalogue_changed", "coupon_issued", "uses_transferred", "card_visited", "staff_changed", "member_imported", "stock_in", "stock_return", "transfer_shipped", "transfer_received", "stocktake", "stock_minimums", "shift_closed", "day_closed", "withdrawal_requested", "withdrawal_approved", "withdrawal_rejected"], "description": "What an op of the audit trail did (`tongka_core::audit::KINDS`): member_registered 注册会员; profile_updated 修改资料; recharged 充值; checked_out 销售; refunded 退款; shares_transferred 份额转给他店; members_merged 合并会员; merge_moved 合并后份额转移; programme_changed 会员方案修改; catalogue_changed 商品目录修改; coupon_issued 发券; uses_transferred 券次数转给他店; card_visited 核销次卡/期卡; staff_changed 员工账号新建或修改; member_imported 导入会员; stock_in 入库; stock_return 退货给供应商; transfer_shipped 调拨出库; transfer_received 调拨入库; stocktake 盘点; stock_minimums 设置库存下限; shift_closed 交班; day_closed 日结; withdrawal_requested 申请提现; withdrawal_approved 批准提现; withdrawal_rejected 驳回提现."}"##
);
json_schema!(
    WholeInput,
    r##"{"type": ["integer", "string"], "description": "A whole number, as a JSON integer or a string of digits."}"##
);
json_schema!(
    Tag,
    r##"{"type": "string", "minLength": 1, "maxLength": 20}"##
);
json_schema!(
    RechargeTender,
    r##"{"type": "string", "enum": ["cash", "card", "wechat", "alipay"], "description": "How a recharge is paid: not from the balance."}"##
);
json_schema!(
    OrderStatus,
    r##"{"type": "string", "enum": ["paid", "partially_refunded", "refunded"]}"##
);
json_schema!(ErrorBody as "Error", r##"{"type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"type": "string", "description": "Stable snake_case machine code."}, "message": {"type": "string", "description": "English."}, "message_zh": {"type": "string", "description": "简体中文."}, "field": {"type": "string", "description": "The request field at fault, as a JSON path (`lines[0].qty`)."}, "line": {"type": "string", "description": "The order line at fault: 1-based in checkout refusals, the 0-based index in refund refusals."}, "wanted": {"type": "string"}, "available_here": {"type": "string", "description": "Balance usable at this store (insufficient_balance)."}, "tendered": {"type": "string"}, "payable": {"type": "string"}, "remaining": {"type": "string"}, "owner": {"type": "string", "description": "The store that owns the order (refund_wrong_store)."}, "char_class": {"type": "string", "enum": ["control", "invisible", "direction", "separator", "private_use"], "description": "The class of a refused character in free text (the character itself is never echoed)."}, "code_point": {"type": "string", "description": "The refused character's code point, `U+001B`."}, "rejected": {"type": "array", "items": {"type": "object", "properties": {"line": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"}, "message_zh": {"type": "string"}}, "required": ["line", "code", "message", "message_zh"]}, "description": "An import's rejected rows (import_rejected)."}}, "required": ["code", "message", "message_zh"], "description": "Details besides code and messages are strings, except `rejected`.", "additionalProperties": {"type": "string"}}}, "required": ["error"], "description": "Every error answer: `{\"error\": {\"code\", \"message\", \"message_zh\", ...details}}`."}"##);

mod codes;
pub use codes::CODES;

/// Where an operation's meaning of a code is narrower than the catalogue's.
const NOTES: &[(&str, &str, &str)] = &[
    (
        "mergeMembers",
        "member_not_found",
        "No member with this id (the path's or `absorb`; also for an id of the wrong shape).",
    ),
    (
        "quoteCheckout",
        "insufficient_balance",
        "The balance usable at this store is not enough (a sale would ask the other stores first). Details: `wanted`, `available_here`.",
    ),
    (
        "issueCouponBatch",
        "invalid_idempotency_key",
        "`Idempotency-Key` must be 1 to 72 visible ASCII characters here: each member's coupon is issued under `<key>/<member id>`, itself a key of at most 128.",
    ),
    (
        "quoteCheckout",
        "coupon_unavailable_here",
        "The coupon's uses are held by other stores (a sale would ask them for one first). Details: `coupon`, `held_at`.",
    ),
    (
        "quoteCheckout",
        "insufficient_points",
        "The member's points usable at this store are not enough (a sale would ask the other stores first). Details: `wanted`, `available_here`.",
    ),
];

/// Operations that need an `Idempotency-Key` header, and those where it is
/// optional.
const KEY_REQUIRED: &[&str] = &[
    "recharge",
    "checkout",
    "refund",
    "mergeMembers",
    "issueCoupon",
    "issueCouponBatch",
    "visitCard",
    "stockIn",
    "stockReturn",
    "shipTransfer",
    "receiveTransfer",
    "stocktake",
    "createClose",
];
const KEY_OPTIONAL: &[&str] = &[
    "registerMember",
    "putProgramme",
    "createStaff",
    "putStockMinimums",
];
/// Operations open without a token.
const OPEN: &[&str] = &[
    "health",
    "openapi",
    "console",
    "consoleScript",
    "consoleStyle",
    "consoleFile",
    "setup",
    "signIn",
];

/// The refusals of sign-in every operation behind it may answer (besides
/// `unauthorized`, which each lists).
const SIGNED_IN: &[&str] = &[
    "session_expired",
    "account_disabled",
    "not_at_this_store",
    "forbidden_for_role",
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tongka 通卡 HTTP API v1",
        // version: the crate's (utoipa takes CARGO_PKG_VERSION).
        description = include_str!("openapi-intro.md"),
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/", description = "This node")),
    security(("bearer" = [])),
    tags(
        (name = "node", description = "Node status, replication and ledger / 节点、同步与账本"),
        (name = "members", description = "Members / 会员"),
        (name = "wallets", description = "Stored value / 储值"),
        (name = "orders", description = "Checkout, orders and refunds / 收银、订单与退款"),
        (name = "programme", description = "Membership programme / 会员方案"),
        (name = "products", description = "Catalogue / 商品"),
        (name = "coupons", description = "Coupons held by members / 会员券"),
        (name = "cards", description = "Count and period cards held by members / 次卡与期卡"),
        (name = "staff", description = "Staff accounts, sign-in and sessions / 员工与登录"),
        (name = "stock", description = "Stock per store, transfers and stocktakes / 库存、调拨与盘点"),
        (name = "closes", description = "Shift and day closes / 交班与日结"),
        (name = "audit", description = "Audit trail / 审计日志"),
        (name = "reports", description = "Reports from the figures each op keeps / 报表"),
        (name = "console", description = "Web console static files / 网页控制台"),
    ),
    paths(
        crate::health::health,
        crate::health::openapi,
        crate::members::register,
        crate::members::find_members,
        crate::members::get_member,
        crate::members::patch_member,
        crate::recharges::recharge,
        crate::members::get_wallet,
        crate::members::get_history,
        crate::members::merge_members,
        crate::checkouts::checkout,
        crate::checkouts::quote,
        crate::orders::get_order,
        crate::orders::refund,
        crate::orders::get_receipt,
        crate::programme::get_programme,
        crate::programme::put_programme,
        crate::products::list_products,
        crate::products::get_product,
        crate::products::put_product,
        crate::products::import_products,
        crate::categories::list_categories,
        crate::categories::get_category,
        crate::categories::put_category,
        crate::sync::sync_status,
        crate::ledger::ledger_summary,
        crate::consistency::consistency,
        crate::audit::audit,
        crate::ops_export::export,
        crate::reports::sales,
        crate::reports::liability,
        crate::reports::points,
        crate::reports::members,
        crate::reports::rankings,
        crate::dashboard::dashboard,
        crate::settlement::settlement,
        crate::settlement::request,
        crate::settlement::approve,
        crate::settlement::reject,
        crate::settlement::list,
        crate::reports::more::coupons,
        crate::reports::more::cards,
        crate::metrics::scrape,
        crate::console::page,
        crate::console::script,
        crate::console::style,
        crate::console::file,
        crate::members::get_duplicates,
        crate::member_codes::get_code,
        crate::member_codes::verify,
        crate::coupons::issue,
        crate::coupons::list,
        crate::coupons::issue_batch,
        crate::cards::list,
        crate::cards::visit,
        crate::sessions::setup,
        crate::sessions::sign_in,
        crate::sessions::current,
        crate::sessions::sign_out,
        crate::sessions::first_admin,
        crate::staff::list,
        crate::staff::create,
        crate::staff::get_one,
        crate::staff::patch,
        crate::stock::stock_in,
        crate::stock_import::import_stock,
        crate::stock::stock_return,
        crate::stock::ship,
        crate::stock::receive,
        crate::stock::stocktake,
        crate::stock::minimums,
        crate::stock_read::list,
        crate::stock_read::low,
        crate::stock_read::transfers,
        crate::stock_read::one_transfer,
        crate::stock_read::movements,
        crate::stock_read::below_zero,
        crate::stock_read::value,
        crate::closes::preview,
        crate::closes::create,
        crate::closes::list,
        crate::closes::get_one,
        crate::closes::receipt,
        crate::member_import::import_members,
    ),
    components(schemas(ErrorBody, LineRequest, SkuLine, BarcodeLine, FreeLine, AmountInput, QtyInput))
)]
struct ApiDoc;

/// The document, built on first use and kept.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| document().to_string());

/// The document as served.
pub fn json() -> &'static str {
    &DOCUMENT
}

/// The document as a JSON value: what utoipa derives, plus what it cannot
/// say (see the module doc).
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    doc["openapi"] = json!("3.1.0");
    doc["info"]["summary"] =
        json!("Membership, stored value and checkout for chain stores / 连锁门店会员储值与收银");
    let components = doc["components"].as_object_mut().expect("components");
    components.insert(
        "securitySchemes".into(),
        json!({"bearer": {"type": "http", "scheme": "bearer",
            "description": "The node's admin token (`<data-dir>/admin.token`): `Authorization: Bearer <token>`. Missing or wrong: `401 unauthorized`."}}),
    );
    let key =
        json!({"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[\\x21-\\x7e]+$"});
    components.insert(
        "parameters".into(),
        json!({
            "IdempotencyKeyRequired": {"name": "Idempotency-Key", "in": "header", "required": true,
                "description": "1 to 128 visible ASCII characters, unique per intended operation. The same key with the same method, path and body returns the first answer; with anything else, `409 idempotency_key_reused`. A request refused with 4xx leaves the key unused.",
                "schema": key, "example": "till-3-2024-05-01-0042"},
            "IdempotencyKeyOptional": {"name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Optional here; as for the other keyed requests when given.", "schema": key},
        }),
    );
    components.insert(
        "headers".into(),
        json!({
            "IdempotentReplayed": {"description": "`true` when this answer is the stored first answer to the same idempotency key.",
                "schema": {"type": "string", "enum": ["true"]}},
            "RetryAfter": {"description": "Seconds to wait before retrying; sent with `overloaded` only (`storage_unavailable` has none: retrying does not help, a restart does).", "schema": {"type": "integer"}},
        }),
    );
    // utoipa-gen 5.5 writes `min_properties` as `maxProperties`, so the
    // one object that needs it (a patch changes at least one field) gets
    // it here.
    doc["components"]["schemas"]["PatchRequest"]["minProperties"] = json!(1);
    let paths = doc["paths"].as_object_mut().expect("paths");
    for item in paths.values_mut() {
        for op in item.as_object_mut().expect("path item").values_mut() {
            complete(op.as_object_mut().expect("operation"));
        }
    }
    doc
}

/// Add to one operation what its `#[utoipa::path]` does not say: security
/// for the open ones, the idempotency header, and its refusals.
fn complete(op: &mut Map<String, Value>) {
    let id = op["operationId"].as_str().expect("operationId").to_string();
    let id = id.as_str();
    if OPEN.contains(&id) {
        op.insert("security".into(), json!([]));
    }
    let keyed = if KEY_REQUIRED.contains(&id) {
        Some("IdempotencyKeyRequired")
    } else if KEY_OPTIONAL.contains(&id) {
        Some("IdempotencyKeyOptional")
    } else {
        None
    };
    // The codes the handler's `#[utoipa::path]` lists (its `x-codes`
    // extension) become its refusal answers, grouped by status.
    let mut codes = match op.remove("x-codes") {
        Some(Value::Array(codes)) => codes,
        _ => Vec::new(),
    };
    if !OPEN.contains(&id) {
        for c in SIGNED_IN {
            if !codes.iter().any(|x| x == c) {
                codes.push(json!(c));
            }
        }
    }
    let mut by_status: Vec<(u16, Vec<(&str, &str)>)> = Vec::new();
    for code in &codes {
        let code = code.as_str().expect("a code is a string");
        let &(status, code, meaning) = CODES
            .iter()
            .find(|(_, c, _)| *c == code)
            .unwrap_or_else(|| panic!("{id}: code {code} is not in CODES"));
        let meaning = NOTES
            .iter()
            .find(|(o, c, _)| *o == id && *c == code)
            .map_or(meaning, |n| n.2);
        match by_status.iter_mut().find(|(s, _)| *s == status) {
            Some((_, list)) => list.push((code, meaning)),
            None => by_status.push((status, vec![(code, meaning)])),
        }
    }
    let responses = op["responses"].as_object_mut().expect("responses");
    if keyed.is_some() {
        for (status, r) in responses.iter_mut() {
            if status.starts_with('2') {
                r["headers"] = json!({"Idempotent-Replayed": {"$ref": "#/components/headers/IdempotentReplayed"}});
            }
        }
    }
    for (status, list) in by_status {
        responses.insert(status.to_string(), refusal(status, &list));
    }
    if let Some(k) = keyed {
        let params = op.entry("parameters").or_insert_with(|| json!([]));
        params
            .as_array_mut()
            .expect("parameters")
            .push(json!({"$ref": format!("#/components/parameters/{k}")}));
    }
}

/// One refusal status of an operation: the error schema, its code narrowed
/// to `codes`, each code explained in the description.
fn refusal(status: u16, codes: &[(&str, &str)]) -> Value {
    let head = match status {
        400 => "Bad request.",
        401 => "Unauthorized.",
        403 => "Refused: this node's role does not author or sell this.",
        404 => "Not found.",
        409 => "Conflict.",
        413 => "Refused: the body is larger than 262144 bytes (256 KiB).",
        422 => "Refused (unprocessable); nothing changed.",
        500 => "Internal error.",
        503 => "Unavailable.",
        _ => "Refused.",
    };
    let mut description = format!("{head} Machine codes:");
    for (code, meaning) in codes {
        description.push_str(&format!("\n- `{code}`: {meaning}"));
    }
    let names: Vec<&str> = codes.iter().map(|c| c.0).collect();
    let mut r = json!({
        "description": description,
        "content": {"application/json": {"schema": {"allOf": [
            {"$ref": "#/components/schemas/Error"},
            {"properties": {"error": {"properties": {"code": {"enum": names}}}}},
        ]}}},
    });
    // Documented on every 503 (the v1 contract lists it there); a header
    // of a response is optional, and only `overloaded` sends it.
    if status == 503 {
        r["headers"] = json!({"Retry-After": {"$ref": "#/components/headers/RetryAfter"}});
    }
    r
}
