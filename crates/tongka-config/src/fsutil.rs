//! Small file helpers: create-only writes (private files get mode 0600 on
//! unix), atomic replacement, directory creation, all mapping I/O errors to
//! [`ConfigError`] with the path.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Result};

/// Who may read a file we create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Owner only (mode 0600 on unix): keys and tokens.
    Private,
    /// Default permissions: certificates, configurations, manifests.
    Public,
}

fn open_options(access: Access) -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if access == Access::Private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = access;
    options
}

/// Creates `path` with `contents`; fails (with
/// [`ConfigError::WouldOverwrite`]) if it already exists.
pub(crate) fn write_new(path: &Path, contents: &[u8], access: Access) -> Result<()> {
    let mut file = open_options(access).open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            ConfigError::WouldOverwrite {
                path: path.to_path_buf(),
            }
        } else {
            write_err(path, source)
        }
    })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|source| write_err(path, source))
}

/// Replaces `path` with `contents` atomically (write a sibling temporary
/// file, then rename it over `path`).
pub(crate) fn replace(path: &Path, contents: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // A temporary left behind by an earlier crash is stale: drop it.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(write_err(&tmp, source)),
    }
    write_new(&tmp, contents, Access::Public)?;
    fs::rename(&tmp, path).map_err(|source| write_err(path, source))
}

/// Reads `path` to a string.
pub(crate) fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Creates `path` and its parents.
pub(crate) fn create_dir_all(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|source| ConfigError::CreateDir {
        path: path.to_path_buf(),
        source,
    })
}

/// Fails with [`ConfigError::WouldOverwrite`] if `path` exists.
pub(crate) fn ensure_absent(path: &Path) -> Result<()> {
    if path.exists() {
        Err(ConfigError::WouldOverwrite {
            path: path.to_path_buf(),
        })
    } else {
        Ok(())
    }
}

fn write_err(path: &Path, source: std::io::Error) -> ConfigError {
    ConfigError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// `path` made absolute against the current directory (without resolving
/// symlinks); unchanged if the current directory cannot be determined.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    if path.as_os_str().is_empty() {
        return std::env::current_dir().unwrap_or_default();
    }
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
