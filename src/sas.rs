//! The short authentication string of a call: four words both people can read aloud, derived
//! from the two DTLS certificate fingerprints of the connection. A signaling server that
//! swapped fingerprints to sit in the middle gives the two ends different words.
//!
//! SHA-256 over the two fingerprints (`sha-256 ab:cd:…`, lower case), sorted and joined with
//! `\n`; its first four bytes pick words from the PGP word list, alternately from its "even"
//! and "odd" lists. The call page computes the same (`app.js`, `computeSas`).

use ring::digest;

/// The PGP word list: 256 "even" words on the first line, 256 "odd" words on the second (the
/// call page fetches the same file).
pub const WORDS: &str = include_str!("signal/server/web/sas-words.txt");

/// The DTLS fingerprint a description carries: its first `a=fingerprint:` of SHA-256, else its
/// first at all, as `HASH VALUE` in lower case.
pub fn fingerprint(sdp: &str) -> Option<String> {
    let all: Vec<(String, String)> = sdp
        .lines()
        .filter_map(|l| l.trim().strip_prefix("a=fingerprint:"))
        .filter_map(|v| {
            let mut parts = v.trim().splitn(2, char::is_whitespace);
            let hash = parts.next()?.to_ascii_lowercase();
            let value = parts.next()?.trim().to_ascii_lowercase();
            (!hash.is_empty() && !value.is_empty()).then_some((hash, value))
        })
        .collect();
    all.iter()
        .find(|(h, _)| h == "sha-256")
        .or(all.first())
        .map(|(h, v)| format!("{h} {v}"))
}

/// The four words of two fingerprints (the same whichever side computes them).
pub fn words(a: &str, b: &str) -> String {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let d = digest::digest(&digest::SHA256, format!("{first}\n{second}").as_bytes());
    let mut lists = WORDS.lines().map(|l| l.split(' ').collect::<Vec<_>>());
    let (even, odd) = (
        lists.next().unwrap_or_default(),
        lists.next().unwrap_or_default(),
    );
    d.as_ref()[..4]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let list = if i % 2 == 0 { &even } else { &odd };
            list.get(usize::from(b)).copied().unwrap_or("?")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words of a call from its two descriptions; `None` when one lacks a fingerprint.
pub fn of_descriptions(local: &str, remote: &str) -> Option<String> {
    Some(words(&fingerprint(local)?, &fingerprint(remote)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_lists_hold_256_distinct_words_each() {
        let lists: Vec<Vec<&str>> = WORDS.lines().map(|l| l.split(' ').collect()).collect();
        assert_eq!(lists.len(), 2);
        assert!(lists.iter().all(|l| l.len() == 256));
        let all: std::collections::HashSet<_> = lists.concat().into_iter().collect();
        assert_eq!(all.len(), 512);
    }

    #[test]
    fn words_do_not_depend_on_the_order_and_match_an_independent_computation() {
        // Python: sha256(b"sha-256 01:02:03\nsha-256 ab:cd:ef") starts c3 4d 3f 9a.
        let w = words("sha-256 ab:cd:ef", "sha-256 01:02:03");
        assert_eq!(w, "snowcap disruptive cowbell newsletter");
        assert_eq!(words("sha-256 01:02:03", "sha-256 ab:cd:ef"), w);
        assert_ne!(words("sha-256 01:02:04", "sha-256 ab:cd:ef"), w);
    }

    #[test]
    fn the_sha256_fingerprint_is_preferred_and_normalised() {
        let sdp = "v=0\r\na=fingerprint:sha-1 AA:BB\r\na=fingerprint:SHA-256 AB:CD \r\n";
        assert_eq!(fingerprint(sdp).as_deref(), Some("sha-256 ab:cd"));
        let only_sha1 = "a=fingerprint:sha-1 AA:BB\r\n";
        assert_eq!(fingerprint(only_sha1).as_deref(), Some("sha-1 aa:bb"));
        assert_eq!(fingerprint("v=0\r\na=fingerprint:\r\n"), None);
        assert_eq!(of_descriptions(sdp, "v=0"), None);
    }
}
