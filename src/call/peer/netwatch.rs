//! The local network addresses, as ICE gathering sees them, so that a change (a laptop moving
//! to another network) can restart ICE.

use std::collections::BTreeSet;
use std::net::IpAddr;

/// The addresses of the non-loopback interfaces now (empty when they cannot be read).
pub fn local_addresses() -> BTreeSet<IpAddr> {
    rtc::shared::ifaces::ifaces()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.addr.map(|a| a.ip()))
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
        .collect()
}

/// What changed between two address sets, in words (`None`: nothing).
pub fn describe_change(before: &BTreeSet<IpAddr>, now: &BTreeSet<IpAddr>) -> Option<String> {
    let gone: Vec<String> = before.difference(now).map(|a| a.to_string()).collect();
    let new: Vec<String> = now.difference(before).map(|a| a.to_string()).collect();
    match (gone.is_empty(), new.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!("{} gone", gone.join(", "))),
        (true, false) => Some(format!("{} new", new.join(", "))),
        (false, false) => Some(format!("{} gone, {} new", gone.join(", "), new.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_described() {
        let set =
            |v: &[&str]| -> BTreeSet<IpAddr> { v.iter().map(|a| a.parse().unwrap()).collect() };
        let a = set(&["192.0.2.1", "2001:db8::1"]);
        assert_eq!(describe_change(&a, &a), None);
        assert_eq!(
            describe_change(&a, &set(&["2001:db8::1"])).as_deref(),
            Some("192.0.2.1 gone")
        );
        assert_eq!(
            describe_change(&a, &set(&["198.51.100.7", "2001:db8::1"])).as_deref(),
            Some("192.0.2.1 gone, 198.51.100.7 new")
        );
        // Loopback never counts.
        assert!(local_addresses().iter().all(|a| !a.is_loopback()));
    }
}
