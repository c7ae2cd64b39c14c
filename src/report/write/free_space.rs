//! Room on the disk: an upper bound on a run's results ([`results_size_bound`]) and the check
//! that the file system holding them has that much free ([`check_free_space`]).

use super::ReportError;
use std::path::Path;

/// The least free space any results directory needs: summary, run.json and the two reports
/// (report.html alone is 110-180 KB for the bundled scenarios), with room to spare.
pub const MIN_FREE_BYTES: u64 = 1024 * 1024;

/// Most bytes one `timeline.csv` row takes: 35 counters of up to 8 digits and their commas
/// (the bundled scenarios' rows average 97-113 bytes).
const TIMELINE_ROW_BYTES: u64 = 320;

/// Most bytes one interval of `histograms.hlog` takes, all operations together: about a dozen
/// tagged lines of compressed, base64 histogram (the bundled scenarios average 1.2-1.6 KB a
/// line).
const HLOG_INTERVAL_BYTES: u64 = 12 * 4096;

/// An upper bound on the size of a results directory with `timeline_rows` timeline rows and
/// `hlog_intervals` histogram intervals (both known before a run from its longest duration).
/// Measured against the bundled scenarios (tests/inputs.rs checks it against a real run):
/// blackout 1.9 MB, black-friday 3.1 MB, reboot-wave 2.0 MB, each under half its bound.
pub fn results_size_bound(timeline_rows: u64, hlog_intervals: u64) -> u64 {
    MIN_FREE_BYTES
        .saturating_add(timeline_rows.saturating_mul(TIMELINE_ROW_BYTES))
        .saturating_add(hlog_intervals.saturating_mul(HLOG_INTERVAL_BYTES))
}

/// Fails when the file system holding `dir` has less than `need` bytes available to this
/// user, so a full disk is found before a long run, not after it. Where free space cannot be
/// read, passes.
pub fn check_free_space(dir: &Path, need: u64) -> Result<(), ReportError> {
    room_for(dir, free_bytes(dir), need)
}

fn room_for(dir: &Path, free: Option<u64>, need: u64) -> Result<(), ReportError> {
    match free {
        Some(free) if free < need => Err(ReportError::DiskFull {
            path: dir.to_path_buf(),
            free,
            need,
        }),
        _ => Ok(()),
    }
}

/// Bytes available to an unprivileged user on the file system holding `dir` (`statvfs`).
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized, writable struct
    // that statvfs fills in; nothing is retained after the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

#[cfg(not(unix))]
fn free_bytes(_: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_refused_below_the_need_and_unknown_room_passes() {
        let d = Path::new("/data");
        let need = results_size_bound(20_000, 200);
        // The default-bucket bound: the timeline's 20,000 rows and ~200 hlog intervals.
        assert!((10 << 20..20 << 20).contains(&need), "{need}");
        match room_for(d, Some(need - 1), need) {
            Err(e @ ReportError::DiskFull { .. }) => {
                let m = e.to_string();
                assert!(m.contains("/data") && m.contains("MiB"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        room_for(d, Some(need), need).unwrap();
        room_for(d, None, need).unwrap();
        assert_eq!(results_size_bound(u64::MAX, u64::MAX), u64::MAX);
    }
}
