// rtccall call page: joins a room on the server that served it and speaks rtccall's signaling
// protocol (see the README) over a WebSocket on the same port.
// URL parameters: room=NAME, autojoin=1 (join at once and take incoming calls),
// codec=vp8|h264|vp9 (preferred video codec). window.rtccall exposes the state for tests.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// An access token (?token=, for a server run with --secret) is kept for this tab and taken
// out of the address bar, so it is not shared with the link or shown in a screenshot.
const token = params.get("token") || sessionStorage.getItem("rtccall-token");
if (params.has("token")) {
  sessionStorage.setItem("rtccall-token", params.get("token"));
  params.delete("token");
  history.replaceState(null, "", location.pathname + (params.toString() ? `?${params}` : ""));
}
const state = {
  phase: "idle",          // idle, joining, waiting, incoming, calling, connected, ended, error
  connection: "new",      // RTCPeerConnection.connectionState
  error: null,
  ended: null,            // why the call ended
  stats: {},
  log: [],
};
window.rtccall = state;

let ws = null;
let pc = null;
let local = null;
let iceServers = [];
let pendingOffer = null;
let pendingCandidates = [];
let remoteSet = false;
let statsTimer = null;
let last = null;

function log(text) {
  const line = `${(performance.now() / 1000).toFixed(2)} ${text}`;
  state.log.push(line);
  const el = $("log");
  el.textContent += line + "\n";
  el.scrollTop = el.scrollHeight;
}

