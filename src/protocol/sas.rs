//! Shared access signature tokens (reference §3) and enrollment-group key derivation.
//!
//! A token is `SharedAccessSignature sr={url-encoded resource}&sig={url-encoded base64
//! HMAC-SHA256}&se={unix expiry}[&skn={policy}]`, fields in any order; the string signed is
//! `{url-encoded resource}\n{se}` with the base64-decoded key.

use super::{parse_query, query_get, url_decode, url_encode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Clock skew tolerated on `se` (reference "Notes for building the mock": allow roughly 5
/// minutes; [D-ERR] 401003 note).
pub const DEFAULT_SKEW_S: u64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SasError {
    #[error("not a SharedAccessSignature token")]
    Malformed,
    #[error("the key is not valid base64")]
    BadKey,
    #[error("the token is for another resource")]
    WrongResource,
    #[error("the token has expired")]
    Expired,
    #[error("the signature does not match")]
    BadSignature,
}

/// A parsed token. `sr_raw` is the resource exactly as sent (still URL-encoded): the string
/// the client signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SasToken {
    pub sr_raw: String,
    pub resource: String,
    pub sig: Vec<u8>,
    pub se: u64,
    pub skn: Option<String>,
}

impl SasToken {
    pub fn parse(token: &str) -> Result<SasToken, SasError> {
        let rest = token
            .strip_prefix("SharedAccessSignature ")
            .ok_or(SasError::Malformed)?;
        // sr is kept raw (the signed string), so split by hand rather than decode everything.
        let mut sr_raw = None;
        for kv in rest.split('&') {
            if let Some(v) = kv.strip_prefix("sr=") {
                sr_raw = Some(v.to_string());
            }
        }
        let pairs = parse_query(rest).ok_or(SasError::Malformed)?;
        let sr_raw = sr_raw.ok_or(SasError::Malformed)?;
        let resource = url_decode(&sr_raw).ok_or(SasError::Malformed)?;
        let sig = query_get(&pairs, "sig").ok_or(SasError::Malformed)?;
        let sig = B64.decode(sig).map_err(|_| SasError::Malformed)?;
        let se = query_get(&pairs, "se")
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(SasError::Malformed)?;
        let skn = query_get(&pairs, "skn").map(str::to_string);
        Ok(SasToken {
            sr_raw,
            resource,
            sig,
            se,
            skn,
        })
    }

    /// Checks the token against the resource it must be for, a device key (base64) and the
    /// Unix time `now`. The resource compares case-insensitively (reference §3: lower-case
    /// resource URIs); the signature is accepted over the string as sent or over its
    /// canonical re-encoding (SDKs differ in hex case, reference §3 INFERENCE).
    pub fn verify(
        &self,
        expected_resource: &str,
        key_b64: &str,
        now_unix: u64,
        skew_s: u64,
    ) -> Result<(), SasError> {
        if !self.resource.eq_ignore_ascii_case(expected_resource) {
            return Err(SasError::WrongResource);
        }
        if self.se.saturating_add(skew_s) < now_unix {
            return Err(SasError::Expired);
        }
        let key = B64.decode(key_b64).map_err(|_| SasError::BadKey)?;
        let canonical = url_encode(&self.resource);
        let candidates = [
            self.sr_raw.clone(),
            canonical.clone(),
            canonical.to_ascii_lowercase(),
        ];
        for sr in candidates {
            let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| SasError::BadKey)?;
            mac.update(format!("{sr}\n{}", self.se).as_bytes());
            if mac.verify_slice(&self.sig).is_ok() {
                return Ok(());
            }
        }
        Err(SasError::BadSignature)
    }
}

/// The base64 signature of `{sr}\n{se}` (`sr` already URL-encoded) with a base64 key.
pub fn signature(key_b64: &str, sr_encoded: &str, se: u64) -> Result<String, SasError> {
    let key = B64.decode(key_b64).map_err(|_| SasError::BadKey)?;
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| SasError::BadKey)?;
    mac.update(format!("{sr_encoded}\n{se}").as_bytes());
    Ok(B64.encode(mac.finalize().into_bytes()))
}

/// A token for `resource` (not yet encoded) expiring at `se`, as the SDKs build it
/// (sr, sig, se, then skn; reference §3).
pub fn sign(key_b64: &str, resource: &str, se: u64, skn: Option<&str>) -> Result<String, SasError> {
    let sr = url_encode(resource);
    let sig = signature(key_b64, &sr, se)?;
    let mut t = format!(
        "SharedAccessSignature sr={sr}&sig={}&se={se}",
        url_encode(&sig)
    );
    if let Some(skn) = skn {
        t.push_str("&skn=");
        t.push_str(&url_encode(skn));
    }
    Ok(t)
}

