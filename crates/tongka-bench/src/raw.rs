//! The raw redb baseline: the same number of writes, batched as the node
//! batched them, each batch one `Durability::Immediate` write transaction.

use std::path::Path;
use std::time::{Duration, Instant};

use redb::{Database, Durability, TableDefinition};

const RAW: TableDefinition<u64, &[u8]> = TableDefinition::new("raw");

pub(crate) struct Raw {
    pub writes: u64,
    pub commits: u64,
    pub elapsed: Duration,
    /// Bytes sent to storage (the whole process; the node is idle by then).
    pub written: Option<u64>,
    /// CPU time of this thread.
    pub cpu: Option<Duration>,
}

/// Write `writes` values of `value_bytes` bytes into a fresh database at
/// `path`, `batch` per `Immediate` commit; time it (the file's creation is
/// not timed).
pub(crate) fn baseline(
    path: &Path,
    writes: u64,
    batch: usize,
    value_bytes: usize,
) -> anyhow::Result<Raw> {
    let db = Database::create(path)?;
    {
        let w = db.begin_write()?;
        w.open_table(RAW)?;
        w.commit()?;
    }
    // Values differ from each other like encoded ops do (ids, times).
    let mut value = vec![0u8; value_bytes.max(16)];
    for (i, b) in value.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(7);
    }
    let batch = batch.max(1) as u64;
    let mut commits = 0u64;
    let mut key = 0u64;
    let written0 = crate::sys::write_bytes();
    let cpu0 = crate::sys::this_thread_cpu();
    let start = Instant::now();
    while key < writes {
        let end = (key + batch).min(writes);
        let mut w = db.begin_write()?;
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
    let elapsed = start.elapsed();
    let written = crate::sys::write_bytes()
        .zip(written0)
        .map(|(b, a)| b.saturating_sub(a));
    let cpu = crate::sys::this_thread_cpu()
        .zip(cpu0)
        .map(|(b, a)| b.saturating_sub(a));
    Ok(Raw {
        writes,
        commits,
        elapsed,
        written,
        cpu,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn baseline_writes_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let r = super::baseline(&dir.path().join("raw.redb"), 1001, 100, 300).unwrap();
        assert_eq!(r.writes, 1001);
        assert_eq!(r.commits, 11);
    }
}
