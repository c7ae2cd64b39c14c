//! A device's first DPS step over MQTT, for tests that drive the mock with rumqttc.

use fleetsim::protocol::dps::{DeviceRegistration, DpsRequest, RESPONSE_FILTER};
use rumqttc::{AsyncClient, ClientError, QoS};

/// Subscribes to DPS's responses and sends a register request with `$rid=1` (reference §1c
/// steps 1–2).
pub async fn send_register(c: &AsyncClient, id: &str) -> Result<(), ClientError> {
    c.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await?;
    let body = serde_json::to_vec(&DeviceRegistration {
        registration_id: id.to_string(),
        payload: None,
    })
    .expect("serialises");
    c.publish(
        DpsRequest::register_topic("1"),
        QoS::AtLeastOnce,
        false,
        body,
    )
    .await
}
