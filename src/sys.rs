//! The operating system's limits and counters the mock and the live engine both read: the
//! open-file limit, the listen backlog, TCP sockets in TIME_WAIT. One home, so the two agree.

/// Lifts the soft open-file limit as far as the hard limit allows (every connection is a
/// descriptor, and the default soft limit of 1,024 would cap a run far below its target), then
/// returns the limit as it now is: (soft, hard). A failure leaves the limit as it was.
pub fn raise_fd_limit() -> (u64, u64) {
    let _ = rlimit::increase_nofile_limit(rlimit::INFINITY);
    rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((1024, 1024))
}

/// `net.core.somaxconn`, clamped to 128..=65535 (4096 when unreadable): the deepest listen
/// backlog the kernel grants.
pub fn somaxconn() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096)
        .clamp(128, 65535)
}

/// TCP sockets in TIME_WAIT on this machine (from /proc/net/tcp{,6}); None off Linux.
pub fn time_wait_sockets() -> Option<u64> {
    let mut n = 0;
    let mut any = false;
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        any = true;
        n += text
            .lines()
            .skip(1)
            .filter(|l| l.split_whitespace().nth(3) == Some("06"))
            .count() as u64;
    }
    any.then_some(n)
}
