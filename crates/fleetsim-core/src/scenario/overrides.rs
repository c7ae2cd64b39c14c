//! Key paths (`fleet.class[1].share`) and `--set key=value` overrides applied to the parsed
//! TOML table before it is typed, so an override goes through exactly the same parsing and
//! validation as the file.

use super::units::parse_count;
use std::fmt;

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A key path such as `fleet.class[1].share`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    /// Parses `a.b[1].c`. A purely numeric dotted segment (`a.b.1.c`) is also read as an
    /// index, as `--set` allows; key paths produced by validation only use brackets. A segment
    /// in double quotes is one key even if it holds dots (`slo."online.t99"`), as in TOML.
    pub fn parse(s: &str) -> Result<KeyPath, String> {
        let mut segs = Vec::new();
        if s.trim().is_empty() {
            return Ok(KeyPath(segs));
        }
        let mut rest = s;
        loop {
            let part = rest.trim_start();
            let (name, quoted, mut after) = match part.strip_prefix('"') {
                Some(q) => {
                    let close = q
                        .find('"')
                        .ok_or_else(|| format!("`{s}`: `\"` without a closing `\"`"))?;
                    (&q[..close], true, q[close + 1..].trim_start())
                }
                None => {
                    let end = part.find(['.', '[']).unwrap_or(part.len());
                    (part[..end].trim(), false, &part[end..])
                }
            };
            if name.is_empty() && !quoted && (!after.starts_with('[') || segs.is_empty()) {
                return Err(format!("`{s}` has an empty key segment"));
            }
            if !name.is_empty() || quoted {
                segs.push(match name.parse::<usize>() {
                    Ok(i) if !segs.is_empty() && !quoted => Seg::Index(i),
                    _ => Seg::Key(name.to_string()),
                });
            }
            while after.starts_with('[') {
                let close = after
                    .find(']')
                    .ok_or_else(|| format!("`{s}`: `[` without a closing `]`"))?;
                let idx = after[1..close]
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| format!("`{s}`: `{}` is not an array index", &after[..=close]))?;
                segs.push(Seg::Index(idx));
                after = &after[close + 1..];
                if !after.is_empty()
                    && !after.starts_with('[')
                    && !after.trim_start().starts_with('.')
                {
                    return Err(format!("`{s}`: expected `.` or `[` after `]`"));
                }
                after = after.trim_start();
            }
            match after.strip_prefix('.') {
                Some(next) => rest = next,
                None if after.trim().is_empty() => break,
                None => return Err(format!("`{s}`: expected `.` after `\"{name}\"`")),
            }
        }
        Ok(KeyPath(segs))
    }

    pub fn key(k: &str) -> KeyPath {
        KeyPath::parse(k).unwrap_or_else(|_| KeyPath(vec![Seg::Key(k.to_string())]))
    }

    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    pub fn common_prefix_len(&self, other: &KeyPath) -> usize {
        self.0
            .iter()
            .zip(&other.0)
            .take_while(|(a, b)| a == b)
            .count()
    }

    pub fn child(&self, key: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_string()));
        p
    }

    pub fn parent(&self) -> KeyPath {
        let mut p = self.clone();
        p.0.pop();
        p
    }

    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    // A key that is not a TOML bare key is quoted, as TOML writes it.
                    let bare = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(k)?;
                    } else {
                        write!(f, "\"{k}\"")?;
                    }
                }
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Why a `--set` argument could not be applied.
#[derive(Debug, PartialEq)]
pub struct SetError {
    pub message: String,
    pub hint: Option<String>,
}

