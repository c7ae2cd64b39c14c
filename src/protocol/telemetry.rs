//! The telemetry payload the live engine's devices send, and the receiver-side check of its
//! sequence numbers: every message carries its device's sequence number and send time, so a
//! receiver (the in-process mock, or a subscriber on a plain MQTT broker) can count what was
//! lost, duplicated or reordered.
//!
//! Payload: `{"seq":N,"sent_us":T,"pad":"xxx…"}`, padded with `x` to the class's
//! `telemetry_size` (never shorter than the JSON without padding).

use std::collections::HashMap;
use std::sync::Mutex;

/// The JSON payload of message `seq`, sent at `sent_unix_us`, padded to `size` bytes.
pub fn payload(seq: u64, sent_unix_us: u64, size: usize) -> Vec<u8> {
    let head = format!("{{\"seq\":{seq},\"sent_us\":{sent_unix_us},\"pad\":\"");
    let fixed = head.len() + 2;
    let mut v = Vec::with_capacity(size.max(fixed));
    v.extend_from_slice(head.as_bytes());
    v.resize(v.len() + size.saturating_sub(fixed), b'x');
    v.extend_from_slice(b"\"}");
    v
}

/// The `seq` of a payload, if it has one (cheap: no JSON parse).
pub fn sequence(payload: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"seq\":";
    let at = payload.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = payload[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 19 {
        return None;
    }
    std::str::from_utf8(&payload[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// One device's view at the receiver.
#[derive(Default)]
struct Track {
    /// One past the highest sequence number received.
    next: u64,
    /// Numbers below `next` not received yet (gaps; a later arrival is a reordering).
    missing: Vec<u64>,
}

/// What a receiver saw, per device, from the sequence numbers.
#[derive(Default)]
pub struct SequenceTracker {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for SequenceTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SequenceTracker({:?})", self.totals())
    }
}

#[derive(Default)]
struct Inner {
    devices: HashMap<Box<str>, Track>,
    received: u64,
    duplicates: u64,
    reordered: u64,
    unparsable: u64,
}

/// Totals from a [`SequenceTracker`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SequenceTotals {
    /// Distinct messages received.
    pub received: u64,
    pub duplicates: u64,
    pub reordered: u64,
    /// Numbers skipped and never filled in (lost before the receiver, so far).
    pub gaps: u64,
    /// Messages without a `seq`.
    pub unparsable: u64,
}

impl SequenceTracker {
    /// A message from `device` with this payload arrived.
    pub fn observe(&self, device: &str, payload: &[u8]) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(seq) = sequence(payload) else {
            g.unparsable += 1;
            return;
        };
        let inner = &mut *g;
        let t = match inner.devices.get_mut(device) {
            Some(t) => t,
            None => inner.devices.entry(device.into()).or_default(),
        };
        if seq == t.next {
            t.next += 1;
            inner.received += 1;
        } else if seq > t.next {
            // Bound the gap list: a hostile or broken sender must not exhaust memory.
            let gap = (seq - t.next).min(1024);
            t.missing.extend((seq - gap)..seq);
            t.next = seq + 1;
            inner.received += 1;
        } else if let Some(i) = t.missing.iter().position(|&m| m == seq) {
            t.missing.swap_remove(i);
            inner.received += 1;
            inner.reordered += 1;
        } else {
            inner.duplicates += 1;
        }
    }

    pub fn totals(&self) -> SequenceTotals {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        SequenceTotals {
            received: g.received,
            duplicates: g.duplicates,
            reordered: g.reordered,
            gaps: g.devices.values().map(|t| t.missing.len() as u64).sum(),
            unparsable: g.unparsable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_padded_and_parsed() {
        let p = payload(42, 1_700_000_000_000_000, 300);
        assert_eq!(p.len(), 300);
        assert_eq!(sequence(&p), Some(42));
        let v: serde_json::Value = serde_json::from_slice(&p).unwrap();
        assert_eq!(v["seq"], 42);
        // Smaller than the bare JSON: never truncated.
        let p = payload(7, 1, 4);
        assert_eq!(sequence(&p), Some(7));
        assert!(serde_json::from_slice::<serde_json::Value>(&p).is_ok());
        assert_eq!(sequence(b"{\"seq\":}"), None);
        assert_eq!(sequence(b"hello"), None);
    }

    #[test]
    fn gaps_duplicates_and_reorders_are_told_apart() {
        let t = SequenceTracker::default();
        let m = |s| payload(s, 0, 0);
        for s in [0, 1, 2] {
            t.observe("a", &m(s));
        }
        t.observe("a", &m(2)); // resent after a lost PUBACK
        t.observe("a", &m(5)); // 3 and 4 missing
        t.observe("a", &m(3)); // late
        t.observe("b", &m(0));
        t.observe("b", b"not json");
        let x = t.totals();
        assert_eq!(x.received, 6);
        assert_eq!(x.duplicates, 1);
        assert_eq!(x.reordered, 1);
        assert_eq!(x.gaps, 1);
        assert_eq!(x.unparsable, 1);
    }
}
