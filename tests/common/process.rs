//! A test's child process, run one way: [`Spawned::spawn`] starts it with its stdout and stderr
//! collected line by line in the background (so it never blocks on a full pipe), the test
//! waits for a line it announces ([`Spawned::wait_for_stdout`]) or for its exit
//! ([`Spawned::wait_within`]), each with a bound that only stops a hung test, and the process
//! is killed and reaped when dropped, so a failing test leaves nothing running.
//! [`KillOnDrop`] does the last part alone, for a child whose output nobody reads.

// Child processes on the wall clock: the bounds need Instant.
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A child process killed and reaped when dropped (a broker, a `fleetsim run` whose output
/// goes nowhere).
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// What the readers have collected so far.
#[derive(Default)]
struct Collected {
    out: Vec<String>,
    err: Vec<String>,
    /// Whether stdout has reached its end (the process exited or closed it).
    out_ended: bool,
}

#[derive(Default)]
struct Shared {
    collected: Mutex<Collected>,
    /// Signalled at every stdout line and at stdout's end.
    changed: Condvar,
}

/// A running child with its output collected; killed and reaped when dropped.
pub struct Spawned {
    child: Child,
    shared: Arc<Shared>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Spawned {
    /// Spawns `cmd` with no stdin and its stdout and stderr collected; panics (naming the
    /// program) if it cannot start.
    pub fn spawn(mut cmd: Command) -> Spawned {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{:?} cannot start: {e}", cmd.get_program()));
        let shared = Arc::new(Shared::default());
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let readers = vec![
            read_lines(out, Arc::clone(&shared), true),
            read_lines(err, Arc::clone(&shared), false),
        ];
        Spawned {
            child,
            shared,
            readers,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stdout line so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.shared.collected.lock().unwrap().out.clone()
    }

    /// Stdout and stderr so far, for failure messages.
    pub fn output(&self) -> String {
        let c = self.shared.collected.lock().unwrap();
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            c.out.join("\n"),
            c.err.join("\n")
        )
    }

    /// Waits (at most `limit`) for a stdout line for which `announced` holds, and returns it;
    /// or why there is none: stdout ended (the process exited: with its status), or `limit`
    /// passed.
    pub fn wait_for_stdout(
        &mut self,
        limit: Duration,
        announced: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let end = Instant::now() + limit;
        let mut seen = 0;
        let mut c = self.shared.collected.lock().unwrap();
        loop {
            if let Some(l) = c.out[seen..].iter().find(|l| announced(l)) {
                return Ok(l.clone());
            }
            seen = c.out.len();
            if c.out_ended {
                drop(c);
                let status = self.child.wait().expect("reaped");
                return Err(format!("it exited ({status}) first"));
            }
            let now = Instant::now();
            if now >= end {
                return Err(format!("still waiting after {limit:?}"));
            }
            c = self.shared.changed.wait_timeout(c, end - now).unwrap().0;
        }
    }

    /// The exit status, if the process has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits (at most `limit`) for the process to exit; None if it is still running.
    pub fn wait_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Some(s) = self.try_wait() {
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the process.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child, not yet reaped (Drop reaps it); no memory is
        // involved.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything the process printed, once it has exited (it is killed if not): (stdout,
    /// stderr), each line ended by `\n`. The readers are joined first, so nothing is missed.
    pub fn finish(mut self) -> (String, String) {
        if self.try_wait().is_none() {
            self.kill();
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let c = self.shared.collected.lock().unwrap();
        let text = |v: &[String]| v.iter().map(|l| format!("{l}\n")).collect::<String>();
        (text(&c.out), text(&c.err))
    }
}

/// Collects the lines of one pipe (stdout when `is_stdout`) until its end.
fn read_lines(r: impl Read + Send + 'static, into: Arc<Shared>, is_stdout: bool) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            let mut c = into.collected.lock().unwrap();
            if is_stdout {
                c.out.push(line);
                into.changed.notify_all();
            } else {
                c.err.push(line);
            }
        }
        if is_stdout {
            into.collected.lock().unwrap().out_ended = true;
            into.changed.notify_all();
        }
    })
}
