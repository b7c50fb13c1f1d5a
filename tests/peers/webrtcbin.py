#!/usr/bin/python3
# A GStreamer webrtcbin peer that speaks rtccall's signaling protocol, for integration tests.
#
# Run it with Debian's /usr/bin/python3 (python3-gi is not in a pyenv/venv Python).
# Debian 12 (GStreamer 1.22) packages it needs, all installed with apt-get:
#   gstreamer1.0-plugins-base  videotestsrc, audiotestsrc, opusenc/opusdec, decodebin
#   gstreamer1.0-plugins-good  rtpbin, rtpvp8pay/rtph264pay/rtpopuspay and depayloaders,
#                              vp8enc/vp8dec (vpx), capssetter (debug)
#   gstreamer1.0-plugins-bad   webrtcbin, dtls, srtp, sctp (data channels), h264parse
#   gstreamer1.0-plugins-ugly  x264enc
#   gstreamer1.0-libav         avdec_h264
#   gstreamer1.0-nice          libnice ICE for webrtcbin
#   python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0
#   python3-websockets         (10.4, asyncio API)
#   gstreamer1.0-tools         only for gst-inspect-1.0 when checking a machine
#
#   /usr/bin/python3 tests/peers/webrtcbin.py --server ws://127.0.0.1:PORT/ --room ROOM \
#       --role dial|answer --codec vp8|h264 --duration SECS [--timeout SECS]
#       [--early-offer [both|audio|video]] [--video-size 320x240|640x480]
#       [--channel-label LABEL]
#   /usr/bin/python3 tests/peers/webrtcbin.py --whip URL [--token T] --codec ... --duration SECS
#   /usr/bin/python3 tests/peers/webrtcbin.py --janus-subscribe http://127.0.0.1:PORT/janus \
#       --janus-room N --janus-display NAME --duration SECS
#
# With --janus-subscribe it is a second subscriber of a Janus VideoRoom publisher (the one
# whose display is NAME in room N, e.g. a WHIP session simple-whip-server made) over Janus's
# HTTP API: create a session, attach janus.plugin.videoroom, "listparticipants", "join" as a
# subscriber to that feed; Janus's offer (from the long poll) is answered receive-only with
# "start", our candidates trickled. It sends nothing and decodes what arrives.
#
# With --whip it is a WHIP client (RFC 9725) instead: the offer, with the candidates gathered
# (at most 2 s), is POSTed to URL as application/sdp; the 201's body is the answer and its
# Location the session, DELETEd at the end. No trickle, no restart.
#
# Sends a test pattern (VP8 or H.264 constrained baseline, packetization-mode 1) and a 440 Hz
# Opus tone, decodes what the other side sends, and (dialer) opens a data channel "rtccall" (or
# --channel-label)
# pinging every 100 ms, or (answerer) answers "ping N" with "pong N". ICE on 127.0.0.1 only,
# no STUN/TURN. One JSON line on stdout at the end; everything else goes to stderr.
#
# stdout, one line: {"connected", "video_frames_decoded", "audio_buffers_decoded",
# "audio_samples_decoded" (per channel), "video_codec_received" ("VP8"/"H264"),
# "video_size_received" [w, h], "video_frames_sent" (encoded since DTLS connected),
# "video_frames_encoded" (all), "pings", "pongs" (dialer: pings sent, pongs received; answerer:
# pings received, pongs sent), "offer_has_ssrc" (our offer when dialing, the received one when
# answering; null before any), "offer_ssrc" {section kind: bool}, "ended" ("duration", "bye",
# "timeout", "error"), "exit_code"}. The offer SDP (and the answer) are printed to stderr
# between "----- offer SDP (local|remote) -----" and "----- end of offer SDP -----".
#
# Exit codes: 0 the call ran for --duration or the other side said bye once connected; 3
# signaling failure (timeout before connecting, server error, rejected, bye before connecting,
# server gone); 4 ICE/DTLS failure or the other peer left without bye; 5 a local pipeline error.

import argparse
import asyncio
import json
import re
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstAudio", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstAudio, GstSdp, GstVideo, GstWebRTC  # noqa: E402

import websockets  # noqa: E402

T0 = time.monotonic()

# Payload types we use in our own offer (rtccall's are the same numbers for Opus and VP8).
OFFER_PT = {"opus": 111, "vp8": 96, "h264": 102}
# rtccall (webrtc-rs) matches H.264 on packetization-mode and the first two bytes of
# profile-level-id; x264 writes constrained baseline as 42c0xx, browsers and rtccall say 42e01f.
H264_PLID = "42e01f"


def log(*parts):
    print(f"[webrtcbin.py {time.monotonic() - T0:7.3f}]", *parts, file=sys.stderr, flush=True)


def sdp_sections(sdp):
    """Split an SDP text into its media sections: [(kind, [lines])]."""
    out = []
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            out.append((line[2:].split(" ", 1)[0], [line]))
        elif out:
            out[-1][1].append(line)
    return out


def ssrc_by_section(sdp):
    return {kind: any(l.startswith("a=ssrc:") for l in lines) for kind, lines in sdp_sections(sdp)}