fn set_error(message: impl Into<String>, hint: Option<&str>) -> SetError {
    SetError {
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}

/// Applies one `key=value` argument to `table`, creating intermediate tables as needed, and
/// returns the key path it set (indices resolved).
pub fn apply_set(table: &mut toml::Table, arg: &str) -> Result<KeyPath, SetError> {
    let example = Some("write key=value, e.g. --set fleet.devices=10k or --set hub.tier=S3");
    let (key, raw) = arg
        .split_once('=')
        .ok_or_else(|| set_error("expected key=value, found no `=`", example))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(set_error("the key before `=` is empty", example));
    }
    let raw_path = KeyPath::parse(key).map_err(|m| {
        set_error(
            m,
            Some(
                "a key path is dotted names with [N] for an array entry, e.g. fleet.class[1].share",
            ),
        )
    })?;
    if !matches!(raw_path.0.first(), Some(Seg::Key(_))) {
        return Err(set_error(
            format!("`{key}` must start with a table or key name"),
            example,
        ));
    }
    let mut done = Vec::new();
    let mut cur = table;
    let segs = &raw_path.0;
    // Walk tables down to the parent of the last segment; arrays are handled inline.
    let mut i = 0;
    loop {
        let last = i + 1 == segs.len();
        let Seg::Key(k) = &segs[i] else {
            return Err(set_error(
                format!("`{}` is a table, not an array", KeyPath(done)),
                None,
            ));
        };
        done.push(Seg::Key(k.clone()));
        if last {
            let value = set_value(raw.trim(), cur.get(k))?;
            cur.insert(k.clone(), value);
            return Ok(KeyPath(done));
        }
        let child = cur
            .entry(k.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        i += 1;
        match child {
            toml::Value::Table(t) => cur = t,
            toml::Value::Array(a) => {
                let Seg::Index(n) = segs[i] else {
                    return Err(set_error(
                        format!(
                            "`{}` is an array; index it, e.g. {}[0]",
                            KeyPath(done.clone()),
                            KeyPath(done)
                        ),
                        None,
                    ));
                };
                let len = a.len();
                done.push(Seg::Index(n));
                if n > len {
                    return Err(set_error(
                        format!(
                            "index {n} is out of range: `{}` has {len} entries",
                            KeyPath(done[..done.len() - 1].to_vec())
                        ),
                        Some("an index equal to the length appends a new entry"),
                    ));
                }
                if i + 1 == segs.len() {
                    let value = set_value(raw.trim(), a.get(n))?;
                    if n == len {
                        a.push(value);
                    } else {
                        a[n] = value;
                    }
                    return Ok(KeyPath(done));
                }
                if n == len {
                    a.push(toml::Value::Table(toml::Table::new()));
                }
                match &mut a[n] {
                    toml::Value::Table(t) => cur = t,
                    other => {
                        return Err(set_error(
                            format!("`{}` is {}, not a table", KeyPath(done), type_name(other)),
                            None,
                        ));
                    }
                }
                i += 1;
            }
            other => {
                return Err(set_error(
                    format!(
                        "`{}` is {}, not a table, so it has no key `{}`",
                        KeyPath(done),
                        type_name(other),
                        KeyPath(segs[i..].to_vec())
                    ),
                    None,
                ));
            }
        }
    }
}

fn type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// Turns the text after `=` into a TOML value: `true`/`false`; an integer (`10k`, `1M` and
/// `1_000_000` too); a float; an inline array or table (`[1, 2]`, `{ a = 1 }`); a quoted
/// string; otherwise the text as a string (so `30m` stays a string and parses as a duration).
/// A value replacing an existing string stays a string (`--set scenario.name=2024`).
pub fn set_value(raw: &str, existing: Option<&toml::Value>) -> Result<toml::Value, SetError> {
    let quoted = raw.len() >= 2
        && ((raw.starts_with('"') && raw.ends_with('"'))
            || (raw.starts_with('\'') && raw.ends_with('\'')));
    if raw.starts_with('[') || raw.starts_with('{') || quoted {
        return toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .ok_or_else(|| {
                set_error(
                    format!("`{raw}` is not a TOML value"),
                    Some("arrays and tables use TOML inline syntax, e.g. [0.5, 0.5] or { initial = \"5s\" }"),
                )
            });
    }
    if matches!(existing, Some(toml::Value::String(_))) {
        return Ok(toml::Value::String(raw.to_string()));
    }
    match raw {
        "true" => return Ok(toml::Value::Boolean(true)),
        "false" => return Ok(toml::Value::Boolean(false)),
        _ => {}
    }
    let numeric = raw.chars().any(|c| c.is_ascii_digit())
        && raw
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'));
    if numeric {
        let plain: String = raw.chars().filter(|c| *c != '_').collect();
        if let Ok(n) = plain.parse::<i64>() {
            return Ok(toml::Value::Integer(n));
        }
        if let Ok(n) = parse_count(raw) {
            if let Ok(n) = i64::try_from(n) {
                return Ok(toml::Value::Integer(n));
            }
        }
        if let Ok(x) = plain.parse::<f64>() {
            if x.is_finite() {
                return Ok(toml::Value::Float(x));
            }
        }
    }
    Ok(toml::Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> toml::Table {
        toml::from_str(s).unwrap()
    }

    #[test]
    fn paths_parse_and_print() {
        let p = KeyPath::parse("fleet.class[1].share").unwrap();
        assert_eq!(p.to_string(), "fleet.class[1].share");
        assert_eq!(KeyPath::parse("fleet.class.1.share").unwrap(), p);
        assert_eq!(KeyPath::parse("a[0][2]").unwrap().to_string(), "a[0][2]");
        assert!(KeyPath::parse("a..b").is_err());
        assert!(KeyPath::parse("a[x]").is_err());
        assert!(KeyPath::parse("a[1").is_err());
        assert!(KeyPath::parse("").unwrap().is_empty());
        // Quoted keys hold dots, and print quoted.
        let q = KeyPath::parse("slo.\"online.t99\"").unwrap();
        assert_eq!(q.0, [Seg::Key("slo".into()), Seg::Key("online.t99".into())]);
        assert_eq!(q.to_string(), "slo.\"online.t99\"");
        let q = KeyPath::parse("slo.\"hub.connect\".rate[1]").unwrap();
        assert_eq!(q.to_string(), "slo.\"hub.connect\".rate[1]");
        assert_eq!(
            KeyPath::parse("a.\"1\"").unwrap().0[1],
            Seg::Key("1".into())
        );
        assert!(KeyPath::parse("a.\"b").is_err());
        assert!(KeyPath::parse("a.\"b\"c").is_err());
        assert!(KeyPath::parse("a.").is_err());
        assert!(KeyPath::parse(".a").is_err());
    }

    #[test]
    fn values_are_typed_like_a_person_means_them() {
        let v = |s| set_value(s, None).unwrap();
        assert_eq!(v("10k"), toml::Value::Integer(10_000));
        assert_eq!(v("1M"), toml::Value::Integer(1_000_000));
        assert_eq!(v("1_000_000"), toml::Value::Integer(1_000_000));
        assert_eq!(v("-5"), toml::Value::Integer(-5));
        assert_eq!(v("0.05"), toml::Value::Float(0.05));
        assert_eq!(v("true"), toml::Value::Boolean(true));
        assert_eq!(v("30m"), toml::Value::String("30m".into()));
        assert_eq!(v("S3"), toml::Value::String("S3".into()));
        assert_eq!(v("nan"), toml::Value::String("nan".into()));
        assert_eq!(v("\"2024\""), toml::Value::String("2024".into()));
        assert_eq!(v("[0.5, 0.5]").as_array().unwrap().len(), 2);
        assert!(set_value("[0.5,", None).is_err());
        let s = toml::Value::String("x".into());
        assert_eq!(
            set_value("2024", Some(&s)).unwrap(),
            toml::Value::String("2024".into())
        );
    }

    #[test]
    fn sets_create_tables_and_index_arrays() {
        let mut t = table(
            "[fleet]\ndevices = 5\n[[fleet.class]]\nname = \"a\"\n[[fleet.class]]\nname = \"b\"\n",
        );
        assert_eq!(
            apply_set(&mut t, "dps.limits.registrations_per_min=600")
                .unwrap()
                .to_string(),
            "dps.limits.registrations_per_min"
        );
        assert_eq!(
            t["dps"]["limits"]["registrations_per_min"].as_integer(),
            Some(600)
        );
        assert_eq!(
            apply_set(&mut t, "fleet.class[1].share=0.5")
                .unwrap()
                .to_string(),
            "fleet.class[1].share"
        );
        assert_eq!(
            apply_set(&mut t, "fleet.class.0.share=0.5")
                .unwrap()
                .to_string(),
            "fleet.class[0].share"
        );
        assert_eq!(t["fleet"]["class"][1]["share"].as_float(), Some(0.5));
        apply_set(&mut t, "fleet.class[2].name=c").unwrap();
        assert_eq!(t["fleet"]["class"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn malformed_sets_say_why() {
        let mut t = table("[fleet]\ndevices = 5\n[[fleet.class]]\nname = \"a\"\n");
        assert!(
            apply_set(&mut t, "fleet.devices")
                .unwrap_err()
                .message
                .contains("no `=`")
        );
        assert!(
            apply_set(&mut t, "=5")
                .unwrap_err()
                .message
                .contains("empty")
        );
        assert!(
            apply_set(&mut t, "fleet[0]=5")
                .unwrap_err()
                .message
                .contains("not an array")
        );
        assert!(
            apply_set(&mut t, "fleet.class.name=x")
                .unwrap_err()
                .message
                .contains("is an array")
        );
        assert!(
            apply_set(&mut t, "fleet.class[5].name=x")
                .unwrap_err()
                .message
                .contains("out of range")
        );
        assert!(
            apply_set(&mut t, "fleet.devices.x=1")
                .unwrap_err()
                .message
                .contains("not a table")
        );
        assert!(apply_set(&mut t, "[0]=1").is_err());
    }
}
