//! The raw redb baseline the checkout benchmark compares the node with:
//! plain values written in batches, each batch one `Durability::Immediate`
//! write transaction, as the writer batches ops. Here so that only this
//! crate knows redb; the benchmark times it.

use std::path::Path;

use redb::{Database, Durability, TableDefinition};

use crate::DbError;

const RAW: TableDefinition<u64, &[u8]> = TableDefinition::new("raw");

/// A fresh database at `path` with its one table (not timed: call
/// [`Baseline::write`] for the timed part).
pub struct Baseline {
    db: Database,
}

impl Baseline {
    pub fn create(path: &Path) -> Result<Baseline, DbError> {
        let db = Database::create(path)?;
        let w = db.begin_write()?;
        w.open_table(RAW)?;
        w.commit()?;
        Ok(Baseline { db })
    }

    /// Write `writes` values of `value_bytes` bytes, `batch` per
    /// `Immediate` commit; the number of commits.
    pub fn write(&self, writes: u64, batch: usize, value_bytes: usize) -> Result<u64, DbError> {
        // Values differ from each other like encoded ops do (ids, times).
        let mut value = vec![0u8; value_bytes.max(16)];
        for (i, b) in value.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        let batch = batch.max(1) as u64;
        let mut commits = 0u64;
        let mut key = 0u64;
        while key < writes {
            let end = (key + batch).min(writes);
            let mut w = self.db.begin_write()?;
            w.set_durability(Durability::Immediate)?;
            {
                let mut t = w.open_table(RAW)?;
                while key < end {
                    value[..8].copy_from_slice(&key.to_le_bytes());
                    t.insert(key, value.as_slice())?;
                    key += 1;
                }
            }
            w.commit()?;
            commits += 1;
        }
        Ok(commits)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let b = super::Baseline::create(&dir.path().join("raw.redb")).unwrap();
        assert_eq!(b.write(1001, 100, 300).unwrap(), 11);
    }
}
