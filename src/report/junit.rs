//! JUnit XML for CI test reporters (Jenkins, GitLab, GitHub actions such as
//! `mikepenz/action-junit-report` or `dorny/test-reporter`): one test case per SLO
//! (`fleetsim run --junit`) or per compared metric (`fleetsim compare --junit`), a failure
//! carrying the measured value and the threshold.
//!
//! Written by hand: the document is one `<testsuites>` of flat test cases, and escaping
//! text is the only subtle part. `quick-junit` would bring `quick-xml`, `chrono`, `uuid` and
//! `indexmap` for it.

use super::compare::{Comparison, Status};
use crate::metric::{Verdict, number};
use std::fmt::Write;
use std::io;
use std::path::{Path, PathBuf};

/// One test case; failed when `failure` is set.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub name: String,
    pub classname: String,
    pub failure: Option<Failure>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// One line: what failed, the measured value and the threshold.
    pub message: String,
    /// `slo` or `regression`.
    pub kind: String,
    /// Details, one per line.
    pub body: String,
}

/// One test suite.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    pub name: String,
    /// Seconds the suite took (the run's wall time for SLOs; 0 for a comparison).
    pub time_s: f64,
    pub cases: Vec<Case>,
}

impl Suite {
    pub fn failures(&self) -> usize {
        self.cases.iter().filter(|c| c.failure.is_some()).count()
    }
}

/// Escapes text for XML attributes and content, dropping characters XML 1.0 cannot hold
/// (control characters other than tab, newline and carriage return).
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => o.push(c),
        }
    }
    o
}

/// The JUnit XML document.
pub fn to_xml(suites: &[Suite]) -> String {
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(Suite::failures).sum();
    let time: f64 = suites.iter().map(|s| s.time_s).sum();
    let mut o = String::new();
    let _ = writeln!(o, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        o,
        r#"<testsuites name="fleetsim" tests="{tests}" failures="{failures}" errors="0" time="{time:.3}">"#
    );
    for s in suites {
        let _ = writeln!(
            o,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="0" skipped="0" time="{:.3}">"#,
            esc(&s.name),
            s.cases.len(),
            s.failures(),
            s.time_s
        );
        for c in &s.cases {
            let head = format!(
                r#"    <testcase name="{}" classname="{}" time="0""#,
                esc(&c.name),
                esc(&c.classname)
            );
            match &c.failure {
                None => {
                    let _ = writeln!(o, "{head}/>");
                }
                Some(f) => {
                    let _ = writeln!(o, "{head}>");
                    let _ = writeln!(
                        o,
                        r#"      <failure message="{}" type="{}">{}</failure>"#,
                        esc(&f.message),
                        esc(&f.kind),
                        esc(&f.body)
                    );
                    let _ = writeln!(o, "    </testcase>");
                }
            }
        }
        let _ = writeln!(o, "  </testsuite>");
    }
    let _ = writeln!(o, "</testsuites>");
    o
}

/// The SLO verdicts of one run: one case per SLO, named `METRIC CONDITION`.
pub fn slo_suite(scenario: &str, verdicts: &[Verdict], wall_s: f64) -> Suite {
    let classname = format!("fleetsim.slo.{scenario}");
    Suite {
        name: format!("fleetsim slo: {scenario}"),
        time_s: wall_s,
        cases: verdicts
            .iter()
            .map(|v| Case {
                name: format!("{} {}", v.metric, v.condition),
                classname: classname.clone(),
                failure: (!v.pass).then(|| Failure {
                    message: format!(
                        "{} {}: measured {}; threshold {} {}",
                        v.metric,
                        v.condition,
                        v.measured_text(),
                        v.condition_op(),
                        v.threshold_text()
                    ),
                    kind: "slo".into(),
                    body: format!(
                        "metric: {}\ncondition: {}\nmeasured: {}\nthreshold: {} {}\n",
                        v.metric,
                        v.condition,
                        v.measured
                            .map_or("null (never reached)".into(), |m| format!(
                                "{} {}",
                                number(m),
                                v.unit.symbol()
                            ))
                            .trim_end(),
                        v.condition_op(),
                        v.threshold_text()
                    ),
                }),
            })
            .collect(),
    }
}

