//! Rooms that say what they hold (ARCHITECTURE.md, "Invariants"): no source file over 600
//! lines and no function over 120, so a newcomer can read any one of them in a sitting, and
//! every module opens with a `//!` doc that says what it owns.
//!
//! Functions are found the way rustfmt lays them out: a line that starts `fn`, `pub fn`,
//! `async fn`, … and ends at the first later line that is its own indentation plus `}`.

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 120;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "examples", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    if let Ok(crates) = std::fs::read_dir(root.join("crates")) {
        for c in crates.flatten() {
            rust_files(&c.path().join("src"), &mut files);
        }
    }
    files.sort();
    assert!(files.len() > 50, "found only {} sources", files.len());
    files
}

/// The name of the function a line declares, if it declares one, and the line's indentation.
fn declares_fn(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start().len();
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let name = rest.strip_prefix("fn ")?;
    let end = name
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    Some((indent, &name[..end]))
}

/// (name, first line, length) of every function in `text` longer than `max` lines.
fn long_functions(text: &str, max: usize) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut long = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((indent, name)) = declares_fn(line) else {
            continue;
        };
        if line.trim_end().ends_with(';') || line.trim_end().ends_with('}') {
            continue; // a trait item without a body, or a one-line function
        }
        let close = format!("{}}}", " ".repeat(indent));
        let end = lines[i + 1..]
            .iter()
            .position(|l| l.trim_end() == close)
            .map_or(lines.len(), |k| i + 1 + k);
        let len = end - i + 1;
        if len > max {
            long.push((name.to_string(), i + 1, len));
        }
    }
    long
}

#[test]
fn no_file_over_600_lines_and_no_function_over_120() {
    let mut faults = Vec::new();
    for f in sources() {
        let text = std::fs::read_to_string(&f).unwrap();
        let n = text.lines().count();
        if n > MAX_FILE_LINES {
            faults.push(format!("{}: {n} lines", f.display()));
        }
        for (name, line, len) in long_functions(&text, MAX_FN_LINES) {
            faults.push(format!("{}:{line}: fn {name} is {len} lines", f.display()));
        }
    }
    assert!(
        faults.is_empty(),
        "over the limits (file {MAX_FILE_LINES}, fn {MAX_FN_LINES} lines): split by concern\n{}",
        faults.join("\n")
    );
}

#[test]
fn every_module_says_what_it_owns() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "no `//!` module doc:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_checker_finds_a_long_function_and_its_end() {
    let body: String = (0..130).map(|_| "    let x = 1;\n").collect();
    let text = format!("fn short() {{\n}}\n\npub fn long() {{\n{body}}}\n\nfn after() {{}}\n");
    assert_eq!(long_functions(&text, 120), vec![("long".into(), 4, 132)]);
    assert!(long_functions(&text, 200).is_empty());
    assert_eq!(
        declares_fn("    pub(crate) async fn go(x: u8) {"),
        Some((4, "go"))
    );
    assert_eq!(declares_fn("let f = fn_name();"), None);
}
