//! The webrtc-internals dump format (what Chrome's chrome://webrtc-internals "Create dump"
//! writes, checked against Chromium 156's own), made from a side read from an rtcstats dump:
//! the update log (values JSON-encoded into strings), and every stats member as a series
//! `"<id>-<member>": {statsType, startTime, endTime, values}` with the per-object
//! `-timestamp` series importers line the values up with.

use serde_json::{Map, Value, json};

use super::read::Side;

/// ISO 8601 (UTC, milliseconds) for a time in ms since the epoch.
fn iso(ms: f64) -> String {
    let secs = (ms / 1000.0).floor() as i64;
    let milli = (ms - secs as f64 * 1000.0).round().clamp(0.0, 999.0) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// One side as a webrtc-internals dump. `None` when the side has no clock (NDJSON).
pub fn from_side(side: &Side) -> Option<Value> {
    let start = side.start_ms?;
    let abs = |t: f64| start + t * 1000.0;
    // As Chromium logs them: each value JSON-encoded into a string ("" for none).
    let update_log: Vec<Value> = side
        .events
        .iter()
        .map(|(t, method, value)| {
            let text = match value {
                Value::Null => String::new(),
                v => v.to_string(),
            };
            json!({"type": method, "value": text, "timestamp": abs(*t)})
        })
        .collect();
    // Every member of every object, as a series over the reports the object is in (null
    // where a report lacked the member), so each lines up with the object's `-timestamp`.
    let mut by_id: Vec<(String, Vec<&Map<String, Value>>)> = Vec::new();
    for (_, report) in &side.stats {
        for (id, o) in report {
            let Value::Object(o) = o else { continue };
            match by_id.iter_mut().find(|(i, _)| i == id) {
                Some((_, list)) => list.push(o),
                None => by_id.push((id.clone(), vec![o])),
            }
        }
    }
    let mut stats = Map::new();
    for (id, reports) in &by_id {
        let times: Vec<f64> = reports
            .iter()
            .map(|o| o.get("timestamp").and_then(Value::as_f64).unwrap_or(start))
            .collect();
        let (first, last) = (times[0], times[times.len() - 1]);
        let ty = reports[0].get("type").cloned().unwrap_or(Value::Null);
        let mut members: Vec<&String> = Vec::new();
        for o in reports {
            for k in o.keys() {
                if k != "id" && !members.contains(&k) {
                    members.push(k);
                }
            }
        }
        for k in members {
            let values: Vec<Value> = reports
                .iter()
                .map(|o| o.get(k).cloned().unwrap_or(Value::Null))
                .collect();
            stats.insert(
                format!("{id}-{k}"),
                json!({
                    "statsType": ty,
                    "startTime": iso(first),
                    "endTime": iso(last),
                    "values": Value::Array(values).to_string(),
                }),
            );
        }
    }
    let configuration = side
        .configuration
        .as_ref()
        .map(Value::to_string)
        .unwrap_or_default();
    let mut pcs = Map::new();
    pcs.insert(
        "1-1".into(),
        json!({
            "pid": std::process::id(),
            "rtcConfiguration": configuration,
            "url": format!("rtccall {} {}", side.role, side.place),
            "updateLog": update_log,
            "stats": stats,
        }),
    );
    let version = env!("CARGO_PKG_VERSION");
    Some(json!({
        "timestamp": start,
        "getUserMedia": [],
        "PeerConnections": pcs,
        "UserAgent": format!("rtccall/{version}"),
        "UserAgentData": {
            "brands": [{"brand": "rtccall", "version": version}],
            "mobile": false,
            "platform": std::env::consts::OS,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_796_428_405_419.0), "2026-12-04T23:53:25.419Z");
        assert_eq!(iso(951_782_400_000.0), "2000-02-29T00:00:00.000Z");
    }
}
