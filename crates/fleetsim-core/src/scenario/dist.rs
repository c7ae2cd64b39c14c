//! Duration distributions: how scenario files write them and how the core samples them.
//!
//! ```toml
//! boot_delay = "30s"                                              # constant
//! boot_delay = { dist = "uniform", min = "1s", max = "5s" }
//! boot_delay = { dist = "lognormal", median = "60s", p95 = "180s" }
//! boot_delay = [ { dist = "lognormal", median = "90s", p95 = "300s" },   # a sum: router boot
//!                { dist = "uniform", min = "1s", max = "5s" } ]           # + Wi-Fi join
//! ```

use super::spec::{DistSpec, JitterSpec};
use super::units::{Dur, parse_duration, parse_share};
use crate::time::SimDuration;
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, LogNormal, Normal};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// Standard normal quantiles for the upper points a lognormal may be given by.
const Z90: f64 = 1.281_551_565_5;
const Z95: f64 = 1.644_853_626_9;
const Z99: f64 = 2.326_347_874;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DistTable {
    dist: String,
    value: Option<Dur>,
    min: Option<Dur>,
    max: Option<Dur>,
    mean: Option<Dur>,
    sd: Option<Dur>,
    median: Option<Dur>,
    p90: Option<Dur>,
    p95: Option<Dur>,
    p99: Option<Dur>,
    sigma: Option<f64>,
}

fn need<E: de::Error>(v: Option<Dur>, dist: &str, key: &str) -> Result<Dur, E> {
    v.ok_or_else(|| E::custom(format!("a {dist} distribution needs `{key}`")))
}

impl DistTable {
    fn into_spec<E: de::Error>(self) -> Result<DistSpec, E> {
        let d = self.dist.as_str();
        let spec = match d {
            "constant" => DistSpec::Constant(need(self.value, d, "value")?),
            "uniform" => {
                let (min, max) = (need(self.min, d, "min")?, need(self.max, d, "max")?);
                if max < min {
                    return Err(E::custom("a uniform distribution needs min <= max"));
                }
                DistSpec::Uniform { min, max }
            }
            "normal" => DistSpec::Normal {
                mean: need(self.mean, d, "mean")?,
                sd: need(self.sd, d, "sd")?,
            },
            "lognormal" => {
                let median = need(self.median, d, "median")?;
                let upper = [(0.90, self.p90), (0.95, self.p95), (0.99, self.p99)]
                    .into_iter()
                    .find_map(|(q, v)| v.map(|v| (q, v)));
                if upper.is_none() && self.sigma.is_none() {
                    return Err(E::custom(
                        "a lognormal distribution needs `median` and one of p90, p95, p99 or sigma",
                    ));
                }
                if let Some((_, p)) = upper {
                    if p < median {
                        return Err(E::custom(
                            "a lognormal's upper percentile must not be below its median",
                        ));
                    }
                }
                if let Some(s) = self.sigma {
                    if !(s.is_finite() && s >= 0.0) {
                        return Err(E::custom("sigma must be a non-negative number"));
                    }
                }
                DistSpec::LogNormal {
                    median,
                    upper,
                    sigma: self.sigma,
                }
            }
            "exponential" => DistSpec::Exponential {
                mean: need(self.mean, d, "mean")?,
            },
            other => {
                return Err(E::custom(format!(
                    "unknown distribution `{other}` (expected constant, uniform, normal, lognormal or exponential)"
                )));
            }
        };
        Ok(spec)
    }
}

struct DistVisitor;

