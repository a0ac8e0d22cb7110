//! The raw redb baseline (`tongka_db::baseline`) timed: the same number
//! of writes, batched as the node batched them, each batch one
//! `Durability::Immediate` write transaction.

use std::path::Path;
use std::time::{Duration, Instant};

use tongka_db::baseline::Baseline;

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
    let db = Baseline::create(path)?;
    let written0 = crate::sys::write_bytes();
    let cpu0 = crate::sys::this_thread_cpu();
    let start = Instant::now();
    let commits = db.write(writes, batch, value_bytes)?;
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
