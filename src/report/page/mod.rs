//! `report.html` and `report.md`: the results directory as a page people would rather look at
//! than read.
//!
//! One serialisable [`ReportModel`] is read from the results directory's files alone
//! ([`read_results`]); the HTML ([`render_html`]) and Markdown ([`render_markdown`]) are pure
//! functions of it. `fleetsim run` renders from the files it has just written, inside its
//! atomic write, and `fleetsim report DIR` takes the same path, so both give the same bytes.

mod charts;
mod content;
mod html;
mod markdown;
mod model;
mod plan;
mod read;
mod text;

pub use charts::{Chart, Legend, Mark};
pub use html::render_html;
pub use markdown::render_markdown;
pub use model::{
    Bounds, BucketPoint, CapacityView, Counts, DailyQuotaView, DemandView, LatencyRow, ModelView,
    ReportModel, RunFacts, SloView, Spectrum, SpectrumPoint, SummaryView, TimelineView,
};
pub use plan::{PlanPoint, PlanView, plan_chart};
pub use read::{MAX_POINTS, ReadError, read_results};

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The page.
pub const HTML_FILE: &str = "report.html";
/// The page's words and tables, for CI step summaries and pull requests.
pub const MD_FILE: &str = "report.md";

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The directory cannot be read as results (bad input).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The report could not be written into the directory.
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Writes `contents` to `path` atomically: a temporary sibling, then a rename.
fn write_atomic(path: &Path, contents: &str) -> Result<(), PageError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let err = |source| PageError::Write {
        path: path.to_path_buf(),
        source,
    };
    fs::write(&tmp, contents).map_err(err)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        err(e)
    })
}

/// For `fleetsim run`: as [`write_reports`], except that a report that cannot be rendered
/// never costs a run its results: `report.html` and `report.md` then say why, and
/// `fleetsim report DIR` can render them again later. Only a failure to write is an error.
pub fn write_reports_for_run(dir: &Path) -> Result<(), PageError> {
    let rendered = std::panic::catch_unwind(|| {
        read_results(dir).map(|m| (render_html(&m), render_markdown(&m)))
    });
    let (html, md) = match rendered {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => unrendered(&e.to_string()),
        Err(_) => unrendered("the renderer failed (a bug in fleetsim: please report it)"),
    };
    write_atomic(&dir.join(HTML_FILE), &html)?;
    write_atomic(&dir.join(MD_FILE), &md)
}

/// The stand-in report when rendering failed.
fn unrendered(why: &str) -> (String, String) {
    let say = format!(
        "The report could not be rendered: {why}. The other files of this results directory are complete; `fleetsim report DIR` renders the report again."
    );
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\n<title>fleetsim report</title>\n</head>\n<body>\n<p>{}</p>\n</body>\n</html>\n",
        text::html(&say)
    );
    (html, format!("# fleetsim report\n\n{}\n", text::md(&say)))
}

/// Reads the results directory `dir` and (re)writes its `report.html` and `report.md`.
/// Returns the paths written.
pub fn write_reports(dir: &Path) -> Result<[PathBuf; 2], PageError> {
    let model = read_results(dir)?;
    let html_path = dir.join(HTML_FILE);
    let md_path = dir.join(MD_FILE);
    write_atomic(&html_path, &render_html(&model))?;
    write_atomic(&md_path, &render_markdown(&model))?;
    Ok([html_path, md_path])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_keeps_its_results_when_its_report_cannot_be_rendered() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("summary.json"), r#"{"format": 1}"#).unwrap();
        assert!(matches!(write_reports(dir.path()), Err(PageError::Read(_))));
        write_reports_for_run(dir.path()).unwrap();
        let html = fs::read_to_string(dir.path().join(HTML_FILE)).unwrap();
        assert!(html.contains("The report could not be rendered:"), "{html}");
        assert!(html.contains("missing field"), "{html}");
        let md = fs::read_to_string(dir.path().join(MD_FILE)).unwrap();
        assert!(md.starts_with("# fleetsim report\n\nThe report could not be rendered:"));
    }
}
