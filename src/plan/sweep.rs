//! `--sweep KEY=RANGE`: `dps.instances=1..10` (inclusive), `hub.tier=S1,S2,S3`, or one value.

use super::PlanError;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sweep {
    pub key: String,
    pub values: Vec<String>,
}

impl Sweep {
    pub fn parse(arg: &str) -> Result<Sweep, PlanError> {
        let bad = |why: &str| {
            PlanError::Usage(format!(
                "--sweep '{arg}': {why} (expected KEY=A..B, KEY=V1,V2,... or KEY=V, e.g. hub.units=1..20 or hub.tier=S1,S2,S3)"
            ))
        };
        let (key, range) = arg.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let (key, range) = (key.trim(), range.trim());
        if key.is_empty() {
            return Err(bad("no key"));
        }
        let values: Vec<String> = if let Some((a, b)) = range.split_once("..") {
            let a: i64 = a
                .trim()
                .parse()
                .map_err(|_| bad("a range takes whole numbers"))?;
            let b: i64 = b
                .trim()
                .parse()
                .map_err(|_| bad("a range takes whole numbers"))?;
            if b < a {
                return Err(bad("the range is empty"));
            }
            if b - a >= 100_000 {
                return Err(bad("the range has more than 100,000 values"));
            }
            (a..=b).map(|v| v.to_string()).collect()
        } else {
            range.split(',').map(|v| v.trim().to_string()).collect()
        };
        if values.iter().any(|v| v.is_empty()) {
            return Err(bad("an empty value"));
        }
        Ok(Sweep {
            key: key.to_string(),
            values,
        })
    }
}

/// Every combination of the sweeps' values, the first sweep varying slowest.
pub fn grid(sweeps: &[Sweep]) -> Vec<Vec<(String, String)>> {
    sweeps.iter().fold(vec![Vec::new()], |acc, s| {
        acc.iter()
            .flat_map(|prefix| {
                s.values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push((s.key.clone(), v.clone()));
                    p
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_lists_and_single_values() {
        assert_eq!(
            Sweep::parse("hub.units=1..3").unwrap().values,
            ["1", "2", "3"]
        );
        assert_eq!(
            Sweep::parse("hub.tier=S1, S2").unwrap().values,
            ["S1", "S2"]
        );
        assert_eq!(Sweep::parse("dps.instances=4").unwrap().values, ["4"]);
        for bad in [
            "hub.units",
            "=1..2",
            "hub.units=5..1",
            "hub.units=a..b",
            "hub.tier=S1,,S2",
            "x=0..999999",
        ] {
            assert!(Sweep::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_grid_is_the_cartesian_product() {
        let g = grid(&[
            Sweep::parse("a=1..2").unwrap(),
            Sweep::parse("b=x,y,z").unwrap(),
        ]);
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], [("a".into(), "1".into()), ("b".into(), "x".into())]);
        assert_eq!(g[5], [("a".into(), "2".into()), ("b".into(), "z".into())]);
        assert_eq!(grid(&[]), [Vec::<(String, String)>::new()]);
    }
}
