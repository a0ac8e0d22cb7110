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
    r##"{"type": "string", "enum": ["member_registered", "profile_updated", "recharged", "checked_out", "refunded", "shares_transferred", "members_merged", "merge_moved", "programme_changed", "catalogue_changed", "coupon_issued", "uses_transferred", "card_visited", "staff_changed"], "description": "What an op of the audit trail did (`tongka_core::audit::KINDS`): member_registered 注册会员; profile_updated 修改资料; recharged 充值; checked_out 销售; refunded 退款; shares_transferred 份额转给他店; members_merged 合并会员; merge_moved 合并后份额转移; programme_changed 会员方案修改; catalogue_changed 商品目录修改; coupon_issued 发券; uses_transferred 券次数转给他店; card_visited 核销次卡/期卡; staff_changed 员工账号新建或修改."}"##
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

/// Every refusal code an operation can answer: its status and what it
/// means. One catalogue for the whole API; operations list codes from it.
pub const CODES: &[(u16, &str, &str)] = &[
    (
        422,
        "invalid_negative_stock",
        r#"`negative_stock` is `allow` (a sale may take stock below zero, flagged on the below-zero report) or `refuse` (refused `insufficient_stock`). Detail: `field`. negative_stock 须为 allow 或 refuse。"#,
    ),
    (
        422,
        "invalid_stock_qty",
        r#"A stock quantity is refused: not a number, more than 3 decimal places, a fraction of a product counted by piece, or not positive where it must be. Details: `sku`, `qty` or `field`. 数量无效：按件计的商品须为正整数，计量商品最多 3 位小数。"#,
    ),
    (
        422,
        "invalid_unit_cost",
        r#"A unit cost is 0 or more with at most two decimal places. Details: `sku`, `field`. 进价须为不小于 0、最多两位小数的金额。"#,
    ),
    (
        409,
        "insufficient_stock",
        r#"Not enough on hand for a return, a transfer, or a sale under `negative_stock: refuse`; nothing changed. Details: `sku`, `on_hand`, `wanted`. 库存不足，未做任何变动。"#,
    ),
    (
        422,
        "no_stock_lines",
        r#"A stock change needs at least one line. 没有商品行。"#,
    ),
    (
        422,
        "duplicate_stock_line",
        r#"A sku is on more than one line. Detail: `sku`. 同一商品出现在多行中。"#,
    ),
    (
        422,
        "too_many_stock_lines",
        r#"At most 500 lines in one stock change. 一次最多 500 行。"#,
    ),
    (
        422,
        "transfer_to_self",
        r#"A transfer goes to another store, not its own. 不能调拨给本门店。"#,
    ),
    (
        404,
        "unknown_store",
        r#"No store of this name in the chain as this node knows it. Detail: `store`. 未知门店。"#,
    ),
    (
        404,
        "unknown_transfer",
        r#"No transfer of this id (also an id of the wrong shape, not echoed). Detail: `transfer`. 未知调拨单。"#,
    ),
    (
        409,
        "transfer_exists",
        r#"A transfer of this id was already shipped. Detail: `transfer`. 调拨单已发货。"#,
    ),
    (
        403,
        "not_transfer_destination",
        r#"The transfer goes to another store: only its destination receives it. Details: `transfer`, `to`. 只有调拨单的收货门店可以收货。"#,
    ),
    (
        409,
        "transfer_already_received",
        r#"The transfer was already received. Detail: `transfer`. 调拨单已收货。"#,
    ),
    (
        422,
        "receive_exceeds_shipped",
        r#"More of a sku received than the transfer shipped. Details: `transfer`, `sku`, `shipped`, `received`. 收货数量超过发货数量。"#,
    ),
    (
        409,
        "stocktake_under_transfer",
        r#"A counted sku is under a transfer to this store not yet received: receive it first. Details: `sku`, `transfer`. 商品在调拨途中，收货后才能盘点。"#,
    ),
    (
        403,
        "stock_not_owner",
        r#"A store's stock is changed only by that store. 门店库存只能由本门店变动。"#,
    ),
    (
        422,
        "invalid_supplier",
        r#"A supplier is 1 to 60 characters, with no control, invisible or direction character. Details: `field`, and for a refused character `char_class`, `code_point`. 供应商名称无效。"#,
    ),
    (
        422,
        "invalid_note",
        r#"A note is at most 200 characters, with no control, invisible or direction character. Details: `field`, and for a refused character `char_class`, `code_point`. 备注无效。"#,
    ),
    (
        403,
        "hq_holds_no_stock",
        r#"Refused at the HQ node, which holds no stock: goods in, returns, transfers and stocktakes are made at a store. 总部不持有库存：请在门店操作。"#,
    ),
    (
        400,
        "idempotency_key_required",
        r#"This request moves money or uses something up: send an `Idempotency-Key` header."#,
    ),
    (
        400,
        "invalid_idempotency_key",
        r#"`Idempotency-Key` must be 1 to 128 visible ASCII characters."#,
    ),
    (
        400,
        "invalid_json",
        r#"The body is not what this endpoint takes: empty, not JSON, not UTF-8, nested too deep, a field of the wrong type, a missing required field, or an unknown or duplicated field."#,
    ),
    (
        400,
        "invalid_query",
        r#"Give exactly one of `?phone=` or `?card_no=`."#,
    ),
    (
        400,
        "invalid_request",
        r#"The query string or path does not parse (e.g. a negative `limit`, a repeated parameter, a path that is not UTF-8)."#,
    ),
    (401, "unauthorized", r#"Missing or wrong bearer token."#),
    (
        401,
        "session_expired",
        r#"The staff session has ended: expired, signed out, or the account's password changed since. Sign in again."#,
    ),
    (
        401,
        "login_failed",
        r#"Wrong login or password (the same answer whether or not the login exists)."#,
    ),
    (
        403,
        "account_disabled",
        r#"The staff account is disabled (at this node: the change reached it)."#,
    ),
    (
        403,
        "not_at_this_store",
        r#"A cashier or store manager signs in only at the stores of their account. Details: `store`."#,
    ),
    (
        403,
        "forbidden_for_role",
        r#"The staff member's role may not do this (the permission table in README). Details: `role`, `action`."#,
    ),
    (
        403,
        "approval_required",
        r#"A cashier's refund above the programme's `refund_approval_above` needs a store manager's approval: send `approval` with their login and password. Details: `limit`, `amount`."#,
    ),
    (
        403,
        "approval_invalid",
        r#"The approval is refused: a wrong login or password, an account that may not approve refunds at this store, or the cashier's own."#,
    ),
    (
        403,
        "token_only",
        r#"Only the node's admin token may do this (the first-run flow)."#,
    ),
    (
        429,
        "login_locked",
        r#"Too many failed sign-ins of this login (5) or from this address (30) in 15 minutes: wait `Retry-After` seconds. Details: `retry_after_s`."#,
    ),
    (404, "staff_not_found", r#"No staff account with this id."#),
    (409, "login_taken", r#"Another account has this login."#),
    (
        409,
        "first_admin_exists",
        r#"Staff accounts exist already: sign in, and add staff on the staff page."#,
    ),
    (
        409,
        "first_admin_at_hq",
        r#"A store of a chain gets its staff from HQ: create the first admin at the HQ node."#,
    ),
    (
        422,
        "invalid_login",
        r#"A login is 2 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit. Details: `field`."#,
    ),
    (
        422,
        "invalid_staff_name",
        r#"A staff name is 1 to 40 characters, without control, invisible or direction characters. Details: `field`."#,
    ),
    (
        422,
        "invalid_password",
        r#"A password is 8 to 128 characters, without control characters. Details: `field`."#,
    ),
    (
        422,
        "invalid_role",
        r#"`role` is one of cashier, store_manager, hq_finance, hq_admin, owner. Details: `field`."#,
    ),
    (
        422,
        "invalid_stores",
        r#"A cashier or store manager works at 1 to 64 stores, each a node name. Details: `field`."#,
    ),
    (
        422,
        "programme_refund_limit",
        r#"`refund_approval_above` is from 0.00 to 1000000.00, or null."#,
    ),
    (
        403,
        "catalogue_hq_only",
        r#"The catalogue (products and prices) is authored by HQ for the whole chain; change it at the HQ node."#,
    ),
    (
        403,
        "hq_sells_nothing",
        r#"Refused at the HQ node, which sells nothing."#,
    ),
    (
        403,
        "programme_hq_only",
        r#"The programme is authored by HQ for the whole chain; change it at the HQ node."#,
    ),
    (
        404,
        "card_not_found",
        r#"The member holds no card of this code (a refund: the order's card is no longer the member's). Detail: `card`."#,
    ),
    (
        404,
        "coupon_not_found",
        r#"The member holds no coupon of this code. Detail: `coupon`."#,
    ),
    (
        404,
        "coupon_template_not_found",
        r#"No coupon template of this id in the programme (also for an id of the wrong shape, which is not echoed). Detail: `template` or `field`."#,
    ),
    (
        404,
        "member_not_found",
        r#"No member with this id (also for an id of the wrong shape)."#,
    ),
    (
        404,
        "not_found",
        r#"No such endpoint (for the console, no file of that name)."#,
    ),
    (
        404,
        "order_not_found",
        r#"No order with this id (also for an id of the wrong shape)."#,
    ),
    (
        404,
        "unknown_product",
        r#"No product with this sku or barcode."#,
    ),
    (
        404,
        "unknown_category",
        r#"No category with this id. Detail: `category`."#,
    ),
    (
        409,
        "already_refunded",
        r#"The order is already fully refunded."#,
    ),
    (
        409,
        "barcode_taken",
        r#"The barcode belongs to another product."#,
    ),
    (
        409,
        "category_cycle",
        r#"Moving the category under that parent would put it under itself. Details: `category`, `parent`."#,
    ),
    (
        409,
        "card_held_elsewhere",
        r#"The card's visits are held at other stores that cannot be reached now (a visit short here, or a refund that takes all its visits back, asked them first); try later, or at one of them. Details: `card`, `held_at` (node names, comma-separated)."#,
    ),
    (
        409,
        "card_refunded",
        r#"The card was refunded: no visit is made on it, and it is not refunded twice. Detail: `card`."#,
    ),
    (
        409,
        "card_used_up",
        r#"The count card has fewer visits left than wanted, at all stores together. Details: `card`, `wanted`, `left_here`, `left_total`."#,
    ),
    (
        409,
        "card_taken",
        r#"The card number is used by another member."#,
    ),
    (
        409,
        "coupon_limit_reached",
        r#"The member already holds as many coupons of the template as its `per_member_limit`. Details: `template`, `limit`."#,
    ),
    (
        409,
        "coupon_unavailable_here",
        r#"The coupon's uses are held by other stores that cannot be reached now; try later or use it there. Details: `coupon`, `held_at` (node names, comma-separated)."#,
    ),
    (
        409,
        "coupon_used",
        r#"The coupon has no use left. Detail: `coupon`."#,
    ),
    (
        409,
        "coupon_wallet_full",
        r#"The member already holds 500 coupons (used and expired ones count)."#,
    ),
    (
        409,
        "idempotency_key_in_progress",
        r#"A request with this idempotency key is still being processed; retry shortly."#,
    ),
    (
        409,
        "idempotency_key_reused",
        r#"The idempotency key was already used with a different request (method, path or body)."#,
    ),
    (
        409,
        "insufficient_balance",
        r#"The balance usable at this store is not enough. Details: `wanted`, `available_here`."#,
    ),
    (
        409,
        "insufficient_points",
        r#"The member's points usable at this store (after asking the stores that hold the rest) are not enough. Details: `wanted`, `available_here`."#,
    ),
    (
        409,
        "member_merged",
        r#"One of the two members was already merged into another (details in the message)."#,
    ),
    (
        409,
        "phone_taken",
        r#"The phone number is registered to another member."#,
    ),
    (
        409,
        "refund_wrong_store",
        r#"The order was made at another store; refund it there. Detail: `owner`."#,
    ),
    (
        413,
        "payload_too_large",
        r#"Refused: the body is larger than 262144 bytes (256 KiB)."#,
    ),
    (
        422,
        "balance_needs_member",
        r#"A balance tender needs `member_id`."#,
    ),
    (
        422,
        "card_daily_cap",
        r#"The period card allows `daily_cap` visits a day; the visits this store knows of today plus those wanted pass it. Details: `card`, `daily_cap`, `used_today`, `wanted`."#,
    ),
    (
        422,
        "card_expired",
        r#"The card's last valid day is past (China time). Details: `card`, `valid_to`."#,
    ),
    (
        422,
        "card_needs_member",
        r#"A line of a card product sells cards into a member's wallet: the sale needs `member_id`. Detail: `line` (1-based)."#,
    ),
    (
        422,
        "card_not_applicable",
        r#"The card does not cover this visit: its plan lists services and the visit names another, or none (a card bound to services needs `service`), or `service` is not a sku (1 to 32 letters, digits, `-`, `_`; not echoed). Details: `card`, `service` or `field`."#,
    ),
    (
        422,
        "card_not_yet_valid",
        r#"The card's first valid day is still ahead (China time). Details: `card`, `valid_from`."#,
    ),
    (
        422,
        "coupon_below_minimum",
        r#"The goods the coupon applies to (after the level discount) come to less than its `min_spend`. Details: `coupon`, `min_spend`, `applicable`."#,
    ),
    (
        422,
        "coupon_expired",
        r#"The coupon's last valid day is past (China time). Details: `coupon`, `valid_to`."#,
    ),
    (
        422,
        "coupon_not_applicable",
        r#"The coupon does not apply to this order: its scope misses this store, the member's level, or every line's goods. Details: `coupon`, `miss` (`store`, `level`, `goods`)."#,
    ),
    (
        422,
        "coupon_not_combinable",
        r#"Two coupons of one order do not combine: two of the same template, or two percentage coupons. Details: `coupon`, `with`."#,
    ),
    (
        422,
        "coupon_not_yet_valid",
        r#"The coupon's first valid day is still ahead (China time). Details: `coupon`, `valid_from`."#,
    ),
    (
        422,
        "coupon_repeated",
        r#"The same coupon code is given twice in `coupon_codes`. Detail: `coupon`."#,
    ),
    (
        422,
        "coupon_without_member",
        r#"Coupons are a member's: `coupon_codes` needs `member_id`."#,
    ),
    (
        422,
        "invalid_card_code",
        r#"A card code is `k-<store>-<n>` (as printed on the receipt; the code sent is not echoed). Detail: `field` (`code`)."#,
    ),
    (
        422,
        "invalid_card_plan",
        r#"A product's card plan is out of bounds: visits 1 to 1000, days 1 to 3660, daily cap 1 to 100, at most 50 services, each a sku, each once. Detail: `field` (`card.visits`, `card.days`, `card.daily_cap`, `card.services`, `card.services[i]`)."#,
    ),
    (
        422,
        "invalid_card_qty",
        r#"A line of a card product sells one card per unit: its quantity is a whole number from 1 to 20. Detail: `line` (1-based)."#,
    ),
    (
        422,
        "invalid_coupon_code",
        r#"A coupon code is `c-<node>-<n>` (as printed on the coupon; the code sent is not echoed). Detail: `field` (`coupon_codes[i]`)."#,
    ),
    (
        422,
        "invalid_member_ids",
        r#"`member_ids` must hold 1 to 1000 member ids (`m-<node>-<n>`), each once. Detail: `field` (`member_ids` or `member_ids[i]`; the id sent is not echoed)."#,
    ),
    (
        422,
        "too_many_coupons",
        r#"At most 5 coupons per order. Detail: `max`."#,
    ),
    (
        422,
        "empty_patch",
        r#"The patch changes nothing (no field given)."#,
    ),
    (
        422,
        "invalid_amount",
        r#"An amount is not a decimal with at most two places, is negative, is zero where it must be positive, or exceeds 10000000.00. Detail: `field` (the JSON path, e.g. `tenders[0].amount`) or `line` (1-based order line)."#,
    ),
    (
        422,
        "invalid_audit_filter",
        r#"An audit query parameter does not parse: `store` a node name, `staff` 1 to 128 visible ASCII characters, `kind` audit kinds (`AuditKind`) separated by commas, `from` and `to` real dates `YYYY-MM-DD` between 1900 and 2100 with `from` not after `to`, `before` a cursor this endpoint gave (`next`), `limit` a whole number from 1 to 200; no other parameter, none twice. The value sent is not echoed. Detail: `field` (the parameter, or `query` for an unknown one)."#,
    ),
    (
        422,
        "invalid_export_query",
        r#"An op export query parameter does not parse: `since` a version vector `<origin>.<seq>` joined by `_` (each origin a node name, once; at most 1000), `limit` a whole number from 1 to 100000; no other parameter, none twice. The value sent is not echoed. Detail: `field` (the parameter, or `query` for an unknown one)."#,
    ),
    (
        422,
        "export_origin_unknown",
        r#"`since` names an origin this node holds no op of: not a cursor of this chain's log. Detail: `origin`."#,
    ),
    (
        403,
        "export_not_for_role",
        r#"The op export is for HQ finance, the owner and the admin token (it holds every member's every movement); the other roles that may see reports may not. Detail: `role`."#,
    ),
    (
        409,
        "export_cursor_ahead",
        r#"`since` holds more ops of an origin than this node does (a cursor from another node, or this node restored from an older backup): ask a node that holds them, or later. Detail: `origin`, `held` (the ops of it this node holds)."#,
    ),
    (
        422,
        "invalid_consistency_query",
        r#"A consistency query parameter does not parse: `store` a node name; no other parameter, none twice. The value sent is not echoed. Detail: `field` (`store`, or `query` for an unknown one)."#,
    ),
    (
        422,
        "invalid_barcode",
        r#"A barcode is 6 to 20 digits; a product has at most 10 besides its primary one, each once."#,
    ),
    (
        422,
        "invalid_unit",
        r#"`unit` is `whole` or `measured`; `unit_label` 0 to 8 characters (`tongka_core::text`)."#,
    ),
    (
        422,
        "invalid_points_multiplier",
        r#"A points multiplier is 0 to 10 with at most two decimal places."#,
    ),
    (
        422,
        "invalid_attribute",
        r#"An attribute name (1 to 20 characters) defined by the product's category or a parent, its value 1 to 40 characters; a category defines at most 20, each once. Detail: `attribute`."#,
    ),
    (
        422,
        "invalid_category",
        r#"A category id is 1 to 32 ASCII letters, digits, `-` or `_`."#,
    ),
    (
        422,
        "product_inactive",
        r#"The product is inactive (停售): not for sale. Detail: `sku`."#,
    ),
    (
        422,
        "invalid_csv",
        r#"The CSV body does not parse: UTF-8 text, a quoted field closed, as many fields on a row as in the header."#,
    ),
    (
        422,
        "invalid_csv_header",
        r#"The CSV header names an unknown column, a column twice, or misses a required one: `sku`, `name` and `price` for products; `sku` or `barcode`, `qty` and `unit_cost` for opening stock (English or Chinese names: README)."#,
    ),
    (
        422,
        "too_many_rows",
        r#"A CSV import has at most 5000 rows."#,
    ),
    (
        422,
        "import_rejected",
        r#"Rows of the CSV import are rejected (`rejected`, an array of rows, each with its `line`, `code`, `message` and `message_zh`); nothing was changed. A row's code is a code of this catalogue, or for opening stock one of: `unknown_product` (no product of the sku or barcode, or the two of different products), `product_not_stocked` (the product's stock is not kept), `invalid_stock_qty`, `invalid_unit_cost`, `duplicate_sku` (on an earlier row), `invalid_text` (a control or invisible character), `invalid_supplier`, `invalid_csv` (a wrong number of fields). 导入的行被拒绝，未做任何变动。"#,
    ),
    (
        422,
        "invalid_import_query",
        r#"The query parameters of an import are `dry_run` (`true` or `false`) and, for opening stock, `supplier`; each at most once."#,
    ),
    (
        422,
        "invalid_birthday",
        r#"`birthday` must be a real date `YYYY-MM-DD` between 1900 and 2100."#,
    ),
    (
        422,
        "invalid_card_no",
        r#"`card_no` must be 4 to 32 ASCII letters or digits."#,
    ),
    (
        422,
        "invalid_description",
        r#"A free line's description must be 1 to 80 characters, with no control, invisible, direction, separator or private-use character (`tongka_core::text`). Details: `line` (1-based); for a refused character `char_class` and `code_point`."#,
    ),
    (
        422,
        "invalid_invite_code",
        r#"`invite_code` must be 4 to 16 characters."#,
    ),
    (
        422,
        "invalid_line",
        r#"An order line must give `sku`, or `barcode`, or `description` with `unit_price` (exactly one of these forms). Detail: `field`."#,
    ),
    (422, "invalid_lines", r#"An order needs 1 to 200 lines."#),
    (
        422,
        "invalid_name",
        r#"The name must be 1 to 40 characters (members) or 1 to 80 characters (products), with no control, invisible, direction, separator or private-use character (`tongka_core::text`). Details for a refused character: `char_class`, `code_point`."#,
    ),
    (
        422,
        "invalid_notes",
        r#"`notes` must be at most 500 characters, with no control (line breaks `\n` allowed), invisible, direction, separator or private-use character. Details for a refused character: `char_class`, `code_point`."#,
    ),
    (
        422,
        "invalid_phone",
        r#"A mainland mobile number of 11 digits starting with 13–19 is expected."#,
    ),
    (
        422,
        "invalid_points",
        r#"`points` must be a whole number, 0 or more. Detail: `field`."#,
    ),
    (
        422,
        "invalid_qty",
        r#"A quantity must be a positive decimal with at most 3 places, at most 100000 (refunds: each line named once). Detail: `field` (e.g. `lines[0].qty`) or `line`."#,
    ),
    (
        422,
        "invalid_reason",
        r#"`reason` must be at most 200 characters, with no control, invisible, direction, separator or private-use character. Details for a refused character: `char_class`, `code_point`."#,
    ),
    (
        422,
        "invalid_refund_line",
        r#"A refund names a line the order does not have (lines are numbered from 0)."#,
    ),
    (
        422,
        "invalid_sku",
        r#"A sku is 1 to 32 ASCII letters, digits, `-` or `_`."#,
    ),
    (
        422,
        "invalid_tags",
        r#"At most 20 tags of 1 to 20 characters each, with no control, invisible, direction, separator or private-use character. Details for a refused character: `char_class`, `code_point`."#,
    ),
    (
        422,
        "invalid_tender",
        r#"Unknown tender kind (one of balance, cash, card, wechat, alipay), or a recharge paid from the balance. Detail: `field` when the kind is unknown."#,
    ),
    (
        422,
        "invalid_tenders",
        r#"At most 6 tenders, each kind once, and at most one without an amount."#,
    ),
    (
        422,
        "invalid_visit_count",
        r#"A visit counts 1 to 100 visits. Details: `count`, `max`."#,
    ),
    (
        422,
        "member_code_expired",
        r#"The member code is authentic but outside its window: older than the node's window (60 s by default; a screenshot), or dated more than 30 s ahead of this node's clock. Ask the member to show a fresh code. Detail: `window_s` or `ahead_s`."#,
    ),
    (
        422,
        "member_code_invalid",
        r#"Not a member code of this chain: malformed (prefix, shape, characters, over 128 characters) or forged (tampered with, or made under another chain's key)."#,
    ),
    (
        422,
        "merge_failed",
        r#"The survivor's profile document could not be changed."#,
    ),
    (
        422,
        "merge_same_member",
        r#"A member cannot be merged into itself."#,
    ),
    (
        422,
        "order_too_large",
        r#"The order comes to more than 10000000.00, the limit of one order. Detail: none."#,
    ),
    (
        422,
        "points_below_minimum",
        r#"Fewer points than the programme's `min_points`. Detail: `min`."#,
    ),
    (
        422,
        "points_deduction_not_enabled",
        r#"The programme's `points_deduction` is off: leave `points` out or 0."#,
    ),
    (
        422,
        "invalid_coupon_template",
        r#"A coupon template is invalid (its id, name, kind, benefit, validity, uses, scope or minimum spend), or two share an id, or there are more than 200. Details: `field` (`coupon_templates[i]`)."#,
    ),
    (
        422,
        "points_need_member",
        r#"Paying with points needs `member_id`."#,
    ),
    (
        422,
        "points_over_cap",
        r#"The points are worth more than the cap (round(payable × cap)). Details: `wanted`, `value`, `cap`, `max_points`."#,
    ),
    (
        422,
        "programme_deduction_cap",
        r#"`points_deduction.cap` must be greater than 0 and at most 1, with at most 4 places."#,
    ),
    (
        422,
        "programme_deduction_minimum",
        r#"`points_deduction.min_points` must be a whole number from 0 to 1000000."#,
    ),
    (
        422,
        "programme_offer_coupons",
        r#"A recharge offer's `coupons` names more than 10 templates, or a template the programme does not have. Details: `field` (`recharge_offers[i].coupons`)."#,
    ),
    (
        422,
        "programme_deduction_rate",
        r#"`points_deduction.points_per_yuan` must be a whole number from 1 to 10000."#,
    ),
    (
        422,
        "programme_level_names",
        r#"Level codes are 1 to 32 ASCII letters, digits or `_`, distinct; names 1 to 32 characters, with no control, invisible, direction, separator or private-use character. Details for a name: `field` (`levels[i].name_zh`), and for a refused character `char_class`, `code_point`."#,
    ),
    (
        422,
        "programme_level_rate",
        r#"A level rate must be a decimal greater than 0 and at most 1."#,
    ),
    (
        422,
        "programme_levels_order",
        r#"Levels must start at 0 and their `min_principal` rise strictly (at least one level)."#,
    ),
    (
        422,
        "programme_offers_order",
        r#"Recharge offer thresholds must rise strictly; each bonus at least 0 and below its threshold."#,
    ),
    (
        422,
        "programme_points_rate",
        r#"Points per yuan must be a decimal between 0 and 100."#,
    ),
    (
        422,
        "programme_too_many",
        r#"At most 20 recharge offers and 20 levels."#,
    ),
    (
        422,
        "refund_exceeds_paid",
        r#"A refund quantity exceeds what is not yet refunded of the line. Details: `line` (0-based), `wanted`, `remaining`."#,
    ),
    (
        422,
        "tender_mismatch",
        r#"The tenders do not pay the payable exactly (only cash may be over-tendered, by less than its own amount). Details: `tendered`, `payable`."#,
    ),
    (
        500,
        "internal",
        r#"An internal error; nothing was acknowledged."#,
    ),
    (
        503,
        "member_code_unavailable",
        r#"This node has no member-code key configured (a node started by `tongka` always has one)."#,
    ),
    (
        503,
        "overloaded",
        r#"The node is at its limit of requests in flight; retry after the `Retry-After` seconds."#,
    ),
    (
        503,
        "storage_unavailable",
        r#"Storage failed (a full disk, an I/O error): the node takes no more writes until it is restarted, after the disk is freed. No `Retry-After`: retrying does not help."#,
    ),
];

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
        (name = "audit", description = "Audit trail / 审计日志"),
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
