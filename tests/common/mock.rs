//! `fleetsim mock` as a child process, started one way for every test binary that needs one:
//! [`mock()`] builds the command line, [`MockCmd::start`] spawns it (a
//! [`Spawned`](super::process::Spawned): output collected, killed when dropped), waits (bounded)
//! for the `limits:` line that follows its address lines, and parses the addresses it
//! announced, so a test never guesses a port or sleeps while the mock starts.

use super::process::Spawned;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// How long the mock may take to print its addresses, and to exit after SIGTERM: bounds that
/// stop a hung test, far above what a working mock needs.
pub const START_LIMIT: Duration = Duration::from_secs(20);
pub const STOP_LIMIT: Duration = Duration::from_secs(15);

/// The command line of a `fleetsim mock`: `fleetsim mock ARGS`, in `cwd`, with `env`.
/// FLEETSIM_GROUP_KEY is never inherited from the test's environment: a test that wants a key
/// there sets it.
pub struct MockCmd {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    nofile: Option<u32>,
}

/// `fleetsim mock` with no arguments yet.
pub fn mock() -> MockCmd {
    MockCmd {
        args: vec!["mock".into()],
        env: Vec::new(),
        cwd: None,
        nofile: None,
    }
}

impl MockCmd {
    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn current_dir(mut self, d: &Path) -> Self {
        self.cwd = Some(d.to_path_buf());
        self
    }

    /// Runs the mock under `ulimit -n N` (soft and hard: the mock cannot lift it again).
    pub fn nofile(mut self, n: u32) -> Self {
        self.nofile = Some(n);
        self
    }

    /// Spawns the mock and waits (at most [`START_LIMIT`]) for its address lines.
    pub fn start(self) -> MockProcess {
        let bin = env!("CARGO_BIN_EXE_fleetsim");
        let mut c = match self.nofile {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(bin);
                c
            }
            None => Command::new(bin),
        };
        c.args(&self.args)
            .env_remove("FLEETSIM_GROUP_KEY")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        let mut process = Spawned::spawn(c);
        // The addresses come first (a TLS line may come before them), then `limits:`.
        if let Err(why) = process.wait_for_stdout(START_LIMIT, |l| l.starts_with("limits:")) {
            panic!(
                "fleetsim mock {:?} did not announce its addresses: {why}\n{}",
                self.args,
                process.output()
            );
        }
        let mut m = MockProcess {
            process,
            dps: None,
            hub: None,
            tls: false,
            https: None,
        };
        for line in m.stdout_lines() {
            let addr = |rest: &str| -> SocketAddr {
                let hostport = rest.split("://").nth(1).expect("scheme://host:port");
                hostport.parse().unwrap_or_else(|e| panic!("{line}: {e}"))
            };
            if let Some(r) = line.strip_prefix("dps+hub: ") {
                m.tls = r.starts_with("mqtts://");
                m.dps = Some(addr(r));
                m.hub = m.dps;
            } else if let Some(r) = line.strip_prefix("dps: ") {
                m.tls = r.starts_with("mqtts://");
                m.dps = Some(addr(r));
            } else if let Some(r) = line.strip_prefix("hub: ") {
                m.hub = Some(addr(r));
            } else if let Some(r) = line.strip_prefix("dps https: ") {
                m.https = Some(addr(r));
            }
        }
        assert!(
            m.dps.is_some() && m.hub.is_some(),
            "no address line before `limits:`\n{}",
            m.output()
        );
        m
    }
}

/// A running `fleetsim mock` and the addresses it announced; killed and reaped when dropped.
pub struct MockProcess {
    process: Spawned,
    dps: Option<SocketAddr>,
    hub: Option<SocketAddr>,
    tls: bool,
    https: Option<SocketAddr>,
}

impl MockProcess {
    /// The one address DPS and the hub share (`dps+hub:`).
    pub fn addr(&self) -> SocketAddr {
        assert_eq!(self.dps, self.hub, "DPS and the hub listen apart");
        self.dps.unwrap()
    }

    pub fn dps_addr(&self) -> SocketAddr {
        self.dps.unwrap()
    }

    pub fn hub_addr(&self) -> SocketAddr {
        self.hub.unwrap()
    }

    /// Whether the MQTT listener speaks TLS (`mqtts://`).
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The DPS HTTPS (status lookup) address, when started with `--https-listen`.
    pub fn https_addr(&self) -> SocketAddr {
        self.https.expect("the mock printed a `dps https:` line")
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Every stdout line so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.process.stdout_lines()
    }

    /// The stats lines (`mock: open …`) so far.
    pub fn stats_lines(&self) -> Vec<String> {
        let mut lines = self.process.stdout_lines();
        lines.retain(|l| l.starts_with("mock: open"));
        lines
    }

    /// Stdout and stderr so far, for failure messages.
    pub fn output(&self) -> String {
        format!("fleetsim mock:\n{}", self.process.output())
    }

    /// The exit status, if the mock has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.process.try_wait()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// SIGTERM, wait for the exit (at most [`STOP_LIMIT`]), and return everything it printed:
    /// (stdout, stderr), each line ended by `\n`.
    pub fn stop(mut self) -> (String, String) {
        self.process.signal(libc::SIGTERM);
        if self.process.wait_within(STOP_LIMIT).is_none() {
            panic!(
                "fleetsim mock ignored SIGTERM for {STOP_LIMIT:?}\n{}",
                self.output()
            );
        }
        self.process.finish()
    }
}

/// A counter from a stats line: the number after `label`, e.g. `counter(l, "hub: sessions ")`.
pub fn counter(line: &str, label: &str) -> u64 {
    let at = line
        .find(label)
        .unwrap_or_else(|| panic!("`{label}` in {line}"))
        + label.len();
    line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("`{label}` in {line}"))
}
