//! `report.html`: one self-contained page — inline CSS, inline SVG charts, no script, no font
//! or image from anywhere (a Content-Security-Policy forbids every fetch), readable offline
//! and when printed to PDF. A pure function of the [`ReportModel`].

use super::charts::{self, Chart, Mark};
use super::content::{self, Table};
use super::model::ReportModel;
use super::plan;
use super::text::html as esc;
use std::fmt::Write;

const CSS: &str = r#"
:root { --ink: #222; --muted: #666; --rule: #ddd; --bg: #fff; --warn: #fff4e5; --warn-ink: #8a4b00; }
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--ink); }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 28px 30px 48px; }
header .kicker { margin: 0; color: var(--muted); font-size: 13px; letter-spacing: .04em; text-transform: uppercase; }
h1 { margin: 2px 0 4px; font-size: 30px; line-height: 1.2; }
header .description { margin: 0 0 14px; color: var(--muted); }
h2 { margin: 34px 0 10px; font-size: 20px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
h3 { margin: 0; font-size: 16px; }
p.lede { font-size: 16.5px; margin: 12px 0; }
.banner { background: var(--warn); color: var(--warn-ink); border: 2px solid #f0a030; border-radius: 6px; padding: 10px 14px; margin: 14px 0; font-weight: 600; }
.note, .aside { color: var(--muted); font-size: 13.5px; margin: 6px 0 0; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 9px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
th { font-weight: 600; border-bottom: 2px solid #bbb; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.fail { color: #b00020; font-weight: 700; }
td.pass { color: #1b7a1b; font-weight: 600; }
table.wide { width: 100%; }
figure.chart { margin: 26px 0 0; break-inside: avoid; page-break-inside: avoid; }
figure.chart svg { display: block; max-width: 100%; height: auto; margin-top: 6px; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 6px 0 0; padding: 0; font-size: 13px; }
ul.legend li { display: flex; align-items: center; gap: 6px; }
.key { display: inline-block; width: 22px; height: 12px; flex: none; }
.key.line { height: 0; border-top: 3px solid var(--c); }
.key.dashed { height: 0; border-top: 3px dashed var(--c); }
.key.area { background: var(--c); opacity: .85; }
.key.dot { width: 10px; height: 10px; border-radius: 50%; background: var(--c); }
.key.ring { width: 12px; height: 12px; border-radius: 50%; border: 2px solid var(--c); }
.key.cross { width: auto; height: auto; color: var(--c); font-weight: 700; line-height: 1; }
.key.cross::before { content: "×"; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; font-size: 13.5px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--rule); padding-top: 8px; }
@page { margin: 14mm; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, .banner { break-inside: avoid; page-break-inside: avoid; }
  .banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

fn table(o: &mut String, t: &Table, class: &str) {
    let _ = writeln!(o, "<table class=\"{class}\">");
    o.push_str("<thead><tr>");
    for (h, num) in t.head.iter().zip(&t.numeric) {
        let cls = if *num { " class=\"num\"" } else { "" };
        let _ = write!(o, "<th{cls}>{}</th>", esc(h));
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        o.push_str("<tr>");
        for (cell, num) in row.iter().zip(&t.numeric) {
            let cls = match (cell.as_str(), *num) {
                ("FAIL", _) => " class=\"fail\"",
                ("pass", _) => " class=\"pass\"",
                (_, true) => " class=\"num\"",
                _ => "",
            };
            let _ = write!(o, "<td{cls}>{}</td>", esc(cell));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table>\n");
}

fn figure(o: &mut String, c: &Chart) {
    let _ = writeln!(o, "<figure class=\"chart\" id=\"{}\">", esc(&c.id));
    let _ = writeln!(o, "<figcaption><h3>{}</h3>", esc(&c.title));
    o.push_str("<ul class=\"legend\">");
    for l in &c.legend {
        let mark = match l.mark {
            Mark::Line => "line",
            Mark::Dashed => "dashed",
            Mark::Area => "area",
            Mark::Dot => "dot",
            Mark::Ring => "ring",
            Mark::Cross => "cross",
        };
        let _ = write!(
            o,
            "<li><span class=\"key {mark}\" style=\"--c:{}\"></span>{}</li>",
            esc(&l.color),
            esc(&l.label)
        );
    }
    o.push_str("</ul></figcaption>\n");
    match &c.svg {
        Ok(svg) => {
            let label = format!("<svg role=\"img\" aria-label=\"{}\" ", esc(&c.title));
            o.push_str(&svg.replacen("<svg ", &label, 1));
        }
        Err(e) => {
            let _ = writeln!(
                o,
                "<p class=\"banner\">This chart could not be drawn: {}</p>",
                esc(e)
            );
        }
    }
    let _ = writeln!(o, "<p class=\"note\">{}</p>\n</figure>", esc(&c.note));
}

/// The whole page.
pub fn render_html(m: &ReportModel) -> String {
    let mut o = String::with_capacity(256 * 1024);
    head(&mut o, m);
    lede(&mut o, m);
    o.push_str(
        "<section id=\"tables\">\n<h2>Time to online: measured against the quota model</h2>\n",
    );
    table(&mut o, &content::online_table(m), "");
    o.push_str("<p class=\"note\">Best possible is the quota model's lower bound, computed from the boot schedule and the limits alone: a measured time is never earlier. The gap is what throttling, retries and back-off cost.</p>\n");

    operations(&mut o, m);
    live(&mut o, m);
    if let Some(t) = content::slo_table(m) {
        o.push_str("<h2>SLOs</h2>\n");
        table(&mut o, &t, "");
    }

    model_against_measured(&mut o, m);
    o.push_str("</section>\n");

    charts_section(&mut o, m);
    plan_section(&mut o, m);
    facts_and_footer(&mut o, m);
    o
}

/// The document head and the page header: the scenario, its engine and results format.
fn head(o: &mut String, m: &ReportModel) {
    let s = &m.summary;
    let title = format!("fleetsim report: {}", s.scenario.name);
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"generator\" content=\"fleetsim\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>",
        esc(&title)
    );
    let _ = writeln!(
        o,
        "<header>\n<p class=\"kicker\">fleetsim report · {} engine · results format {}</p>\n<h1>{}</h1>\n<p class=\"description\">{}</p>\n</header>",
        esc(&s.engine),
        s.format,
        esc(&s.scenario.name),
        esc(&s.scenario.description)
    );
}

/// The banner of an incomplete run, the opening paragraph, and what files were missing.
fn lede(o: &mut String, m: &ReportModel) {
    if let Some(b) = content::banner(m) {
        let _ = writeln!(o, "<p class=\"banner\" id=\"incomplete\">{}</p>", esc(&b));
    }
    let _ = writeln!(o, "<p class=\"lede\">{}</p>", esc(&content::paragraph(m)));
    if let Some(missing) = content::missing(m) {
        let _ = writeln!(o, "<p class=\"aside\">{}</p>", esc(&missing));
    }
}

/// The operations table and its note.
fn operations(o: &mut String, m: &ReportModel) {
    o.push_str("<h2>Operations</h2>\n");
    table(o, &content::operations_table(m), "wide");
    let unused = content::unused_operations(m);
    let mut note = String::from(
        "Latency is of OK answers only, measured from when the device meant to act; device.boot_to_online is the whole onboarding, retries and back-offs included.",
    );
    if !content::any_failures(m) {
        note.push_str(" No attempt ended in an error or a timeout.");
    }
    if !unused.is_empty() {
        note.push_str(&format!(" Not used in this run: {}.", unused.join(", ")));
    }
    let _ = writeln!(o, "<p class=\"note\">{}</p>", esc(&note));
}

/// The live engine's own figures and warnings; nothing for a virtual run.
fn live(o: &mut String, m: &ReportModel) {
    let s = &m.summary;
    if let Some(t) = content::live_table(m) {
        o.push_str("<h2>Live run</h2>\n");
        table(o, &t, "");
        for w in s.live.iter().flat_map(|l| &l.warnings) {
            let _ = writeln!(
                o,
                "<p class=\"note\"><strong>Warning:</strong> {}</p>",
                esc(w)
            );
        }
        o.push_str("<p class=\"note\">Operation latencies above are from when each device meant to act (its boot or retry timer), pacing waits included; wire connect is the socket alone; generator lag is how late the generator itself started scheduled actions.</p>\n");
    }
}

/// The quota model's verdict, its waste, and its limits and demand beside what was measured.
fn model_against_measured(o: &mut String, m: &ReportModel) {
    let s = &m.summary;
    if content::limits_table(m).is_some()
        || content::demand_table(m).is_some()
        || !s.model.waste.is_empty()
    {
        o.push_str("<h2>Model against measured</h2>\n");
        if let Some(v) = &s.model.verdict {
            let _ = writeln!(o, "<p>Quota model: {}.</p>", esc(v));
        }
        if !s.model.waste.is_empty() {
            o.push_str("<p>Load the fleet could have spared the services:</p>\n<ul>\n");
            for w in &s.model.waste {
                let _ = writeln!(o, "<li>{}</li>", esc(w));
            }
            o.push_str("</ul>\n");
        }
        if let Some(t) = content::limits_table(m) {
            table(o, &t, "");
            o.push_str("<p class=\"note\">OK while throttled: the rate the service delivered while it was refusing some of these requests, which is when the limit was binding. Busiest OK can exceed the limit: a limit admits a burst (one minute's worth by default) before it throttles.</p>\n");
        }
        if let Some(t) = content::demand_table(m) {
            table(o, &t, "");
        }
        if let Some(q) = content::daily_quota(m) {
            let _ = writeln!(o, "<p class=\"note\">{}</p>", esc(&q));
        }
    }
}

/// Every chart of the run.
fn charts_section(o: &mut String, m: &ReportModel) {
    let charts = charts::all(m);
    if !charts.is_empty() {
        o.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
        for c in &charts {
            figure(o, c);
        }
        o.push_str("</section>\n");
    }
}

/// A planning run's goal, chart and configurations.
fn plan_section(o: &mut String, m: &ReportModel) {
    if let Some(p) = &m.plan {
        o.push_str("<section id=\"plan\">\n<h2>Plan</h2>\n");
        if let Some(g) = &p.goal {
            let _ = writeln!(o, "<p>Goal: <code>{}</code></p>", esc(g));
        }
        figure(o, &plan::plan_chart(p));
        table(o, &content::plan_table(p), "");
        o.push_str("</section>\n");
    }
}

/// The run's facts, and the footer.
fn facts_and_footer(o: &mut String, m: &ReportModel) {
    o.push_str("<section id=\"run\">\n<h2>About this run</h2>\n<dl class=\"facts\">\n");
    for (k, v) in content::facts(m) {
        let _ = writeln!(o, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    o.push_str("</dl>\n</section>\n");
    o.push_str("<footer>Rendered by fleetsim from the files of this results directory (summary.json, timeline.csv, latency.csv, histograms.hlog, run.json); <code>fleetsim report DIR</code> renders it again. results/README.md documents every figure.</footer>\n");
    o.push_str("</main>\n</body>\n</html>\n");
}
