//! `report.md`: the report's words and tables without the charts, for a CI step summary
//! (`cat report.md >> "$GITHUB_STEP_SUMMARY"`) or a pull-request comment. A pure function of
//! the [`ReportModel`].

use super::content::{self, Table};
use super::model::ReportModel;
use super::text::md;
use std::fmt::Write;

fn table(o: &mut String, t: &Table) {
    let head: Vec<String> = t
        .head
        .iter()
        .map(|h| if h.is_empty() { " ".into() } else { md(h) })
        .collect();
    let _ = writeln!(o, "| {} |", head.join(" | "));
    let align: Vec<&str> = t
        .numeric
        .iter()
        .map(|n| if *n { "---:" } else { ":---" })
        .collect();
    let _ = writeln!(o, "|{}|", align.join("|"));
    for row in &t.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c.as_str() {
                "FAIL" => "**FAIL**".into(),
                other => md(other),
            })
            .collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o.push('\n');
}

pub fn render_markdown(m: &ReportModel) -> String {
    let s = &m.summary;
    let mut o = String::new();
    let _ = writeln!(o, "# fleetsim report: {}\n", md(&s.scenario.name));
    if !s.scenario.description.is_empty() {
        let _ = writeln!(o, "_{}_\n", md(&s.scenario.description));
    }
    if let Some(b) = content::banner(m) {
        let _ = writeln!(o, "> **Warning:** {}\n", md(&b));
    }
    let _ = writeln!(o, "{}\n", md(&content::paragraph(m)));
    if let Some(missing) = content::missing(m) {
        let _ = writeln!(o, "{}\n", md(&missing));
    }
    o.push_str("## Time to online\n\n");
    table(&mut o, &content::online_table(m));
    o.push_str("## Operations\n\n");
    table(&mut o, &content::operations_table(m));
    if let Some(t) = content::live_table(m) {
        o.push_str("## Live run\n\n");
        table(&mut o, &t);
        for w in s.live.iter().flat_map(|l| &l.warnings) {
            let _ = writeln!(o, "> **Warning:** {}\n", md(w));
        }
    }
    if let Some(t) = content::slo_table(m) {
        o.push_str("## SLOs\n\n");
        table(&mut o, &t);
    }
    if let Some(t) = content::limits_table(m) {
        o.push_str("## Quota limits: model against measured\n\n");
        table(&mut o, &t);
    }
    if !s.model.waste.is_empty() {
        o.push_str("Load the fleet could have spared the services:\n\n");
        for w in &s.model.waste {
            let _ = writeln!(o, "- {}", md(w));
        }
        o.push('\n');
    }
    if let Some(p) = &m.plan {
        o.push_str("## Plan\n\n");
        if let Some(g) = &p.goal {
            let _ = writeln!(o, "Goal: `{}`\n", g.replace('`', "'"));
        }
        table(&mut o, &content::plan_table(p));
    }
    if let Some(q) = content::daily_quota(m) {
        let _ = writeln!(o, "{}\n", md(&q));
    }
    o.push_str("Charts: `report.html` in the results directory.\n");
    o
}
