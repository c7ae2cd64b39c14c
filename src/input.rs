//! Reading the files a user names: a scenario file as UTF-8 text with a size bound, then
//! [`fleetsim_core::scenario::load_str`] on it. The core parses text; the files are read here.

use crate::scenario::position;
use crate::scenario::{Scenario, ScenarioError, load_str};
use std::path::Path;

/// Loads and validates `path`, applying `sets` (`key=value` strings) on top.
pub fn load_file(path: &Path, sets: &[String]) -> Result<Scenario, ScenarioError> {
    let text = read_file(path)?;
    load_str(&text, &path.display().to_string(), sets)
}

/// Loads a scenario with `--set` and `--seed` applied.
pub fn load(path: &Path, sets: &[String], seed: Option<u64>) -> Result<Scenario, ScenarioError> {
    let mut sets = sets.to_vec();
    if let Some(s) = seed {
        sets.push(format!("run.seed={s}"));
    }
    load_file(path, &sets)
}

/// Scenario files are a few KB; anything past this is not one.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a scenario file as UTF-8 text. Errors name the file (and, for bad bytes, the line
/// and column of the first one).
pub fn read_file(path: &Path) -> Result<String, ScenarioError> {
    let name = path.display().to_string();
    let fail = |location: String, message: String, hint: Option<&str>| ScenarioError {
        location,
        key: String::new(),
        message,
        hint: hint.map(str::to_string),
    };
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => fail(
            name.clone(),
            "no such file".into(),
            Some("check the path; the shipped scenarios are in scenarios/"),
        ),
        std::io::ErrorKind::PermissionDenied => {
            fail(name.clone(), "permission denied".into(), None)
        }
        _ => fail(name.clone(), format!("cannot read the file: {e}"), None),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(fail(
            name,
            "is a directory, not a scenario file".into(),
            Some("pass a .toml file, e.g. scenarios/smoke.toml"),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(
            name,
            format!("is {} bytes; a scenario file is a few KB", meta.len()),
            Some("is this the right file?"),
        ));
    }
    // Read at most one byte past the limit: a device or a pipe (`/dev/zero`, `<(yes)`) has no
    // length in its metadata and would otherwise be read forever.
    let mut bytes = Vec::new();
    {
        use std::io::Read as _;
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(io)?;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(fail(
            name,
            format!("is more than {MAX_FILE_BYTES} bytes; a scenario file is a few KB"),
            Some("is this the right file?"),
        ));
    }
    let binary = Some("a scenario is a TOML text file; is this a binary file?");
    match String::from_utf8(bytes) {
        Ok(text) => match text.find('\0') {
            Some(at) => Err(fail(
                position(&name, &text, at),
                "contains a NUL byte".into(),
                binary,
            )),
            None => Ok(text),
        },
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let byte = e.as_bytes()[at];
            let valid = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
            Err(fail(
                position(&name, &valid, at),
                format!("is not UTF-8 text (byte 0x{byte:02x})"),
                binary,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let e = load_file(&missing, &[]).unwrap_err();
        assert!(
            e.render().contains("nope.toml: no such file"),
            "{}",
            e.render()
        );
        let e = load_file(dir.path(), &[]).unwrap_err();
        assert!(e.render().contains("is a directory"), "{}", e.render());
        let bin = dir.path().join("bin.toml");
        std::fs::write(&bin, b"[fleet]\ndevices = 1\n\xff\xfe").unwrap();
        let e = load_file(&bin, &[]).unwrap_err();
        assert!(
            e.render()
                .contains("bin.toml:3:1: is not UTF-8 text (byte 0xff)"),
            "{}",
            e.render()
        );
        let nul = dir.path().join("nul.toml");
        std::fs::write(&nul, b"[fleet]\ndevices = 1\0").unwrap();
        assert!(
            load_file(&nul, &[])
                .unwrap_err()
                .render()
                .contains("nul.toml:2:12: contains a NUL byte")
        );
    }

    fn scenario_files() -> Vec<std::path::PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn every_shipped_scenario_loads() {
        let files = scenario_files();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in ["blackout", "black-friday", "reboot-wave", "smoke"] {
            assert!(
                names.iter().any(|n| n == want),
                "scenarios/{want}.toml is missing"
            );
        }
        for f in files {
            let s = load_file(&f, &[]).unwrap_or_else(|e| panic!("{}", e.render()));
            assert!(
                !s.description.is_empty(),
                "{}: give it a description",
                f.display()
            );
            assert!(s.arrival.end(s.fleet.devices) < s.max_duration);
        }
    }

    #[test]
    fn shipped_scenarios_say_what_they_promise() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let b = load_file(&dir.join("blackout.toml"), &[]).unwrap();
        assert_eq!(b.fleet.devices, 1_000_000);
        let reprov: f64 = b
            .fleet
            .classes
            .iter()
            .filter(|c| c.provisioning == fleetsim_core::scenario::Provisioning::Always)
            .map(|c| c.share)
            .sum();
        assert!(
            (reprov - 0.05).abs() < 1e-9,
            "5% re-provision on every boot: {reprov}"
        );
        let fixed: f64 = b
            .fleet
            .classes
            .iter()
            .filter(|c| c.retry.multiplier == 1.0)
            .map(|c| c.share)
            .sum();
        assert!(
            (fixed - 0.10).abs() < 1e-9,
            "10% retry at a fixed 5 s: {fixed}"
        );
        let f = load_file(&dir.join("black-friday.toml"), &[]).unwrap();
        assert_eq!(f.fleet.registered_share, 0.0);
        match &f.arrival {
            fleetsim_core::scenario::Arrival::Curve { weights, zones, .. } => {
                assert_eq!(weights.len(), 24 * 12);
                assert_eq!(zones.len(), 4);
            }
            other => panic!("black friday is a curve, not {other:?}"),
        }
        let w = load_file(&dir.join("reboot-wave.toml"), &[]).unwrap();
        assert!((w.fleet.cached_assignment_share - 0.97).abs() < 1e-9);
        assert!(
            matches!(&w.arrival, fleetsim_core::scenario::Arrival::Wave { waves } if waves.len() == 5)
        );
    }

    #[test]
    fn every_key_is_documented() {
        let docs = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-reference.md"),
        )
        .unwrap();
        let keys = fleetsim_core::scenario::keys::schema_keys();
        assert!(keys.len() > 60, "{keys:?}");
        for k in keys {
            // Behaviour keys are documented once, under [device]; name and share under
            // [[fleet.class]] only.
            let k = match k.strip_prefix("fleet.class[].") {
                Some(rest) if rest != "name" && rest != "share" => format!("device.{rest}"),
                _ if k == "device.name" || k == "device.share" => continue,
                _ => k,
            };
            // Top-level tables appear as `[name]`.
            let written = if k.contains('.') {
                format!("`{k}`")
            } else {
                format!("`[{k}]`")
            };
            assert!(
                docs.contains(&written),
                "docs/scenario-reference.md does not document {written}"
            );
        }
    }
}
