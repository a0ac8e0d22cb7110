//! Figures the machine keeps about this process (Linux `/proc`), which
//! neighbours on a shared machine disturb much less than wall-clock rates:
//! CPU time (of the process and of the store's writer thread) and bytes
//! sent to storage. `None` where `/proc` does not have them.

use std::time::Duration;

/// Clock ticks per second of `/proc/*/stat` (USER_HZ; 100 on Linux).
const TICKS_PER_SEC: u64 = 100;

/// The store's writer thread's name (tongka-db names it so).
pub(crate) const WRITER_THREAD: &str = "tongka-writer";

/// utime + stime of a `/proc/.../stat` line.
pub(crate) fn stat_cpu(stat: &str) -> Option<Duration> {
    // Fields after the command, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SEC,
    ))
}

/// CPU time used by this process so far.
pub(crate) fn process_cpu() -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// `(on a CPU, runnable but waiting for a CPU)` of a `schedstat` line.
fn schedstat(line: &str) -> Option<(Duration, Duration)> {
    let mut f = line.split_whitespace();
    let run: u64 = f.next()?.parse().ok()?;
    let wait: u64 = f.next()?.parse().ok()?;
    Some((Duration::from_nanos(run), Duration::from_nanos(wait)))
}

/// Time spent so far by this process's threads named `name` on a CPU, and
/// runnable but waiting for one (other processes had the cores).
pub(crate) fn thread_sched(name: &str) -> Option<(Duration, Duration)> {
    let mut total = (Duration::ZERO, Duration::ZERO);
    let mut found = false;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let path = entry.ok()?.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() == name
            && let Some((run, wait)) = std::fs::read_to_string(path.join("schedstat"))
                .ok()
                .as_deref()
                .and_then(schedstat)
        {
            total.0 += run;
            total.1 += wait;
            found = true;
        }
    }
    found.then_some(total)
}

/// Time the calling thread spent on a CPU so far.
pub(crate) fn this_thread_cpu() -> Option<Duration> {
    let line = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    schedstat(&line).map(|(run, _)| run)
}

/// Bytes this process caused to be sent to storage so far.
pub(crate) fn write_bytes() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The machine's 1-minute load average.
pub(crate) fn load_avg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `(VmRSS, VmHWM)` in bytes from a `/proc/<pid>/status` file: resident
/// memory now, and its peak.
pub(crate) fn proc_memory(status_path: &str) -> (Option<u64>, Option<u64>) {
    let Ok(text) = std::fs::read_to_string(status_path) else {
        return (None, None);
    };
    status_memory(&text)
}

/// `(VmRSS, VmHWM)` in bytes of a `/proc/<pid>/status` text.
pub(crate) fn status_memory(text: &str) -> (Option<u64>, Option<u64>) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A reading of the counters, to subtract from a later one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counters {
    pub cpu: Option<Duration>,
    pub writer: Option<(Duration, Duration)>,
    pub written: Option<u64>,
}

impl Counters {
    pub fn now() -> Counters {
        Counters {
            cpu: process_cpu(),
            writer: thread_sched(WRITER_THREAD),
            written: write_bytes(),
        }
    }

    /// What was used between `self` and `later`.
    pub fn until(&self, later: &Counters) -> Usage {
        Usage {
            cpu: later.cpu.zip(self.cpu).map(|(b, a)| b.saturating_sub(a)),
            writer: later
                .writer
                .zip(self.writer)
                .map(|(b, a)| (b.0.saturating_sub(a.0), b.1.saturating_sub(a.1))),
            written: later
                .written
                .zip(self.written)
                .map(|(b, a)| b.saturating_sub(a)),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    pub cpu: Option<Duration>,
    /// The writer thread: on a CPU, and runnable waiting for one.
    pub writer: Option<(Duration, Duration)>,
    pub written: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines() {
        let line = "1234 (tongka writer) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(stat_cpu(line), Some(Duration::from_secs(3)));
        assert_eq!(
            schedstat("1500 2500 7\n"),
            Some((Duration::from_nanos(1500), Duration::from_nanos(2500)))
        );
    }

    #[test]
    fn parses_status_memory() {
        let text = "Name:\ttongka\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n";
        assert_eq!(
            status_memory(text),
            (Some(100 * 1024 * 1024), Some(200 * 1024 * 1024))
        );
        assert_eq!(status_memory("Name: x\n"), (None, None));
    }

    #[test]
    fn reads_this_process() {
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(process_cpu().is_some());
            assert!(load_avg().is_some());
        }
    }
}