def find_pt(lines, codec):
    """The payload type of CODEC (vp8/h264/opus) in one media section, or None. For H.264
    prefer packetization-mode=1 and a constrained-baseline profile."""
    rtpmap = {}
    fmtp = {}
    for l in lines:
        m = re.match(r"a=rtpmap:(\d+) ([^/]+)/", l)
        if m:
            rtpmap[int(m.group(1))] = m.group(2).lower()
        m = re.match(r"a=fmtp:(\d+) (.*)", l)
        if m:
            fmtp[int(m.group(1))] = m.group(2)
    order = [int(p) for p in lines[0].split()[3:] if p.isdigit()]
    cands = [p for p in order if rtpmap.get(p) == codec]
    if codec == "h264":
        def score(p):
            f = fmtp.get(p, "")
            return ("packetization-mode=1" in f, "profile-level-id=42e0" in f)
        cands.sort(key=score, reverse=True)
        cands = [p for p in cands if "packetization-mode=1" in fmtp.get(p, "")]
    return cands[0] if cands else None


def is_loopback_candidate(cand):
    # candidate:foundation component transport priority address port typ type ...
    parts = cand.split()
    if len(parts) < 8:
        return False
    return parts[4].startswith("127.")


class Peer:
    def __init__(self, args, loop):
        self.args = args
        self.loop = loop
        self.dialer = args.role == "dial"
        self.outq = asyncio.Queue()
        self.ws = None
        self.done = asyncio.Event()
        self.ended = None
        self.exit_code = 0

        self.connected = False
        self.media_live = False  # DTLS connected: count what we send from now on
        self.peer_present = False
        self.negotiation_needed = False
        self.offer_started = False
        self.remote_set = False
        self.pending_candidates = []
        self.local_sdp = None
        self.local_mids = []
        self.offer_sdp = None
        self.offer_has_ssrc = None
        self.offer_ssrc = None
        self.end_of_candidates_sent = False

        self.video_frames_decoded = 0
        self.video_size = None
        self.audio_buffers_decoded = 0
        self.audio_samples_decoded = 0
        self.video_codec_received = None
        self.video_frames_sent = 0
        self.video_frames_encoded = 0
        self.pings = 0
        self.pongs = 0
        self.channels = []  # keep the data channel wrappers alive
        self.ping_source = None
        self.ping_seq = 0
        self.blocks = []  # (pad, probe id) held while the early offer is made
        self.send_pads = []  # webrtcbin sink pads we feed
        self.sent_kinds = set()
        self.kinds_with_caps = set()  # send kinds whose RTP caps webrtcbin has seen
        self.early = {"both": {"audio", "video"}, "audio": {"audio"}, "video": {"video"}}.get(args.early_offer, set())
        self.encoder = None

        # --whip: the offer, the candidates gathered for it, and the session.
        self.whip_candidates = []
        self.whip_gathered = asyncio.Event()
        self.whip_location = None

        # --janus-subscribe: the session and handle, the transaction counter.
        self.janus_session = None
        self.janus_handle = None
        self.janus_tx = 0

        self.build_pipeline()

    # ----------------------------------------------------------------- pipeline

    def build_pipeline(self):
        self.pipe = Gst.Pipeline.new("peer")
        wb = Gst.ElementFactory.make("webrtcbin", "webrtc")
        if wb is None:
            raise SystemExit("webrtcbin missing: install gstreamer1.0-plugins-bad and gstreamer1.0-nice")
        wb.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        wb.set_property("latency", 100)
        ice = wb.get_property("ice-agent")
        # PyGObject takes the property's reference as its own (GstWebRTCICE is a floating
        # GstObject) and drops it with the wrapper, which would free webrtcbin's agent: keep
        # the wrapper for the life of the process, and one more reference for webrtcbin.
        self.ice = ice
        ice.ref()
        # libnice leaves loopback interfaces out; name 127.0.0.1 explicitly, and only it.
        ok = ice.emit("add-local-ip-address", "127.0.0.1")
        log("ice agent", type(ice).__name__, "add-local-ip-address 127.0.0.1 ->", ok)
        try:
            ice.set_property("ice-tcp", False)
        except TypeError:
            pass
        self.pipe.add(wb)
        self.webrtc = wb
        wb.connect("on-negotiation-needed", self.on_negotiation_needed)
        wb.connect("on-ice-candidate", self.on_ice_candidate)
        wb.connect("pad-added", self.on_incoming_pad)
        wb.connect("on-data-channel", self.on_data_channel)
        wb.connect("notify::ice-connection-state", self.on_state)
        wb.connect("notify::connection-state", self.on_state)
        wb.connect("notify::ice-gathering-state", self.on_gathering)

        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_bus)

        if self.dialer:
            self.add_send_branches(OFFER_PT["opus"], OFFER_PT[self.args.codec], block=self.early)

    def add_send_branches(self, audio_pt, video_pt, block=()):
        w, h = self.args.video_size.split("x")
        rtcp_fb = ",rtcp-fb-nack=(boolean)true,rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true" if self.dialer else ""
        branches = []
        if audio_pt is not None:
            desc = (
                "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! audioconvert ! audioresample"
                " ! audio/x-raw,rate=48000,channels=1 ! opusenc name=aenc bitrate=32000"
                f" ! rtpopuspay pt={audio_pt} ! identity name=aout"
            )
            prefs = (
                f"application/x-rtp,media=audio,encoding-name=OPUS,payload={audio_pt},"
                "clock-rate=48000,encoding-params=(string)2"
            )
            branches.append(("audio", desc, prefs))
        if video_pt is not None:
            src = (
                f"videotestsrc is-live=true pattern=ball ! video/x-raw,width={w},height={h},framerate=30/1"
                " ! videoconvert ! queue max-size-buffers=3"
            )
            if self.args.codec == "vp8":
                enc = (
                    "vp8enc name=venc deadline=1 cpu-used=8 threads=2 target-bitrate=800000"
                    " keyframe-max-dist=30 error-resilient=partitions"
                    f" ! rtpvp8pay pt={video_pt} picture-id-mode=15-bit ! identity name=vout"
                )
                prefs = (
                    f"application/x-rtp,media=video,encoding-name=VP8,payload={video_pt},clock-rate=90000"
                    + rtcp_fb
                )
            else:
                enc = (
                    "x264enc name=venc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=800"
                    " threads=2 ! video/x-h264,profile=constrained-baseline"
                    f" ! rtph264pay pt={video_pt} config-interval=-1 aggregate-mode=zero-latency"
                    f" ! capssetter caps=\"application/x-rtp,profile-level-id=(string){H264_PLID}\""
                    " ! identity name=vout"
                )
                prefs = (
                    f"application/x-rtp,media=video,encoding-name=H264,payload={video_pt},clock-rate=90000,"
                    f"packetization-mode=(string)1,profile-level-id=(string){H264_PLID}" + rtcp_fb
                )
            branches.append(("video", src + " ! " + enc, prefs))

        for kind, desc, prefs in branches:
            bin_ = Gst.parse_bin_from_description(desc, True)
            bin_.set_name(f"send-{kind}")
            self.pipe.add(bin_)
            sink = self.webrtc.request_pad_simple("sink_%u")
            srcpad = bin_.get_static_pad("src")
            if kind in block:
                # Hold the caps (and so the SSRC) back from webrtcbin until the offer is made.
                pid = srcpad.add_probe(Gst.PadProbeType.BLOCK_DOWNSTREAM, lambda *a: Gst.PadProbeReturn.OK)
                self.blocks.append((srcpad, pid))
            if srcpad.link(sink) != Gst.PadLinkReturn.OK:
                raise SystemExit(f"cannot link the {kind} branch to webrtcbin")
            trans = sink.get_property("transceiver")
            trans.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDRECV)
            trans.set_property("codec-preferences", Gst.Caps.from_string(prefs))
            self.send_pads.append(sink)
            self.sent_kinds.add(kind)
            sink.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, self.on_send_caps, kind)
            if kind == "video":
                enc = bin_.get_by_name("venc")
                self.encoder = enc
                enc.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_encoded_frame)
            if self.pipe.get_state(0)[1] == Gst.State.PLAYING:
                bin_.sync_state_with_parent()
            log(f"send {kind}: {desc}")
            log(f"  codec preferences {prefs}")

    def on_send_caps(self, pad, info, kind):
        # webrtcbin holds RTP buffers back until negotiated, but it takes the caps (and so
        # the SSRC the offer/answer will announce) at once.
        ev = info.get_event()
        if ev.type != Gst.EventType.CAPS:
            return Gst.PadProbeReturn.OK
        log(f"{kind} caps into webrtcbin: {ev.parse_caps().to_string()}")
        # Let webrtcbin's own event handler see them first.
        self.loop.call_soon_threadsafe(self.loop.call_later, 0.05, self.kinds_with_caps.add, kind)
        return Gst.PadProbeReturn.OK

    async def wait_caps(self, kinds, what):
        deadline = time.monotonic() + 5
        while not set(kinds) <= self.kinds_with_caps:
            if time.monotonic() > deadline:
                log(f"no caps for {sorted(set(kinds) - self.kinds_with_caps)} after 5 s; {what} anyway")
                return
            await asyncio.sleep(0.01)

    def on_encoded_frame(self, pad, info):
        self.video_frames_encoded += 1
        if self.media_live:
            self.video_frames_sent += 1
        return Gst.PadProbeReturn.OK

    def force_keyframe(self):
        if self.encoder is not None:
            ev = GstVideo.video_event_new_upstream_force_key_unit(Gst.CLOCK_TIME_NONE, True, 0)
            self.encoder.get_static_pad("src").send_event(ev)

    # ------------------------------------------------------------ receiving

    def on_incoming_pad(self, element, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps()
        s = caps.get_structure(0) if caps else None
        media = s.get_string("media") if s else None
        enc = s.get_string("encoding-name") if s else None
        log(f"incoming {pad.get_name()}: {caps.to_string() if caps else None}")
        if media == "video" and enc:
            self.video_codec_received = enc
        q = Gst.ElementFactory.make("queue")
        dec = Gst.ElementFactory.make("decodebin")
        dec.connect("pad-added", self.on_decoded_pad)
        self.pipe.add(q)
        self.pipe.add(dec)
        q.link(dec)
        q.sync_state_with_parent()
        dec.sync_state_with_parent()
        pad.link(q.get_static_pad("sink"))

    def on_decoded_pad(self, decodebin, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name()
        log(f"decoded stream: {caps.to_string()}")
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        sink.set_property("async", False)
        self.pipe.add(sink)
        sink.sync_state_with_parent()
        if name.startswith("video/"):
            pad.add_probe(Gst.PadProbeType.BUFFER, self.on_decoded_video)
        elif name.startswith("audio/"):
            pad.add_probe(Gst.PadProbeType.BUFFER, self.on_decoded_audio)
        pad.link(sink.get_static_pad("sink"))

    def on_decoded_video(self, pad, info):
        if self.video_frames_decoded == 0:
            log("first video frame decoded")
            caps = pad.get_current_caps()
            if caps:
                s = caps.get_structure(0)
                self.video_size = (s.get_int("width")[1], s.get_int("height")[1])
        self.video_frames_decoded += 1
        return Gst.PadProbeReturn.OK

    def on_decoded_audio(self, pad, info):
        buf = info.get_buffer()
        bpf = getattr(self, "_bpf", None)
        if bpf is None:
            ai = GstAudio.AudioInfo.new_from_caps(pad.get_current_caps())
            bpf = self._bpf = ai.bpf
            log("first audio decoded:", pad.get_current_caps().to_string())
        self.audio_buffers_decoded += 1
        self.audio_samples_decoded += buf.get_size() // bpf
        return Gst.PadProbeReturn.OK

    # ----------------------------------------------------------- data channel

    def setup_channel(self, ch):
        self.channels.append(ch)
        ch.connect("on-open", self.on_channel_open)
        ch.connect("on-message-string", self.on_channel_message)
        ch.connect("on-error", lambda c, e: log(f"data channel {c.props.label} error: {e}"))
        ch.connect("on-close", lambda c: log(f"data channel {c.props.label} closed"))

    def on_data_channel(self, element, ch):
        log(f"remote data channel '{ch.props.label}' id {ch.props.id}")
        self.setup_channel(ch)

    def on_channel_open(self, ch):
        log(f"data channel '{ch.props.label}' open")
        if self.dialer and ch.props.label == self.args.channel_label and self.ping_source is None:
            self.ping_source = GLib.timeout_add(100, self.send_ping, ch)

    def send_ping(self, ch):
        if self.ended is not None:
            self.ping_source = None
            return False
        if ch.props.ready_state != GstWebRTC.WebRTCDataChannelState.OPEN:
            return True
        ch.emit("send-string", f"ping {self.ping_seq}")
        self.ping_seq += 1
        self.pings += 1
        return True

    def on_channel_message(self, ch, text):
        if text is None:
            return
        if text.startswith("ping "):
            self.pings += 1
            ch.emit("send-string", "pong " + text[5:])
            self.pongs += 1
        elif text.startswith("pong "):
            self.pongs += 1

    # -------------------------------------------------------- states and bus

    def on_state(self, element, pspec):
        ice = element.get_property("ice-connection-state")
        pc = element.get_property("connection-state")
        log(f"{pspec.name}: ice={ice.value_nick} pc={pc.value_nick}")
        if ice in (GstWebRTC.WebRTCICEConnectionState.CONNECTED, GstWebRTC.WebRTCICEConnectionState.COMPLETED) \
                or pc == GstWebRTC.WebRTCPeerConnectionState.CONNECTED:
            self.loop.call_soon_threadsafe(self.on_connected)
        if pc == GstWebRTC.WebRTCPeerConnectionState.CONNECTED and not self.media_live:
            self.media_live = True
            # What was encoded before DTLS was up is gone; start the other side with a keyframe.
            self.force_keyframe()
        if ice == GstWebRTC.WebRTCICEConnectionState.FAILED or pc == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            self.loop.call_soon_threadsafe(self.finish, "error", 4, "ICE/DTLS failed")

    def on_connected(self):
        if self.connected:
            return
        self.connected = True
        log("connected; running for", self.args.duration, "s")
        self.loop.call_later(self.args.duration, self.finish, "duration", 0, None)

    def on_bus(self, bus, msg):
        t = msg.type
        if t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            name = msg.src.get_name()
            log(f"pipeline error from {name}: {err.message} ({dbg})")
            if name.startswith("sctp"):
                # The other side tearing its peer connection down aborts the SCTP association;
                # it may do so a moment before its bye reaches us. Not a media failure.
                return
            self.loop.call_soon_threadsafe(self.finish, "error", 5, f"pipeline error: {err.message}")
        elif t == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            log(f"pipeline warning from {msg.src.get_name()}: {err.message}")

    # --------------------------------------------------------------- ICE

    def mid_for(self, idx):
        # From our own SDP text (reading webrtcbin's local-description boxed from Python
        # crashes in PyGObject 3.42).
        mids = self.local_mids
        return mids[idx] if idx < len(mids) else None

    def on_ice_candidate(self, element, mline, candidate):
        if not candidate:
            return
        if not is_loopback_candidate(candidate):
            log(f"not sending non-loopback local candidate {candidate}")
            return
        log(f"local candidate {mline}: {candidate}")
        self.send({"type": "candidate", "candidate": candidate, "sdpMid": self.mid_for(mline), "sdpMLineIndex": mline})

    def on_gathering(self, element, pspec):
        st = element.get_property("ice-gathering-state")
        log(f"ice gathering {st.value_nick}")
        if st == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not self.end_of_candidates_sent:
            self.end_of_candidates_sent = True
            self.send({"type": "candidate", "candidate": None, "sdpMid": self.mid_for(0), "sdpMLineIndex": 0})

    def add_remote_candidate(self, msg):
        cand = msg.get("candidate")
        idx = msg.get("sdpMLineIndex") or 0
        if isinstance(cand, dict):  # tolerate the nested browser shape too
            idx = cand.get("sdpMLineIndex") or idx
            cand = cand.get("candidate")
        if not cand:
            log("remote end of candidates")
            try:
                self.webrtc.emit("add-ice-candidate", idx, None)
            except TypeError:
                pass
            return
        body = cand[2:] if cand.startswith("a=") else cand
        if not is_loopback_candidate(body):
            log(f"ignoring non-loopback remote candidate {body}")
            return
        log(f"remote candidate {idx}: {body}")
        self.webrtc.emit("add-ice-candidate", idx, body)

    # --------------------------------------------------------- negotiation

    def on_negotiation_needed(self, element):
        log("on-negotiation-needed")
        self.loop.call_soon_threadsafe(self._negotiation_needed)

    def _negotiation_needed(self):
        self.negotiation_needed = True
        self.maybe_offer()

    def maybe_offer(self):
        if not self.dialer or self.offer_started or not self.peer_present:
            return
        if not self.early and not self.negotiation_needed:
            return
        self.offer_started = True
        asyncio.ensure_future(self.offer_when_ready())

    async def offer_when_ready(self):
        # A section gets a=ssrc when its caps reached webrtcbin before the offer: wait for the
        # caps of every kind not held back by --early-offer.
        await self.wait_caps(self.sent_kinds - self.early, "offering")
        if self.early:
            log(f"early offer: creating the offer before the {'/'.join(sorted(self.early))} caps reached webrtcbin")
        self.create_offer()

    def create_offer(self):
        promise = Gst.Promise.new_with_change_func(self.on_offer_created, None)
        self.webrtc.emit("create-offer", None, promise)

    def on_offer_created(self, promise, _data):
        promise.wait()
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply else None
        if offer is None:
            err = reply.get_value("error") if reply and reply.has_field("error") else None
            self.loop.call_soon_threadsafe(self.finish, "error", 5, f"create-offer failed: {err}")
            return
        text = offer.sdp.as_text()
        self.set_local_sdp(text)
        p = Gst.Promise.new()
        self.webrtc.emit("set-local-description", offer, p)
        p.interrupt()
        self.record_offer(text, "local")
        for pad, pid in self.blocks:
            pad.remove_probe(pid)
        self.blocks = []
        self.send({"type": "offer", "sdp": text})

    def set_local_sdp(self, text):
        self.local_sdp = text
        mids = []
        for _kind, lines in sdp_sections(text):
            mid = next((l[6:].strip() for l in lines if l.startswith("a=mid:")), None)
            mids.append(mid)
        self.local_mids = mids

    def record_offer(self, text, side):
        self.offer_sdp = text
        self.offer_ssrc = ssrc_by_section(text)
        self.offer_has_ssrc = "a=ssrc:" in text
        log(f"offer ({side}); a=ssrc per section: {self.offer_ssrc}")
        print(f"----- offer SDP ({side}) -----\n{text.strip()}\n----- end of offer SDP -----", file=sys.stderr, flush=True)

    async def on_offer(self, sdp):
        self.record_offer(sdp, "remote")
        audio_pt = video_pt = None
        for kind, lines in sdp_sections(sdp):
            if kind == "audio" and audio_pt is None:
                audio_pt = find_pt(lines, "opus")
            elif kind == "video" and video_pt is None:
                video_pt = find_pt(lines, self.args.codec)
        if self.args.janus_subscribe:
            # A subscriber only receives.
            audio_pt = video_pt = None
        log(f"offer: opus pt {audio_pt}, {self.args.codec} pt {video_pt}")
        self.add_send_branches(audio_pt, video_pt)
        if video_pt is None:
            # webrtcbin 1.22 then answers the video section recvonly with the offered codec
            # (codec preferences on its transceiver do not make it reject the section); we
            # decode it and report it in video_codec_received.
            log(f"the offer has no {self.args.codec} (packetization-mode 1 for h264); not sending video")
        # Wait until the RTP caps (with the SSRC) have reached webrtcbin, so that the
        # answer has a=ssrc lines and payload types that match the offer.
        await self.wait_caps(self.sent_kinds, "answering")
        res, msg = GstSdp.SDPMessage.new_from_text(sdp)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, msg)
        promise = Gst.Promise.new_with_change_func(self.on_remote_offer_set, None)
        self.webrtc.emit("set-remote-description", desc, promise)

    def on_remote_offer_set(self, promise, _data):
        promise.wait()
        self.loop.call_soon_threadsafe(self.remote_description_set)
        promise = Gst.Promise.new_with_change_func(self.on_answer_created, None)
        self.webrtc.emit("create-answer", None, promise)

    def on_answer_created(self, promise, _data):
        promise.wait()
        reply = promise.get_reply()
        answer = reply.get_value("answer") if reply else None
        if answer is None:
            err = reply.get_value("error") if reply and reply.has_field("error") else None
            self.loop.call_soon_threadsafe(self.finish, "error", 5, f"create-answer failed: {err}")
            return
        text = answer.sdp.as_text()
        self.set_local_sdp(text)
        p = Gst.Promise.new()
        self.webrtc.emit("set-local-description", answer, p)
        p.interrupt()
        log(f"answer; a=ssrc per section: {ssrc_by_section(text)}")
        print(f"----- answer SDP (local) -----\n{text.strip()}\n----- end of answer SDP -----", file=sys.stderr, flush=True)
        self.send({"type": "answer", "sdp": text})

    def on_answer(self, sdp):
        log(f"answer received; a=ssrc per section: {ssrc_by_section(sdp)}")
        print(f"----- answer SDP (remote) -----\n{sdp.strip()}\n----- end of answer SDP -----", file=sys.stderr, flush=True)
        res, msg = GstSdp.SDPMessage.new_from_text(sdp)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        promise = Gst.Promise.new_with_change_func(self.on_remote_answer_set, None)
        self.webrtc.emit("set-remote-description", desc, promise)

    def on_remote_answer_set(self, promise, _data):
        promise.wait()
        self.loop.call_soon_threadsafe(self.remote_description_set)

    def remote_description_set(self):
        self.remote_set = True
        for m in self.pending_candidates:
            self.add_remote_candidate(m)
        self.pending_candidates = []

    # ------------------------------------------------------------ signaling

    def send(self, msg):
        """Thread-safe: queue a message for the WebSocket (or the WHIP exchange)."""
        if self.args.janus_subscribe:
            self.loop.call_soon_threadsafe(self.janus_out, msg)
        elif self.args.whip:
            self.loop.call_soon_threadsafe(self.whip_out, msg)
        else:
            self.loop.call_soon_threadsafe(self.outq.put_nowait, msg)

    # ------------------------------------------------------------------ WHIP

    def whip_out(self, msg):
        t = msg.get("type")
        if t == "candidate":
            if msg.get("candidate"):
                self.whip_candidates.append((msg.get("sdpMLineIndex") or 0, msg["candidate"]))
            else:
                self.whip_gathered.set()
        elif t == "offer":
            asyncio.ensure_future(self.whip_post(msg["sdp"]))

    def whip_request(self, method, url, body=None):
        import urllib.request
        import urllib.error
        req = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/sdp")
        if self.args.token:
            req.add_header("Authorization", "Bearer " + self.args.token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode("utf-8", "replace")

    async def whip_post(self, offer):
        try:
            await asyncio.wait_for(self.whip_gathered.wait(), 2)
        except asyncio.TimeoutError:
            log("gathering did not end within 2 s: posting what there is")
        # Each candidate into the section it belongs to (sections in order after the session).
        parts = re.split(r"(?=\r?\nm=)", offer.strip())
        for idx, cand in self.whip_candidates:
            if idx + 1 < len(parts):
                parts[idx + 1] += "\r\na=" + cand
        if self.whip_gathered.is_set():
            parts = [parts[0]] + [p + "\r\na=end-of-candidates" for p in parts[1:]]
        body = "".join(parts) + "\r\n"
        status, headers, text = await self.loop.run_in_executor(
            None, self.whip_request, "POST", self.args.whip, body.encode())
        log(f"WHIP POST: {status}")
        if status != 201:
            self.finish("error", 3, f"WHIP POST {status}: {text.strip()[:200]}", send_bye=False)
            return
        import urllib.parse
        loc = {k.lower(): v for k, v in headers.items()}.get("location")
        self.whip_location = urllib.parse.urljoin(self.args.whip, loc) if loc else None
        self.on_answer(text)

    # --------------------------------------------------------- Janus subscriber

    def janus_request(self, path, body=None):
        """One Janus HTTP API request (GET when BODY is None); its JSON reply."""
        import urllib.request
        url = self.args.janus_subscribe.rstrip("/") + path
        data = None
        if body is not None:
            self.janus_tx += 1
            body = dict(body, transaction=f"t{self.janus_tx}")
            data = json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=40) as r:
            return json.loads(r.read().decode())

    async def janus(self, path, body=None):
        return await self.loop.run_in_executor(None, self.janus_request, path, body)

    def janus_out(self, msg):
        t = msg.get("type")
        path = f"/{self.janus_session}/{self.janus_handle}"
        if t == "answer":
            body = {"janus": "message", "body": {"request": "start"},
                    "jsep": {"type": "answer", "sdp": msg["sdp"]}}
        elif t == "candidate" and msg.get("candidate"):
            body = {"janus": "trickle", "candidate": {
                "candidate": msg["candidate"], "sdpMid": msg.get("sdpMid"),
                "sdpMLineIndex": msg.get("sdpMLineIndex") or 0}}
        elif t == "candidate":
            body = {"janus": "trickle", "candidate": {"completed": True}}
        else:
            return
        asyncio.ensure_future(self.janus(path, body))

    async def janus_poll(self):
        """Events of the session (long poll): the offer, hang-ups."""
        while self.ended is None:
            try:
                ev = await self.janus(f"/{self.janus_session}?maxev=5")
            except Exception as e:  # noqa: BLE001 - any failure ends the subscriber
                self.finish("error", 3, f"Janus long poll: {e}", send_bye=False)
                return
            for e in ev if isinstance(ev, list) else [ev]:
                kind = e.get("janus")
                if kind == "keepalive":
                    continue
                log("janus event", json.dumps(e)[:300])
                jsep = e.get("jsep")
                if jsep and jsep.get("type") == "offer":
                    await self.on_offer(jsep["sdp"])
                elif kind == "hangup":
                    self.finish("bye", 0 if self.connected else 3, f"Janus hung up: {e.get('reason')}",
                                send_bye=False)

    async def run_janus(self):
        self.peer_present = True
        self.pipe.set_state(Gst.State.PLAYING)
        self.loop.call_later(self.args.timeout, self.timed_out)
        try:
            self.janus_session = (await self.janus("", {"janus": "create"}))["data"]["id"]
            attached = await self.janus(f"/{self.janus_session}",
                                        {"janus": "attach", "plugin": "janus.plugin.videoroom"})
            self.janus_handle = attached["data"]["id"]
            path = f"/{self.janus_session}/{self.janus_handle}"
            listed = await self.janus(path, {"janus": "message", "body": {
                "request": "listparticipants", "room": self.args.janus_room}})
            people = listed["plugindata"]["data"].get("participants", [])
            feed = next((p["id"] for p in people
                         if p.get("display") == self.args.janus_display and p.get("publisher")), None)
            if feed is None:
                self.finish("error", 3, f"no publisher {self.args.janus_display!r} in room "
                            f"{self.args.janus_room}: {people}", send_bye=False)
                return
            log(f"subscribing to feed {feed}")
            joined = await self.janus(path, {"janus": "message", "body": {
                "request": "join", "ptype": "subscriber", "room": self.args.janus_room,
                "streams": [{"feed": feed}]}})
            log("join:", json.dumps(joined)[:200])
        except Exception as e:  # noqa: BLE001
            self.finish("error", 3, f"Janus API: {e}", send_bye=False)
            return
        poll = asyncio.ensure_future(self.janus_poll())
        await self.done.wait()
        poll.cancel()
        try:
            await self.janus(f"/{self.janus_session}", {"janus": "destroy"})
        except Exception:  # noqa: BLE001
            pass

    async def sender(self):
        while True:
            msg = await self.outq.get()
            try:
                await self.ws.send(json.dumps(msg))
            except websockets.ConnectionClosed:
                return
            if msg.get("type") != "candidate":
                log("sent", msg["type"])

    async def receiver(self):
        try:
            async for raw in self.ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    log("bad frame from server:", raw[:200])
                    continue
                await self.handle(msg)
        except websockets.ConnectionClosed as e:
            log("signaling connection closed:", e)
        if self.ended is None:
            self.finish("error", 3, "signaling connection closed")

    async def handle(self, msg):
        t = msg.get("type")
        if t != "candidate":
            log("received", json.dumps(msg)[:300] if t not in ("offer", "answer") else t)
        if t == "joined":
            if msg.get("peer") is not None:
                self.peer_present = True
                self.maybe_offer()
        elif t == "peer-joined":
            self.peer_present = True
            self.maybe_offer()
        elif t == "offer":
            if self.dialer:
                log("ignoring an offer: we are the dialer")
                return
            await self.on_offer(msg["sdp"])
        elif t == "answer":
            if self.dialer:
                self.on_answer(msg["sdp"])
        elif t == "candidate":
            if self.remote_set:
                self.add_remote_candidate(msg)
            else:
                self.pending_candidates.append(msg)
        elif t == "reject":
            self.finish("error", 3, f"rejected: {msg.get('reason')}")
        elif t == "bye":
            # A bye before we connected means the call never happened (exit 3).
            self.finish("bye", 0 if self.connected else 3,
                        f"bye from the other side: {msg.get('reason')}", send_bye=False)
        elif t == "peer-left":
            self.peer_present = False
            self.finish("error", 4, "the other peer left without bye", send_bye=False)
        elif t == "error":
            self.finish("error", 3, f"server error {msg.get('code')}: {msg.get('message')}", send_bye=False)

    def finish(self, ended, code, why, send_bye=True):
        if self.ended is not None:
            return
        self.ended = ended
        self.exit_code = code
        log(f"ending: {ended} (exit {code})" + (f": {why}" if why else ""))
        if send_bye and self.peer_present:
            self.outq.put_nowait({"type": "bye", "reason": ended})
        self.done.set()

    def timed_out(self):
        if not self.connected:
            self.finish("timeout", 3, f"not connected after {self.args.timeout} s")

    async def run_whip(self):
        self.peer_present = True
        self.pipe.set_state(Gst.State.PLAYING)
        ch = self.webrtc.emit("create-data-channel", self.args.channel_label, None)
        if ch is not None:
            self.setup_channel(ch)
        self.loop.call_later(self.args.timeout, self.timed_out)
        await self.done.wait()
        if self.whip_location:
            status, _, _ = await self.loop.run_in_executor(
                None, self.whip_request, "DELETE", self.whip_location)
            log(f"WHIP DELETE: {status}")

    async def run(self):
        if self.args.janus_subscribe:
            return await self.run_janus()
        if self.args.whip:
            return await self.run_whip()
        self.pipe.set_state(Gst.State.PLAYING)
        if self.dialer:
            ch = self.webrtc.emit("create-data-channel", self.args.channel_label, None)
            if ch is None:
                log("could not create the data channel")
            else:
                self.setup_channel(ch)
        self.loop.call_later(self.args.timeout, self.timed_out)
        try:
            self.ws = await websockets.connect(self.args.server, max_size=1 << 20)
        except (OSError, websockets.InvalidURI, websockets.InvalidHandshake) as e:
            self.finish("error", 3, f"cannot connect to {self.args.server}: {e}", send_bye=False)
            return
        tasks = [asyncio.ensure_future(self.sender()), asyncio.ensure_future(self.receiver())]
        self.outq.put_nowait({"type": "join", "room": self.args.room, "role": self.args.role})
        await self.done.wait()
        # Let the bye (and anything queued before it) go out.
        for _ in range(50):
            if self.outq.empty():
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        try:
            await asyncio.wait_for(self.ws.close(), 2)
        except Exception:
            pass
        for t in tasks:
            t.cancel()

    def shutdown(self):
        for pad, pid in self.blocks:
            pad.remove_probe(pid)
        self.blocks = []
        # The ping timer stops by itself once self.ended is set.
        self.pipe.set_state(Gst.State.NULL)

    def result(self):
        return {
            "connected": self.connected,
            "video_frames_decoded": self.video_frames_decoded,
            "audio_buffers_decoded": self.audio_buffers_decoded,
            "audio_samples_decoded": self.audio_samples_decoded,
            "video_codec_received": self.video_codec_received,
            "video_size_received": list(self.video_size) if self.video_size else None,
            "video_frames_sent": self.video_frames_sent,
            "video_frames_encoded": self.video_frames_encoded,
            "pings": self.pings,
            "pongs": self.pongs,
            "offer_has_ssrc": self.offer_has_ssrc,
            "offer_ssrc": self.offer_ssrc,
            "ended": self.ended,
            "exit_code": self.exit_code,
        }


def main():
    ap = argparse.ArgumentParser(description="GStreamer webrtcbin peer for rtccall's signaling protocol")
    ap.add_argument("--server")
    ap.add_argument("--room")
    ap.add_argument("--role", choices=["dial", "answer"], default="dial")
    ap.add_argument("--whip", help="publish to this WHIP endpoint instead of joining a room")
    ap.add_argument("--token", help="--whip: the Bearer token")
    ap.add_argument("--codec", choices=["vp8", "h264"], default="vp8")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--early-offer", nargs="?", const="both", choices=["both", "audio", "video"],
                    help="dialer: create the offer before the RTP caps of both (default) or only "
                         "the audio or video branch reach webrtcbin, so that those sections "
                         "have no a=ssrc")
    ap.add_argument("--video-size", default="320x240", choices=["320x240", "640x480"])
    ap.add_argument("--channel-label", default="rtccall",
                    help="label of the data channel the dialer opens and pings on")
    ap.add_argument("--janus-subscribe", metavar="URL",
                    help="subscribe to a Janus VideoRoom publisher through this Janus HTTP API URL")
    ap.add_argument("--janus-room", type=int, default=1234)
    ap.add_argument("--janus-display", help="--janus-subscribe: the publisher's display name")
    args = ap.parse_args()
    if args.janus_subscribe:
        if not args.janus_display:
            ap.error("--janus-subscribe needs --janus-display")
        args.role = "answer"
    elif not args.whip and not (args.server and args.room):
        ap.error("give --server and --room, --whip URL, or --janus-subscribe URL")
    if args.whip and args.role != "dial":
        ap.error("--whip publishes: it offers (--role dial)")
    if args.early_offer and args.role != "dial":
        ap.error("--early-offer is for --role dial")

    Gst.init(None)
    glib_loop = GLib.MainLoop()
    threading.Thread(target=glib_loop.run, daemon=True).start()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    peer = Peer(args, loop)
    try:
        loop.run_until_complete(peer.run())
    except KeyboardInterrupt:
        peer.ended = peer.ended or "error"
        peer.exit_code = 130
    peer.shutdown()
    glib_loop.quit()
    print(json.dumps(peer.result()), flush=True)
    sys.exit(peer.exit_code)


if __name__ == "__main__":
    main()
