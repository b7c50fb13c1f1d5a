//! Pictures in a terminal: which graphics the terminal speaks (the kitty graphics query and
//! the primary device attributes, answered within 100 ms or not at all), and a picture as
//! sixel (icy_sixel) or as a kitty graphics command.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use base64::Engine;

use crate::media::controls::Picture;

/// What the terminal answered to the capability query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Kitty,
    Sixel,
    /// Neither, or no answer within the wait.
    Plain,
}

/// How long a terminal has to answer the query.
pub const QUERY_WAIT: Duration = Duration::from_millis(100);

/// Ask the terminal (raw mode on, nothing else reading stdin) whether it shows kitty graphics
/// or sixel. A terminal that does not answer within [`QUERY_WAIT`] is plain.
pub fn query() -> Answered {
    // Inside tmux the query reaches tmux, not the terminal, and pictures would need passthrough.
    if std::env::var_os("TMUX").is_some() {
        return Answered::Plain;
    }
    let mut out = std::io::stdout();
    // A 1x1 kitty query (answered OK by terminals that speak it), then DA1, which every
    // terminal answers: its end tells that nothing more is coming.
    if out
        .write_all(b"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\\x1b[c")
        .and_then(|()| out.flush())
        .is_err()
    {
        return Answered::Plain;
    }
    let reply = read_reply(QUERY_WAIT);
    classify(&reply)
}

/// Read the terminal's replies until DA1's final `c` or the deadline.
fn read_reply(wait: Duration) -> Vec<u8> {
    let deadline = Instant::now() + wait;
    let stdin = std::io::stdin();
    let mut reply = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let timeout = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: left.as_nanos().min(999_999_999) as i64,
        };
        let fd = stdin.as_fd();
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
        let mut buf = [0u8; 256];
        match stdin.lock().read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
        if da1_done(&reply) {
            break;
        }
    }
    reply
}

/// Whether the reply holds a complete DA1 answer (`ESC [ ? … c`).
fn da1_done(reply: &[u8]) -> bool {
    reply
        .windows(3)
        .position(|w| w == b"\x1b[?")
        .is_some_and(|at| reply[at..].contains(&b'c'))
}

/// What a reply says the terminal speaks.
pub fn classify(reply: &[u8]) -> Answered {
    let text = String::from_utf8_lossy(reply);
    if text.contains("_Gi=31;OK") {
        return Answered::Kitty;
    }
    if let Some(at) = text.find("\x1b[?")
        && let Some(end) = text[at..].find('c')
        && text[at + 3..at + end].split(';').any(|a| a == "4")
    {
        return Answered::Sixel;
    }
    Answered::Plain
}

/// A picture as sixel data (a DCS string), 256 colours, no dithering.
pub fn sixel(p: &Picture) -> Option<String> {
    let mut rgba = Vec::with_capacity(p.rgb.len() / 3 * 4);
    for px in p.rgb.chunks_exact(3) {
        rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
    }
    let opts = icy_sixel::EncodeOptions {
        max_colors: 256,
        diffusion: 0.0,
        ..Default::default()
    };
    icy_sixel::sixel_encode(&rgba, p.width as usize, p.height as usize, &opts).ok()
}

/// A picture as kitty graphics commands: image 1 replaced and shown at the cursor over
/// `cols` x `rows` cells, without moving the cursor.
pub fn kitty(p: &Picture, cols: u16, rows: u16) -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD.encode(&p.rgb);
    let mut out = Vec::with_capacity(data.len() + 256);
    let chunks: Vec<&[u8]> = data.as_bytes().chunks(4096).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let more = u8::from(i + 1 < chunks.len());
        if i == 0 {
            let _ = write!(
                out,
                "\x1b_Ga=T,f=24,s={},v={},i=1,q=2,C=1,c={cols},r={rows},m={more};",
                p.width, p.height
            );
        } else {
            let _ = write!(out, "\x1b_Gm={more};");
        }
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\x1b\\");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_classified() {
        assert_eq!(
            classify(b"\x1b_Gi=31;OK\x1b\\\x1b[?62;22c"),
            Answered::Kitty
        );
        assert_eq!(classify(b"\x1b[?63;1;2;4;6;9;15;22c"), Answered::Sixel);
        assert_eq!(classify(b"\x1b[?1;2c"), Answered::Plain);
        assert_eq!(classify(b"\x1b[?64c"), Answered::Plain);
        assert_eq!(classify(b""), Answered::Plain);
        assert_eq!(classify(b"garbage\xff"), Answered::Plain);
        assert!(da1_done(b"\x1b_Gi=31;OK\x1b\\\x1b[?62;4c"));
        assert!(!da1_done(b"\x1b[?62;4"));
    }

    fn bars() -> Picture {
        Picture {
            width: 4,
            height: 6,
            rgb: (0..24).flat_map(|i| [(i * 10) as u8, 0, 255]).collect(),
            seq: 1,
        }
    }

    #[test]
    fn a_picture_becomes_sixel_and_decodes_back() {
        let s = sixel(&bars()).unwrap();
        assert!(s.starts_with("\x1bP") && s.ends_with("\x1b\\"));
        let back = icy_sixel::SixelImage::decode(s.as_bytes()).unwrap();
        assert_eq!((back.width, back.height), (4, 6));
    }

    #[test]
    fn kitty_commands_are_chunked() {
        let p = Picture {
            width: 64,
            height: 64,
            rgb: vec![7; 64 * 64 * 3],
            seq: 1,
        };
        let k = String::from_utf8(kitty(&p, 10, 5)).unwrap();
        assert!(k.starts_with("\x1b_Ga=T,f=24,s=64,v=64,i=1,q=2,C=1,c=10,r=5,m=1;"));
        assert!(k.contains("\x1b_Gm=0;"));
        assert_eq!(k.matches("\x1b\\").count(), 4);
    }
}