/// An enrollment-group device key: base64(HMAC-SHA256(base64decode(group key), registration
/// id)) (reference §3).
pub fn derive_device_key(group_key_b64: &str, registration_id: &str) -> Result<String, SasError> {
    let key = B64
        .decode(group_key_b64.trim())
        .map_err(|_| SasError::BadKey)?;
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| SasError::BadKey)?;
    mac.update(registration_id.as_bytes());
    Ok(B64.encode(mac.finalize().into_bytes()))
}

/// The DPS resource URI `{idScope}/registrations/{registrationId}` (reference §1b).
pub fn dps_resource(id_scope: &str, registration_id: &str) -> String {
    format!("{id_scope}/registrations/{registration_id}")
}

/// The IoT Hub device resource URI `{host}/devices/{deviceId}[/modules/{moduleId}]`
/// (reference §3).
pub fn hub_resource(host: &str, device_id: &str, module_id: Option<&str>) -> String {
    match module_id {
        Some(m) => format!("{host}/devices/{device_id}/modules/{m}"),
        None => format!("{host}/devices/{device_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference §3 test vectors.
    const GROUP_KEY: &str =
        "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==";
    const REG_ID: &str = "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6";
    const HUB_KEY: &str =
        "18RQk/hOPJR9EbsJlk2j8WA6vWaj/yi+oaYg7zmxfQNdOyMSu+SJ8O7TSlZhDJCYmn4rzEiVKIzNiVAWjLxrGA==";
    const HUB_RESOURCE: &str = "MyExampleHub.azure-devices.net/devices/my-symkey-device";

    #[test]
    fn group_key_derivation_matches_reference() {
        assert_eq!(
            derive_device_key(GROUP_KEY, REG_ID).unwrap(),
            "Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc="
        );
    }

    #[test]
    fn hub_token_matches_reference() {
        let t = sign(HUB_KEY, HUB_RESOURCE, 1663119026, None).unwrap();
        assert_eq!(
            t,
            "SharedAccessSignature sr=MyExampleHub.azure-devices.net%2Fdevices%2Fmy-symkey-device\
             &sig=f%2BwW8XOKeJOtiPc9Iwjc4OpExvPM7NlhM9qxN2a1aAM%3D&se=1663119026"
        );
        let p = SasToken::parse(&t).unwrap();
        assert_eq!(p.resource, HUB_RESOURCE);
        assert_eq!(p.verify(HUB_RESOURCE, HUB_KEY, 1663119000, 0), Ok(()));
        // Case-insensitive resource, as the reference's lower-case rule asks.
        assert_eq!(
            p.verify(&HUB_RESOURCE.to_lowercase(), HUB_KEY, 1663119000, 0),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let t = SasToken::parse(&sign(HUB_KEY, HUB_RESOURCE, 1000, None).unwrap()).unwrap();
        let other = HUB_RESOURCE.replace("my-symkey", "other");
        assert_eq!(
            t.verify(&other, HUB_KEY, 0, 0),
            Err(SasError::WrongResource)
        );
        assert_eq!(
            t.verify(HUB_RESOURCE, HUB_KEY, 1001, 0),
            Err(SasError::Expired)
        );
        assert_eq!(t.verify(HUB_RESOURCE, HUB_KEY, 1200, 300), Ok(()));
        assert_eq!(
            t.verify(HUB_RESOURCE, GROUP_KEY, 0, 0),
            Err(SasError::BadSignature)
        );
        for bad in [
            "",
            "SharedAccessSignature",
            "SharedAccessSignature sr=a&se=1",
            "SharedAccessSignature sr=a&sig=@@@&se=1",
            "SharedAccessSignature sr=a&sig=AAAA&se=x",
            "SharedAccessSignature sr=%zz&sig=AAAA&se=1",
            "Bearer sr=a&sig=AAAA&se=1",
        ] {
            assert_eq!(SasToken::parse(bad), Err(SasError::Malformed), "{bad}");
        }
    }

    #[test]
    fn lower_case_hex_in_sr_is_accepted() {
        // The doc's sample token shows `%2f` (reference §3): sign over that form and verify.
        let sr = "myexamplehub.azure-devices.net%2fdevices%2fmy-symkey-device";
        let sig = signature(HUB_KEY, sr, 5000).unwrap();
        let t = format!(
            "SharedAccessSignature sig={}&se=5000&sr={sr}",
            url_encode(&sig)
        );
        let p = SasToken::parse(&t).unwrap();
        assert_eq!(p.verify(HUB_RESOURCE, HUB_KEY, 0, 0), Ok(()));
    }

    #[test]
    fn dps_token_with_and_without_skn() {
        let key = derive_device_key(GROUP_KEY, REG_ID).unwrap();
        let res = dps_resource("0ne00111111", REG_ID);
        for skn in [Some("registration"), None] {
            let t = SasToken::parse(&sign(&key, &res, 99, skn).unwrap()).unwrap();
            assert_eq!(t.skn.as_deref(), skn);
            assert_eq!(t.verify(&res, &key, 0, 0), Ok(()));
        }
    }
}