/// A comparison: one case per compared metric, failed when it regressed.
pub fn compare_suite(c: &Comparison) -> Suite {
    let classname = format!("fleetsim.compare.{}", c.current.name);
    Suite {
        name: format!("fleetsim compare: {}", c.current.name),
        time_s: 0.0,
        cases: c
            .rows
            .iter()
            .map(|r| {
                let raw = |v: Option<f64>| {
                    v.map_or("null (never reached)".to_string(), |x| {
                        format!("{} {}", number(x), r.unit.symbol())
                            .trim_end()
                            .to_string()
                    })
                };
                Case {
                    name: r.metric.clone(),
                    classname: classname.clone(),
                    failure: (r.status == Status::Regressed).then(|| Failure {
                        message: super::compare::describe_regression(r),
                        kind: "regression".into(),
                        body: format!(
                            "metric: {}\nbaseline: {}\ncurrent: {}\nchange: {}\ntolerance: {}\nthreshold: {}\nbaseline run: {}\ncurrent run: {}\n",
                            r.metric,
                            raw(r.baseline),
                            raw(r.current),
                            r.change(),
                            r.tolerance,
                            r.limit().map_or("-".into(), |l| raw(Some(l))),
                            c.baseline.dir.display(),
                            c.current.dir.display()
                        ),
                    }),
                }
            })
            .collect(),
    }
}

/// Checks, before any work, that `path` can be written: its directory exists and it is not a
/// directory itself.
pub fn check_target(path: &Path) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("the file name is empty".into());
    }
    if path.is_dir() {
        return Err(format!(
            "{} is a directory; give a file name",
            path.display()
        ));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "{}: the directory {} does not exist",
            path.display(),
            parent.display()
        ));
    }
    // Probe with the temporary name `write_atomic` will use, so an unwritable directory is
    // found now, not after a long run.
    let probe = tmp_path(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| format!("{}: cannot write there: {e}", path.display()))
}

/// The temporary sibling [`write_atomic`] writes before renaming it over `path`.
fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `text` to `path` atomically: into a temporary sibling, renamed over `path`, so a
/// reader never sees half a file.
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let tmp = tmp_path(path);
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{Condition, evaluate, summary_schema};
    use serde_json::json;

    #[test]
    fn slo_verdicts_become_cases_and_failures_carry_the_numbers() {
        let mut s = summary_schema().clone();
        s["online"]["t99_s"] = json!(1900.0);
        s["operations"]["hub.connect"]["throttle_rate"] = json!(0.1);
        let c = |t: &str| Condition::parse(t).unwrap();
        let verdicts = vec![
            evaluate(&s, "online.t99", &c("< 30m")).unwrap(),
            evaluate(&s, "operations.hub.connect.throttle_rate", &c("< 0.25")).unwrap(),
        ];
        let suite = slo_suite("blackout", &verdicts, 1.5);
        assert_eq!(suite.failures(), 1);
        let xml = to_xml(&[suite]);
        assert!(xml.starts_with("<?xml"), "{xml}");
        assert!(
            xml.contains(
                r#"<testsuites name="fleetsim" tests="2" failures="1" errors="0" time="1.500">"#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase name="online.t99 &lt; 30m" classname="fleetsim.slo.blackout" time="0">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"message="online.t99 &lt; 30m: measured 31 m 40 s; threshold &lt; 30 m" type="slo""#),
            "{xml}"
        );
        assert!(xml.contains("measured: 1900 s\n"), "{xml}");
        assert!(
            xml.contains(r#"<testcase name="operations.hub.connect.throttle_rate &lt; 0.25" classname="fleetsim.slo.blackout" time="0"/>"#),
            "{xml}"
        );
    }

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        assert_eq!(
            esc("a<b & \"c\" 'd'>\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\n"
        );
    }

    #[test]
    fn atomic_writes_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("junit.xml");
        write_atomic(&p, "one").unwrap();
        write_atomic(&p, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(check_target(&p).is_ok());
        assert!(check_target(dir.path()).is_err());
        assert!(check_target(&dir.path().join("no/such/dir/x.xml")).is_err());
        assert!(write_atomic(&dir.path().join("no/x.xml"), "x").is_err());
    }
}
