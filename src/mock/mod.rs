//! `fleetsim mock`: a DPS + IoT Hub endpoint on real sockets (MQTT 3.1.1 over TCP or TLS) that
//! speaks the services' topics, payloads and SAS authentication (reference §1–§3) and
//! enforces their quotas with the same service models as the virtual engine (reference §4).
//!
//! `server` listens and accepts; `conn` runs one connection (rumqttc's `mqttbytes::v4` codec,
//! every byte treated as hostile); `https` serves DPS's Device Registration Status Lookup
//! over HTTP/1.1 (hyper, reference §1f); `body` holds the DPS reply bodies both share;
//! `state` holds the shared service models behind a mutex; `tls` loads or generates
//! certificates. The wall clock is read here and only here, and
//! turned into `SimTime` since the server started before it reaches a model.

pub mod body;
pub mod command;
pub mod conn;
pub mod https;
pub mod server;
pub mod state;
pub mod stats;
pub mod tls;

pub use server::{Listen, MockServer};
pub use state::{Auth, MockConfig};
pub use stats::Stats;
