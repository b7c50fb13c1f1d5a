//! Building the webrtc-rs peer connection: the codecs and their payload types, interceptors,
//! fast ICE timers, sockets.

use super::codecs::{opus_codec, video_codec, video_pt};
use super::{OPUS_PT, PeerSetup, wrtc};
use std::sync::Arc;
use std::time::Duration;

use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{
    CongestionControlBuilder, NackGeneratorBuilder, NackResponderBuilder, Slot, TwccSenderBuilder,
};
use rtc::peer_connection::certificate::{CertificateParams, RTCCertificate};
use rtc::peer_connection::configuration::RTCIceTransportPolicy;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};

use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodecParameters, RtpCodecKind, TYPE_RTCP_FB_NACK,
};
use std::collections::VecDeque;

use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceServer, Registry,
};

use super::keyframe::KeyframeRequests;
use super::unrouted::{Sinks, Unrouted};
use crate::exit::Result;
use crate::media::VideoCodec;
use tracing::debug;

/// Build the webrtc-rs peer connection: codecs, interceptors, fast ICE timers, sockets.
pub(super) async fn build_pc(
    setup: &PeerSetup,
    video_codec_choice: VideoCodec,
    handler: Arc<dyn PeerConnectionEventHandler>,
    mdns: bool,
    strays: Option<Sinks>,
    runtime: Arc<super::runtime::PeerRuntime>,
    estimate: Option<(f64, super::estimate::EstimateView)>,
) -> Result<(Arc<dyn PeerConnection>, Option<String>)> {
    let mut media_engine = MediaEngine::default();
    media_engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: opus_codec(),
                payload_type: OPUS_PT,
            },
            RtpCodecKind::Audio,
        )
        .map_err(|e| wrtc("registering Opus", e))?;
    // Every codec rtccall decodes, ours first.
    let mut codecs = vec![video_codec_choice];
    codecs.extend(
        [VideoCodec::Vp8, VideoCodec::Vp9, VideoCodec::H264]
            .into_iter()
            .filter(|c| *c != video_codec_choice),
    );
    for c in codecs {
        media_engine
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: video_codec(c),
                    payload_type: video_pt(c),
                },
                RtpCodecKind::Video,
            )
            .map_err(|e| wrtc(&format!("registering {}", c.label()), e))?;
    }
    // webrtc-rs's default interceptors, except that a missing packet is NACKed at most 4 times
    // (every 100 ms): the default asks again for ever, and on a narrow link the retransmissions
    // of packets that can no longer help crowd out the new ones.
    for parameter in ["", "pli"] {
        media_engine.register_feedback(
            RTCPFeedback {
                typ: TYPE_RTCP_FB_NACK.to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    configure_simulcast_extension_headers(&mut media_engine)
        .map_err(|e| wrtc("setting up interceptors", e))?;
    // Capture times on what we send, for the other side's end-to-end latency.
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
        media_engine
            .register_header_extension(
                rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionCapability {
                    uri: crate::media::timing::ABS_CAPTURE_TIME_URI.to_owned(),
                },
                kind,
                None,
            )
            .map_err(|e| wrtc("registering abs-capture-time", e))?;
    }
    let registry = Registry::new()
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(
            Slot::NackGenerator,
            NackGeneratorBuilder::new()
                .with_interval(Duration::from_millis(100))
                .with_max_nacks_per_packet(4)
                .build(),
        );
    let registry = configure_twcc_receiver_only(registry, &mut media_engine)
        .map_err(|e| wrtc("setting up interceptors", e))?;
    let mut registry = configure_rtcp_reports(registry).with(
        Slot::from(14_000),
        KeyframeRequests {
            read: VecDeque::new(),
            write: VecDeque::new(),
        },
    );
    if let Some((max, view)) = estimate {
        // Send-side congestion control: the transport-wide sequence numbers on what we send
        // (the default interceptors already report what we receive), and GCC on the feedback.
        // No pacer: the encoder follows the estimate instead (see call::rate).
        registry = registry
            .with(
                Slot::CongestionControl,
                CongestionControlBuilder::new(super::estimate::Reporting::new(
                    super::estimate::MIN_BPS.min(max),
                    max,
                    view,
                ))
                .build(),
            )
            .with(Slot::TwccSender, TwccSenderBuilder::new().build());
    }
    if let Some(sinks) = strays {
        // Application-most but before the keyframe-request filter: it only observes.
        registry = registry.with(Slot::from(13_500), Unrouted::new(sinks));
    }

    let ice_servers = setup
        .ice_servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone().unwrap_or_default(),
            credential: s.credential.clone().unwrap_or_default(),
        })
        .collect();
    let mut config = RTCConfigurationBuilder::new().with_ice_servers(ice_servers);
    // Our own certificate (as webrtc-rs would make it), so that its fingerprint is known before
    // any description: an incoming call's security words can be shown while it is asked about.
    let fingerprint = match certificate() {
        Ok((cert, fingerprint)) => {
            config = config.with_certificates(vec![cert]);
            Some(fingerprint)
        }
        Err(e) => {
            debug!("no certificate of our own ({e}); webrtc-rs makes one");
            None
        }
    };
    if setup.relay_only {
        config = config.with_ice_transport_policy(RTCIceTransportPolicy::Relay);
    }
    // The defaults cost 0.2 s to 4 s of setup (see the stack notes): accept pairs at once,
    // check every 20 ms, and notice a vanished peer within about 3 s: `disconnected` after 1.5 s
    // without any packet from the peer (media, data-channel pings every 100 ms and STUN all
    // count, so a lossy but live link does not get there), `failed` 1.5 s later.
    let setting_engine = SettingEngineBuilder::new()
        .with_host_acceptance_min_wait(Some(Duration::ZERO))
        .with_srflx_acceptance_min_wait(Some(Duration::ZERO))
        .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
        .with_relay_acceptance_min_wait(Some(Duration::ZERO))
        .with_ice_connection_attempts(Some(Duration::from_millis(20)), None)
        .with_ice_timeouts(
            Some(Duration::from_millis(1500)),
            Some(Duration::from_millis(1500)),
            // Keepalives every 500 ms, relayed or not. Relay-only calls once used 20 ms, to
            // wake the driver for relayed packets queued behind its TURN client; webrtc patch
            // 0001 (drain the relayer after writes) made that moot. Measured (relay-only,
            // data-only calls through coturn on loopback, 3 runs each): STUN RTT on the pair
            // 0.31-0.46 ms with 500 ms, 0.35-0.43 ms with 20 ms; every data-channel ping
            // echoed (41/41) either way; `.ci/bench-data 3` relay throughput no lower.
            Some(Duration::from_millis(500)),
        )
        .with_include_loopback_candidate(true)
        // An ICE restart binds its sockets afresh (a wildcard --bind expanded again to the
        // interfaces there are now, port 0 picking new ports) and drops the old candidates:
        // after a network change the old sockets may be bound to an address that is gone.
        .with_discard_local_candidates_during_ice_restart(true)
        .with_multicast_dns_mode(if mdns {
            MulticastDnsMode::QueryOnly
        } else {
            MulticastDnsMode::Disabled
        })
        .build();
    const DATA_SEND_BUFFER: usize = 4 << 20;
    let pc = PeerConnectionBuilder::new()
        .with_runtime(runtime)
        .with_configuration(config.build())
        .with_media_engine(media_engine)
        .with_interceptor_registry(registry)
        .with_setting_engine(setting_engine)
        .with_handler(handler)
        .with_udp_addrs(setup.udp_bind.clone())
        .with_tcp_addrs(setup.tcp_bind.clone())
        // Back-pressure for chat, files and the throughput test: a send waits while its
        // channel holds 4 MiB the other side has not acknowledged.
        .with_data_channel_send_buffer_limit(DATA_SEND_BUFFER)
        .build()
        .await
        .map_err(|e| wrtc("creating the peer connection", e))?;
    Ok((Arc::new(pc), fingerprint))
}

/// A DTLS certificate as webrtc-rs makes its own (ECDSA P-256, a random name) and its SHA-256
/// fingerprint as [`crate::sas`] reads them (`sha-256 ab:cd:…`).
fn certificate() -> std::result::Result<(RTCCertificate, String), String> {
    let provider = rtc::crypto::default_provider().map_err(|e| e.to_string())?;
    let name = format!("rtccall-{:016x}", rand::random::<u64>());
    let params = CertificateParams::new(vec![name]).map_err(|e| e.to_string())?;
    let cert = RTCCertificate::generate(
        provider.crypto(),
        rtc::crypto::SignatureScheme::EcdsaP256Sha256,
        params,
    )
    .map_err(|e| e.to_string())?;
    let fingerprint = cert
        .get_fingerprints(provider.crypto())
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .map(|f| format!("{} {}", f.algorithm, f.value).to_ascii_lowercase())
        .ok_or("no fingerprint")?;
    Ok((cert, fingerprint))
}