function setPhase(p) {
  state.phase = p;
  const conn = state.connection;
  $("state").textContent = p + (conn !== "new" && conn !== p ? ` (${conn})` : "");
  $("join").disabled = !["idle", "ended", "error"].includes(p);
  $("hangup").disabled = ["idle", "ended", "error"].includes(p);
  $("incoming").classList.toggle("show", p === "incoming");
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

async function media() {
  if (local) return local;
  if (!navigator.mediaDevices) {
    throw new Error("the camera and microphone need a secure context: open this page as " +
      "http://localhost:PORT (an SSH tunnel works) or through an HTTPS proxy");
  }
  local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  $("local").srcObject = local;
  return local;
}

function preferCodec(pc) {
  const want = (params.get("codec") || "").toLowerCase();
  if (!want || !RTCRtpReceiver.getCapabilities) return;
  const mime = { vp8: "video/VP8", h264: "video/H264", vp9: "video/VP9" }[want];
  if (!mime) return;
  const caps = RTCRtpReceiver.getCapabilities("video").codecs;
  const first = caps.filter((c) => c.mimeType.toLowerCase() === mime.toLowerCase());
  const rest = caps.filter((c) => c.mimeType.toLowerCase() !== mime.toLowerCase());
  for (const t of pc.getTransceivers()) {
    if (t.receiver.track && t.receiver.track.kind === "video" && t.setCodecPreferences) {
      t.setCodecPreferences(first.concat(rest));
    }
  }
}

function newPeer() {
  pc = new RTCPeerConnection({ iceServers });
  remoteSet = false;
  pendingCandidates = [];
  pc.onicecandidate = (e) => {
    if (e.candidate) {
      send({
        type: "candidate",
        candidate: e.candidate.candidate,
        sdpMid: e.candidate.sdpMid,
        sdpMLineIndex: e.candidate.sdpMLineIndex,
        usernameFragment: e.candidate.usernameFragment,
      });
    } else {
      send({ type: "candidate", candidate: null, sdpMid: null, sdpMLineIndex: null });
    }
  };
  pc.ontrack = (e) => {
    log(`remote ${e.track.kind} track`);
    const stream = $("remote").srcObject || new MediaStream();
    stream.addTrack(e.track);
    $("remote").srcObject = stream;
  };
  pc.ondatachannel = (e) => {
    // rtccall pings on its data channel; echo each ping.
    const dc = e.channel;
    dc.onmessage = (m) => {
      if (typeof m.data === "string" && m.data.startsWith("ping ")) {
        dc.send("pong " + m.data.slice(5));
        state.stats.dataEchoed = (state.stats.dataEchoed || 0) + 1;
      }
    };
  };
  pc.onconnectionstatechange = () => {
    state.connection = pc.connectionState;
    log(`connection ${pc.connectionState}`);
    if (pc.connectionState === "connected") setPhase("connected");
    // While an ICE restart is under way the other side is alive: wait for it.
    else if (pc.connectionState === "failed" && !restarting) end("connection failed");
    else setPhase(state.phase);
  };
  // ICE restart, as rtccall does it: a second after `disconnected`, the dialer offers with new
  // ICE credentials; the answerer asks the dialer to with a `restart` message.
  pc.oniceconnectionstatechange = () => {
    const s = pc.iceConnectionState;
    if (s === "connected" || s === "completed") {
      clearTimeout(restartTimer);
      restartTimer = null;
      if (restarting) log("ICE restarted: connected again");
      restarting = false;
    } else if ((s === "disconnected" || s === "failed") && state.phase === "connected" && !restartTimer) {
      restartTimer = setTimeout(() => {
        restartTimer = null;
        const now = pc.iceConnectionState;
        if (now === "disconnected" || now === "failed") restartIce(`ICE ${now} for 1000 ms`);
      }, 1000);
    }
  };
  for (const t of local.getTracks()) pc.addTrack(t, local);
  preferCodec(pc);
  clearInterval(statsTimer);
  statsTimer = setInterval(collectStats, 1000);
  return pc;
}

async function addCandidate(c) {
  if (!c.candidate) {
    if (remoteSet) await pc.addIceCandidate(null).catch(() => {});
    return;
  }
  const init = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
  if (c.usernameFragment) init.usernameFragment = c.usernameFragment;
  if (!pc || !remoteSet) { pendingCandidates.push(init); return; }
  await pc.addIceCandidate(init).catch((e) => log(`candidate refused: ${e}`));
}

async function flushCandidates() {
  remoteSet = true;
  for (const c of pendingCandidates.splice(0)) {
    await pc.addIceCandidate(c).catch((e) => log(`candidate refused: ${e}`));
  }
}

let restarting = false;
let restartTimer = null;

async function restartIce(why) {
  restarting = true;
  log(`ICE restart: ${why}`);
  if (isDialer) {
    const offer = await pc.createOffer({ iceRestart: true });
    await pc.setLocalDescription(offer);
    send({ type: "offer", sdp: pc.localDescription.sdp });
  } else {
    send({ type: "restart", reason: why });
  }
}

async function answerAgain(sdp) {
  restarting = true;
  await pc.setRemoteDescription({ type: "offer", sdp });
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  send({ type: "answer", sdp: pc.localDescription.sdp });
  log("ICE restart answered");
}

let isDialer = false;

async function dial() {
  isDialer = true;
  setPhase("calling");
  newPeer();
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  send({ type: "offer", sdp: pc.localDescription.sdp });
  log("offer sent");
}

async function accept() {
  isDialer = false;
  const sdp = pendingOffer;
  pendingOffer = null;
  setPhase("calling");
  newPeer();
  await pc.setRemoteDescription({ type: "offer", sdp });
  preferCodec(pc);
  await flushCandidates();
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  send({ type: "answer", sdp: pc.localDescription.sdp });
  log("answer sent");
}

function reject() {
  pendingOffer = null;
  send({ type: "reject", reason: "declined in the browser" });
  setPhase("waiting");
}

function end(why) {
  if (state.ended === null) state.ended = why;
  log(`call ended: ${why}`);
  clearInterval(statsTimer);
  collectStats();
  if (pc) { pc.close(); }
  state.connection = "closed";
  setPhase("ended");
}

function hangup() {
  send({ type: "bye", reason: "hang-up" });
  end("hang-up");
  if (ws) ws.close();
}

function onMessage(msg) {
  switch (msg.type) {
    case "joined":
      // The seat's resume token: a reload (or a new connection) asks for the same seat back.
      if (msg.resume) sessionStorage.setItem(`rtccall-resume-${msg.room}`, msg.resume);
      if (Array.isArray(msg.iceServers)) iceServers = msg.iceServers;
      log(`joined room ${msg.room}; peer ${msg.peer}`);
      setPhase("waiting");
      if (msg.peer === "answer" || msg.peer === "unknown") dial();
      break;
    case "peer-joined":
      log(`peer joined (${msg.role})`);
      // A terminal waiting to answer: call it.
      if (msg.role === "answer" && state.phase === "waiting") dial();
      break;
    case "offer":
      // Once connected, an offer restarts ICE.
      if (pc && state.phase === "connected" && !isDialer) { answerAgain(msg.sdp); break; }
      pendingOffer = msg.sdp;
      if (params.get("autojoin") === "1") accept(); else setPhase("incoming");
      break;
    case "answer":
      pc.setRemoteDescription({ type: "answer", sdp: msg.sdp }).then(flushCandidates);
      log("answer received");
      break;
    case "candidate":
      addCandidate(msg);
      break;
    case "restart":
      if (pc && isDialer && state.phase === "connected" && !restarting) restartIce(`the answerer asked: ${msg.reason || ""}`);
      break;
    case "reject":
      end(`rejected: ${msg.reason || ""}`);
      break;
    case "bye":
      end(`remote hang-up${msg.reason ? ": " + msg.reason : ""}`);
      break;
    case "peer-left":
      // Once connected, only the other peer's signaling went: the call goes on until it says
      // bye or the connection fails.
      if (state.phase === "connected") log("the other peer's signaling connection went");
      else if (state.phase !== "waiting") end("the other peer left");
      break;
    case "error":
      state.error = msg;
      log(`server error ${msg.code}: ${msg.message}`);
      if (msg.code === "room-full") { setPhase("error"); $("state").textContent = "room is full"; }
      if (msg.code === "unauthorized") {
        setPhase("error");
        $("state").textContent = "not admitted: this server needs a valid access token (?token=)";
      }
      if (msg.code === "rate-limited" || msg.code === "unavailable") {
        setPhase("error");
        $("state").textContent = msg.message;
      }
      break;
  }
}

async function join() {
  const room = $("room").value.trim();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(room)) { log("room names are 1-64 of A-Z a-z 0-9 . _ -"); return; }
  state.ended = null;
  state.error = null;
  setPhase("joining");
  try {
    await media();
  } catch (e) {
    state.error = { code: "media", message: String(e) };
    log(`camera/microphone: ${e}`);
    setPhase("error");
    return;
  }
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
  ws = new WebSocket(url);
  const resume = sessionStorage.getItem(`rtccall-resume-${room}`);
  ws.onopen = () => {
    const msg = { type: "join", room };
    if (resume) msg.resume = resume;
    if (token) msg.token = token;
    send(msg);
  };
  ws.onmessage = (e) => { try { onMessage(JSON.parse(e.data)); } catch (err) { log(`bad message: ${err}`); } };
  ws.onclose = () => {
    // A connected call is peer to peer: it outlives the signaling server.
    if (state.phase === "connected") log("signaling lost; the call goes on");
    else if (!["ended", "error", "idle"].includes(state.phase)) end("signaling closed");
  };
}

