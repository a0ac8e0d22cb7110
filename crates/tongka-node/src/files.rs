//! Who may read a node's files, and how many it may open.
//!
//! The data directory holds the database (every member's phone and
//! balance), the member-code key and, in a quick start, the admin token:
//! nothing any other local user should read. So the directory is made
//! mode 0700 before anything is written in it (a file inside is then out
//! of other users' reach from its creation on, whatever the umask gave
//! it), and at every start its files are tightened to 0600 and its
//! directories to 0700, as are the token and key files the config names
//! elsewhere (a data directory of an older version was 0755 with 0644
//! files).

use std::path::Path;

use anyhow::Context;

/// Create `dir` (and its parents) with mode 0700 for the last component,
/// or tighten it to 0700 if it exists.
pub(crate) fn private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    tighten(dir)
}

/// Take group and other users' access away from `path`; for a directory,
/// from everything under it too (symbolic links are left alone).
pub(crate) fn tighten(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        if meta.file_type().is_symlink() {
            return Ok(());
        }
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
                .with_context(|| format!("making {} private (mode 0700/0600)", path.display()))?;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(path)
                .with_context(|| format!("reading directory {}", path.display()))?
            {
                tighten(&entry?.path())?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Files a node keeps open besides its HTTP connections: the database
/// and its history index, QUIC's and mDNS's sockets, peers' certificates
/// being read, tokio's own handles, and headroom.
pub const FILES_RESERVED: u64 = 256;

/// Raise the soft limit of open files to the hard limit (a service
/// manager often starts a process at 1,024 with a far higher hard limit)
/// and return the soft limit in force; `None` where there is no such limit
/// or it cannot be read.
pub fn raise_open_files() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if let (Some(cur), Some(max)) = (limit.current, limit.maximum)
            && cur < max
        {
            let before = cur;
            limit.current = Some(max);
            match setrlimit(Resource::Nofile, limit) {
                Ok(()) => tracing::info!(from = before, to = max, "raised the open-file limit"),
                Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
            }
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    None
}

/// The connection cap in force: the configured one, lowered so the
/// connections and [`FILES_RESERVED`] fit in `open_files` (at least 1).
pub fn connection_cap(configured: u32, open_files: Option<u64>) -> usize {
    let configured = u64::from(configured);
    let cap = match open_files {
        Some(n) => configured.min(n.saturating_sub(FILES_RESERVED).max(1)),
        None => configured,
    };
    usize::try_from(cap).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_under_the_open_file_limit() {
        assert_eq!(connection_cap(1000, Some(1024)), 1024 - 256);
        assert_eq!(connection_cap(1000, Some(1_048_576)), 1000);
        assert_eq!(connection_cap(1000, None), 1000);
        assert_eq!(connection_cap(1000, Some(10)), 1);
    }

    #[test]
    fn raising_keeps_a_limit_at_least_as_high() {
        let before = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        let now = raise_open_files();
        assert!(now >= before.current, "{now:?} < {:?}", before.current);
        assert_eq!(now, before.maximum.or(now));
    }

    #[cfg(unix)]
    #[test]
    fn data_files_become_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir_all(dir.join("certs")).unwrap();
        std::fs::write(dir.join("tongka.redb"), b"x").unwrap();
        std::fs::write(dir.join("certs/a.pem"), b"x").unwrap();
        for p in [dir.clone(), dir.join("certs")] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for p in [dir.join("tongka.redb"), dir.join("certs/a.pem")] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        private_dir(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("certs")), 0o700);
        assert_eq!(mode(&dir.join("tongka.redb")), 0o600);
        assert_eq!(mode(&dir.join("certs/a.pem")), 0o600);
        let fresh = tmp.path().join("a/b/fresh");
        private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
    }
}
