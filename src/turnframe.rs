//! STUN and ChannelData messages framed on a byte stream (TURN over TCP or TLS: RFC 6062, the
//! padding of RFC 8656 §12.5), and ChannelData made and read with rtc-turn's codec. Shared by
//! the probe's own TURN client and the call's TURN bridge.

use rtc::turn::proto::chandata::ChannelData;
use rtc::turn::proto::channum::ChannelNumber;
use tokio::io::{AsyncRead, AsyncReadExt};

/// What the 4-byte header of the next frame on a stream says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// A STUN message of `len` bytes (20-byte header included).
    Stun { len: usize },
    /// ChannelData of `len` bytes (4-byte header included), padded to `padded` on the stream.
    Channel { len: usize, padded: usize },
    /// Neither: the peer does not speak TURN.
    Foreign,
}

impl Head {
    /// Read the header; `None` until 4 bytes are there.
    pub fn of(buf: &[u8]) -> Option<Head> {
        let b = buf.get(..4)?;
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        Some(match b[0] >> 6 {
            0 => Head::Stun { len: 20 + len },
            1 => Head::Channel {
                len: 4 + len,
                padded: (4 + len).div_ceil(4) * 4,
            },
            _ => Head::Foreign,
        })
    }

    /// (message length, length on the stream with padding); `None` for a foreign frame.
    pub fn lengths(self) -> Option<(usize, usize)> {
        match self {
            Head::Stun { len } => Some((len, len)),
            Head::Channel { len, padded } => Some((len, padded)),
            Head::Foreign => None,
        }
    }
}

/// Whether a datagram or frame is ChannelData (a channel number in 0x4000..=0x7FFF).
pub fn is_channel_data(b: &[u8]) -> bool {
    b.first().is_some_and(|x| x >> 6 == 1)
}

/// One STUN or ChannelData message from a stream, its padding consumed and not returned.
pub async fn read(r: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Vec<u8>> {
    let mut head = [0u8; 4];
    r.read_exact(&mut head).await?;
    let Some((len, framed)) = Head::of(&head).and_then(Head::lengths) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the server sent neither STUN nor ChannelData",
        ));
    };
    let mut frame = vec![0u8; framed];
    frame[..4].copy_from_slice(&head);
    r.read_exact(&mut frame[4..]).await?;
    frame.truncate(len);
    Ok(frame)
}

/// A ChannelData message: padded to 4 bytes on a stream (required there), not on UDP.
pub fn channel_data(number: u16, data: &[u8], stream: bool) -> Vec<u8> {
    let mut c = ChannelData {
        data: data.to_vec(),
        number: ChannelNumber(number),
        raw: Vec::with_capacity(data.len() + 8),
    };
    c.encode();
    if !stream {
        c.raw.truncate(4 + data.len());
    }
    c.raw
}

/// The channel number and payload of a ChannelData message.
pub fn decode_channel_data(b: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut c = ChannelData {
        raw: b.to_vec(),
        ..Default::default()
    };
    c.decode().ok()?;
    Some((c.number.0, c.data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_padding() {
        // Channel data of 5 bytes is padded to 12 on a stream, not on UDP.
        assert_eq!(
            Head::of(&[0x40, 0x00, 0x00, 0x05]),
            Some(Head::Channel { len: 9, padded: 12 })
        );
        assert_eq!(
            Head::of(&[0x01, 0x01, 0x00, 0x08]),
            Some(Head::Stun { len: 28 })
        );
        assert_eq!(Head::of(&[0x80, 0, 0, 0]), Some(Head::Foreign));
        assert_eq!(Head::of(&[0x40]), None);
        assert_eq!(channel_data(0x4001, &[1, 2, 3, 4, 5], true).len(), 12);
        let udp = channel_data(0x4001, &[1, 2, 3, 4, 5], false);
        assert_eq!(udp.len(), 9);
        assert_eq!(
            decode_channel_data(&udp),
            Some((0x4001, vec![1, 2, 3, 4, 5]))
        );
        assert!(is_channel_data(&udp) && !is_channel_data(&[0x01, 0x01]));
    }

    #[tokio::test]
    async fn reads_one_frame_at_a_time_from_a_stream() {
        let mut bytes = channel_data(0x4002, &[9, 9, 9], true);
        bytes.extend_from_slice(&[0x01, 0x01, 0x00, 0x00]);
        bytes.extend_from_slice(&[0u8; 16]);
        let mut r = &bytes[..];
        assert_eq!(
            read(&mut r).await.unwrap(),
            vec![0x40, 0x02, 0x00, 0x03, 9, 9, 9]
        );
        assert_eq!(read(&mut r).await.unwrap().len(), 20);
        let mut junk: &[u8] = b"HTTP/1.1 400";
        assert!(read(&mut junk).await.is_err());
    }
}