async function collectStats() {
  if (!pc) return;
  const report = await pc.getStats();
  const now = performance.now();
  const s = state.stats;
  let bytesIn = 0, bytesOut = 0;
  const byId = new Map();
  report.forEach((r) => byId.set(r.id, r));
  report.forEach((r) => {
    if (r.type === "transport") { bytesIn += r.bytesReceived || 0; bytesOut += r.bytesSent || 0; }
    if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") {
      const l = byId.get(r.localCandidateId), rem = byId.get(r.remoteCandidateId);
      s.pair = `${l ? l.candidateType : "?"} <-> ${rem ? rem.candidateType : "?"}`;
      s.rttMs = r.currentRoundTripTime !== undefined ? r.currentRoundTripTime * 1000 : null;
    }
    if (r.type === "inbound-rtp" && r.kind === "video") {
      s.framesDecoded = r.framesDecoded || 0;
      const codec = byId.get(r.codecId);
      if (codec) s.videoCodecIn = codec.mimeType;
    }
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      s.audioSamplesReceived = r.totalSamplesReceived || 0;
      s.audioPacketsReceived = r.packetsReceived || 0;
    }
  });
  if (last) {
    const dt = (now - last.t) / 1000;
    s.kbpsIn = Math.round((bytesIn - last.in) * 8 / dt / 1000);
    s.kbpsOut = Math.round((bytesOut - last.out) * 8 / dt / 1000);
  }
  last = { t: now, in: bytesIn, out: bytesOut };
  $("s-pair").textContent = s.pair || "-";
  $("s-rtt").textContent = s.rttMs != null ? `${s.rttMs.toFixed(1)} ms` : "-";
  $("s-bitrate").textContent = s.kbpsOut != null ? `${s.kbpsOut} / ${s.kbpsIn} kbit/s` : "-";
  $("s-frames").textContent = s.framesDecoded != null ? String(s.framesDecoded) : "-";
  $("s-codec").textContent = s.videoCodecIn || "-";
  $("s-audio").textContent = s.audioSamplesReceived != null ? `${s.audioSamplesReceived} samples` : "-";
}

$("join").onclick = join;
$("hangup").onclick = hangup;
$("accept").onclick = accept;
$("reject").onclick = reject;
$("room").value = params.get("room") || "";
setPhase("idle");
if (params.get("autojoin") === "1" && $("room").value) join();
