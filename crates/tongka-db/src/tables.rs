//! The redb tables. Names carry a layout version; each comment gives the
//! key and value layout. Values are `[format byte] ++ postcard(value)`
//! unless said otherwise.

use redb::TableDefinition;

/// The schema this build reads and writes. A database of another schema
/// is refused at open: an older one with `DbError::FormatTooOld`, a
/// newer one with `DbError::Schema`.
///
/// 8: the format break (nothing was deployed before it). Ops are of
/// format 2 (`tongka_core::codec`: minicbor, index-numbered fields, the
/// features an op needs); orders and refunds record points used and given
/// back; members record which merge op's figures they counted; the
/// programme and the catalogue are automerge documents (`meta`
/// `programme`, `catalogue`). Schemas 1 to 7 were upgraded in place by
/// code that is gone: a database of one of them is refused, and the node
/// starts from a new data directory (a store of a chain catches up from
/// its peers).
///
/// 9: members hold their coupons (`MemberState::coupons`, each with its
/// uses per node), orders record the coupons they used and refunds the uses
/// they gave back, the totals count coupons. Stored values are postcard,
/// whose records do not grow a field, so schema 8 is refused like the older
/// ones (nothing was deployed on it).
pub const SCHEMA_VERSION: u32 = 9;

/// meta: `&str` name → bytes. Names: `schema` (u32 LE), `node` (utf-8),
/// `instance` (u64 LE, random at creation: tells this database's history
/// index from another's),
/// `entity` (u64 LE: high-water mark of minted entity ids), `programme`
/// (the programme document's saved bytes, raw), `staff` (the staff book,
/// minicbor, which grows by new fields), `catalogue` (the catalogue
/// document's saved bytes, raw), `authored-documents` (present once this
/// node authored a programme or catalogue change), `figures` (present
/// once `figures-1` counts the whole log), `figures-more` (present once
/// `member-last-1`, `last-day-1`, `spend-1`, `product-sales-1` do), `summary`
/// (`Summary`: seq, version vector, digest, totals, hlc).
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta-1");
/// ops: `(origin, seq)` → encoded `Op` (`Op::encode`). The op log; append-only.
pub const OPS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("ops-1");
/// members: member id → `MemberState`.
pub const MEMBERS: TableDefinition<&str, &[u8]> = TableDefinition::new("members-1");
/// phones: phone number → member id (uniqueness index).
pub const PHONES: TableDefinition<&str, &str> = TableDefinition::new("phones-1");
/// cards: card number → member id (uniqueness index).
pub const CARDS: TableDefinition<&str, &str> = TableDefinition::new("cards-1");
/// orders: order id → `OrderState`.
pub const ORDERS: TableDefinition<&str, &[u8]> = TableDefinition::new("orders-1");
/// member history, in the history database (`history_path`), not the
/// main one: `(member id, hlc ms, hlc count, origin, seq)` → `()`; points
/// into `ops` in the member's time order. Rejected ops are not listed.
///
/// Its keys start with the member, so its entries land on random pages: in
/// the writer's commits it cost a page per entry. It is written behind the
/// writer instead, by the indexer thread, in batches (many entries share a
/// page), in a file of its own (its writes and syncs never hold up the
/// writer's). It covers the ops up to its watermark (`history-meta`
/// `indexed`), a prefix of each origin's log; readers scan the log after
/// it; open catches it up from the log. It holds nothing the log does not:
/// lost or foreign, it is rebuilt.
pub const MEMBER_OPS: TableDefinition<(&str, u64, u32, &str, u64), ()> =
    TableDefinition::new("member-ops-2");
/// history-meta (history database): `node` (utf-8), `instance` (the main
/// database's), `indexed` (`VersionVector`).
pub const HISTORY_META: TableDefinition<&str, &[u8]> = TableDefinition::new("history-meta-1");
/// idempotency: key → `IdemRecord` (its body encoded by the engine).
pub const IDEM: TableDefinition<&str, &[u8]> = TableDefinition::new("idem-2");
/// products: sku → `Product`, the catalogue document materialised
/// (barcodes resolved).
pub const PRODUCTS: TableDefinition<&str, &[u8]> = TableDefinition::new("products-1");
/// barcodes: barcode → sku.
pub const BARCODES: TableDefinition<&str, &str> = TableDefinition::new("barcodes-1");

/// duplicates: `(key, member id)` → `()`, key = `phone:<n>` or `card:<n>`:
/// members registered with the same phone or card on different nodes during
/// a partition, listed for merging.
pub const DUPLICATES: TableDefinition<(&str, &str), ()> = TableDefinition::new("duplicates-1");
/// merged: `(absorbed member id, survivor member id)` → `()`: the merges
/// this node applied (more than one survivor for a member only when it was
/// merged concurrently; `tongka_core::merge::Merged::resolve` picks one).
pub const MERGED: TableDefinition<(&str, &str), ()> = TableDefinition::new("merged-1");
/// rejected: `(origin, seq)` → reason. Remote ops that failed their checks:
/// kept in the log (so the origin's stream goes on) but not applied.
pub const REJECTED: TableDefinition<(&str, u64), &str> = TableDefinition::new("rejected-1");
/// refused: `(origin, seq, peer)` → reason. Remote ops refused before
/// applying — a signature that does not verify, an origin with no known
/// certificate, an op its origin's role may not make — and the peer that
/// sent them. Not in the op log: the op's place in its origin's stream stays
/// open for the genuine op.
pub const REFUSED: TableDefinition<(&str, u64, &str), &str> = TableDefinition::new("refused-1");

