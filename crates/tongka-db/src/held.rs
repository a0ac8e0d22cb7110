//! What the members hold, kept as a running sum (`meta` `held-1`): the
//! sum over every member of every share of their wallet, the other side
//! of the ledger check (`tongka_core::consistency::check`) from the op
//! totals.
//!
//! The sum is updated in each commit, from the member rows the commit
//! writes: the row a write replaces (redb hands it back) is taken out, the
//! new row (its held part worked out on the caller's thread, `Values`) put
//! in. So the check costs O(1) at any number of members, and still
//! compares two sides made independently: the totals from the op bodies,
//! the holdings from the states the ops left. The full scan remains as the
//! deep check (`Db::ledger_sides_deep`): the running sum against every
//! member read, in one read transaction.
//!
//! A db written before the key existed gets it by one scan at open
//! (`backfill`).

use redb::ReadableTable;
use tongka_core::state::MemberState;
use tongka_core::wallet::Share;

use crate::DbError;
use crate::tables::{MEMBERS, META};
use crate::values::{decode, encode};

/// The `meta` key.
pub(crate) const KEY: &str = "held-1";

/// `a + b`.
pub(crate) fn plus(a: Share, b: Share) -> Share {
    Share {
        principal: a.principal + b.principal,
        bonus: a.bonus + b.bonus,
        points: a.points + b.points,
    }
}

/// `a - b`.
pub(crate) fn minus(a: Share, b: Share) -> Share {
    Share {
        principal: a.principal - b.principal,
        bonus: a.bonus - b.bonus,
        points: a.points - b.points,
    }
}

/// What one member holds, every share of their wallet.
pub(crate) fn of(m: &MemberState) -> Share {
    tongka_core::consistency::held([&m.wallet])
}

/// What the stored member row `bytes` holds.
pub(crate) fn of_row(bytes: &[u8]) -> Result<Share, DbError> {
    let m: MemberState = decode(bytes, "member")?;
    Ok(of(&m))
}

/// The running sum as stored (`None`: not yet made).
pub(crate) fn read(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Option<Share>, DbError> {
    meta.get(KEY)?
        .map(|v| decode(v.value(), "held"))
        .transpose()
}

pub(crate) fn bytes(held: &Share) -> Vec<u8> {
    encode(held)
}

/// Every member read and summed: the deep check, and the backfill.
pub(crate) fn scan(
    members: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Share, DbError> {
    let mut held = Share::default();
    for item in members.iter()? {
        let (_, v) = item?;
        held = plus(held, of_row(v.value())?);
    }
    Ok(held)
}

/// Make the running sum of a db written before it existed (one scan), and
/// answer it.
pub(crate) fn backfill(w: &redb::WriteTransaction) -> Result<Share, DbError> {
    let mut meta = w.open_table(META)?;
    if let Some(held) = read(&meta)? {
        return Ok(held);
    }
    let held = scan(&w.open_table(MEMBERS)?)?;
    meta.insert(KEY, bytes(&held).as_slice())?;
    Ok(held)
}
