//! The codecs a peer connection offers and takes: RTP codec parameters, MIME types and payload
//! types for Opus, VP8, VP9 and H.264.

use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MIME_TYPE_VP9,
};
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;

use super::{H264_PT, VP8_PT, VP9_PT};
use crate::media::VideoCodec;

pub(super) fn codec_from_mime(mime: &str) -> Option<VideoCodec> {
    [VideoCodec::Vp8, VideoCodec::Vp9, VideoCodec::H264]
        .into_iter()
        .find(|c| mime.eq_ignore_ascii_case(video_mime(*c)))
}

pub(super) fn video_mime(codec: VideoCodec) -> &'static str {
    match codec {
        VideoCodec::Vp8 => MIME_TYPE_VP8,
        VideoCodec::Vp9 => MIME_TYPE_VP9,
        VideoCodec::H264 => MIME_TYPE_H264,
    }
}

pub(super) fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

pub(super) fn video_codec(codec: VideoCodec) -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: video_mime(codec).to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: match codec {
            VideoCodec::Vp8 => String::new(),
            VideoCodec::Vp9 => "profile-id=0".to_owned(),
            // Constrained baseline 3.1 in non-interleaved mode: what every browser takes.
            VideoCodec::H264 => {
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".to_owned()
            }
        },
        rtcp_feedback: vec![],
    }
}

pub(super) fn video_pt(codec: VideoCodec) -> u8 {
    match codec {
        VideoCodec::Vp8 => VP8_PT,
        VideoCodec::Vp9 => VP9_PT,
        VideoCodec::H264 => H264_PT,
    }
}