/// stock: `(store, sku)` → minicbor `tongka_core::stock::StockLedger`: each
/// store's stock as of the last op applied (`tongka_machine::stock`).
pub const STOCK: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("stock-1");
/// stock-minimums: `(store, sku)` → the minimum on hand, decimal text.
pub const STOCK_MINIMUMS: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("stock-minimums-1");
/// transfers: transfer id → minicbor `tongka_core::stock::TransferState`.
pub const TRANSFERS: TableDefinition<&str, &[u8]> = TableDefinition::new("transfers-1");
/// movements: `(store, seq, line)` → minicbor
/// `tongka_core::stock::MovementRecord`: each store's moves in its log's
/// order (`seq` is the store's op, which made the move), appended.
pub const MOVEMENTS: TableDefinition<(&str, u64, u32), &[u8]> = TableDefinition::new("movements-2");
/// sku-movements: `(store, sku, seq, line)` → `()`: a store's moves of one
/// sku (the stock ledger report), an index into `movements` (its keys land
/// mid-table, so it holds no value to shift).
pub const SKU_MOVEMENTS: TableDefinition<(&str, &str, u64, u32), ()> =
    TableDefinition::new("sku-movements-1");

/// figures: `(store, chain day)` → minicbor `tongka_core::figures::Figures`:
/// what the store did that day (`Day::of_ms` of each op's clock), written
/// in the commit of every op applied (not rejected), made here or received
/// (`crate::figures`). A database made before this table gets it filled
/// once at open from its log (`figures::backfill`, marked by `meta`
/// `figures-2`; a database marked only `figures`, whose rows lack
/// `shares_with`, has them recomputed), so its figures count every op it
/// holds.
pub const FIGURES: TableDefinition<(&str, i32), &[u8]> = TableDefinition::new("figures-1");
/// active: `(store, chain day, member id)` → `()`: the members with a sale
/// or a recharge at the store that day; a new key bumps that day's
/// `Figures::active_members` (distinct members, which a sum cannot count).
pub const ACTIVE: TableDefinition<(&str, i32, &str), ()> = TableDefinition::new("active-1");
/// withdrawals: withdrawal id → minicbor `tongka_core::settlement::Withdrawal`
/// (a store's 提现: its request and HQ's decision), written in the commit
/// of each `Withdrawal` op applied, with the figures (`crate::figures`).
pub const WITHDRAWALS: TableDefinition<&str, &[u8]> = TableDefinition::new("withdrawals-1");

/// closes: `(chain day, store, seq)` → `()`: every shift and day close op
/// applied (`OpBody::DayClosed`), by the day it closes (`crate::closes`).
pub const CLOSES: TableDefinition<(i32, &str, u64), ()> = TableDefinition::new("closes-1");
/// last-close: `(store, kind: 0 shift, 1 day)` → seq of the store's last
/// close of that kind, where its next close starts reading.
pub const LAST_CLOSE: TableDefinition<(&str, u8), u64> = TableDefinition::new("last-close-1");
/// member-last: `(member id, scope)` → `(chain day, gone)`, scope `""` (the
/// chain) or a store: the last day the member was registered, made a sale
/// or recharged there, and whether it was merged away
/// (`tongka_core::figures::seen`). Written in the op's commit
/// (`crate::figures_more`); a database made before it is backfilled once
/// at open from its log (marked by `meta` `figures-more`), like the four
/// tables below.
pub const MEMBER_LAST: TableDefinition<(&str, &str), (i32, bool)> =
    TableDefinition::new("member-last-1");
/// last-day: `(scope, chain day)` → members of the scope, not gone, whose
/// last day it is (no row for 0): dormant as of D after N days is the sum
/// of the rows of days ≤ D − N.
pub const LAST_DAY: TableDefinition<(&str, i32), u64> = TableDefinition::new("last-day-1");
/// spend: `(store, chain day, bucket)` → minicbor list of `(member id,
/// tongka_core::figures::ranks::Spend)`, by id: each member's sales less
/// refunds at the store that day (the top members), for the members whose
/// id falls in the bucket (`figures_more::bucket`, 0 to
/// `figures_more::BUCKETS` − 1). Packed, so that ranking a million members
/// over a year reads some hundred thousand rows, not a row per member and
/// day (as `spend-1`, moved into it at open, did).
pub const SPEND: TableDefinition<(&str, i32, u16), &[u8]> = TableDefinition::new("spend-2");
/// spend, as kept before `spend-2`: `(store, chain day, member id)` → one
/// member's `Spend`. Read once at open to fill `spend-2`, then deleted.
pub const SPEND_V1: TableDefinition<(&str, i32, &str), &[u8]> = TableDefinition::new("spend-1");
/// product-sales: `(store, chain day, sku)` → minicbor
/// `tongka_core::figures::ranks::ProductFigures`: quantity and amount sold
/// less refunded (the top products).
pub const PRODUCT_SALES: TableDefinition<(&str, i32, &str), &[u8]> =
    TableDefinition::new("product-sales-1");

/// The format byte of values encoded by `encode`.
pub const VALUE_FORMAT_V1: u8 = 1;
