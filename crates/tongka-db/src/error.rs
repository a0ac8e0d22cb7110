//! The db's errors: what a caller of the db can be told, with a
//! machine code and messages in Chinese and English; redb's own errors are
//! kept inside [`RedbError`].

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("database: {0}")]
    Redb(RedbError),
    #[error("database file was written by schema {found}; this build reads schema {expected}")]
    Schema { found: u32, expected: u32 },
    /// A database of an earlier schema (< `SCHEMA_VERSION`): not upgraded.
    #[error(
        "this database was written by an earlier tongka format (schema {found}; this build \
         reads schema 9): start a new data directory, or re-run \
         `tongka chain add-store` for this store, and let it catch up from the chain"
    )]
    FormatTooOld { found: u32 },
    #[error("database belongs to node {found}, not {expected}")]
    WrongNode { found: String, expected: String },
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("storage failed earlier and accepts no more writes until the node restarts: {0}")]
    Poisoned(String),
    #[error("the writer has stopped")]
    Stopped,
}

/// A failure of the database engine, kept opaque: only this crate knows
/// redb, so its error types stay inside.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct RedbError(redb::Error);

impl tongka_core::DomainError for DbError {
    fn code(&self) -> &'static str {
        match self {
            DbError::Redb(_) => "storage_error",
            DbError::Schema { .. } => "storage_schema_unknown",
            DbError::FormatTooOld { .. } => "storage_format_too_old",
            DbError::WrongNode { .. } => "storage_wrong_node",
            DbError::Corrupt(_) => "storage_corrupt",
            DbError::Poisoned(_) => "storage_poisoned",
            DbError::Stopped => "storage_stopped",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            DbError::Redb(e) => format!("数据库错误：{e}"),
            DbError::Schema { found, expected } => {
                format!("数据库文件由结构版本 {found} 写入；本版本读取结构版本 {expected}")
            }
            DbError::FormatTooOld { found } => format!(
                "此数据库由较早的通卡格式写入（结构版本 {found}；本版本读取 8 及以后）：\
                 请使用新的数据目录，或为此门店重新运行 `tongka chain add-store`，再从连锁同步数据"
            ),
            DbError::WrongNode { found, expected } => {
                format!("数据库属于节点 {found}，不是 {expected}")
            }
            DbError::Corrupt(e) => format!("存储的数据已损坏：{e}"),
            DbError::Poisoned(e) => format!("存储此前出错，节点重启前不再接受写入：{e}"),
            DbError::Stopped => "写入线程已停止".into(),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for DbError {
            fn from(e: $t) -> DbError { DbError::Redb(RedbError(e.into())) }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);
