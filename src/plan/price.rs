//! What a configuration costs, to rank the ones that meet the goals.
//!
//! Built-in list prices, USD per hub unit per month: B1 10, B2 50, B3 500, S1 25, S2 250,
//! S3 2,500 (F1 free). Taken 2026-11-22 from the Azure IoT Hub pricing pages: the global page
//! (azure.microsoft.com/pricing/details/iot-hub) lists the editions without figures in our
//! copy; the azure.cn page lists B1 ¥101.76, B2 ¥508.80, B3 ¥5,088, S1 ¥254.40, S2 ¥2,544,
//! S3 ¥25,440 per unit-month, the same 1 : 5 : 50 and 2.5 : 25 : 250 ratios as the USD
//! figures above. DPS has no fixed fee: it bills per operation (USD 0.10 per 1,000 is the
//! long-standing list price), so instances cost nothing to add and only the hubs enter the
//! monthly figure. Prices vary by region and agreement: pass your own with `--prices FILE`.

use crate::quota::Tier;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// Where the figures come from, shown in plan.json.
    pub source: String,
    pub currency: String,
    /// Price per hub unit per month, by tier name.
    pub hub_unit_month: HubPrices,
    /// DPS price per 1,000 operations (reported, not ranked on).
    pub dps_per_1000_operations: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct HubPrices {
    pub F1: f64,
    pub B1: f64,
    pub B2: f64,
    pub B3: f64,
    pub S1: f64,
    pub S2: f64,
    pub S3: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            source: "built-in list prices, read 2026-11-22 (see src/plan/price.rs)".into(),
            currency: "USD".into(),
            hub_unit_month: HubPrices {
                F1: 0.0,
                B1: 10.0,
                B2: 50.0,
                B3: 500.0,
                S1: 25.0,
                S2: 250.0,
                S3: 2_500.0,
            },
            dps_per_1000_operations: 0.10,
        }
    }
}

impl Prices {
    /// Reads a TOML file with the same keys as [`Prices`].
    pub fn from_file(path: &Path) -> Result<Prices, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))
    }

    pub fn unit(&self, tier: Tier) -> f64 {
        let h = &self.hub_unit_month;
        match tier {
            Tier::F1 => h.F1,
            Tier::B1 => h.B1,
            Tier::B2 => h.B2,
            Tier::B3 => h.B3,
            Tier::S1 => h.S1,
            Tier::S2 => h.S2,
            Tier::S3 => h.S3,
        }
    }

    /// The hubs' monthly price.
    pub fn monthly(&self, sc: &Scenario) -> f64 {
        sc.hub.count as f64 * sc.hub.units as f64 * self.unit(sc.hub.tier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_file_round_trips() {
        let p = Prices::default();
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("prices.toml");
        std::fs::write(&f, toml::to_string(&p).unwrap()).unwrap();
        assert_eq!(Prices::from_file(&f).unwrap(), p);
        std::fs::write(&f, "source = 1").unwrap();
        assert!(Prices::from_file(&f).is_err());
    }
}