impl<'de> Visitor<'de> for DistVisitor {
    type Value = DistSpec;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration (\"30s\"), a table such as { dist = \"uniform\", min = \"1s\", max = \"5s\" }, or an array of those to add up")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<DistSpec, E> {
        parse_duration(v)
            .map(|d| DistSpec::Constant(Dur(d)))
            .map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<DistSpec, E> {
        self.visit_f64(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<DistSpec, E> {
        self.visit_f64(v as f64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<DistSpec, E> {
        Dur::deserialize(de::value::F64Deserializer::<E>::new(v)).map(DistSpec::Constant)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DistSpec, A::Error> {
        DistTable::deserialize(de::value::MapAccessDeserializer::new(map))?.into_spec()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DistSpec, A::Error> {
        let mut parts = Vec::new();
        while let Some(p) = seq.next_element::<DistSpec>()? {
            parts.push(p);
        }
        Ok(DistSpec::Sum(parts))
    }
}

impl<'de> Deserialize<'de> for DistSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DistVisitor)
    }
}

impl<'de> Deserialize<'de> for JitterSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JitterSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration of random jitter to add (\"5s\") or a percentage to scale by (\"5%\")")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JitterSpec, E> {
                if v.trim().ends_with('%') {
                    parse_share(v).map(JitterSpec::Ratio).map_err(E::custom)
                } else {
                    parse_duration(v)
                        .map(|d| JitterSpec::Absolute(Dur(d)))
                        .map_err(E::custom)
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JitterSpec, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JitterSpec, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<JitterSpec, E> {
                Dur::deserialize(de::value::F64Deserializer::<E>::new(v)).map(JitterSpec::Absolute)
            }
        }
        d.deserialize_any(V)
    }
}

/// A compiled distribution of durations, ready to sample. Values are microseconds; the
/// parameters are kept beside rand_distr's samplers, which do not expose them.
#[derive(Clone, Debug)]
pub enum Dist {
    Constant(SimDuration),
    Uniform {
        min: f64,
        span: f64,
    },
    Normal {
        mean: f64,
        d: Normal<f64>,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
        d: LogNormal<f64>,
    },
    Exponential {
        mean: f64,
        d: Exp<f64>,
    },
    Sum(Vec<Dist>),
}

impl Dist {
    pub const ZERO: Dist = Dist::Constant(SimDuration::ZERO);

    pub fn compile(spec: &DistSpec) -> Dist {
        let us = |d: &Dur| d.0.as_micros() as f64;
        match spec {
            DistSpec::Constant(d) => Dist::Constant(d.0),
            DistSpec::Uniform { min, max } => Dist::Uniform {
                min: us(min),
                span: us(max) - us(min),
            },
            DistSpec::Normal { mean, sd } => Dist::Normal {
                mean: us(mean),
                d: Normal::new(us(mean), us(sd)).expect("sd is a non-negative duration"),
            },
            DistSpec::LogNormal {
                median,
                upper,
                sigma,
            } => {
                let m = us(median).max(1.0);
                let sigma = sigma.unwrap_or_else(|| {
                    let (q, p) = upper.expect("validated: upper or sigma");
                    let z = if q >= 0.99 {
                        Z99
                    } else if q >= 0.95 {
                        Z95
                    } else {
                        Z90
                    };
                    (us(&p).max(1.0) / m).ln() / z
                });
                let mu = m.ln();
                Dist::LogNormal {
                    mu,
                    sigma,
                    d: LogNormal::new(mu, sigma).expect("sigma is finite and >= 0"),
                }
            }
            DistSpec::Exponential { mean } => {
                let mean = us(mean).max(1.0);
                Dist::Exponential {
                    mean,
                    d: Exp::new(1.0 / mean).expect("positive rate"),
                }
            }
            DistSpec::Sum(parts) => Dist::Sum(parts.iter().map(Dist::compile).collect()),
        }
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        SimDuration(self.sample_us(rng).clamp(0.0, 1e15) as u64)
    }

    fn sample_us<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Constant(d) => d.0 as f64,
            Dist::Uniform { min, span } => min + span * rng.random::<f64>(),
            Dist::Normal { d, .. } => d.sample(rng).max(0.0),
            Dist::LogNormal { d, .. } => d.sample(rng),
            Dist::Exponential { d, .. } => d.sample(rng),
            Dist::Sum(parts) => parts.iter().map(|p| p.sample_us(rng)).sum(),
        }
    }

    /// The smallest value the distribution can produce: the quota model's lower bounds use it.
    pub fn min(&self) -> SimDuration {
        match self {
            Dist::Constant(d) => *d,
            Dist::Uniform { min, .. } => SimDuration(*min as u64),
            Dist::Normal { .. } | Dist::LogNormal { .. } | Dist::Exponential { .. } => {
                SimDuration::ZERO
            }
            Dist::Sum(parts) => parts.iter().fold(SimDuration::ZERO, |a, p| a + p.min()),
        }
    }

    /// The mean, for the model's demand estimates.
    pub fn mean(&self) -> SimDuration {
        SimDuration(self.mean_us().max(0.0) as u64)
    }

    fn mean_us(&self) -> f64 {
        match self {
            Dist::Constant(d) => d.0 as f64,
            Dist::Uniform { min, span } => min + span / 2.0,
            Dist::Normal { mean, .. } | Dist::Exponential { mean, .. } => *mean,
            Dist::LogNormal { mu, sigma, .. } => (mu + sigma * sigma / 2.0).exp(),
            Dist::Sum(parts) => parts.iter().map(|p| p.mean_us()).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::SplitMix64;

    fn parse(s: &str) -> Result<DistSpec, String> {
        #[derive(Deserialize)]
        struct W {
            d: DistSpec,
        }
        toml::from_str::<W>(s)
            .map(|w| w.d)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn lognormal_by_median_and_p95_hits_both() {
        let d = Dist::compile(
            &parse(r#"d = { dist = "lognormal", median = "60s", p95 = "180s" }"#).unwrap(),
        );
        let mut rng = SplitMix64::seed_from_u64(7);
        let mut xs: Vec<f64> = (0..20_000)
            .map(|_| d.sample(&mut rng).as_secs_f64())
            .collect();
        xs.sort_by(f64::total_cmp);
        let (p50, p95) = (xs[10_000], xs[19_000]);
        assert!((p50 - 60.0).abs() < 3.0, "median {p50}");
        assert!((p95 - 180.0).abs() < 12.0, "p95 {p95}");
    }

    #[test]
    fn arrays_add_up_and_bounds_hold() {
        let d = Dist::compile(
            &parse(r#"d = ["10s", { dist = "uniform", min = "1s", max = "5s" }]"#).unwrap(),
        );
        assert_eq!(d.min(), SimDuration::from_secs(11));
        assert_eq!(d.mean(), SimDuration::from_secs(13));
        let mut rng = SplitMix64::seed_from_u64(1);
        for _ in 0..1000 {
            let x = d.sample(&mut rng);
            assert!(x >= SimDuration::from_secs(11) && x <= SimDuration::from_secs(15));
        }
    }

    #[test]
    fn bad_tables_say_what_is_missing() {
        let e = parse(r#"d = { dist = "lognormal", median = "60s" }"#).unwrap_err();
        assert!(e.contains("p90, p95, p99 or sigma"), "{e}");
        let e = parse(r#"d = { dist = "gamma", mean = "1s" }"#).unwrap_err();
        assert!(e.contains("unknown distribution `gamma`"), "{e}");
        let e = parse(r#"d = { dist = "uniform", min = "5s", max = "1s" }"#).unwrap_err();
        assert!(e.contains("min <= max"), "{e}");
    }
}
