//! The house's floors (ARCHITECTURE.md): imports point one way, and the core stays free of
//! I/O crates. Reads the sources and `Cargo.lock`; builds nothing.
//!
//! Layers of the binary crate, lowest first; a module may name its own layer and those below:
//!
//! 0. the core (`fleetsim-core`, re-exported as `time`, `rng`, `device`, `service`, `quota`,
//!    `scenario`, `metric`, `summary`, `mem`)
//! 1. `sys`, `input`, `protocol`: the operating system, files, wire formats
//! 2. `results`: the recorder and what it writes
//! 3. `mock`: the service emulator
//! 4. `engine`: the virtual and live engines
//! 5. `report`: reads results directories; never names `engine` or `mock`
//! 6. `plan`: sweeps scenarios through the virtual engine
//! 7. `run`, `cmd`: the subcommands
//! 8. `main.rs`, `cli.rs`: the binary

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CORE: &[&str] = &[
    "time", "rng", "device", "service", "quota", "scenario", "metric", "summary", "mem",
];

fn layer(module: &str) -> Option<u32> {
    if CORE.contains(&module) {
        return Some(0);
    }
    Some(match module {
        "sys" | "input" | "protocol" => 1,
        "results" => 2,
        "mock" => 3,
        "engine" => 4,
        "report" => 5,
        "plan" => 6,
        "run" | "cmd" => 7,
        "main" | "cli" => 8,
        _ => return None,
    })
}

/// Modules a layer may not name even though they sit below it.
fn forbidden(module: &str) -> &'static [&'static str] {
    match module {
        "report" => &["engine", "mock"],
        _ => &[],
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a line, without its `//` comment (good enough: no source line here has `//`
/// inside a string before a `crate::` path).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Every `crate::NAME` (or, in the binary's files, `fleetsim::NAME`) a file names.
fn named_modules(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().map(code) {
        let mut rest = line;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn imports_point_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} files", files.len());
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        let Some(own) = layer(&module) else {
            wrong.push(format!(
                "src/{}: module `{module}` has no layer; add it to tests/layers.rs and ARCHITECTURE.md",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        let prefix = if own == 8 { "fleetsim::" } else { "crate::" };
        for named in named_modules(&text, prefix) {
            let Some(theirs) = layer(&named) else {
                continue; // a crate-root item, e.g. a macro
            };
            if theirs > own || forbidden(&module).contains(&named.as_str()) {
                wrong.push(format!(
                    "src/{}: `{module}` (layer {own}) names `{named}` (layer {theirs})",
                    rel.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn the_core_names_nothing_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/fleetsim-core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 30, "found only {} files", files.len());
    let mut wrong = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let names = named_modules(&text, "crate::");
        for n in names {
            if !CORE.contains(&n.as_str()) {
                wrong.push(format!("{}: names crate::{n}", f.display()));
            }
        }
        for line in text.lines().map(code) {
            for io in [
                "std::fs",
                "std::net",
                "std::thread",
                "std::process",
                "std::io::stdin",
            ] {
                if line.contains(io) && !line.contains("#[cfg(test)]") {
                    wrong.push(format!("{}: uses {io}: {}", f.display(), line.trim()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `Cargo.lock` as package name → names of its dependencies.
fn lock_graph(text: &str) -> BTreeMap<String, Vec<String>> {
    let lock: toml::Table = text.parse().unwrap();
    let mut g = BTreeMap::new();
    for p in lock["package"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap().to_string();
        let deps: Vec<String> = p
            .get("dependencies")
            .and_then(|d| d.as_array())
            .map(|d| {
                d.iter()
                    .map(|x| x.as_str().unwrap().split(' ').next().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        g.entry(name).or_insert_with(Vec::new).extend(deps);
    }
    g
}

#[test]
fn the_core_depends_on_no_io_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table =
        std::fs::read_to_string(root.join("crates/fleetsim-core/Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
    let direct: Vec<&String> = manifest["dependencies"]
        .as_table()
        .unwrap()
        .keys()
        .collect();
    assert!(direct.iter().any(|d| *d == "serde"), "{direct:?}");
    // The closure over Cargo.lock also counts dev-dependencies, so it over-approximates the
    // normal dependencies `cargo tree -p fleetsim-core -e normal` shows: if it is clean, they are.
    let g = lock_graph(&std::fs::read_to_string(root.join("Cargo.lock")).unwrap());
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = direct.iter().map(|d| d.to_string()).collect();
    while let Some(n) = todo.pop() {
        if seen.insert(n.clone()) {
            todo.extend(g.get(&n).cloned().unwrap_or_default());
        }
    }
    let banned = [
        "tokio",
        "hyper",
        "rumqttc",
        "rustls",
        "plotters",
        "csv",
        "indicatif",
        "governor",
        "clap",
        "mio",
        "socket2",
    ];
    let found: Vec<&str> = banned
        .iter()
        .copied()
        .filter(|b| seen.contains(*b))
        .collect();
    assert!(
        found.is_empty(),
        "fleetsim-core pulls in {found:?} (through {} crates)",
        seen.len()
    );
    assert!(g.contains_key("fleetsim-core"));
}
