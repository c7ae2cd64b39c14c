//! The analytic model: lower bounds and the bottleneck, from the scenario alone.
