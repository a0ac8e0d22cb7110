//! The one catalogue of refusal codes: each code's HTTP status and what
//! it means. Operations list the codes they answer from it (`x-codes`).

/// Every refusal code an operation can answer: its status and what it
/// means. One catalogue for the whole API; operations list codes from it.
pub const CODES: &[(u16, &str, &str)] = &[
    (
        409,
        "already_closed",
        r#"This store already closed that day (a day close covers the store's ops after its previous day close; a late sale falls into the next). Details: `kind`, `day`, `last_closed`. 该日已日结。"#,
    ),
    (
        422,
        "close_day_not_begun",
        r#"A day is closed on or after it, not before. Detail: `day`. 该日尚未开始，不能日结。"#,
    ),
    (
        422,
        "invalid_close_kind",
        r#"`kind` is `shift` (交班) or `day` (日结). Detail: `field`. 结账类型应为 shift 或 day。"#,
    ),
    (
        422,
        "invalid_close_query",
        r#"A close's query or body field is refused: an unknown or repeated parameter, a control character, a date not `YYYY-MM-DD`, `from` after `to`, more than 366 days, a `limit` outside 1 to 500, a day given to a shift close. Detail: `field`. 查询参数无效。"#,
    ),
    (
        404,
        "close_not_found",
        r#"No close of this id (`<store>.<seq>`; also an id of the wrong shape). Detail: `id`. 无此结账记录。"#,
    ),
    (
        403,
        "hq_closes_nothing",
        r#"HQ takes no money in: a store closes its own shifts and days, at the store. 总部不收款：交班和日结由门店进行。"#,
    ),
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
    // settlement
    (
        403,
        "withdrawal_at_stores",
        r#"A withdrawal is requested at the store owed the money, not at HQ / 提现由应收款的门店申请，总部不申请。"#,
    ),
    (
        403,
        "withdrawal_hq_decides",
        r#"A withdrawal is approved or rejected at the HQ node alone / 提现只能由总部审批或驳回。"#,
    ),
    (
        422,
        "withdrawal_exceeds_owed",
        r#"More than the store may withdraw now: what it is owed in settlement less its withdrawals approved (and, for a request, pending) / 超过门店当前可提现金额。Detail: `asked`, `available`."#,
    ),
    (
        422,
        "withdrawal_not_positive",
        r#"A withdrawal's amount must be more than 0 / 提现金额须大于 0。"#,
    ),
    (
        409,
        "withdrawal_decided",
        r#"The withdrawal was already approved or rejected: each is decided once / 该提现已审批。Detail: `withdrawal`."#,
    ),
    (
        404,
        "withdrawal_not_found",
        r#"No such withdrawal on this node (yet: a request made at a store cut off arrives when the network heals) / 没有该提现。Detail: `withdrawal`."#,
    ),
    (
        422,
        "invalid_withdrawal_note",
        r#"A withdrawal's note or reason: one line, at most 200 characters (a rejection needs one) / 提现备注或驳回原因：单行，最多 200 字（驳回须填写）。Detail: `field`."#,
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
        "invalid_report_query",
        r#"A report query parameter does not parse / 报表查询参数有误: `from` and `to` real dates `YYYY-MM-DD` between 1900 and 2100, `from` not after `to`, at most 366 days; `store` the name of a store this node knows (holds ops of); `channel` a tender kind (balance, cash, card, wechat, alipay); `by` stores; no control character, no other parameter, none twice. The value sent is not echoed. Detail: `field` (the parameter, or `query` for an unknown one)."#,
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
        r#"Rows of the CSV import are rejected (`rejected`, an array of rows, each with its `line`, `code`, `message` and `message_zh`); nothing was changed. A row's code is a code of this catalogue, or for opening stock one of: `unknown_product` (no product of the sku or barcode, or the two of different products), `product_not_stocked` (the product's stock is not kept), `invalid_stock_qty`, `invalid_unit_cost`, `duplicate_sku` (on an earlier row), `invalid_text` (a control or invisible character), `invalid_supplier`, `invalid_csv` (a wrong number of fields); for members one of: `invalid_phone`, `duplicate_phone` (on an earlier row), `phone_taken` (a member's already), `invalid_card_no`, `duplicate_card_no`, `card_taken`, `invalid_name`, `invalid_birthday`, `invalid_amount` (negative, more than two decimals or too large; detail `column`), `invalid_points`, `unknown_level`, `invalid_text`, `invalid_csv`. 导入的行被拒绝，未做任何变动。"#,
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
    // Member import (会员导入).
    (
        403,
        "hq_holds_no_balances",
        r#"Refused at the HQ node, which holds no stored value: members with opening balances are imported at a store, whose share they become. 总部不持有储值：请在门店导入会员。"#,
    ),
    (
        413,
        "file_too_large",
        r#"The member import's file is larger than 16 MiB (16777216 bytes): split it. 文件过大，请拆分后导入。"#,
    ),
];
