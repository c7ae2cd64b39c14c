//! Where results go, and whether they can go there: the default `results/<name>-<stamp>`
//! directory, the checks `fleetsim run` makes before it starts ([`check_writable`]), and the
//! temporary sibling a results directory is written into before the rename.

use super::ReportError;
use super::error::io_err;
use super::free_space::{MIN_FREE_BYTES, check_free_space};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `results/<name>-<UTC timestamp>`, e.g. `results/blackout-20261122T171500Z`. Characters of
/// `scenario_name` that do not belong in a file name become `_`.
pub fn default_results_dir(scenario_name: &str, now: SystemTime) -> PathBuf {
    let name: String = scenario_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = if name.is_empty() || name.starts_with('.') {
        format!("run{name}")
    } else {
        name
    };
    let stamp: String = humantime::format_rfc3339_seconds(now)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    Path::new("results").join(format!("{name}-{stamp}"))
}

/// The temporary sibling results are written into before the rename.
pub(super) fn tmp_dir(dir: &Path) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(OsString::from)
        .unwrap_or_else(|| OsString::from("results"));
    name.push(format!(".tmp-{}", std::process::id()));
    dir.with_file_name(name)
}

fn parent_of(dir: &Path) -> &Path {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fails unless `dir` is absent or an empty directory.
pub(super) fn check_target(dir: &Path) -> Result<(), ReportError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ReportError::Unwritable {
            path: dir.to_path_buf(),
            source,
        }),
        Ok(m) if !m.is_dir() => Err(ReportError::NotADirectory(dir.to_path_buf())),
        Ok(_) => {
            let mut entries = fs::read_dir(dir).map_err(io_err(dir))?;
            if entries.next().is_some() {
                Err(ReportError::NotEmpty(dir.to_path_buf()))
            } else {
                Ok(())
            }
        }
    }
}

/// Before a run: can its results be written to `dir`? The parent must exist (a missing
/// `results/` directory is created) and be writable, and `dir` must not exist with content.
/// So a run fails before it starts, not after. Checks for [`MIN_FREE_BYTES`] of room; a run
/// that knows its size uses [`check_writable_with_room`].
pub fn check_writable(dir: &Path) -> Result<(), ReportError> {
    check_writable_with_room(dir, MIN_FREE_BYTES)
}

/// [`check_writable`], and at least `need` bytes free (see
/// [`results_size_bound`](super::results_size_bound)).
pub fn check_writable_with_room(dir: &Path, need: u64) -> Result<(), ReportError> {
    check_target(dir)?;
    let parent = parent_of(dir);
    if !parent.is_dir() {
        let is_results = parent.file_name().is_some_and(|n| n == "results");
        if is_results && parent_of(parent).is_dir() {
            fs::create_dir(parent).map_err(io_err(parent))?;
        } else {
            return Err(ReportError::NoParent(parent.to_path_buf()));
        }
    }
    // Probe with the very directory the writer will use; the error names `dir`, the
    // directory asked for, not the probe.
    let probe = tmp_dir(dir);
    let unwritable = |source| ReportError::Unwritable {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir(&probe).map_err(unwritable)?;
    fs::remove_dir(&probe).map_err(unwritable)?;
    check_free_space(parent, need)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn check_writable_creates_results_but_no_deeper_parent() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("results").join("x-20260101T000000Z");
        check_writable(&dir).unwrap();
        assert!(root.path().join("results").is_dir());
        assert!(!dir.exists());
        let deep = root.path().join("nope").join("x");
        assert!(matches!(
            check_writable(&deep),
            Err(ReportError::NoParent(_))
        ));
        assert!(!root.path().join("nope").exists());
    }

    #[test]
    fn default_dir_is_name_and_utc_stamp() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_367_700);
        assert_eq!(
            default_results_dir("blackout", now),
            Path::new("results/blackout-20261122T171500Z")
        );
        assert_eq!(
            default_results_dir("a b/c", now),
            Path::new("results/a_b_c-20261122T171500Z")
        );
    }
}
