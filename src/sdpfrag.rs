//! SDP pieces WHIP and WHEP exchange, for both ends: candidates folded into a whole offer or
//! answer, and `application/trickle-ice-sdpfrag` bodies (RFC 8840) built and read.

use rtc::sdp::description::common::Attribute;

/// A candidate line (`candidate:…`, with or without `a=`) and the mid it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cand {
    pub line: String,
    pub mid: Option<String>,
}

impl Cand {
    /// The attribute value: the line without `a=` and `candidate:`.
    fn value(&self) -> &str {
        self.line
            .trim()
            .trim_start_matches("a=")
            .trim_start_matches("candidate:")
    }
}

/// Put candidates (and, when `complete`, `a=end-of-candidates` in every section) into an SDP,
/// each into the media section its mid names (the first one otherwise). An SDP that does not
/// parse is returned as it was.
pub fn with_candidates(sdp: &str, candidates: &[Cand], complete: bool) -> String {
    let Ok(mut desc) =
        rtc::sdp::SessionDescription::unmarshal(&mut std::io::Cursor::new(sdp.as_bytes()))
    else {
        return sdp.to_string();
    };
    for c in candidates {
        let at = desc
            .media_descriptions
            .iter()
            .position(|m| c.mid.is_some() && m.attribute("mid").flatten() == c.mid.as_deref())
            .unwrap_or(0);
        if let Some(m) = desc.media_descriptions.get_mut(at) {
            m.attributes.push(Attribute::new(
                "candidate".into(),
                Some(c.value().to_string()),
            ));
        }
    }
    if complete {
        for m in desc.media_descriptions.iter_mut() {
            if !m.attributes.iter().any(|a| a.key == "end-of-candidates") {
                m.attributes
                    .push(Attribute::new("end-of-candidates".into(), None));
            }
        }
    }
    desc.marshal()
}

/// An ICE restart's description: `sdp` with every `a=ice-ufrag`/`a=ice-pwd` set to the new
/// credentials and, when `candidates` is given, its candidates (and `a=end-of-candidates`)
/// replaced by those. An SDP that does not parse is returned as it was.
pub fn restarted(sdp: &str, ufrag: &str, pwd: &str, candidates: Option<(&[Cand], bool)>) -> String {
    let Ok(mut desc) =
        rtc::sdp::SessionDescription::unmarshal(&mut std::io::Cursor::new(sdp.as_bytes()))
    else {
        return sdp.to_string();
    };
    let renew = |attrs: &mut Vec<Attribute>| {
        for a in attrs.iter_mut() {
            match a.key.as_str() {
                "ice-ufrag" => a.value = Some(ufrag.to_string()),
                "ice-pwd" => a.value = Some(pwd.to_string()),
                _ => {}
            }
        }
    };
    renew(&mut desc.attributes);
    for m in desc.media_descriptions.iter_mut() {
        renew(&mut m.attributes);
        if candidates.is_some() {
            m.attributes
                .retain(|a| a.key != "candidate" && a.key != "end-of-candidates");
        }
    }
    let text = desc.marshal();
    match candidates {
        Some((c, complete)) => with_candidates(&text, c, complete),
        None => text,
    }
}

/// `a=ice-ufrag`, `a=ice-pwd` and the first `a=mid` of an SDP or fragment.
pub fn ice_of(sdp: &str) -> (String, String, String) {
    let find = |key: &str| {
        sdp.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    (find("a=ice-ufrag:"), find("a=ice-pwd:"), find("a=mid:"))
}

/// An `application/trickle-ice-sdpfrag` body carrying candidates of the section `mid`.
pub fn build(ufrag: &str, pwd: &str, mid: &str, candidates: &[Cand], end: bool) -> String {
    let mut s =
        format!("a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\nm=audio 9 RTP/AVP 0\r\na=mid:{mid}\r\n");
    for c in candidates {
        s.push_str(&format!("a=candidate:{}\r\n", c.value()));
    }
    if end {
        s.push_str("a=end-of-candidates\r\n");
    }
    s
}

/// A trickle fragment as read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Frag {
    pub ufrag: Option<String>,
    pub pwd: Option<String>,
    /// Candidates, each with the mid of the `m=` section it follows.
    pub candidates: Vec<Cand>,
    pub end: bool,
}

/// Read a trickle fragment: what is not an attribute WHIP uses, or an `m=`/`a=mid` line, is an
/// error (the text says which line).
pub fn parse(text: &str) -> Result<Frag, String> {
    let mut f = Frag::default();
    let mut mid = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with("m=") {
            mid = None;
        } else if let Some(v) = line.strip_prefix("a=mid:") {
            mid = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("a=ice-ufrag:") {
            f.ufrag = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("a=ice-pwd:") {
            f.pwd = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("a=candidate:") {
            if v.split_whitespace().count() < 8 {
                return Err(format!("line {}: not a candidate: {line:.80}", n + 1));
            }
            f.candidates.push(Cand {
                line: format!("candidate:{}", v.trim()),
                mid: mid.clone(),
            });
        } else if line == "a=end-of-candidates" {
            f.end = true;
        } else if !line.starts_with("a=") {
            return Err(format!(
                "line {}: not an SDP fragment line: {line:.80}",
                n + 1
            ));
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretsecretsecretsecret\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n";

    #[test]
    fn candidates_go_into_their_section_and_round_trip_through_a_fragment() {
        let c = Cand {
            line: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host".into(),
            mid: Some("1".into()),
        };
        let sdp = with_candidates(OFFER, std::slice::from_ref(&c), true);
        let video = &sdp[sdp.find("m=video").unwrap()..];
        assert!(video.contains("a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n"));
        assert_eq!(sdp.matches("a=end-of-candidates").count(), 2);
        let (u, p, m) = ice_of(OFFER);
        assert_eq!((u.as_str(), m.as_str()), ("abcd", "0"));
        let frag = build(&u, &p, "1", std::slice::from_ref(&c), true);
        assert!(frag.starts_with("a=ice-ufrag:abcd\r\na=ice-pwd:secret"));
        let back = parse(&frag).unwrap();
        assert_eq!(back.ufrag.as_deref(), Some("abcd"));
        assert_eq!(back.candidates, vec![c]);
        assert!(back.end);
        assert!(parse("a=candidate:garbage").is_err());
        let again = restarted(&sdp, "wxyz", "newpasswordnewpassword00", Some((&[], false)));
        assert!(again.contains("a=ice-ufrag:wxyz\r\n") && !again.contains("abcd"));
        assert!(!again.contains("a=candidate:") && !again.contains("end-of-candidates"));
        let kept = restarted(&sdp, "wxyz", "p", None);
        assert!(kept.contains("a=candidate:1 1 udp"));
        assert!(parse("hello").is_err());
    }
}
