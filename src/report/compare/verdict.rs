//! How one metric moved: its [`Row`] in the comparison and the [`Status`] it is judged to have,
//! against its tolerance and which way is worse.

use crate::metric::Unit;
use crate::metric::tolerance::{Allowance, Better};

/// How one metric moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Unchanged,
    Better,
    /// Worse, within its tolerance.
    Worse,
    /// Worse by more than its tolerance: fails the gate.
    Regressed,
    /// Changed, but its tolerance is `ignore`.
    Ignored,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Unchanged => "unchanged",
            Status::Better => "better",
            Status::Worse => "worse (within tolerance)",
            Status::Regressed => "REGRESSED",
            Status::Ignored => "ignored",
        }
    }
}

/// One compared metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Canonical metric path.
    pub metric: String,
    pub better: Better,
    pub unit: Unit,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub allowance: Allowance,
    /// The tolerance as written (`10%`, from `--max-regression` or `[compare]`).
    pub tolerance: String,
    pub status: Status,
}

impl Row {
    /// The value this metric may reach before it regresses (null when it is not gated).
    pub fn limit(&self) -> Option<f64> {
        let b = self.baseline?;
        let slack = match self.allowance {
            Allowance::Relative(r) => r * b.abs(),
            Allowance::Absolute(a) => a,
            Allowance::Ignore => return None,
        };
        Some(match self.better {
            Better::Lower => b + slack,
            Better::Higher => b - slack,
        })
    }

    /// `+22.5 %`, `-3 %`, `new` (from 0), `never reached now`, `reached now`, or empty.
    pub fn change(&self) -> String {
        match (self.baseline, self.current) {
            (Some(b), Some(c)) if b == c => String::new(),
            (Some(0.0), Some(c)) => format!("{} (from 0)", signed(c, self.unit)),
            (Some(b), Some(c)) => format!("{:+.1} %", (c - b) / b.abs() * 100.0),
            (Some(_), None) => "never reached now".into(),
            (None, Some(_)) => "reached now".into(),
            (None, None) => String::new(),
        }
    }

    /// A value of this metric for people.
    pub fn show(&self, v: Option<f64>) -> String {
        v.map_or("null".into(), |v| self.unit.format(v))
    }
}

fn signed(v: f64, unit: Unit) -> String {
    if v >= 0.0 {
        format!("+{}", unit.format(v))
    } else {
        unit.format(v)
    }
}

pub(super) fn judge(
    better: Better,
    base: Option<f64>,
    cur: Option<f64>,
    allowance: Allowance,
) -> Status {
    let changed = |s: Status| {
        if allowance == Allowance::Ignore {
            Status::Ignored
        } else {
            s
        }
    };
    match (base, cur) {
        (None, None) => Status::Unchanged,
        // Reached before, never now: as bad as it gets.
        (Some(_), None) => changed(Status::Regressed),
        (None, Some(_)) => Status::Better,
        (Some(b), Some(c)) => {
            let worse_by = match better {
                Better::Lower => c - b,
                Better::Higher => b - c,
            };
            if c == b {
                Status::Unchanged
            } else if worse_by < 0.0 {
                Status::Better
            } else {
                let slack = match allowance {
                    Allowance::Relative(r) => r * b.abs(),
                    Allowance::Absolute(a) => a,
                    Allowance::Ignore => return Status::Ignored,
                };
                // A hair of slack for decimal rounding in summary.json (6 decimals).
                if worse_by > slack + 1e-9 * b.abs().max(1.0) {
                    Status::Regressed
                } else {
                    Status::Worse
                }
            }
        }
    }
}
