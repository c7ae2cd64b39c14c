//! The wire formats of DPS and IoT Hub over MQTT (reference §1, §2) and their SAS tokens
//! (reference §3): usernames, topics and payloads parsed and formatted, tokens signed and
//! verified. Pure: no sockets, no clocks (callers pass the Unix time in).

pub mod dps;
pub mod hub;
pub mod sas;
pub mod telemetry;

/// Percent-encodes everything but RFC 3986 unreserved characters, with upper-case hex, as
/// Python's `quote(s, safe="")` and C#'s `WebUtility.UrlEncode` do for resource URIs (reference
/// §3). Hand-written: ten lines, where the crate would bring its own encode-set machinery.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes and `+` as a space; None on a broken escape or invalid UTF-8.
pub fn url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Parses the `k1=v1&k2=v2` part of a topic or username into decoded pairs. A key without `=`
/// has an empty value (reference §2c: a null value appears as `key`).
pub fn parse_query(q: &str) -> Option<Vec<(String, String)>> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((url_decode(k)?, url_decode(v)?))
        })
        .collect()
}

/// The value of `key` in parsed query pairs.
pub fn query_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_round_trips() {
        let s = "MyExampleHub.azure-devices.net/devices/my dev+1";
        assert_eq!(
            url_encode(s),
            "MyExampleHub.azure-devices.net%2Fdevices%2Fmy%20dev%2B1"
        );
        assert_eq!(url_decode(&url_encode(s)).as_deref(), Some(s));
        assert_eq!(url_decode("a%2fb").as_deref(), Some("a/b"));
        assert_eq!(url_decode("%zz"), None);
        assert_eq!(url_decode("%2"), None);
        assert_eq!(url_decode("%ff"), None);
    }

    #[test]
    fn query_pairs() {
        let q = parse_query("$rid=1&retry-after=3&flag").unwrap();
        assert_eq!(query_get(&q, "$rid"), Some("1"));
        assert_eq!(query_get(&q, "retry-after"), Some("3"));
        assert_eq!(query_get(&q, "flag"), Some(""));
        assert_eq!(query_get(&q, "x"), None);
    }
}
