//! [`ReportError`]: why a results directory could not be written (or, before a run, why it
//! could not be).

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "results directory {} already exists and is not empty (choose another --out, or remove it)",
        .0.display()
    )]
    NotEmpty(PathBuf),
    #[error("results directory {} exists and is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot write results under {}: the directory does not exist", .0.display())]
    NoParent(PathBuf),
    #[error("writing {}: {message}", path.display())]
    Encode { path: PathBuf, message: String },
    #[error("cannot write results to {}: {source}", path.display())]
    Unwritable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "only {} free on the file system holding {}; this run's results may need up to {} (free some space, or choose another --out)",
        mib(*free),
        path.display(),
        mib(*need)
    )]
    DiskFull { path: PathBuf, free: u64, need: u64 },
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn mib(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}
