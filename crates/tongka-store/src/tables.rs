//! The redb tables. Names carry a layout version; each comment gives the
//! key and value layout. Values are `[format byte] ++ postcard(value)`
//! unless said otherwise.

use redb::TableDefinition;

/// The schema this build reads and writes. Bumped with a numbered
/// migration whenever a table's layout changes.
pub const SCHEMA_VERSION: u32 = 1;

/// meta: `&str` name → bytes. Names: `schema` (u32 LE), `seq` (u64 LE: the
/// last op this node made), `entity` (u64 LE: high-water mark of minted
/// entity ids), `hlc`, `totals`, `digest`, `vv` (encoded values).
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
/// member history: `(member id, hlc ms, hlc count, origin, seq)` → `()`;
/// points into `ops` in the member's time order.
pub const MEMBER_OPS: TableDefinition<(&str, u64, u32, &str, u64), ()> =
    TableDefinition::new("member-ops-1");
/// idempotency: key → `IdemRecord`.
pub const IDEM: TableDefinition<&str, &[u8]> = TableDefinition::new("idem-1");
/// products: sku → `Product`.
pub const PRODUCTS: TableDefinition<&str, &[u8]> = TableDefinition::new("products-1");
/// barcodes: barcode → sku.
pub const BARCODES: TableDefinition<&str, &str> = TableDefinition::new("barcodes-1");

/// duplicates: `(key, member id)` → `()`, key = `phone:<n>` or `card:<n>`:
/// members registered with the same phone or card on different nodes during
/// a partition, listed for merging.
pub const DUPLICATES: TableDefinition<(&str, &str), ()> = TableDefinition::new("duplicates-1");
/// rejected: `(origin, seq)` → reason. Remote ops that failed their checks:
/// kept in the log (so the origin's stream goes on) but not applied.
pub const REJECTED: TableDefinition<(&str, u64), &str> = TableDefinition::new("rejected-1");

/// The format byte of values encoded by `encode`.
pub const VALUE_FORMAT_V1: u8 = 1;
